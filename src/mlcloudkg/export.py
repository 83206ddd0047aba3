"""The dataset as files: the downloads, written once per build and served as they are, and `mlcloudkg export`."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

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
GraphReader = Callable[[ox.NamedNode], Iterable[ox.Quad]]  # the statements of a named graph
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
    """Write every download of a build's store into `directory`; returns their sizes and checksums for the
    manifest."""
    return write_downloads_from(_graph_reader(store), store.named_graphs(), directory)


def write_downloads_from(
    read_graph: GraphReader, graphs: Iterable[ox.NamedNode | ox.BlankNode], directory: Path
) -> dict[str, dict[str, object]]:
    """Write every download into `directory` from any store: `read_graph` gives the statements of a named graph
    and `graphs` are the store's named graphs. Returns the files' sizes and checksums, in the order of DOWNLOADS."""
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, dict[str, object]] = {}
    statements = _Statements(read_graph, passage_graphs(graphs))
    # Grouped by the statements they hold, so that each selection is read and ordered once and then let go:
    # at 1M triples a selection's ordered list is over a GB (bench/RESULTS.md).
    for download in sorted(DOWNLOADS, key=lambda d: (d.rdf_format in DATASET_FORMATS, d.selection)):
        path = directory / download.filename
        if download.rdf_format in DATASET_FORMATS:
            ox.serialize(statements.quads(download.selection), path, download.rdf_format, prefixes=PREFIXES)
        else:
            ox.serialize(statements.triples(download.selection), path, download.rdf_format, prefixes=PREFIXES)
        written[download.filename] = {
            "title": download.title,
            "media_type": download.media_type,
            **_compress_beside(path),
        }
    return {d.filename: written[d.filename] for d in DOWNLOADS}


def _compress_beside(path: Path) -> dict[str, object]:
    """Write `path`.gz beside the file, reading it once in chunks; returns its size and checksum.

    Served as is to clients that accept gzip: compressed once here, not on every request. Level 6 (zlib's default)
    makes files a few per cent larger than 9 in a third of the time.
    """
    digest = hashlib.sha256()
    size = 0
    with (
        path.open("rb") as source,
        gzip.GzipFile(path.with_name(path.name + ".gz"), "wb", compresslevel=6, mtime=0) as compressed,
    ):
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            compressed.write(chunk)
    return {"bytes": size, "sha256": digest.hexdigest()}


def serialize(store: ox.Store, selection: str, rdf_format: ox.RdfFormat) -> bytes:
    """The graphs of `selection` in `rdf_format`: what the downloads hold and `mlcloudkg export` writes."""
    statements = _Statements(_graph_reader(store), passage_graphs(store.named_graphs()))
    return _serialize(statements, selection, rdf_format)


def _graph_reader(store: ox.Store) -> GraphReader:
    return lambda graph: store.quads_for_pattern(None, None, None, graph)


def _serialize(statements: _Statements, selection: str, rdf_format: ox.RdfFormat) -> bytes:
    # JSON-LD as pyoxigraph writes it (expanded), like every other JSON-LD answer of the service.
    if rdf_format in DATASET_FORMATS:
        return ox.serialize(statements.quads(selection), format=rdf_format, prefixes=PREFIXES)
    return ox.serialize(statements.triples(selection), format=rdf_format, prefixes=PREFIXES)


class _Statements:
    """The statements of each selection in a stable order, whatever the store (in memory at build time, on disk
    for `mlcloudkg export`, remote for a service over a store): triples grouped by subject so that the Turtle reads
    as one block per resource."""

    def __init__(self, read_graph: GraphReader, passages: list[ox.NamedNode]) -> None:
        self.read_graph = read_graph
        self.passages = passages
        # Only the last selection asked for is kept: callers ask for each selection's files one after another.
        self._last: tuple[tuple[str, str], list[ox.Triple] | list[ox.Quad]] | None = None

    def triples(self, selection: str) -> list[ox.Triple]:
        # Asserted and inferred are disjoint by construction (the reasoner never re-derives an asserted triple).
        def read() -> list[ox.Triple]:
            found = [q.triple for g in SELECTIONS[selection] for q in self.read_graph(g)]
            found.sort(key=_statement_order)
            return found

        return self._kept(("triples", selection), read)  # type: ignore[return-value]

    def quads(self, selection: str) -> list[ox.Quad]:
        """The named graphs of a selection, each under its own name (see SELECTIONS)."""
        graphs = {
            "all": (*self.passages, PROVENANCE, ONTOLOGY, INFERRED),
            "asserted": (*self.passages, PROVENANCE),
            "inferred": (INFERRED,),
            "ontology": (ONTOLOGY,),
        }[selection]

        def read() -> list[ox.Quad]:
            return [quad for graph in graphs for quad in sorted(self.read_graph(graph), key=_statement_order)]

        return self._kept(("quads", selection), read)  # type: ignore[return-value]

    def _kept(
        self, key: tuple[str, str], read: Callable[[], list[ox.Triple] | list[ox.Quad]]
    ) -> list[ox.Triple] | list[ox.Quad]:
        if self._last is None or self._last[0] != key:
            self._last = None  # let the previous selection go before reading the next
            self._last = (key, read())
        return self._last[1]


def _statement_order(statement: ox.Triple | ox.Quad) -> tuple[str, str, str]:
    return str(statement.subject), str(statement.predicate), str(statement.object)
