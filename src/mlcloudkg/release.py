"""Which data is served: its version, when it was built, the date of its latest state, its snapshots and its downloads.

A local build says so in its manifest. A store says so in the record `mlcloudkg publish` writes into graph:provenance
(and so into the default graph, the merge that includes it), in the VoID/DCAT terms of the dataset's description:

    <https://w3id.org/mlcloudkg/dataset> dcterms:hasVersion "<build digest>" ;
        dcterms:modified "<built at>"^^xsd:dateTime ; dcterms:issued "<published at>"^^xsd:dateTime ;
        dcterms:temporal [ a dcterms:PeriodOfTime ; dcat:endDate "<date of the latest state>"^^xsd:date ] ;
        void:triples <triples in the default graph> ;
        dcat:distribution <https://w3id.org/mlcloudkg/download/mlcloudkg.ttl>, ... .
    <https://w3id.org/mlcloudkg/download/mlcloudkg.ttl> a dcat:Distribution ; dcterms:title "..."@en ;
        dcat:mediaType <https://www.iana.org/assignments/media-types/text/turtle> ; dcat:byteSize 123 ;
        spdx:checksum [ a spdx:Checksum ; spdx:algorithm spdx:checksumAlgorithm_sha256 ; spdx:checksumValue "..." ] .

so that every replica serving the store reads the same version (its caches and ETags), and no local file is needed.
Published with `--default-graph <IRI>` (a store whose default graph is the union of its named graphs), the record
also says which named graph holds the default graph: `<https://w3id.org/mlcloudkg/dataset> mlc:defaultGraphName <IRI>`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyoxigraph as ox

from mlcloudkg.build import Build
from mlcloudkg.dataset import PROVENANCE
from mlcloudkg.errors import NotPublished
from mlcloudkg.namespaces import BASE, DATASET_IRI, DCAT, DCTERMS, MLC, PREFIXES, SPDX, VOID, sparql_prologue
from mlcloudkg.store import SparqlStore

MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
DOWNLOAD = BASE + "download/"
XSD = PREFIXES["xsd"]
PUBLISH = "run `mlcloudkg publish --to <the store's Graph Store Protocol URL>` first"

VERSION_QUERY = (
    sparql_prologue()
    + f"""PREFIX spdx: <{SPDX}>
SELECT ?version ?built ?now ?triples ?defaultGraph WHERE {{ GRAPH <{PROVENANCE.value}> {{
  <{DATASET_IRI}> dcterms:hasVersion ?version ; dcterms:modified ?built ; void:triples ?triples ;
    dcterms:temporal/dcat:endDate ?now .
  OPTIONAL {{ <{DATASET_IRI}> mlc:defaultGraphName ?defaultGraph }} }} }}"""
)
DOWNLOADS_QUERY = (
    sparql_prologue()
    + f"""PREFIX spdx: <{SPDX}>
SELECT ?file ?title ?type ?bytes ?sha256 WHERE {{ GRAPH <{PROVENANCE.value}> {{
  <{DATASET_IRI}> dcat:distribution ?file .
  ?file dcterms:title ?title ; dcat:mediaType ?type ; dcat:byteSize ?bytes ; spdx:checksum/spdx:checksumValue ?sha256
}} }} ORDER BY ?file"""
)
GRAPH_SIZES_QUERY = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


@dataclass(frozen=True)
class Release:
    """The data being served, as a build's manifest or a store's publish record describes it."""

    version: str  # the build's digest: keys caches and ETags
    built_at: datetime
    now: date  # the date of the latest known state
    default_triples: int  # statements in the default graph
    snapshots: tuple[str, ...]  # the dates (YYYY-MM-DD) of the stored snapshots
    count_graphs: Callable[[], dict[str, int]] = field(repr=False, compare=False)  # see graph_sizes
    downloads: dict[str, dict[str, Any]]  # filename -> title, media_type, bytes, sha256 (as in the manifest)
    published_default: str | None = None  # the store's named graph holding the default graph (publish --default-graph)

    @functools.cached_property
    def graph_sizes(self) -> dict[str, int]:
        """Named graph IRI -> statements it holds: the manifest's, or counted by the store when first asked (only
        the service description needs them; counting took 3 s at 1M triples, a whole-store scan)."""
        return self.count_graphs()

    @classmethod
    def of_build(cls, build: Build) -> Release:
        manifest = build.manifest
        sizes = {name: int(size) for name, size in manifest["graphs"].items() if name != "default"}
        return cls(
            version=build.digest,
            built_at=datetime.fromisoformat(manifest["built_at"]),
            now=date.fromisoformat(manifest["now"]),
            default_triples=int(manifest["graphs"]["default"]),
            snapshots=tuple(manifest.get("snapshots", [])),
            count_graphs=lambda: sizes,
            downloads=dict(manifest["downloads"]),
        )


def publish_record(
    build: Build, published_at: datetime | None = None, default_graph: ox.NamedNode | None = None
) -> list[ox.Triple]:
    """The record of `build` that `mlcloudkg publish` adds to graph:provenance and the default graph (or the named
    graph `default_graph` that holds it). Its count of the default graph's statements includes the record itself."""
    release = Release.of_build(build)
    issued = (published_at or datetime.now(UTC)).isoformat(timespec="seconds")
    without_count = _record(release, issued, None, default_graph)
    return _record(release, issued, release.default_triples + len(without_count) + 1, default_graph)


def _record(
    release: Release, issued: str, default_triples: int | None, default_graph: ox.NamedNode | None
) -> list[ox.Triple]:
    dataset = ox.NamedNode(DATASET_IRI)
    period = ox.BlankNode()
    triples = [
        (dataset, DCTERMS.hasVersion, ox.Literal(release.version)),
        (dataset, DCTERMS.modified, _typed(release.built_at.isoformat(), "dateTime")),
        (dataset, DCTERMS.issued, _typed(issued, "dateTime")),
        (dataset, DCTERMS.temporal, period),
        (period, PREFIXES["rdf"] + "type", DCTERMS.PeriodOfTime),
        (period, DCAT.endDate, _typed(release.now.isoformat(), "date")),
    ]
    if default_triples is not None:
        triples.append((dataset, VOID.triples, _typed(str(default_triples), "integer")))
    if default_graph is not None:
        triples.append((dataset, MLC.defaultGraphName, default_graph))
    for filename, details in release.downloads.items():
        distribution, checksum = ox.NamedNode(DOWNLOAD + filename), ox.BlankNode()
        triples += [
            (dataset, DCAT.distribution, distribution),
            (distribution, PREFIXES["rdf"] + "type", DCAT.Distribution),
            (distribution, DCTERMS.title, ox.Literal(details["title"], language="en")),
            (distribution, DCAT.mediaType, ox.NamedNode(MEDIA_TYPES + details["media_type"])),
            (distribution, DCAT.byteSize, _typed(str(details["bytes"]), "nonNegativeInteger")),
            (distribution, SPDX.checksum, checksum),
            (checksum, PREFIXES["rdf"] + "type", SPDX.Checksum),
            (checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256),
            (checksum, SPDX.checksumValue, ox.Literal(details["sha256"])),
        ]
    return [ox.Triple(s, _iri(p), o if not isinstance(o, str) else _iri(o)) for s, p, o in triples]


def without_publish_record(quads: list[ox.Quad]) -> list[ox.Quad]:
    """A graph's statements less the publish record (the dataset, its distributions and their blank nodes): what
    the build itself held, so that files written from a store are the build's own, byte for byte."""
    recorded = {ox.NamedNode(DATASET_IRI)} | {q.subject for q in quads if q.subject.value.startswith(DOWNLOAD)}
    recorded |= {q.object for q in quads if q.subject in recorded and isinstance(q.object, ox.BlankNode)}
    return [q for q in quads if q.subject not in recorded]


def published_version(store: SparqlStore) -> str | None:
    """The version a store's publish record names (one cheap query, for replicas checking for a new one)."""
    rows = store.select(VERSION_QUERY)
    return str(rows[0]["version"]) if len(rows) == 1 else None


def read_release(store: SparqlStore) -> Release:
    """The release a store holds, from its publish record; raises NotPublished when it has none (or several)."""
    rows = store.select(VERSION_QUERY)
    if not rows:
        raise NotPublished(
            f"the store holds no dataset published by mlcloudkg (no <{DATASET_IRI}> with dcterms:hasVersion in "
            f"<{PROVENANCE.value}>) — accepted: a store loaded with mlcloudkg publish: {PUBLISH}"
        )
    if len({row["version"] for row in rows}) > 1:
        versions = ", ".join(sorted({str(row["version"]) for row in rows}))
        raise NotPublished(
            f"the store holds the records of several published versions ({versions}) in <{PROVENANCE.value}> — "
            f"accepted: one published dataset per store: {PUBLISH} again"
        )
    row = rows[0]
    downloads = {
        str(found["file"]).removeprefix(DOWNLOAD): {
            "title": str(found["title"]),
            "media_type": str(found["type"]).removeprefix(MEDIA_TYPES),
            "bytes": int(found["bytes"]),
            "sha256": str(found["sha256"]),
        }
        for found in store.select(DOWNLOADS_QUERY)
    }
    return Release(
        version=str(row["version"]),
        built_at=datetime.fromisoformat(str(row["built"])),
        now=row["now"] if isinstance(row["now"], date) else date.fromisoformat(str(row["now"])),
        default_triples=int(row["triples"]),
        snapshots=tuple(day.isoformat() for day in store.snapshot_dates()),
        count_graphs=functools.partial(_count_graphs, store.for_whole_graph_reads()),
        downloads=downloads,
        published_default=str(row["defaultGraph"]) if "defaultGraph" in row else None,
    )


def _count_graphs(store: SparqlStore) -> dict[str, int]:
    ours = {graph.value for graph in store.named_graphs()}  # a store may hold other graphs (Virtuoso's own)
    return {str(found["g"]): int(found["n"]) for found in store.select(GRAPH_SIZES_QUERY) if str(found["g"]) in ours}


def _typed(lexical: str, datatype: str) -> ox.Literal:
    return ox.Literal(lexical, datatype=ox.NamedNode(XSD + datatype))


def _iri(term: object) -> ox.NamedNode:
    return term if isinstance(term, ox.NamedNode) else ox.NamedNode(str(term))
