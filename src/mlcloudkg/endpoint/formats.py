"""Every result format the endpoint speaks, in one registry: media types, the short names clients send
(`format=json`, as SPARQLWrapper and Fuseki do), and the pyoxigraph serialiser behind each."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pyoxigraph as ox


class Kind(Enum):
    RESULTS = "results"  # SELECT and ASK
    GRAPH = "graph"  # CONSTRUCT and DESCRIBE


@dataclass(frozen=True)
class Format:
    media_type: str
    kind: Kind
    short_names: tuple[str, ...]
    serializer: ox.QueryResultsFormat | ox.RdfFormat
    aliases: tuple[str, ...] = ()  # other media types clients use for it
    extension: str = ""
    w3c: str = ""  # the format's IRI at http://www.w3.org/ns/formats/, for the service description

    @property
    def content_type(self) -> str:
        textual = self.media_type.startswith("text/") or self.media_type.endswith(("json", "xml"))
        return f"{self.media_type}; charset=utf-8" if textual else self.media_type


FORMATS: tuple[Format, ...] = (
    # Results of SELECT and ASK; the first is the default.
    Format(
        "application/sparql-results+json",
        Kind.RESULTS,
        ("json", "srj"),
        ox.QueryResultsFormat.JSON,
        ("application/json",),
        "srj",
        "http://www.w3.org/ns/formats/SPARQL_Results_JSON",
    ),
    Format(
        "application/sparql-results+xml",
        Kind.RESULTS,
        ("xml", "srx"),
        ox.QueryResultsFormat.XML,
        ("application/xml", "text/xml"),
        "srx",
        "http://www.w3.org/ns/formats/SPARQL_Results_XML",
    ),
    Format(
        "text/csv",
        Kind.RESULTS,
        ("csv",),
        ox.QueryResultsFormat.CSV,
        (),
        "csv",
        "http://www.w3.org/ns/formats/SPARQL_Results_CSV",
    ),
    Format(
        "text/tab-separated-values",
        Kind.RESULTS,
        ("tsv",),
        ox.QueryResultsFormat.TSV,
        (),
        "tsv",
        "http://www.w3.org/ns/formats/SPARQL_Results_TSV",
    ),
    # Graphs from CONSTRUCT and DESCRIBE; the first is the default.
    # Turtle is also served to clients asking for N3, of which it is a subset.
    Format(
        "text/turtle",
        Kind.GRAPH,
        ("turtle", "ttl", "n3"),
        ox.RdfFormat.TURTLE,
        ("application/turtle", "application/x-turtle", "text/n3", "text/rdf+n3"),
        "ttl",
        "http://www.w3.org/ns/formats/Turtle",
    ),
    Format(
        "application/n-triples",
        Kind.GRAPH,
        ("ntriples", "nt", "n-triples"),
        ox.RdfFormat.N_TRIPLES,
        ("text/plain",),
        "nt",
        "http://www.w3.org/ns/formats/N-Triples",
    ),
    Format(
        "application/ld+json",
        Kind.GRAPH,
        ("json-ld", "jsonld", "json"),
        ox.RdfFormat.JSON_LD,
        ("application/x-json+ld", "application/json"),
        "jsonld",
        "http://www.w3.org/ns/formats/JSON-LD",
    ),
    Format(
        "application/rdf+xml",
        Kind.GRAPH,
        ("rdfxml", "rdf", "xml", "rdf+xml"),
        ox.RdfFormat.RDF_XML,
        ("application/xml", "text/xml"),
        "rdf",
        "http://www.w3.org/ns/formats/RDF_XML",
    ),
    Format(
        "application/trig", Kind.GRAPH, ("trig",), ox.RdfFormat.TRIG, (), "trig", "http://www.w3.org/ns/formats/TriG"
    ),
    Format(
        "application/n-quads",
        Kind.GRAPH,
        ("nquads", "nq", "n-quads"),
        ox.RdfFormat.N_QUADS,
        ("text/x-nquads",),
        "nq",
        "http://www.w3.org/ns/formats/N-Quads",
    ),
)


def formats_of(kind: Kind) -> list[Format]:
    return [f for f in FORMATS if f.kind is kind]


def by_short_name(kind: Kind, name: str) -> Format | None:
    """The format a `format=`/`output=` short name (or a media type given there) asks for."""
    wanted = name.strip().lower()
    for candidate in formats_of(kind):
        if wanted in candidate.short_names or wanted == candidate.media_type or wanted in candidate.aliases:
            return candidate
    return None


def by_media_type(kind: Kind, media_type: str) -> Format | None:
    for candidate in formats_of(kind):
        if media_type in (candidate.media_type, *candidate.aliases):
            return candidate
    return None
