"""Query results as plain JSON for programs that do not speak RDF: an array of rows, each an object with every
variable of the query; numbers as JSON numbers, booleans as booleans, dates and IRIs as strings, unbound as null.

Shared by the REST API (`GET /api/queries/<name>`) and the command line (`mlcloudkg query --format json`), so
both give the same JSON for the same answer.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal

import pyoxigraph as ox

from mlcloudkg.store import Term, python_value

JSON_MEDIA_TYPE = "application/json"
PlainValue = str | int | float | bool | None


def plain_value(term: Term | ox.Triple | None) -> PlainValue:
    """A term as a JSON value."""
    if term is None:
        return None
    value = python_value(term)
    if isinstance(value, Decimal):
        return float(value)  # JSON has one kind of number; 0.45 stays 0.45
    if isinstance(value, float) and not math.isfinite(value):
        return str(term.value) if isinstance(term, ox.Literal) else str(value)  # INF and NaN have no JSON form
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def plain_rows(results: ox.QuerySolutions) -> list[dict[str, PlainValue]]:
    names = [variable.value for variable in results.variables]
    return [{name: plain_value(term) for name, term in zip(names, solution, strict=True)} for solution in results]


def plain_json(results: ox.QuerySolutions | ox.QueryBoolean, indent: int | None = None) -> bytes:
    """The rows of a SELECT (or the boolean of an ASK) as JSON text (indented for people, if asked)."""
    data: object = bool(results) if isinstance(results, ox.QueryBoolean) else plain_rows(results)
    return json.dumps(data, ensure_ascii=False, indent=indent).encode("utf-8")


def plain_json_from_sparql_json(body: bytes) -> bytes:
    """Plain JSON from a SPARQL JSON results document (what the query workers answer)."""
    results = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
    assert isinstance(results, ox.QuerySolutions | ox.QueryBoolean)
    return plain_json(results)
