"""The web UI's pages through the application: what each serves, its data by content negotiation, the plain form
when the editor is not installed, the vendor assets, and clear 4xx answers to bad input."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.config import Settings
from mlcloudkg.finder import Requirements, find
from mlcloudkg.web import create_app

from .conftest import PROJECT

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


def application(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    app.extensions["mlcloudkg"].close()


@pytest.fixture(scope="module")
def client(settings: Settings, kg: KnowledgeGraph) -> Iterator[FlaskClient]:
    yield from (app.test_client() for app in application(settings))


@pytest.fixture(scope="module")
def bare_client(
    settings: Settings, kg: KnowledgeGraph, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FlaskClient]:
    """The service from a checkout where `npm ci` has not run: no node_modules."""
    root = tmp_path_factory.mktemp("no-node-modules")
    for part in ("ontology", "data", "queries"):
        shutil.copytree(PROJECT / part, root / part)
    bare = Settings.from_env(root=root, build_dir=settings.build_dir)
    yield from (app.test_client() for app in application(bare))


# -- the query page -------------------------------------------------------------------------------------------------


def page_config(html: str) -> dict:  # type: ignore[type-arg]
    found = re.search(r'<script type="application/json" id="query-config">(.*?)</script>', html, re.S)
    assert found, "the page has no editor configuration"
    return json.loads(found.group(1))


def test_the_query_page_configures_yasgui_for_this_endpoint_only(client: FlaskClient, kg: KnowledgeGraph) -> None:
    response = client.get("/", headers=BROWSER)
    html = response.get_data(as_text=True)
    config = page_config(html)
    assert config["endpoint"] == "http://localhost/sparql"
    assert [e["title"] for e in config["examples"]] == [q.title for q in kg.catalog.values()]
    assert all(e["query"] == kg.catalog[e["name"]].text for e in config["examples"])
    assert config["prefixes"]["kg"] == "https://w3id.org/mlcloudkg/id/"
    assert "https://w3id.org/mlcloudkg/ontology#FreeGPUService" in config["completions"]["classes"]
    assert [f["label"] for f in config["formats"]["results"]] == ["JSON", "XML", "CSV", "TSV"]
    assert "/vendor/yasgui/4.6.2/yasgui.min.js" in html and "/vendor/chart.js/4.4.9/chart.umd.js" in html
    assert "Server-Timing" in response.headers


def test_without_node_modules_the_query_page_is_a_plain_form(bare_client: FlaskClient, kg: KnowledgeGraph) -> None:
    html = bare_client.get("/", headers=BROWSER).get_data(as_text=True)
    assert '<form method="post" action="/sparql">' in html
    assert "make install" in html
    assert "yasgui.min.js" not in html and "query-config" not in html
    # every example is still a link that fills the form
    assert all(q.title in html for q in kg.catalog.values())
    prefilled = bare_client.get("/?query=ASK+%7B%7D", headers=BROWSER).get_data(as_text=True)
    assert '<textarea id="query" name="query" rows="18" spellcheck="false">ASK {}</textarea>' in prefilled


def test_the_plain_form_posts_what_the_endpoint_accepts(bare_client: FlaskClient) -> None:
    query = "SELECT ?name WHERE { <https://w3id.org/mlcloudkg/id/google-colab> <https://schema.org/name> ?name }"
    response = bare_client.post("/sparql", data={"query": query, "format": "csv"}, headers=BROWSER)
    assert response.status_code == 200
    assert response.get_data(as_text=True).splitlines() == ["name", "Google Colab"]


def test_vendor_files_come_from_node_modules_and_are_cached_for_good(client: FlaskClient) -> None:
    response = client.get("/vendor/yasgui/4.6.2/yasgui.min.js")
    assert response.status_code == 200
    assert response.get_data() == (PROJECT / "node_modules/@zazuko/yasgui/build/yasgui.min.js").read_bytes()
    assert "immutable" in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    "path",
    [
        "/vendor/jquery/3.0.0/jquery.js",  # not a library we serve
        "/vendor/yasgui/9.9.9/yasgui.min.js",  # not the installed version
        "/vendor/yasgui/4.6.2/../package.json",  # outside the build folder
        "/vendor/yasgui/4.6.2/%2e%2e/%2e%2e/%2e%2e/package.json",
    ],
)
def test_nothing_else_of_node_modules_is_reachable(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_without_node_modules_vendor_files_say_how_to_install_them(bare_client: FlaskClient) -> None:
    response = bare_client.get("/vendor/yasgui/4.6.2/yasgui.min.js")
    assert response.status_code == 404
    assert "make install" in response.get_data(as_text=True)


# -- comparison, finder, explanations -------------------------------------------------------------------------------


def test_the_comparison_as_json(client: FlaskClient) -> None:
    data = client.get("/compare?providers=deepnote&providers=google-colab", headers=JSON).get_json()
    assert [s["name"] for s in data["services"]] == ["Deepnote", "Google Colab"]


def test_an_unknown_provider_is_a_clear_400(client: FlaskClient) -> None:
    plain = client.get("/compare?providers=google-colab,nobody")
    assert plain.status_code == 400
    assert plain.content_type.startswith("text/plain")
    assert "'nobody' is not a service of the graph" in plain.get_data(as_text=True)
    assert "kg:paperspace-gradient" in plain.get_data(as_text=True)
    page = client.get("/compare?providers=nobody", headers=BROWSER)
    assert page.status_code == 400 and page.content_type.startswith("text/html")
    assert "is not a service of the graph" in page.get_data(as_text=True)


def test_the_finder_page_shows_matches_and_the_query(client: FlaskClient, kg: KnowledgeGraph) -> None:
    html = client.get("/find?free=on&min_session_hours=12", headers=BROWSER).get_data(as_text=True)
    result = find(kg, Requirements(free=True, min_session_hours=12))
    assert [m.name for m in result.matches] == ["Google Colab"]
    assert '<ul class="matches">\n    <li><a href="/id/google-colab">Google Colab</a></li>' in html
    assert "/ ?perHour AS ?sessionHours) FILTER(?sessionHours &gt;= 12)" in html


def test_the_finder_page_pages_through_the_others(client: FlaskClient, kg: KnowledgeGraph) -> None:
    asked = "free=on&min_gpu_memory_gb=16&private_notebooks=on"
    names = [c.name for c in find(kg, Requirements(free=True, min_gpu_memory_gb=16, private_notebooks=True)).others]
    first = client.get(f"/find?{asked}&limit=2", headers=BROWSER).get_data(as_text=True)
    assert "1 service meets every requirement" in first and "1 to 2 of 5" in first
    assert 'rel="prev"' not in first
    following = re.search(r'<a rel="next" href="([^"]+)">Next 2</a>', first)
    assert following, "no link to the next page of the others"
    second = client.get(unescape(following.group(1)), headers=BROWSER).get_data(as_text=True)
    assert "3 to 4 of 5" in second and 'rel="prev"' in second
    assert [name for name in names if f">{name}</a>: fails" in second] == names[2:4]
    assert "1 service meets every requirement" in second  # the matches did not move
    assert '<input type="hidden" name="limit" value="2">' in second  # a new search keeps the page size
    assert 'name="limit"' not in client.get(f"/find?{asked}", headers=BROWSER).get_data(as_text=True)


def test_every_requirement_has_a_control_on_the_finder_form(client: FlaskClient) -> None:
    html = client.get("/find", headers=BROWSER).get_data(as_text=True)
    for requirement in Requirements.__dataclass_fields__:
        assert f'<label for="{requirement}">' in html, requirement


def test_the_finder_as_json(client: FlaskClient) -> None:
    data = client.get("/find?free=on&private_notebooks=on", headers=JSON).get_json()
    assert data["described"] == ["on the free tier", "private notebooks"]
    assert data["requirements"] == {"free": True, "private_notebooks": True}
    assert {m["name"] for m in data["matches"]} == {"Google Colab"}
    assert all(other["fails"] for other in data["others"])


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("min_gpu_memory_gb=lots", "requirement 'min_gpu_memory_gb': 'lots' is not a number"),
        ("max_price_per_gpu_hour=-1", "'max_price_per_gpu_hour': -1 is out of range — accepted: a number from 0 to"),
        ("colour=blue", "requirement 'colour': is not a requirement — accepted: requirements: free, gpu"),
    ],
)
def test_bad_finder_input_is_a_clear_400(client: FlaskClient, query: str, says: str) -> None:
    response = client.get(f"/find?{query}")
    assert response.status_code == 400
    assert says in response.get_data(as_text=True)
    assert "accepted:" in response.get_data(as_text=True)


def test_explanations_as_text_json_and_html(client: FlaskClient) -> None:
    url = "/explain?resource=paperspace-gradient&capability=FreePrivateGPUNotebookService"
    text = client.get(url, headers={"Accept": "text/plain"}).get_data(as_text=True)
    assert text.startswith("kg:paperspace-gradient is NOT mlc:FreePrivateGPUNotebookService")
    assert client.get(url, headers=JSON).get_json()["holds"] is False
    html = client.get(url, headers=BROWSER).get_data(as_text=True)
    assert "allows sharing mode private" in html and 'class="verdict fails"' in html


def test_an_explanation_with_another_threshold(client: FlaskClient) -> None:
    url = "/explain?resource=google-colab&capability=LongFreeSessionService"
    assert client.get(url, headers=JSON).get_json()["holds"] is True
    assert client.get(url + "&min_session_hours=24", headers=JSON).get_json()["holds"] is False


def test_a_statement_explanation(client: FlaskClient) -> None:
    url = (
        "/explain?subject=https://w3id.org/mlcloudkg/id/google-colab"
        "&predicate=https://w3id.org/mlcloudkg/ontology%23offersGPU"
        "&object=https://w3id.org/mlcloudkg/id/nvidia-tesla-t4"
    )
    assert client.get(url, headers=JSON).get_json()["by"] == "property chain of mlc:offersGPU"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("resource=google-colab", "capability= is missing"),
        ("subject=kg:google-colab&predicate=mlc:offersGPU", "object= is missing"),
        ("subject=kg:google-colab&predicate=mlc:offersGPU&object=%22unclosed", "is not an RDF term"),
        ("subject=kg:google-colab&predicate=mlc:offersGPU&object=_:b1", "is a blank node"),
        ("subject=kg:google-colab&predicate=mlc:offersGPU&object=kg:nothing", "is not an RDF term"),
        ("subject=kg:google%20colab&predicate=mlc:offersGPU&object=%3Curn:x%3E", "not a valid IRI"),
        ("subject=kg:google-colab&predicate=mlc:offersGPU&object=%3Curn:x%3E", "does not hold the statement"),
        ("resource=google-colab&capability=NoSuchThing", "is not a class of the ontology"),
        ("resource=google-colab&capability=LongFreeSessionService&min_session_hours=many", "is not a number"),
    ],
)
def test_bad_explanation_requests_are_clear_400s(client: FlaskClient, query: str, says: str) -> None:
    response = client.get(f"/explain?{query}")
    assert response.status_code == 400
    assert says in response.get_data(as_text=True)


def test_pages_say_how_long_they_took(client: FlaskClient) -> None:
    for path in ("/compare", "/find?gpu=on", "/id/google-colab", "/ontology"):
        timing = client.get(path, headers=BROWSER).headers["Server-Timing"]
        assert re.fullmatch(r"app;dur=\d+\.\d\d", timing), path


def test_no_page_loads_anything_from_elsewhere(client: FlaskClient) -> None:
    for path in (
        "/",
        "/compare",
        "/find?free=on",
        "/id/google-colab",
        "/ontology",
        "/explain?resource=google-colab&capability=FreeGPUService",
    ):
        html = client.get(path, headers=BROWSER).get_data(as_text=True)
        loaded = re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="([^"]+)"', html)
        assert loaded and all(url.startswith(("/", "data:")) for url in loaded), (path, loaded)
