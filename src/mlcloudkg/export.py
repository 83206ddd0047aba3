"""The dataset as files: the downloads, written once per build and served as they are, and `mlcloudkg export`."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import XSD, BNode, Graph, Literal, URIRef

from mlcloudkg.dataset import CURRENT, INFERRED, ONTOLOGY, PROVENANCE, passage_graphs
from mlcloudkg.namespaces import PREFIXES

# Which graphs an export holds. In a triple format (Turtle, N-Triples, JSON-LD) the graphs are merged and hold the
# current state (what holds now); in a dataset format (TriG, N-Quads) each keeps its name: "asserted" is then every
# dated passage graph with the provenance graph that describes it (all of history: any earlier state follows by the
# rules of history.py), and "all" the published dataset (graph:asserted, graph:current, the snapshots and the
# default graph follow from these and would only repeat them).
SELECTIONS: dict[str, tuple[ox.NamedNode, ...]] = {
    "all": (CURRENT, INFERRED),
    "asserted": (CURRENT,),
    "inferred": (INFERRED,),
    "ontology": (ONTOLOGY,),
}
DATASET_FORMATS = {ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS}  # written with named graphs (JSON-LD could, but is not)
# The RDF syntaxes of the downloads, by the short names the command line uses.
EXPORT_FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
}


@dataclass(frozen=True)
class Download:
    """One file of the dataset: which graphs it holds (a key of SELECTIONS) and in which syntax."""

    filename: str
    title: str
    rdf_format: ox.RdfFormat
    selection: str = "all"

    @property
    def media_type(self) -> str:
        return self.rdf_format.media_type


DOWNLOADS: tuple[Download, ...] = (
    Download("mlcloudkg.ttl", "Current facts and their inferences (Turtle)", ox.RdfFormat.TURTLE),
    Download("mlcloudkg-asserted.ttl", "Current asserted facts only (Turtle)", ox.RdfFormat.TURTLE, "asserted"),
    Download("mlcloudkg-inferred.ttl", "Inferences from the current facts (Turtle)", ox.RdfFormat.TURTLE, "inferred"),
    Download("mlcloudkg.nt", "Current facts and their inferences (N-Triples)", ox.RdfFormat.N_TRIPLES),
    Download("mlcloudkg.jsonld", "Current facts and their inferences (JSON-LD)", ox.RdfFormat.JSON_LD),
    Download("mlcloudkg.trig", "Every dated passage with its provenance: all of history (TriG)", ox.RdfFormat.TRIG),
    Download("mlcloudkg.nq", "Every dated passage with its provenance: all of history (N-Quads)", ox.RdfFormat.N_QUADS),
    Download("ontology.ttl", "The ontology (Turtle)", ox.RdfFormat.TURTLE, "ontology"),
)


def find_download(filename: str) -> Download | None:
    return next((d for d in DOWNLOADS if d.filename == filename), None)


def write_downloads(store: ox.Store, directory: Path) -> dict[str, dict[str, object]]:
    """Write every download into `directory`; returns their sizes and checksums for the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, dict[str, object]] = {}
    for download in DOWNLOADS:
        data = serialize(store, download.selection, download.rdf_format)
        (directory / download.filename).write_bytes(data)
        # Served as is to clients that accept gzip: compressed once here, not on every request.
        (directory / (download.filename + ".gz")).write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        written[download.filename] = {
            "title": download.title,
            "media_type": download.media_type,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    return written


def serialize(store: ox.Store, selection: str, rdf_format: ox.RdfFormat) -> bytes:
    """The graphs of `selection` in `rdf_format`: what the downloads hold and `mlcloudkg export` writes."""
    if rdf_format in DATASET_FORMATS:
        return ox.serialize(_quads(store, selection), format=rdf_format, prefixes=PREFIXES)
    triples = _triples(store, SELECTIONS[selection])
    if rdf_format == ox.RdfFormat.JSON_LD:
        return _compact_json_ld(triples)
    return ox.serialize(triples, format=rdf_format, prefixes=PREFIXES)


def _triples(store: ox.Store, graphs: tuple[ox.NamedNode, ...]) -> list[ox.Triple]:
    """The graphs' triples, grouped by subject so that the Turtle reads as one block per resource.

    Asserted and inferred are disjoint by construction (the reasoner never re-derives an asserted triple)."""
    triples = [quad.triple for graph in graphs for quad in store.quads_for_pattern(None, None, None, graph)]
    return sorted(triples, key=_statement_order)


def _compact_json_ld(triples: list[ox.Triple]) -> bytes:
    """JSON-LD with our prefixes as its @context (pyoxigraph writes expanded JSON-LD only)."""
    graph = Graph()
    for triple in triples:
        graph.add((_rdflib_term(triple.subject), _rdflib_term(triple.predicate), _rdflib_term(triple.object)))
    document = json.loads(graph.serialize(format="json-ld", context=PREFIXES, auto_compact=True))
    return json.dumps(_in_stable_order(document), indent=2, ensure_ascii=False).encode("utf-8")


def _rdflib_term(term: Any) -> URIRef | BNode | Literal:
    """The same term in rdflib, blank nodes keeping their labels (a parse would give them new, random ones)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    return Literal(term.value, datatype=None if datatype == str(XSD.string) else URIRef(datatype))


def _in_stable_order(value: Any) -> Any:
    """The JSON-LD with its arrays sorted: rdflib writes nodes and values in set order, which changes from run to
    run. Arrays of JSON-LD values are unordered (sets), except under @list, which keeps its order."""
    if isinstance(value, dict):
        return {
            key: _in_stable_order(item) if key != "@list" else [_in_stable_order(v) for v in item]
            for key, item in value.items()
        }
    if isinstance(value, list):
        return sorted((_in_stable_order(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
    return value


def _quads(store: ox.Store, selection: str) -> Iterator[ox.Quad]:
    """The named graphs of a selection, each under its own name (see SELECTIONS)."""
    graphs = {
        "all": (*passage_graphs(store), PROVENANCE, ONTOLOGY, INFERRED),
        "asserted": (*passage_graphs(store), PROVENANCE),
        "inferred": (INFERRED,),
        "ontology": (ONTOLOGY,),
    }[selection]
    for graph in graphs:
        # In a stable order, whatever the store (in memory at build time, on disk for `mlcloudkg export`).
        yield from sorted(store.quads_for_pattern(None, None, None, graph), key=_statement_order)


def _statement_order(statement: ox.Triple | ox.Quad) -> tuple[str, str, str]:
    return str(statement.subject), str(statement.predicate), str(statement.object)
