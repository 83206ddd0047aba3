"""`mlcloudkg publish` and `mlcloudkg serve --store` over a real SPARQL store (Oxigraph's server on loopback): the
replica answers everything the embedded service answers, the same way, refuses the same hostile queries, follows a
re-publish, and says clearly when the store is gone."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from SPARQLWrapper import JSON, SPARQLWrapper

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.build import build, current_build
from mlcloudkg.config import Settings

from .conftest import LiveServer, OxigraphServer, free_port, run_cli, serve_store

KG = "https://w3id.org/mlcloudkg/id/"
PROVENANCE = "https://w3id.org/mlcloudkg/graph/provenance"
REQUIRED = {"fact-provenance": {"subject": KG + "colab-free-runtime"}}  # as in test_rest_api.py
JSON_ACCEPT = {"Accept": "application/json"}
FREE_GPU_SERVICES = """PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#>
SELECT ?service WHERE { ?service a mlc:FreeGPUService } ORDER BY ?service"""


def get(server: LiveServer, path: str, **options: Any) -> requests.Response:
    return requests.get(server.url + path, timeout=30, **options)


def store_select(store: OxigraphServer, query: str) -> list[dict[str, Any]]:
    """Rows of a query asked of the store itself, not through mlcloudkg."""
    response = requests.post(store.url + "/query", data={"query": query}, headers={"Accept": "application/json"})
    response.raise_for_status()
    return response.json()["results"]["bindings"]


# -- publish ------------------------------------------------------------------------------------------------------


def test_publishing_again_leaves_one_version_record(store: OxigraphServer, settings: Settings) -> None:
    versions = store_select(
        store,
        f"SELECT ?v WHERE {{ GRAPH <{PROVENANCE}> {{ <https://w3id.org/mlcloudkg/dataset> "
        "<http://purl.org/dc/terms/hasVersion> ?v } }",
    )
    assert [row["v"]["value"] for row in versions] == [current_build(settings).digest]


def test_the_store_holds_every_graph_of_the_build(store: OxigraphServer, settings: Settings) -> None:
    sizes = current_build(settings).manifest["graphs"]
    rows = store_select(store, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    published = {row["g"]["value"]: int(row["n"]["value"]) for row in rows}
    record = published.pop(PROVENANCE) - sizes.pop(PROVENANCE)  # the version record, in graph:provenance only
    assert record > 0
    assert published == {name: size for name, size in sizes.items() if name != "default"}


def test_publish_to_an_unreachable_store_says_what_is_accepted(settings: Settings) -> None:
    failed = run_cli(settings, "publish", "--to", f"http://127.0.0.1:{free_port()}/store")
    assert failed.returncode == 5
    assert (
        "Connection refused" in failed.stderr and "accepted: the URL of a running store's Graph Store" in failed.stderr
    )
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


def test_every_named_query_answers_the_same_rows(replica: LiveServer, server: LiveServer, kg: KnowledgeGraph) -> None:
    for name in kg.catalog:
        ours, embedded = (get(s, f"/api/queries/{name}", params=REQUIRED.get(name, {})) for s in (replica, server))
        assert ours.status_code == 200, (name, ours.text)
        assert ours.json() == embedded.json(), name
        assert ours.json(), name


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


def test_a_replica_follows_a_re_publish_then_reports_a_lost_store(
    settings: Settings, project_copy: Callable[[], Settings], tmp_path: Path
) -> None:
    store = OxigraphServer(tmp_path / "store")
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
