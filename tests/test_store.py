"""The stores: the embedded build and a remote SPARQL endpoint (our own live server on loopback, through
SPARQLWrapper) give the same answers, and every way a remote store can fail is reported as our own error."""

from __future__ import annotations

import http.server
import socket
import time
from collections.abc import Callable

import pyoxigraph as ox
import pytest

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.errors import ConfigurationError, QueryRejected, QueryTimeout, StoreTimeout, StoreUnavailable
from mlcloudkg.history import change_dates
from mlcloudkg.remote_store import RemoteStore
from mlcloudkg.store import WorkerStore

from .conftest import LiveServer, StandIn, free_port

PREFIXES = """PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#> PREFIX schema: <https://schema.org/>
PREFIX kg: <https://w3id.org/mlcloudkg/id/> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""
# Rows with IRIs, strings, integers, decimals, booleans, dates and unbound variables.
TYPED_ROWS = (
    PREFIXES
    + """SELECT ?gpu ?name ?memory ?tensor ?date ?missing WHERE {
  ?gpu a mlc:GPUModel ; schema:name ?name .
  OPTIONAL { ?gpu mlc:gpuMemory/schema:value ?memory }
  OPTIONAL { ?gpu mlc:hasTensorCores ?tensor }
  OPTIONAL { ?gpu schema:releaseDate ?date }
  OPTIONAL { ?gpu <urn:nothing> ?missing }
} ORDER BY ?name"""
)
EVERY_ASSERTED_TRIPLE = "SELECT ?s ?p ?o WHERE { GRAPH <https://w3id.org/mlcloudkg/graph/asserted> { ?s ?p ?o } }"


@pytest.fixture(scope="module")
def remote(server: LiveServer) -> RemoteStore:
    return RemoteStore(server.url + "/sparql", timeout=10)


def test_remote_rows_are_the_embedded_rows(kg: KnowledgeGraph, remote: RemoteStore) -> None:
    embedded = kg.store.select(TYPED_ROWS)
    assert len(embedded) >= 6
    assert remote.select(TYPED_ROWS) == embedded
    kinds = {type(value).__name__ for row in embedded for value in row.values()}
    assert {"str", "int", "bool", "date"} <= kinds


def test_remote_terms_are_the_embedded_terms(kg: KnowledgeGraph, remote: RemoteStore) -> None:
    def triples(rows: list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]) -> set[tuple[str, str, str]]:
        return {(str(r["s"]), str(r["p"]), str(r["o"])) for r in rows}

    embedded = triples(kg.store.select_terms(EVERY_ASSERTED_TRIPLE))
    assert len(embedded) > 500
    assert triples(remote.select_terms(EVERY_ASSERTED_TRIPLE)) == embedded


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (PREFIXES + "ASK { kg:google-colab a mlc:FreePrivateGPUNotebookService }", True),
        (PREFIXES + "ASK { kg:paperspace-gradient a mlc:FreePrivateGPUNotebookService }", False),
    ],
)
def test_remote_ask(remote: RemoteStore, query: str, expected: bool) -> None:
    assert remote.ask(query) is expected


@pytest.mark.parametrize(
    "query",
    [
        PREFIXES + "CONSTRUCT { ?s mlc:offersGPU ?gpu } WHERE { ?s mlc:offersGPU ?gpu }",
        PREFIXES + "DESCRIBE kg:nvidia-tesla-t4",
    ],
)
def test_remote_graphs_are_the_embedded_graphs(kg: KnowledgeGraph, remote: RemoteStore, query: str) -> None:
    embedded = set(kg.store.construct(query))
    assert embedded
    assert set(remote.construct(query)) == embedded


def test_remote_and_embedded_agree_on_the_dates_of_the_passages(kg: KnowledgeGraph, remote: RemoteStore) -> None:
    """The embedded store takes the latest state from its build's manifest, a remote one from the passages; both
    say which of some graphs are passages in effect, asking about those graphs only."""
    assert kg.store.latest_state == remote.latest_state == max(change_dates(remote.passages))
    every = [p.graph.value for p in kg.store.passages]
    in_effect = kg.store.passages_in_effect([*every, "https://w3id.org/mlcloudkg/graph/inferred"])
    assert 0 < len(in_effect) < len(every)  # some passages of the article were superseded by later ones
    assert remote.passages_in_effect(every) == in_effect
    assert kg.store.passages_in_effect(every[:3]) == in_effect & set(every[:3])


def test_a_remote_syntax_error_says_where(remote: RemoteStore) -> None:
    with pytest.raises(QueryRejected, match=r"refused the query \(400\): SPARQL syntax error: error at 1:\d+"):
        remote.select("SELECT * WHERE { ?s ?p }")


def test_a_remote_refusal_gives_the_endpoints_reason(remote: RemoteStore) -> None:
    with pytest.raises(QueryRejected) as refused:
        remote.select("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")
    assert "(403): SERVICE (federated query) is not allowed" in str(refused.value)
    assert refused.value.accepted == "queries over this endpoint's own graphs"


def test_an_update_is_refused_before_anything_is_sent() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    try:
        store = RemoteStore(f"http://127.0.0.1:{listener.getsockname()[1]}/sparql", timeout=1)
        with pytest.raises(QueryRejected, match="SPARQL Update is not accepted"):
            store.evaluate("INSERT DATA { <urn:a> <urn:b> <urn:c> }")
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody connected
    finally:
        listener.close()


def test_an_unreachable_endpoint_is_reported_as_unavailable_for_now() -> None:
    store = RemoteStore(f"http://127.0.0.1:{free_port()}/sparql", timeout=5)
    with pytest.raises(StoreUnavailable, match=r"cannot reach the SPARQL endpoint .* refused") as failed:
        store.ask("ASK {}")
    assert failed.value.exit_code == 5
    assert failed.value.status == 503


def test_a_silent_endpoint_times_out() -> None:
    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        store = RemoteStore(f"http://127.0.0.1:{silent.getsockname()[1]}/sparql", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(StoreTimeout, match=r"did not answer within 0.5 s") as failed:
            store.select("SELECT * WHERE { ?s ?p ?o }")
        assert time.monotonic() - started < 5
        assert failed.value.status == 504
    finally:
        silent.close()


@pytest.fixture
def canned_endpoint(loopback_http: StandIn) -> Callable[[int, str, bytes], str]:
    """Loopback web servers that answer every POST with one given status, media type and body."""

    def start(status: int, media_type: str, body: bytes) -> str:
        class Canned(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(status)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return loopback_http(Canned) + "/sparql"

    return start


def test_an_answer_that_is_not_sparql_results_is_reported(canned_endpoint: Callable[[int, str, bytes], str]) -> None:
    endpoint = canned_endpoint(200, "text/html", b"<html><body>hello</body></html>")
    with pytest.raises(StoreUnavailable, match=r"is not readable as text/html"):
        RemoteStore(endpoint, timeout=5).select("SELECT * WHERE { ?s ?p ?o }")


def test_a_statement_virtuoso_cancelled_at_its_time_limit_is_a_timeout(
    canned_endpoint: Callable[[int, str, bytes], str],
) -> None:
    # One of the ways Virtuoso 7.2 ends a query at its time limit (the others: status 200 with what it had found).
    body = b"Virtuoso HY008 Error SR203: Async statement killed by SQLCancel.\n\nSPARQL query:\nSELECT ..."
    endpoint = canned_endpoint(500, "text/plain", body)
    with pytest.raises(StoreTimeout, match="stopped the query at its own time limit: Virtuoso HY008 Error SR203"):
        RemoteStore(endpoint, timeout=5).select("SELECT * WHERE { ?s ?p ?o }")
    broken = canned_endpoint(500, "text/plain", b"Virtuoso 42000 Error SR185: Undefined procedure")
    with pytest.raises(StoreUnavailable, match="answered 500"):
        RemoteStore(broken, timeout=5).select("SELECT * WHERE { ?s ?p ?o }")


def test_a_remote_store_needs_an_http_url() -> None:
    with pytest.raises(ConfigurationError, match="'file:///etc/passwd' is not the URL of a SPARQL endpoint"):
        RemoteStore("file:///etc/passwd")


def test_a_remote_store_is_named_by_its_url_unless_given_a_version() -> None:
    assert RemoteStore("http://127.0.0.1:1/sparql").version != RemoteStore("http://127.0.0.1:2/sparql").version
    assert RemoteStore("http://127.0.0.1:1/sparql", version="d6345cc7").version == "d6345cc7"


def test_an_embedded_syntax_error_is_a_rejected_query(kg: KnowledgeGraph) -> None:
    with pytest.raises(QueryRejected, match="SPARQL syntax error"):
        kg.query("SELECT * WHERE { ?s ?p }")


def test_select_refuses_other_query_forms(kg: KnowledgeGraph) -> None:
    with pytest.raises(TypeError, match="SELECT queries only"):
        kg.store.select("ASK {}")


def test_a_worker_store_answers_like_the_embedded_store_and_stops_at_the_time_limit(kg: KnowledgeGraph) -> None:
    store = WorkerStore(kg.store.build, timeout=5, max_result_bytes=10_000_000, max_memory_bytes=1_000_000_000)
    try:
        assert store.select(TYPED_ROWS) == kg.store.select(TYPED_ROWS)
        describe = PREFIXES + "DESCRIBE kg:nvidia-tesla-t4"
        assert set(store.construct(describe)) == set(kg.store.construct(describe))
        assert store.ask(PREFIXES + "ASK { kg:google-colab a mlc:FreeGPUService }") is True
        with pytest.raises(QueryRejected, match="SPARQL syntax error"):
            store.select("SELECT * WHERE { ?s ?p }")
    finally:
        store.close()
    hasty = WorkerStore(kg.store.build, timeout=1, max_result_bytes=10_000_000, max_memory_bytes=1_000_000_000)
    try:
        with pytest.raises(QueryTimeout, match=r"ran longer than 1 s"):
            hasty.select("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")
    finally:
        hasty.close()
