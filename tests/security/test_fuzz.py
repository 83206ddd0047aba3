"""Fuzzing with hypothesis: random query text, protocol parameters, headers and Accept values against the live
server, and random values for the named queries' parameters. Whatever comes in: never a 500, never a traceback or
a path of the server's in the answer, an answer within a bounded time.

Example counts are bounded so the whole file runs in well under a minute; in CI (CI=true) the examples are
derived from the test names, so a run can be repeated exactly.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.config import Settings
from mlcloudkg.endpoint.guard import Limits, check_query
from mlcloudkg.errors import QueryRejected
from mlcloudkg.queries import ParameterError
from mlcloudkg.sparql_text import Kind, tokens

from ..conftest import LiveServer

QUERY_TIMEOUT = 3.0  # the session server's
ANSWERED_WITHIN = 2 * QUERY_TIMEOUT + 5  # a wait for a free worker, the time limit, a worker starting
settings.register_profile(
    "fuzz",
    max_examples=120,
    deadline=timedelta(seconds=ANSWERED_WITHIN),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
FUZZ = settings.get_profile("fuzz")

# Pieces of SPARQL, so that random queries get past the parser often enough to reach the engine.
WORDS = [
    "SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "FROM", "NAMED", "GRAPH", "OPTIONAL", "UNION", "MINUS",
    "FILTER", "BIND", "AS", "VALUES", "SERVICE", "SILENT", "LIMIT", "OFFSET", "ORDER", "BY", "GROUP", "HAVING",
    "DISTINCT", "COUNT", "CONCAT", "REGEX", "REPLACE", "STRLEN", "EXISTS", "NOT", "IN", "BASE", "PREFIX", "INSERT",
    "DATA", "LOAD", "CLEAR", "a", "*", "{", "}", "(", ")", "[", "]", ".", ";", ",", "|", "/", "^", "!", "?", "+",
    "=", "<", ">", "&&", "||", "?s", "?p", "?o", "$x", "kg:google-colab", "mlc:offersPlan", "schema:name", ":x",
    "<https://w3id.org/mlcloudkg/id/deepnote>", "<https://w3id.org/mlcloudkg/graph/asserted>", "<file:///etc/passwd>",
    "<http://127.0.0.1:9/>", "<\\u0066ile:///x>", '"text"', "'x'", '"""', "'''", '"\\u0022"', "\\u0053ERVICE",
    "# comment\n", "1", "2.5", "-7", "1e9", "true", '"a"@en', '"1"^^xsd:integer', "\n", "\t", "\\", "\x00",
]  # fmt: skip
PREFIXES = (
    "PREFIX kg: <https://w3id.org/mlcloudkg/id/> PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#> "
    "PREFIX schema: <https://schema.org/> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> "
)
token_queries = st.lists(st.sampled_from(WORDS) | st.text(max_size=4), max_size=40).map(" ".join)
queries = token_queries | token_queries.map(lambda q: PREFIXES + q) | st.text(max_size=300)
# Printable ASCII: what HTTP clients send (requests refuses a header value that starts with white space).
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80).map(str.lstrip)
media_types = st.sampled_from(
    [
        "*/*", "text/*", "application/*", "text/turtle", "text/csv", "text/tab-separated-values", "text/html",
        "application/sparql-results+json", "application/sparql-results+xml", "application/json",
        "application/ld+json", "application/rdf+xml", "application/n-triples", "application/trig", "image/png",
        "application/problem+json", "application/x-sparqlstar-results+json",
    ]
)  # fmt: skip
accept_values = (
    st.lists(
        st.tuples(media_types | header_text, st.sampled_from(["", ";q=0", ";q=0.5", ";q=1", ";q=x", ";level=1"])),
        max_size=6,
    ).map(lambda items: ", ".join(m + q for m, q in items))
    | header_text
)
parameter_names = st.sampled_from(
    ["query", "update", "default-graph-uri", "named-graph-uri", "format", "output", "results", "timeout", "x"]
)
parameter_values = st.sampled_from(
    ["json", "xml", "csv", "tsv", "turtle", "ASK {}", "https://w3id.org/mlcloudkg/graph/inferred", "16", "true"]
) | st.text(max_size=60)


@pytest.fixture(scope="module")
def internals(settings: Settings) -> tuple[str, ...]:
    return ("Traceback", 'File "', "site-packages", sys.prefix, str(settings.root), str(settings.build_dir))


def assert_well_behaved(response: requests.Response, seconds: float, internals: tuple[str, ...]) -> None:
    assert response.status_code != 500, response.text[:300]
    assert response.status_code in {200, 303, 304, 400, 403, 404, 405, 406, 413, 414, 417, 422, 431, 503}, response.text
    assert not any(leak in response.text for leak in internals), response.text[:500]
    assert seconds < ANSWERED_WITHIN


def timed(method: str, url: str, **kwargs: object) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.request(method, url, timeout=60, allow_redirects=False, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


@FUZZ
@given(query=queries, method=st.sampled_from(["GET", "POST form", "POST direct"]))
def test_random_query_text(server: LiveServer, internals: tuple[str, ...], query: str, method: str) -> None:
    if method == "GET":
        response, seconds = timed("GET", server.url + "/sparql", params={"query": query})
    elif method == "POST form":
        response, seconds = timed("POST", server.url + "/sparql", data={"query": query})
    else:
        headers = {"Content-Type": "application/sparql-query"}
        response, seconds = timed("POST", server.url + "/sparql", data=query.encode(), headers=headers)
    assert_well_behaved(response, seconds, internals)


@FUZZ
@given(
    parameters=st.lists(st.tuples(parameter_names, parameter_values), max_size=6),
    post=st.booleans(),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "application/sparql-query", "application/sparql-update", "text/plain"]
    )
    | header_text,
)
def test_random_protocol_parameters(
    server: LiveServer, internals: tuple[str, ...], parameters: list, post: bool, content_type: str
) -> None:
    if post:
        response, seconds = timed(
            "POST", server.url + "/sparql", data=parameters, headers={"Content-Type": content_type}
        )
    else:
        response, seconds = timed("GET", server.url + "/sparql", params=parameters)
    assert_well_behaved(response, seconds, internals)


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(
            [
                "Accept",
                "Accept-Encoding",
                "Accept-Charset",
                "If-None-Match",
                "If-Modified-Since",
                "Origin",
                "Range",
                "Content-Encoding",
                "Cookie",
                "Authorization",
                "X-Forwarded-For",
                "X-Forwarded-Host",
                "Forwarded",
                "Access-Control-Request-Method",
                "Access-Control-Request-Headers",
                "Expect",
                "Cache-Control",
            ]
        ),
        header_text,
        max_size=6,
    ),
    path=st.sampled_from(
        [
            "/sparql?query=ASK%20%7B%7D",
            "/sparql",
            "/healthz",
            "/download/",
            "/download/mlcloudkg.ttl",
            "/.well-known/void",
        ]
    ),
    method=st.sampled_from(["GET", "HEAD", "OPTIONS"]),
)
def test_random_headers(server: LiveServer, internals: tuple[str, ...], headers: dict, path: str, method: str) -> None:
    response, seconds = timed(method, server.url + path, headers=headers)
    assert_well_behaved(response, seconds, internals)


@FUZZ
@given(
    accept=accept_values,
    path=st.sampled_from(
        [
            "/sparql?query=SELECT%20(1%20AS%20%3Fx)%20%7B%7D",
            "/sparql?query=CONSTRUCT%20WHERE%20%7B%3Fs%20a%20%3Fo%7D%20LIMIT%203",
            "/sparql",
            "/.well-known/void",
            "/download/mlcloudkg.trig",
            "/nothing-here",
        ]
    ),
)
def test_random_accept_headers(server: LiveServer, internals: tuple[str, ...], accept: str, path: str) -> None:
    """Content negotiation answers with an offered type, a redirect for browsers, or 406 — nothing else."""
    response, seconds = timed("GET", server.url + path, headers={"Accept": accept})
    assert_well_behaved(response, seconds, internals)
    assert response.status_code in {200, 303, 404, 406}
    if response.status_code == 406:
        # problem+json has an "accepted" member; text and HTML pages say "accepted:" / "<strong>Accepted:</strong>".
        assert "accepted:" in response.text.lower().replace("</strong>", "") or "accepted" in response.json()


@settings(FUZZ, max_examples=300, deadline=timedelta(seconds=5))
@given(data=st.data())
def test_random_named_query_parameters(kg: KnowledgeGraph, data: st.DataObject) -> None:
    """Any value for any parameter of any named query: a ParameterError saying which and what is accepted, or a
    query that still does only what it did (the value is bound as one RDF term, never spliced into the text)."""
    name = data.draw(st.sampled_from(sorted(kg.catalog)))
    query = kg.catalog[name]
    names = [p.name for p in query.parameters] + ["not_a_parameter"]
    values = data.draw(st.dictionaries(st.sampled_from(names), st.text(max_size=40) | parameter_values, max_size=3))
    try:
        text = query.bind(values)
    except ParameterError as error:
        parameter = query.parameter(error.parameter)
        assert error.parameter in values or (parameter is not None and parameter.required)
        assert error.accepted
        return
    after = query.text[query.where_offset :]
    inserted = text[query.where_offset : len(text) - len(after)]
    assert text == query.text[: query.where_offset] + inserted + after  # the text itself is untouched
    found = [t for t in tokens(inserted) if t.kind is not Kind.COMMENT]
    assert {t.word for t in found if t.kind is Kind.KEYWORD} <= {"VALUES"}  # each value is one term, no keyword
    assert [t.text for t in found if t.text in "{}"] == (["{", "}"] if inserted.strip() else [])
    assert check_query(text, frozenset(), Limits()).form == "SELECT"
    kg.store.select(text)  # and the engine runs it


def test_the_guard_never_fails_on_any_text() -> None:
    """The guard runs in the web process, on every query: it may refuse, never crash (checked over 2,000 texts)."""

    @settings(FUZZ, max_examples=2_000, deadline=timedelta(seconds=1))
    @given(text=queries)
    def guard(text: str) -> None:
        try:
            check_query(text, frozenset({"https://w3id.org/mlcloudkg/graph/asserted"}), Limits())
        except QueryRejected as refused:
            assert 400 <= refused.status < 500

    guard()
