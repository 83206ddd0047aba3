"""Store step: lay the validated sources out as the named graphs we publish.

Graphs: one per source passage (its facts), graph:asserted (every fact ever asserted), graph:current (the facts
that hold now, see history.py), graph:provenance (descriptions of the sources and passages), graph:ontology,
graph:inferred (what the reasoner derives from the current facts), and dated snapshots: graph:as-of/<date> holds the
whole state on that date (facts, inferences, ontology, provenance: what the default graph would be) and
graph:as-of/<date>/inferred its inferences alone. The default graph is "now": the RDF merge of graph:current,
graph:inferred, graph:ontology and graph:provenance, stored once so that each triple appears once in answers
(Oxigraph's union default graph is a bag).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from itertools import islice

import pyoxigraph as ox

from mlcloudkg.namespaces import (
    GRAPH_ASSERTED,
    GRAPH_CURRENT,
    GRAPH_INFERRED,
    GRAPH_ONTOLOGY,
    GRAPH_PROVENANCE,
    MLC,
    RDF_TYPE_NODE,
    SNAPSHOT_PREFIX,
)
from mlcloudkg.sources import Sources

ASSERTED = ox.NamedNode(str(GRAPH_ASSERTED))
CURRENT = ox.NamedNode(str(GRAPH_CURRENT))
INFERRED = ox.NamedNode(str(GRAPH_INFERRED))
ONTOLOGY = ox.NamedNode(str(GRAPH_ONTOLOGY))
PROVENANCE = ox.NamedNode(str(GRAPH_PROVENANCE))
DEFAULT = ox.DefaultGraph()
BULK_BATCH = 200_000


def assemble(store: ox.Store, sources: Sources) -> None:
    """Load the ontology and every data file into `store`, each quad into all the graphs it belongs to. The facts
    of the current state are added by `add_current` once history has been worked out."""
    bulk_add(store, _layout(sources))


def add_current(store: ox.Store, facts: Iterable[ox.Triple]) -> None:
    """The facts that hold now: graph:current and the default graph."""
    bulk_add(store, (copy for fact in facts for copy in _copies(ox.Quad(*fact), CURRENT)))


def bulk_add(store: ox.Store, quads: Iterable[ox.Quad]) -> None:
    """Add `quads` with Oxigraph's bulk loader, BULK_BATCH at a time: given them all in one call, it held about
    0.8 KB a quad until the end (assembling the 1M-triple benchmark data peaked at 2,409 MiB; in batches, 833 MiB,
    in the same time)."""
    quads = iter(quads)
    while batch := list(islice(quads, BULK_BATCH)):
        store.bulk_extend(batch)


def snapshot_graphs(day: date) -> tuple[ox.NamedNode, ox.NamedNode]:
    """The graph of the whole state on `day`, and the graph of its inferences alone."""
    name = SNAPSHOT_PREFIX + day.isoformat()
    return ox.NamedNode(name), ox.NamedNode(name + "/inferred")


def add_snapshot(store: ox.Store, day: date, state: Iterable[ox.Triple], inferred: Iterable[ox.Triple]) -> None:
    """A dated snapshot (`state` is everything the default graph would hold that day), described in
    graph:provenance and the default graph so that queries can find it by date."""
    state_graph, inferred_graph = snapshot_graphs(day)
    bulk_add(store, (ox.Quad(*fact, state_graph) for fact in state))
    bulk_add(store, (ox.Quad(*fact, inferred_graph) for fact in inferred))
    description = [
        ox.Triple(
            state_graph,
            RDF_TYPE_NODE,
            ox.NamedNode(str(MLC.Snapshot)),
        ),
        ox.Triple(
            state_graph,
            ox.NamedNode(str(MLC.snapshotDate)),
            ox.Literal(day.isoformat(), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")),
        ),
    ]
    bulk_add(store, (copy for fact in description for copy in _copies(ox.Quad(*fact), PROVENANCE)))


def _layout(sources: Sources) -> Iterator[ox.Quad]:
    for quad in sources.ontology.quads:
        yield from _copies(quad, ONTOLOGY)
    for source in sources.data:
        for quad in source.quads:
            if isinstance(quad.graph_name, ox.DefaultGraph):
                yield from _copies(quad, PROVENANCE)
            else:
                yield quad
                yield ox.Quad(quad.subject, quad.predicate, quad.object, ASSERTED)


def _copies(statement: ox.Quad, graph: ox.NamedNode) -> Iterator[ox.Quad]:
    yield ox.Quad(statement.subject, statement.predicate, statement.object, graph)
    yield ox.Quad(statement.subject, statement.predicate, statement.object, DEFAULT)


def passage_graphs(graphs: Iterable[ox.NamedNode | ox.BlankNode]) -> list[ox.NamedNode]:
    """The per-passage graphs among `graphs` (a store's named graphs): all but the whole-dataset ones and the
    snapshots."""
    special = {ASSERTED, CURRENT, INFERRED, ONTOLOGY, PROVENANCE}
    return sorted(
        (
            g
            for g in graphs
            if isinstance(g, ox.NamedNode) and g not in special and not g.value.startswith(SNAPSHOT_PREFIX)
        ),
        key=lambda g: g.value,
    )
