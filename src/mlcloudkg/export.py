"""The dataset's downloadable files, written once per build and served as they are."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from mlcloudkg.dataset import CURRENT, INFERRED, ONTOLOGY, PROVENANCE, passage_graphs
from mlcloudkg.namespaces import PREFIXES


@dataclass(frozen=True)
class Download:
    """One file of the dataset: which graphs it holds and in which syntax."""

    filename: str
    title: str
    rdf_format: ox.RdfFormat
    # The graphs merged into the file, or () for the whole dataset with its named graphs (see `_quads`).
    graphs: tuple[ox.NamedNode, ...] = ()

    @property
    def media_type(self) -> str:
        return self.rdf_format.media_type

    @property
    def is_dataset(self) -> bool:
        return not self.graphs


# The triple downloads hold the current state (what holds now); the quad downloads hold every dated passage, from
# which any earlier state follows by the rules of history.py.
NOW = (CURRENT, INFERRED)
DOWNLOADS: tuple[Download, ...] = (
    Download("mlcloudkg.ttl", "Current facts and their inferences (Turtle)", ox.RdfFormat.TURTLE, NOW),
    Download("mlcloudkg-asserted.ttl", "Current asserted facts only (Turtle)", ox.RdfFormat.TURTLE, (CURRENT,)),
    Download("mlcloudkg-inferred.ttl", "Inferences from the current facts (Turtle)", ox.RdfFormat.TURTLE, (INFERRED,)),
    Download("mlcloudkg.nt", "Current facts and their inferences (N-Triples)", ox.RdfFormat.N_TRIPLES, NOW),
    Download("mlcloudkg.jsonld", "Current facts and their inferences (JSON-LD)", ox.RdfFormat.JSON_LD, NOW),
    Download("mlcloudkg.trig", "Every dated passage with its provenance: all of history (TriG)", ox.RdfFormat.TRIG),
    Download("mlcloudkg.nq", "Every dated passage with its provenance: all of history (N-Quads)", ox.RdfFormat.N_QUADS),
    Download("ontology.ttl", "The ontology (Turtle)", ox.RdfFormat.TURTLE, (ONTOLOGY,)),
)


def find_download(filename: str) -> Download | None:
    return next((d for d in DOWNLOADS if d.filename == filename), None)


def write_downloads(store: ox.Store, directory: Path) -> dict[str, dict[str, object]]:
    """Write every download into `directory`; returns their sizes and checksums for the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, dict[str, object]] = {}
    for download in DOWNLOADS:
        path = directory / download.filename
        if download.rdf_format == ox.RdfFormat.JSON_LD:
            _write_compact_json_ld(_triples(store, download.graphs), path)
        else:
            statements = _quads(store) if download.is_dataset else _triples(store, download.graphs)
            ox.serialize(statements, str(path), download.rdf_format, prefixes=PREFIXES)
        data = path.read_bytes()
        # Served as is to clients that accept gzip: compressed once here, not on every request.
        (directory / (download.filename + ".gz")).write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        written[download.filename] = {
            "title": download.title,
            "media_type": download.media_type,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    return written


def _triples(store: ox.Store, graphs: tuple[ox.NamedNode, ...]) -> list[ox.Triple]:
    """The graphs' triples, grouped by subject so that the Turtle reads as one block per resource.

    Asserted and inferred are disjoint by construction (the reasoner never re-derives an asserted triple)."""
    triples = [quad.triple for graph in graphs for quad in store.quads_for_pattern(None, None, None, graph)]
    return sorted(triples, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))


def _write_compact_json_ld(triples: list[ox.Triple], path: Path) -> None:
    """JSON-LD with our prefixes as its @context (pyoxigraph writes expanded JSON-LD only)."""
    graph = Graph()
    graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    path.write_text(graph.serialize(format="json-ld", context=PREFIXES, auto_compact=True), encoding="utf-8")


def _quads(store: ox.Store) -> Iterator[ox.Quad]:
    """The dataset as published: passage graphs, provenance, ontology and inferred. graph:asserted, graph:current,
    the snapshots and the default graph follow from these and would only repeat them."""
    for graph in (*passage_graphs(store), PROVENANCE, ONTOLOGY, INFERRED):
        yield from store.quads_for_pattern(None, None, None, graph)
