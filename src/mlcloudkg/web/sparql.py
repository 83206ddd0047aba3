"""/sparql: the SPARQL 1.1 Protocol query operation (GET, POST form, POST direct), read-only.

Without a query, GET /sparql is the service description (a browser is sent to the query page instead).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, redirect, request
from werkzeug.exceptions import HTTPException

from mlcloudkg.endpoint.executor import Evaluation
from mlcloudkg.endpoint.formats import Kind
from mlcloudkg.endpoint.guard import check_query
from mlcloudkg.errors import QueryRejected
from mlcloudkg.web import metrics
from mlcloudkg.web.description import service_description
from mlcloudkg.web.http import (
    HTML,
    cacheable,
    entity_tag,
    negotiate,
    not_modified,
    not_modified_response,
    result_format,
    server_timing,
)
from mlcloudkg.web.live import LiveDataset

blueprint = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
ACCEPTED_POSTS = f"POST with Content-Type {FORM} (query=...) or {DIRECT} (the query as the body)"


def live() -> LiveDataset:
    return current_app.extensions["mlcloudkg"]


@blueprint.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    query, parameters = _protocol_request()
    served = live().current()
    if query is None:
        return _description(served)
    checked = check_query(query, served.graphs, live().limits)
    default_graphs = _graphs(parameters, "default-graph-uri", served.graphs)
    named_graphs = _graphs(parameters, "named-graph-uri", served.graphs)
    kind = Kind.RESULTS if checked.form in {"SELECT", "ASK"} else Kind.GRAPH
    chosen = result_format(kind, parameters)
    key = (served.version, checked.text, chosen.media_type, default_graphs, named_graphs)
    etag = entity_tag(*key)
    if not_modified(etag, served.last_modified):
        metrics.cache_results.labels("not modified").inc()
        return not_modified_response(etag, served.last_modified)
    started = time.perf_counter()
    answer, outcome = served.answer(
        Evaluation(
            checked.text,
            chosen.media_type,
            default_graphs if default_graphs else None,
            named_graphs if named_graphs else None,
        )
    )
    response = Response(answer.body, content_type=chosen.content_type)
    response.headers["Server-Timing"] = server_timing(answer, started, outcome)
    return cacheable(response, etag, served.last_modified)


def _protocol_request() -> tuple[bytes | str | None, dict[str, list[str]]]:
    """The query and the protocol parameters, with the protocol's error cases refused (400)."""
    url_parameters = _parse(request.query_string, "the URL's query string")
    if "update" in url_parameters:
        raise QueryRejected(
            "SPARQL Update is not accepted: this endpoint is read-only", "query=... only", status=403, title="Forbidden"
        )
    if request.method in {"GET", "HEAD"}:  # HEAD: the headers GET would send (Flask routes it here)
        return _single_query(url_parameters), url_parameters
    content_type = (request.mimetype or "").lower()
    if content_type == FORM:
        body = _parse(_body(), "the form body")
        if "update" in body:
            raise QueryRejected(
                "SPARQL Update is not accepted: this endpoint is read-only",
                "query=... only",
                status=403,
                title="Forbidden",
            )
        if "query" in url_parameters:
            raise QueryRejected("the query is given both in the URL and in the form body", "one query parameter")
        merged = {**url_parameters, **body}
        query = _single_query(merged)
        if query is None:
            raise QueryRejected("the form body has no query parameter", ACCEPTED_POSTS)
        return query, merged
    if content_type == DIRECT:
        if "query" in url_parameters:
            raise QueryRejected("a direct POST carries the query in its body, not in the URL", ACCEPTED_POSTS)
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if charset not in {"utf-8", "utf8"}:
            raise QueryRejected(f"the query's charset is {charset}", "UTF-8")
        return _body(), url_parameters
    if content_type == UPDATE_TYPE:
        raise QueryRejected(
            "SPARQL Update is not accepted: this endpoint is read-only", ACCEPTED_POSTS, status=403, title="Forbidden"
        )
    raise QueryRejected(f"POST with Content-Type {content_type or 'missing'!r}", ACCEPTED_POSTS)


def _body() -> bytes:
    """The request body; one the WSGI server cannot decode (a malformed chunked encoding) is the client's error."""
    try:
        return request.get_data(cache=False)
    except HTTPException:  # too large (413), cut short (400): answered as such
        raise
    except Exception as error:  # the server's own error type, e.g. gunicorn's InvalidChunkSize
        raise QueryRejected(
            f"the request body could not be read ({type(error).__name__})",
            "a body sent whole or in well-formed chunks (Transfer-Encoding: chunked)",
        ) from None


def _parse(raw: bytes, where: str) -> dict[str, list[str]]:
    try:
        pairs = parse_qsl(
            raw.decode("ascii", errors="strict"),
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
        )
    except UnicodeError:
        raise QueryRejected(f"{where} is not UTF-8 once percent-decoded", "UTF-8, percent-encoded") from None
    parameters: dict[str, list[str]] = {}
    for name, value in pairs:
        parameters.setdefault(name, []).append(value)
    return parameters


def _single_query(parameters: dict[str, list[str]]) -> str | None:
    queries = parameters.get("query")
    if not queries:
        return None
    if len(queries) > 1:
        raise QueryRejected(f"the request has {len(queries)} query parameters", "exactly one")
    return queries[0]


def _graphs(parameters: dict[str, list[str]], name: str, known: frozenset[str]) -> tuple[str, ...]:
    graphs = tuple(parameters.get(name, []))
    unknown = [g for g in graphs if g not in known]
    if unknown:
        raise QueryRejected(
            f"{name}={unknown[0]} is not a graph of this endpoint",
            f"{name} with graphs listed in the service description (GET /sparql)",
            status=403,
            title="Forbidden",
        )
    return graphs


def _description(served: object) -> Response:
    offers = [
        "text/turtle",
        "application/ld+json",
        "application/rdf+xml",
        "application/n-triples",
        "application/trig",
        HTML,
    ]
    chosen = negotiate(offers)
    if chosen == HTML:
        return redirect("/", code=303)  # a person: the query page
    return service_description(chosen)
