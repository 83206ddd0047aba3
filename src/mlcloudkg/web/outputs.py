"""What the answer to a named query can be delivered as, in one registry: plain JSON rows (the default), CSV, TSV
and the SPARQL result formats for SELECT and ASK; the endpoint's RDF formats for CONSTRUCT and DESCRIBE.
Chosen by `?format=<short name>`, else by content negotiation (web/http.py)."""

from __future__ import annotations

from dataclasses import dataclass

from mlcloudkg.endpoint.formats import FORMATS, Format, Kind, formats_of
from mlcloudkg.errors import InvalidParameter
from mlcloudkg.results import JSON_MEDIA_TYPE
from mlcloudkg.web.http import negotiate

SPARQL_JSON = "application/sparql-results+json"


@dataclass(frozen=True)
class Output:
    """One way to deliver an answer: its media type, the `format=` names that ask for it, and the format the query
    workers produce it in (plain JSON is converted from SPARQL JSON)."""

    media_type: str
    short_names: tuple[str, ...]
    evaluated_as: Format
    description: str
    extension: str

    @property
    def plain(self) -> bool:
        return self.media_type == JSON_MEDIA_TYPE

    @property
    def content_type(self) -> str:
        return JSON_MEDIA_TYPE if self.plain else self.evaluated_as.content_type


def _format(media_type: str) -> Format:
    return next(f for f in FORMATS if f.media_type == media_type)


RESULT_OUTPUTS: tuple[Output, ...] = (
    Output(
        JSON_MEDIA_TYPE,
        ("json",),
        _format(SPARQL_JSON),
        "an array of rows, one object per row with every variable: numbers, booleans, strings; null when unbound",
        "json",
    ),
    Output("text/csv", ("csv",), _format("text/csv"), "SPARQL 1.1 CSV results", "csv"),
    Output("text/tab-separated-values", ("tsv",), _format("text/tab-separated-values"), "SPARQL 1.1 TSV", "tsv"),
    Output(SPARQL_JSON, ("sparql-json", "srj"), _format(SPARQL_JSON), "SPARQL 1.1 JSON results", "srj"),
    Output(
        "application/sparql-results+xml",
        ("sparql-xml", "srx", "xml"),
        _format("application/sparql-results+xml"),
        "SPARQL 1.1 XML results",
        "srx",
    ),
)
GRAPH_OUTPUTS: tuple[Output, ...] = tuple(
    Output(f.media_type, f.short_names, f, f"the graph as {f.media_type}", f.extension) for f in formats_of(Kind.GRAPH)
)


def outputs_for(form: str) -> tuple[Output, ...]:
    """The outputs of a query form (SELECT, ASK or CONSTRUCT); the first is the default."""
    return GRAPH_OUTPUTS if form == "CONSTRUCT" else RESULT_OUTPUTS


def choose_output(outputs: tuple[Output, ...], requested: str | None) -> Output:
    """The output a `format=` value names (a short name or a media type), else the one the Accept header prefers."""
    if requested:
        wanted = requested.strip().lower()
        for output in outputs:
            if wanted in output.short_names or wanted == output.media_type:
                return output
        names = ", ".join(name for output in outputs for name in output.short_names)
        raise InvalidParameter("format", f"{requested!r} is not a format of this query's answer", names)
    chosen = negotiate([output.media_type for output in outputs])
    return next(output for output in outputs if output.media_type == chosen)
