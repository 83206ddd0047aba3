"""`mlcloudkg publish` and `mlcloudkg serve --store` over real SPARQL stores on loopback (Oxigraph's server, and
Virtuoso, whose default graph is the union of its named graphs): the replica answers everything the embedded service
answers, the same way, refuses the same hostile queries, follows a re-publish, and says clearly when the store is
gone."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest
import rdflib
import requests
from SPARQLWrapper import JSON, SPARQLWrapper

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.build import build, current_build
from mlcloudkg.config import Settings
from mlcloudkg.dataset import snapshot_graphs
from mlcloudkg.errors import ConfigurationError, PublishFailed, StoreTimeout
from mlcloudkg.history import change_dates
from mlcloudkg.publish import GraphStoreClient, publish
from mlcloudkg.release import GRAPH_SIZES_QUERY, publish_record, read_release
from mlcloudkg.remote_store import RemoteStore, remote_store

from .conftest import STORES, LiveServer, OxigraphServer, StandIn, StoreServer, free_port, run_cli, serve_store

KG = "https://w3id.org/mlcloudkg/id/"
PROVENANCE = "https://w3id.org/mlcloudkg/graph/provenance"
GROUP_CONCAT = re.compile(r'GROUP_CONCAT\((?:DISTINCT\s+)?\?\w+\s*;\s*separator\s*=\s*"([^"]*)"\)\s+AS\s+\?(\w+)', re.I)
# Graphs a store holds of its own from the start (Virtuoso's schemas and settings).
STORE_OWN_GRAPHS = {
    "oxigraph": [],
    "virtuoso": [
        "http://www.openlinksw.com/schemas/virtrdf#",
        "http://www.w3.org/ns/ldp#",
        "http://localuriqaserver/sparql",
    ],
}
REQUIRED = {"fact-provenance": {"subject": KG + "colab-free-runtime"}}  # as in test_rest_api.py
JSON_ACCEPT = {"Accept": "application/json"}
FREE_GPU_SERVICES = """PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#>
SELECT ?service WHERE { ?service a mlc:FreeGPUService } ORDER BY ?service"""


def get(server: LiveServer, path: str, **options: Any) -> requests.Response:
    return requests.get(server.url + path, timeout=30, **options)


def store_select(store: StoreServer, query: str) -> list[dict[str, Any]]:
    """Rows of a query asked of the store itself, not through mlcloudkg."""
    response = requests.post(store.query_url, data={"query": query}, headers={"Accept": "application/json"})
    response.raise_for_status()
    return response.json()["results"]["bindings"]


# -- publish ------------------------------------------------------------------------------------------------------


def test_publishing_again_leaves_one_version_record(store: StoreServer, settings: Settings) -> None:
    versions = store_select(
        store,
        f"SELECT ?v WHERE {{ GRAPH <{PROVENANCE}> {{ <https://w3id.org/mlcloudkg/dataset> "
        "<http://purl.org/dc/terms/hasVersion> ?v } }",
    )
    assert [row["v"]["value"] for row in versions] == [current_build(settings).digest]


def test_the_store_holds_every_graph_of_the_build(store: StoreServer, settings: Settings) -> None:
    sizes = current_build(settings).manifest["graphs"]
    rows = store_select(store, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    published = {row["g"]["value"]: int(row["n"]["value"]) for row in rows}
    record = published.pop(PROVENANCE) - sizes.pop(PROVENANCE)  # the version record, in graph:provenance only
    assert record > 0
    default = sizes.pop("default")
    if store.default_graph:  # the default graph, with the record, as the named graph the publish was given
        assert published.pop(store.default_graph) == default + record
    ours = {name: size for name, size in published.items() if name.startswith("https://w3id.org/mlcloudkg/")}
    assert ours == sizes
    assert published.keys() - ours.keys() == set(STORE_OWN_GRAPHS[store.name])


def test_a_release_read_from_a_store_counts_its_graphs_only_when_asked(
    oxigraph_store: StoreServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    real = RemoteStore.evaluate_in

    def recorded(store: RemoteStore, query: str, *dataset: Any) -> Any:
        asked.append(query)
        return real(store, query, *dataset)

    monkeypatch.setattr(RemoteStore, "evaluate_in", recorded)
    release = read_release(RemoteStore(oxigraph_store.query_url, timeout=10))  # as each replica does on starting
    assert asked and GRAPH_SIZES_QUERY not in asked
    assert release.graph_sizes[PROVENANCE] > 0 and release.graph_sizes == release.graph_sizes
    assert asked.count(GRAPH_SIZES_QUERY) == 1


def test_a_replica_takes_the_date_of_the_latest_state_from_the_publish_record(
    oxigraph_store: StoreServer, kg: KnowledgeGraph, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = read_release(RemoteStore(oxigraph_store.query_url, timeout=10))
    assert release.now == max(change_dates(kg.store.passages))  # what reading every passage would find
    asked: list[str] = []
    monkeypatch.setattr(RemoteStore, "evaluate_in", lambda store, query, *dataset: asked.append(query))
    store = remote_store(replace(settings, store=oxigraph_store.query_url), release.version, None, release.now)
    assert store.latest_state == store.state_date == release.now
    assert store.view(*snapshot_graphs(date(2020, 12, 17)), date(2020, 12, 17)).latest_state == release.now
    assert asked == []


def test_a_replicas_service_description_counts_the_graphs_of_the_store(replica: LiveServer, server: LiveServer) -> None:
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")

    def sizes(live: LiveServer) -> dict[str, int]:
        """Statements in each named graph listed, and in the source passages' graphs (counted, not listed)."""
        response = get(live, "/sparql", headers={"Accept": "text/turtle"})
        assert response.status_code == 200, response.text
        graph = rdflib.Graph().parse(data=response.text, format="turtle")
        (passages,) = graph.objects(None, rdflib.VOID.subset)
        return {
            str(graph.value(named, sd.name)): int(graph.value(graph.value(named, sd.graph), rdflib.VOID.triples))
            for named in graph.subjects(rdflib.RDF.type, sd.NamedGraph)
        } | {"passages": int(graph.value(passages, rdflib.VOID.triples))}

    # Counted by the store when first asked (not when a replica starts: a scan of the whole store).
    counted, built = sizes(replica), sizes(server)
    assert counted.pop(PROVENANCE) > built.pop(PROVENANCE)  # and the version record
    assert counted == built and counted["passages"] > 0 and len(counted) > 5


def test_publish_to_an_unreachable_store_says_what_is_accepted(settings: Settings) -> None:
    failed = run_cli(settings, "publish", "--to", f"http://127.0.0.1:{free_port()}/store")
    assert failed.returncode == 5
    assert (
        "Connection refused" in failed.stderr and "accepted: the URL of a running store's Graph Store" in failed.stderr
    )
    assert "Traceback" not in failed.stderr


@dataclass
class GraphStoreStandIn:
    """What a Graph Store Protocol stand-in saw: the graph of each PUT and POST with its statements, and the most
    requests in flight at once; `refuse` names a graph whose PUT it refuses."""

    url: str
    puts: list[str] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)
    statements: dict[str, int] = field(default_factory=dict)
    most_in_flight: int = 0
    refused: list[str] = field(default_factory=list)

    def refuse(self, graph: str) -> None:
        self.refused.append(graph)


@pytest.fixture
def graph_store_stand_in() -> Iterator[GraphStoreStandIn]:
    """A Graph Store Protocol stand-in on loopback that stores nothing: it notes each PUT and POST, answers 404 for
    every GET (nothing published yet), answers each PUT and POST 0.1 s after reading it (a store's commit), and
    refuses with 500 the PUT of a graph it was told to refuse."""
    seen = GraphStoreStandIn("")
    in_flight = [0]
    lock = threading.Lock()

    class GraphStore(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(404)

        def do_PUT(self) -> None:
            self._receive(seen.puts)

        def do_POST(self) -> None:
            self._receive(seen.posts)

        def _receive(self, requests_of_the_kind: list[str]) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            graph = parse_qs(urlsplit(self.path).query).get("graph", ["default"])[0]
            with lock:
                requests_of_the_kind.append(graph)
                seen.statements[graph] = seen.statements.get(graph, 0) + body.count(b" .\n")
                in_flight[0] += 1
                seen.most_in_flight = max(seen.most_in_flight, in_flight[0])
            refused = graph in seen.refused and requests_of_the_kind is seen.puts
            if not refused:
                time.sleep(0.1)  # a store's commit: the senders overlap, and a refusal comes back before they finish
            with lock:
                in_flight[0] -= 1
            self._answer(500 if refused else 204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), GraphStore)
    seen.url = f"http://127.0.0.1:{server.server_port}/store"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seen
    server.shutdown()
    server.server_close()


# A quad iterator of pyoxigraph dropped on another thread than its own is an error it reports this way.
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.usefixtures("kg")  # the session's build
def test_publish_sends_graphs_side_by_side_and_stops_at_a_refusal_before_the_version_record(
    settings: Settings, graph_store_stand_in: GraphStoreStandIn
) -> None:
    store = graph_store_stand_in
    built = current_build(settings)
    graphs = sorted(g.value for g in ox.Store.read_only(str(built.store_path)).named_graphs())
    in_order = [g for g in graphs if g != PROVENANCE]  # the order publish sends them in, after the default graph
    assert len(in_order) > 20
    store.refuse(in_order[4])
    with pytest.raises(PublishFailed) as failed:
        publish(built, GraphStoreClient(store.url), jobs=4)
    assert f"<{in_order[4]}> (500" in str(failed.value)
    # Sent side by side, at most four at once; the PUTs under way when the refusal came finished before publish
    # raised, none started after, and graph:provenance, which holds the version replicas read, was never written.
    assert 2 <= store.most_in_flight <= 4
    sent = list(store.puts)
    time.sleep(0.3)
    assert store.puts == sent
    assert in_order[4] in sent and PROVENANCE not in sent
    assert len(sent) < len(in_order) / 2


@pytest.mark.usefixtures("kg")  # the session's build
def test_a_graph_larger_than_a_part_is_put_then_posted_in_parts(
    settings: Settings, graph_store_stand_in: GraphStoreStandIn
) -> None:
    store = graph_store_stand_in
    built = current_build(settings)
    sizes = {name: int(size) for name, size in built.manifest["graphs"].items()}
    published = publish(built, GraphStoreClient(store.url), jobs=4, part_statements=100)
    assert sizes["default"] > 3_000  # so it goes in over 30 parts
    # One part for each 100 statements begun (a graph of exactly 100 is one PUT), an empty graph a PUT of nothing.
    parts = {graph: max(1, -(-statements // 100)) for graph, statements in store.statements.items()}
    assert {graph: store.posts.count(graph) for graph in sizes} == {graph: n - 1 for graph, n in parts.items()}
    # Each graph PUT once, whatever its size, and every statement sent once: the version record goes into the
    # default graph and graph:provenance besides the build's own.
    assert sorted(store.puts) == sorted(sizes)
    assert set(store.posts) <= set(store.puts)
    record = len(publish_record(built))
    assert published.triples == sum(sizes.values()) + 2 * record
    assert store.statements == {**sizes, "default": sizes["default"] + record, PROVENANCE: sizes[PROVENANCE] + record}


@pytest.mark.usefixtures("kg")  # the session's build
def test_publish_gives_up_on_a_store_silent_past_its_timeout(
    settings: Settings, graph_store_stand_in: GraphStoreStandIn
) -> None:
    url, puts = graph_store_stand_in.url, graph_store_stand_in.puts  # each PUT is answered after 0.1 s
    failed = run_cli(settings, "publish", "--to", url, "--timeout", "0.05")
    assert failed.returncode == 5
    assert re.search(rf"cannot PUT (the default graph|<\S+>) at {re.escape(url)}\?\S+: timed out", failed.stderr)
    assert "accepted: the URL of a running store's Graph Store Protocol service that answers within 0.05 s" in (
        " ".join(failed.stderr.split())
    )
    assert "Traceback" not in failed.stderr
    assert PROVENANCE not in puts  # the version record, which replicas read, is never written after a failure
    refused = run_cli(settings, "publish", "--to", url, "--timeout", "0")
    assert refused.returncode == 2
    assert "'--timeout' (env var: 'MLCLOUDKG_PUBLISH_TIMEOUT'): 0.0 is not in the range x>0" in refused.stderr


@pytest.mark.usefixtures("kg")  # the session's build
def test_publish_jobs_out_of_range_is_refused_before_anything_is_sent(settings: Settings) -> None:
    failed = run_cli(settings, "publish", "--to", f"http://127.0.0.1:{free_port()}/store", "--jobs", "0")
    assert failed.returncode == 2
    assert "Invalid value for '--jobs'" in failed.stderr and "0 is not in the range 1<=x<=64" in failed.stderr
    out_of_range = (
        r"jobs=65 \(how many graphs publish sends at once\) is out of range — accepted: a whole number from 1 to 64"
    )
    with pytest.raises(ConfigurationError, match=out_of_range):
        publish(current_build(settings), GraphStoreClient(f"http://127.0.0.1:{free_port()}/store"), jobs=65)
    no_part = r"part_statements=0 \(the most statements publish sends in one request\) is out of range — accepted"
    with pytest.raises(ConfigurationError, match=no_part):
        publish(current_build(settings), GraphStoreClient(f"http://127.0.0.1:{free_port()}/store"), part_statements=0)


@pytest.mark.parametrize(
    ("graph", "says"),
    [
        ("relative/graph", "is not an IRI (No scheme found in an absolute IRI)"),
        ("https://example.org/a graph", "is not an IRI (Invalid IRI code point ' ')"),
        (PROVENANCE, "is a graph of the dataset itself"),
    ],
)
def test_publish_refuses_a_default_graph_it_cannot_use(settings: Settings, graph: str, says: str) -> None:
    failed = run_cli(settings, "publish", "--to", f"http://127.0.0.1:{free_port()}/store", "--default-graph", graph)
    assert failed.returncode == 2  # a usage error, found before anything is sent
    assert says in failed.stderr and "accepted: an absolute IRI that names no graph of the dataset" in failed.stderr
    assert "Traceback" not in failed.stderr


# -- the replica answers as the embedded service does --------------------------------------------------------------


def test_sparqlwrapper_queries_the_replica_like_the_embedded_service(
    replica: LiveServer, server: LiveServer, kg: KnowledgeGraph
) -> None:
    answers = []
    for service in (replica, server):
        client = SPARQLWrapper(service.url + "/sparql")
        client.setQuery(FREE_GPU_SERVICES)
        client.setReturnFormat(JSON)
        answers.append([row["service"]["value"] for row in client.queryAndConvert()["results"]["bindings"]])
    assert answers[0] == answers[1] == [row["service"] for row in kg.query(FREE_GPU_SERVICES)]
    assert answers[0]


def in_order(rows: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    """The rows with the parts of each GROUP_CONCAT sorted: SPARQL leaves their order to the store."""
    joined = {name: separator for separator, name in GROUP_CONCAT.findall(query)}
    return [{k: _sorted_parts(v, joined.get(k)) for k, v in row.items()} for row in rows]


def _sorted_parts(value: Any, separator: str | None) -> Any:
    return separator.join(sorted(value.split(separator))) if separator and isinstance(value, str) else value


def as_sparql_says(store: StoreServer, name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The one answer of a store that differs from the SPARQL spec and that no rewrite of the query avoids without
    slowing it down: Virtuoso 7.2 evaluates a BIND inside an OPTIONAL that did not match, so a service with no
    plan gets 0 for "has a free tier" (services.rq) where SPARQL leaves it unbound."""
    if store.name != "virtuoso" or name != "services":
        return rows
    unknown = {"hasFreeTier": None, "hasGpuPlan": None}
    return [{**row, **unknown} if row["plans"] == 0 else row for row in rows]


def test_every_named_query_answers_the_same_rows(
    store: StoreServer, replica: LiveServer, server: LiveServer, kg: KnowledgeGraph
) -> None:
    for name, query in kg.catalog.items():
        ours, embedded = (get(s, f"/api/queries/{name}", params=REQUIRED.get(name, {})) for s in (replica, server))
        assert ours.status_code == 200, (name, ours.text)
        answered = as_sparql_says(store, name, ours.json())
        assert in_order(answered, query.text) == in_order(embedded.json(), query.text), name
        assert ours.json(), name


def test_group_concat_parts_are_compared_in_order() -> None:
    query = 'SELECT (GROUP_CONCAT(DISTINCT ?g; separator=", ") AS ?gpus) (GROUP_CONCAT(?m; separator="/") AS ?modes)'
    rows = [{"gpus": "T4, A100", "modes": "public/private", "plan": "b, a"}]
    assert in_order(rows, query) == [{"gpus": "A100, T4", "modes": "private/public", "plan": "b, a"}]


@pytest.mark.parametrize(
    "path",
    [
        "/compare?providers=deepnote&providers=google-colab",
        "/compare?providers=deepnote&providers=google-colab&as_of=2020-12-17",
        "/find?free=on&private_notebooks=on",
        "/api/explain?resource=paperspace-gradient&capability=FreePrivateGPUNotebookService",
    ],
)
def test_the_question_pages_answer_the_same(replica: LiveServer, server: LiveServer, path: str) -> None:
    ours, embedded = (get(s, path, headers=JSON_ACCEPT) for s in (replica, server))
    assert ours.status_code == embedded.status_code == 200, ours.text
    assert ours.json() == embedded.json()


@pytest.mark.parametrize(
    "path",
    [
        "/compare?providers=deepnote,google-colab",
        "/find?free=on",
        "/explain?resource=google-colab&capability=LongFreeSessionService",
    ],
)
def test_the_html_pages_render(replica: LiveServer, path: str) -> None:
    response = get(replica, path, headers={"Accept": "text/html"})
    assert response.status_code == 200, response.text[:500]
    assert "Google Colab" in response.text


@pytest.mark.parametrize("path", ["/id/google-colab", "/ontology", "/graph/inferred"])
def test_resource_pages_hold_the_same_statements(replica: LiveServer, server: LiveServer, path: str) -> None:
    ours, embedded = (get(s, path, headers={"Accept": "application/n-quads"}) for s in (replica, server))
    assert ours.status_code == 200, ours.text[:500]
    assert set(ours.text.splitlines()) == set(embedded.text.splitlines())
    assert len(ours.text.splitlines()) > 10


def test_a_resource_page_renders_its_statements(replica: LiveServer) -> None:
    page = get(replica, "/id/google-colab", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "Google Colab" in page.text and "offersGPU" in page.text.replace(" ", "")


def test_downloads_are_the_published_builds_files(replica: LiveServer, server: LiveServer, settings: Settings) -> None:
    listed = get(replica, "/download/").json()
    assert listed["build"] == current_build(settings).digest
    for entry in listed["downloads"]:
        response = get(replica, f"/download/{entry['filename']}", headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, entry["filename"]
        assert hashlib.sha256(response.content).hexdigest() == entry["sha256"], entry["filename"]
        assert response.content == (current_build(settings).downloads_path / entry["filename"]).read_bytes()
        assert response.headers["ETag"] == get(server, f"/download/{entry['filename']}").headers["ETag"]


# -- the replica's guard, limits and errors --------------------------------------------------------------------------


def test_service_and_update_are_refused_before_the_store(replica: LiveServer) -> None:
    service = get(replica, "/sparql", params={"query": f"SELECT * WHERE {{ SERVICE <{replica.url}/sparql> {{}} }}"})
    assert service.status_code == 403
    assert "SERVICE (federated query) is not allowed" in service.text
    update = requests.post(
        replica.url + "/sparql", data={"update": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}, timeout=30
    )
    assert update.status_code in {400, 403}
    assert "update" in update.text.lower()


def test_a_slow_query_is_stopped_at_the_time_limit(replica: LiveServer) -> None:
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } # slow over the store"
    started = time.monotonic()
    response = get(replica, "/sparql", params={"query": slow})
    assert response.status_code == 504, response.text[:300]
    assert "did not answer within 3 s" in response.text
    assert time.monotonic() - started < 10
    assert get(replica, "/sparql", params={"query": "ASK {} # after the slow one"}).status_code == 200


def test_serve_refuses_to_start_over_a_store_it_cannot_reach(settings: Settings) -> None:
    failed = run_cli(settings, "serve", "--store", f"http://127.0.0.1:{free_port()}/query")
    assert failed.returncode == 5
    assert "cannot reach the SPARQL endpoint" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_serve_refuses_a_store_with_nothing_published(settings: Settings, tmp_path: Path) -> None:
    empty = OxigraphServer(tmp_path / "empty")
    try:
        failed = run_cli(settings, "serve", "--store", empty.url + "/query")
    finally:
        empty.stop()
    assert failed.returncode == 4
    assert "the store holds no dataset published by mlcloudkg" in failed.stderr
    assert "mlcloudkg publish --to" in failed.stderr


# -- a re-publish, and a store that goes away ------------------------------------------------------------------------


def eventually(check: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("kind", sorted(STORES))
def test_a_replica_follows_a_re_publish_then_reports_a_lost_store(
    kind: str, settings: Settings, project_copy: Callable[[], Settings], tmp_path: Path
) -> None:
    store = STORES[kind](tmp_path / "store")
    assert store.publish(settings).returncode == 0
    replica = serve_store(store, tmp_path / "replica")
    try:
        first = get(replica, "/api/queries/services")
        assert get(replica, "/healthz").json()["serving"]["build"] == current_build(settings).digest

        changed = project_copy()
        data = next(changed.data_dir.glob("*.trig"))
        data.write_text(data.read_text() + "\n# a new version\n")
        version = build(changed).build.digest
        republished = store.publish(changed)
        assert republished.returncode == 0, republished.stderr

        assert eventually(lambda: get(replica, "/healthz").json()["serving"]["build"] == version)
        again = get(replica, "/api/queries/services", headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 200  # a new version: the old ETag no longer matches
        assert again.headers["ETag"] != first.headers["ETag"]
        assert again.json() == first.json()  # a comment changed, not the data

        store.stop()
        lost = get(replica, "/sparql", params={"query": "ASK {} # after the store went away"})
        assert lost.status_code == 503
        assert "cannot reach the SPARQL endpoint" in lost.text
        assert "Traceback" not in lost.text
        assert eventually(lambda: get(replica, "/healthz").json()["status"] == "degraded")
    finally:
        replica.stop()
        if store.process.poll() is None:
            store.stop()


# -- what a store does its own way ----------------------------------------------------------------------------------

TENSOR_CORES = """PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#>
SELECT ?gpu ?tensorCores WHERE { ?gpu mlc:hasTensorCores ?tensorCores } ORDER BY ?gpu"""
SERVICES = """PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#> PREFIX schema: <https://schema.org/>
SELECT ?service ?name WHERE { ?service a mlc:NotebookService ; schema:name ?name } ORDER BY ?service"""
PASSAGES_DESCRIBED = f"""PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#>
SELECT ?passage WHERE {{ GRAPH <{PROVENANCE}> {{ ?passage a mlc:SourcedGraph }} }} ORDER BY ?passage"""
CROSS_JOIN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def over_virtuoso(store: StoreServer, *, endpoint: str = "", **options: Any) -> RemoteStore:
    """Our client of Virtuoso's endpoint, with the default graph the publish record names."""
    assert store.default_graph
    published_default = ox.NamedNode(store.default_graph)
    return RemoteStore(endpoint or store.query_url, timeout=30, published_default=published_default, **options)


def test_over_a_union_store_queries_read_the_published_default_graph(
    virtuoso_store: StoreServer, kg: KnowledgeGraph
) -> None:
    assert over_virtuoso(virtuoso_store).select(SERVICES) == kg.query(SERVICES)
    # Virtuoso's own default graph is every graph at once: each service again from every passage and snapshot.
    union = RemoteStore(virtuoso_store.query_url, timeout=30).select(SERVICES)
    assert len(union) > len(kg.query(SERVICES))


def test_booleans_and_asks_read_from_virtuoso_are_booleans(virtuoso_store: StoreServer, kg: KnowledgeGraph) -> None:
    remote = over_virtuoso(virtuoso_store)
    # Virtuoso writes them 1 and 0 in its JSON results: the terms we serve are the embedded store's.
    assert remote.select_terms(TENSOR_CORES) == kg.store.select_terms(TENSOR_CORES)
    assert remote.ask("PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#> ASK { ?s a mlc:NotebookService }") is True
    assert remote.ask("ASK { <urn:nothing> ?p ?o }") is False


def test_an_answer_virtuoso_cut_short_at_its_time_limit_is_a_timeout(virtuoso_store: StoreServer) -> None:
    # Virtuoso sends what it found by then with status 200, or, when it stopped where it had nothing to send, a 500
    # with SQL state HY008 (which, depends on the timing; tests/test_store.py has the 500). Here: its limit asked for in
    # the endpoint's URL.
    remote = over_virtuoso(virtuoso_store, endpoint=virtuoso_store.query_url + "?timeout=300")
    with pytest.raises(StoreTimeout, match="stopped the query at its own time limit"):
        remote.select(CROSS_JOIN)


def test_a_dated_view_over_virtuoso_reads_its_snapshot_and_graphs_by_name(
    virtuoso_store: StoreServer, kg: KnowledgeGraph
) -> None:
    dated = over_virtuoso(virtuoso_store).as_of(date(2020, 12, 17), kg.rules)
    embedded = kg.store.as_of(date(2020, 12, 17), kg.rules)
    assert dated.default_graph == embedded.default_graph  # a stored snapshot
    assert dated.select(SERVICES) == embedded.select(SERVICES)
    # Sent with the one named graph it reads: without named-graph-uri, Virtuoso finds nothing in GRAPH <iri>.
    assert dated.select(PASSAGES_DESCRIBED) == embedded.select(PASSAGES_DESCRIBED) != []


@pytest.mark.parametrize(
    "requirements",
    [
        {"max_price_per_gpu_hour": "0.05"},  # $10 for ~100 hours is $0.10: Virtuoso divides 10 / 100 into 0
        {"free": "true", "min_session_hours": "7"},
        {"min_gpu_memory_gb": "16", "tensor_cores": "true"},
    ],
)
def test_the_python_api_over_virtuoso_finds_what_the_embedded_graph_finds(
    virtuoso_store: StoreServer, kg: KnowledgeGraph, settings: Settings, requirements: dict[str, str]
) -> None:
    remote = KnowledgeGraph.remote(virtuoso_store.query_url, settings, default_graph=virtuoso_store.default_graph)
    found, expected = (graph.find(**requirements).to_dict() for graph in (remote, kg))
    assert found["matches"] == expected["matches"] and found["others"] == expected["others"]
    assert found["match_count"] + found["other_count"] == len(kg.services())


@pytest.fixture
def slow_proxy(loopback_http: StandIn) -> Callable[[str, float], str]:
    """Loopback proxies that pass each POST on to a SPARQL endpoint after a delay: a store that takes its time."""

    def start(endpoint: str, delay: float) -> str:
        class Slow(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(delay)
                passed = {name: self.headers[name] for name in ("Content-Type", "Accept") if name in self.headers}
                answer = requests.post(endpoint + "?" + urlsplit(self.path).query, data=body, headers=passed)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "text/plain"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                with contextlib.suppress(ConnectionError):  # the client gave up waiting
                    self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        return loopback_http(Slow) + "/query"

    return start


def test_reads_of_the_whole_graph_are_not_held_to_a_clients_time_limit(
    oxigraph_store: StoreServer, kg: KnowledgeGraph, settings: Settings, slow_proxy: Callable[[str, float], str]
) -> None:
    # Every answer takes 0.4 s and a query gets 0.2 s: over a large store, the service list and each check of the
    # finder's index take longer than a client's query may (about 11 s for the largest at 10M triples, by scaling).
    from mlcloudkg.finder import Requirements, _conditions

    remote = KnowledgeGraph.remote(slow_proxy(oxigraph_store.query_url, 0.4), settings, timeout=0.2)
    with pytest.raises(StoreTimeout, match=r"did not answer within 0\.2 s"):
        remote.query(FREE_GPU_SERVICES)
    assert remote.services() == kg.services()
    question = [condition for condition, _ in _conditions(Requirements(free=True, min_session_hours=Decimal(7)))]
    found, expected = (graph.finder_index().ask(question).services for graph in (remote, kg))
    assert found == expected and 0 < len(found) < len(kg.services())


FINDER_QUESTIONS = [{"free": True}, {"free": True, "min_gpu_memory_gb": 16, "private_notebooks": True}, {"cli": True}]


def test_the_finder_index_of_a_published_version_is_kept_for_later_graphs_of_it(
    oxigraph_store: StoreServer, kg: KnowledgeGraph, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlcloudkg import finder, finder_index

    local = replace(settings, build_dir=tmp_path / "build")
    kept = local.build_dir / finder.STORE_INDEXES

    def over(version: str | None) -> KnowledgeGraph:
        return KnowledgeGraph.remote(oxigraph_store.query_url, local, version=version)

    over("v1").finder_index().read_ahead()
    assert len(list(kept.glob("*.json"))) == 1
    real_read = finder_index.FinderIndex.read

    def no_read(*arguments: object) -> object:
        raise AssertionError("the index was read from the store")

    monkeypatch.setattr(finder_index.FinderIndex, "read", no_read)
    later = over("v1")  # a restart, another worker or replica on this machine: loads it
    for question in FINDER_QUESTIONS:
        assert later.find(**question).to_dict() == kg.find(**question).to_dict(), question
    assert later.services() == kg.services()
    monkeypatch.setattr(finder_index.FinderIndex, "read", real_read)
    # Data named by the address alone may change under it, and a dated view's index is read when asked: not kept.
    over(None).finder_index().read_ahead()
    over("v1").as_of("2020-12-17").finder_index().read_ahead()
    assert len(list(kept.glob("*.json"))) == 1
    # One file per version, the latest few kept.
    for version in ("v2", "v3", "v4"):
        over(version).finder_index().read_ahead()
    assert len(list(kept.glob("*.json"))) == finder.KEEP_STORE_INDEXES == 3
