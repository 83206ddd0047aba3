"""Store step: lay the validated sources out as the named graphs we publish.

Graphs: one per source passage (its facts), graph:asserted (all facts), graph:provenance (descriptions of the
sources and passages), graph:ontology, graph:inferred (added by the reasoner). The default graph is the RDF merge
of all of them, stored once so that each triple appears once in answers (Oxigraph's union default graph is a bag).
"""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox

from mlcloudkg.namespaces import GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_ONTOLOGY, GRAPH_PROVENANCE
from mlcloudkg.sources import Sources

ASSERTED = ox.NamedNode(str(GRAPH_ASSERTED))
INFERRED = ox.NamedNode(str(GRAPH_INFERRED))
ONTOLOGY = ox.NamedNode(str(GRAPH_ONTOLOGY))
PROVENANCE = ox.NamedNode(str(GRAPH_PROVENANCE))
DEFAULT = ox.DefaultGraph()


def assemble(store: ox.Store, sources: Sources) -> None:
    """Load the ontology and every data file into `store`, each quad into all the graphs it belongs to."""
    store.bulk_extend(_layout(sources))


def _layout(sources: Sources) -> Iterator[ox.Quad]:
    for quad in sources.ontology.quads:
        yield from _copies(quad, ONTOLOGY)
    for source in sources.data:
        for quad in source.quads:
            if isinstance(quad.graph_name, ox.DefaultGraph):
                yield from _copies(quad, PROVENANCE)
            else:
                yield quad
                yield from _copies(quad, ASSERTED)


def _copies(statement: ox.Quad, graph: ox.NamedNode) -> Iterator[ox.Quad]:
    yield ox.Quad(statement.subject, statement.predicate, statement.object, graph)
    yield ox.Quad(statement.subject, statement.predicate, statement.object, DEFAULT)


def passage_graphs(store: ox.Store) -> list[ox.NamedNode]:
    """The per-passage graphs: every named graph except the four whole-dataset ones."""
    special = {ASSERTED, INFERRED, ONTOLOGY, PROVENANCE}
    return sorted(
        (g for g in store.named_graphs() if g not in special and isinstance(g, ox.NamedNode)),
        key=lambda g: g.value,
    )
