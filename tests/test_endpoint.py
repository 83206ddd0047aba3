"""The SPARQL endpoint as programs use it: SPARQLWrapper for every query form and format, plain HTTP for the
protocol's error cases, dataset parameters, the service description, content negotiation, caching and CORS."""

from __future__ import annotations

import gzip
import io
import json
import re
import threading
import time
from dataclasses import replace
from urllib.parse import quote

import pyoxigraph as ox
import pytest
import rdflib
import requests
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, POSTDIRECTLY, RDFXML, TSV, TURTLE, URLENCODED, XML, SPARQLWrapper

from mlcloudkg.config import Settings
from mlcloudkg.web import create_app

from .conftest import LiveServer

FREE_GPU_SERVICES = """PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#>
SELECT ?service WHERE { ?service a mlc:FreeGPUService } ORDER BY ?service"""
EXPECTED = ["https://w3id.org/mlcloudkg/id/google-colab", "https://w3id.org/mlcloudkg/id/paperspace-gradient"]
CONSTRUCT = """PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#>
CONSTRUCT { ?service mlc:offersGPU ?gpu } WHERE { ?service mlc:offersGPU ?gpu }"""
INFERRED = "https://w3id.org/mlcloudkg/graph/inferred"
GRAPHS = "https://w3id.org/mlcloudkg/graph/"
SOURCES = "https://w3id.org/mlcloudkg/source/"


def wrapper(server: LiveServer, query: str, return_format: str, method: str = "GET") -> SPARQLWrapper:
    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(return_format)
    if method == "POST":
        client.setMethod(POST)
        client.setRequestMethod(URLENCODED)
    elif method == "POSTDIRECTLY":
        client.setMethod(POST)
        client.setRequestMethod(POSTDIRECTLY)
    return client


# -- SPARQLWrapper: every form and format ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "POSTDIRECTLY"])
def test_select_as_json_by_every_method(server: LiveServer, method: str) -> None:
    results = wrapper(server, FREE_GPU_SERVICES, JSON, method).queryAndConvert()
    assert [b["service"]["value"] for b in results["results"]["bindings"]] == EXPECTED


def test_select_as_xml(server: LiveServer) -> None:
    document = wrapper(server, FREE_GPU_SERVICES, XML).queryAndConvert()
    uris = [node.firstChild.nodeValue for node in document.getElementsByTagName("uri")]
    assert uris == EXPECTED


@pytest.mark.parametrize("return_format", [CSV, TSV])
def test_select_as_csv_and_tsv(server: LiveServer, return_format: str) -> None:
    text = wrapper(server, FREE_GPU_SERVICES, return_format).queryAndConvert().decode()
    lines = text.strip().splitlines()
    assert lines[0].strip() in {"service", "?service"}
    assert [line.strip().strip("<>") for line in lines[1:]] == EXPECTED


@pytest.mark.parametrize(("return_format", "expected"), [(JSON, True), (XML, True)])
def test_ask(server: LiveServer, return_format: str, expected: bool) -> None:
    query = (
        "PREFIX kg: <https://w3id.org/mlcloudkg/id/> PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#> "
        "ASK { kg:google-colab a mlc:FreePrivateGPUNotebookService }"
    )
    result = wrapper(server, query, return_format).queryAndConvert()
    if return_format == JSON:
        assert result["boolean"] is expected
    else:
        assert result.getElementsByTagName("boolean")[0].firstChild.nodeValue == "true"


@pytest.mark.parametrize("return_format", [TURTLE, RDFXML, JSONLD, N3])
def test_construct_in_every_graph_format(server: LiveServer, return_format: str) -> None:
    graph = wrapper(server, CONSTRUCT, return_format).queryAndConvert()
    if not isinstance(graph, rdflib.Graph):  # SPARQLWrapper returns Turtle and N3 as bytes
        graph = rdflib.Graph().parse(data=graph, format="json-ld" if return_format == JSONLD else "turtle")
    offers = rdflib.URIRef("https://w3id.org/mlcloudkg/ontology#offersGPU")
    colab = rdflib.URIRef("https://w3id.org/mlcloudkg/id/google-colab")
    # Now (March 2026): the free tier's T4, and the paid runtime's T4, V100, A100, L4 and H100.
    assert set(graph.objects(colab, offers)) == {
        rdflib.URIRef(f"https://w3id.org/mlcloudkg/id/nvidia-{m}")
        for m in ("tesla-t4", "tesla-v100", "a100", "l4", "h100")
    }


def test_describe_returns_a_graph(server: LiveServer) -> None:
    turtle = wrapper(server, "DESCRIBE <https://w3id.org/mlcloudkg/id/deepnote>", TURTLE).queryAndConvert()
    graph = rdflib.Graph().parse(data=turtle, format="turtle")
    assert (
        rdflib.URIRef("https://w3id.org/mlcloudkg/id/deepnote"),
        rdflib.URIRef("https://schema.org/name"),
        rdflib.Literal("Deepnote"),
    ) in graph


@pytest.mark.parametrize(
    ("accept", "parser"),
    [
        ("application/trig", ox.RdfFormat.TRIG),
        ("application/n-quads", ox.RdfFormat.N_QUADS),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    ],
)
def test_construct_as_quads_and_n_triples(server: LiveServer, accept: str, parser: ox.RdfFormat) -> None:
    response = requests.post(server.url + "/sparql", data={"query": CONSTRUCT}, headers={"Accept": accept}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(accept)
    assert len(list(ox.parse(response.content, format=parser))) == 7  # Colab's five GPUs, Gradient's two


# -- protocol errors (400) --------------------------------------------------------------------------------------


def sparql(server: LiveServer, method: str = "GET", **kwargs: object) -> requests.Response:
    return requests.request(method, server.url + "/sparql", timeout=15, **kwargs)  # type: ignore[arg-type]


def test_two_query_parameters_are_refused(server: LiveServer) -> None:
    response = sparql(server, params=[("query", "ASK {}"), ("query", "ASK {}")])
    assert response.status_code == 400
    assert "2 query parameters" in response.text


def test_a_wrong_media_type_is_refused(server: LiveServer) -> None:
    response = sparql(server, "POST", data="ASK {}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert "application/sparql-query" in response.text


def test_a_non_utf8_query_is_refused(server: LiveServer) -> None:
    response = sparql(
        server, "POST", data=b"query=ASK%20%7B%FF%7D", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    assert "not UTF-8" in response.text
    direct = sparql(server, "POST", data=b"ASK { \xff }", headers={"Content-Type": "application/sparql-query"})
    assert direct.status_code == 400 and "not UTF-8" in direct.text


def test_a_syntax_error_says_where(server: LiveServer) -> None:
    response = sparql(server, params={"query": "SELECT * WHERE { ?s ?p }"})
    assert response.status_code == 400
    assert re.search(r"SPARQL syntax error: error at 1:2\d: expected", response.text)


def test_a_post_form_without_query_is_refused(server: LiveServer) -> None:
    response = sparql(server, "POST", data={"format": "json"})
    assert response.status_code == 400


def test_the_query_in_url_and_body_is_refused(server: LiveServer) -> None:
    response = sparql(server, "POST", params={"query": "ASK {}"}, data={"query": "ASK {}"})
    assert response.status_code == 400


def test_errors_come_as_problem_json_when_asked(server: LiveServer) -> None:
    response = sparql(server, params={"query": "SELEC"}, headers={"Accept": "application/problem+json"})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["detail"] and body["accepted"]


def test_head_sends_the_headers_of_get(server: LiveServer) -> None:
    get = sparql(server, params={"query": "SELECT (1 AS ?x) {} # head"})
    head = sparql(server, "HEAD", params={"query": "SELECT (1 AS ?x) {} # head"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Type"] == get.headers["Content-Type"]


def test_format_parameters_that_disagree_are_refused(server: LiveServer) -> None:
    response = sparql(server, params={"query": "SELECT (1 AS ?x) {}", "format": "json", "output": "xml"})
    assert response.status_code == 400
    assert "asks for 2 different formats: format=json and output=xml" in response.text
    same = sparql(
        server, params={"query": "SELECT (1 AS ?x) {}", "format": "json", "output": "json", "results": "json"}
    )
    assert same.status_code == 200


# -- dataset parameters -------------------------------------------------------------------------------------------


def count(server: LiveServer, query: str, **params: object) -> int:
    response = sparql(server, params={"query": query, **params}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_default_graph_uri_selects_the_default_graph(server: LiveServer, kg) -> None:
    everything = count(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    inferred = count(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **{"default-graph-uri": INFERRED})
    assert 0 < inferred < everything
    assert inferred == kg.store.build.manifest["graphs"][INFERRED]


def test_named_graph_uri_selects_the_named_graphs(server: LiveServer) -> None:
    query = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert count(server, query, **{"named-graph-uri": INFERRED}) == 1
    assert count(server, query) > 60


def test_from_selects_our_graphs(server: LiveServer) -> None:
    assert count(server, f"SELECT (COUNT(*) AS ?n) FROM <{INFERRED}> WHERE {{ ?s ?p ?o }}") > 0


def test_an_unknown_graph_is_refused(server: LiveServer) -> None:
    response = sparql(server, params={"query": "ASK {}", "default-graph-uri": "http://example.org/elsewhere"})
    assert response.status_code == 403
    assert "is not a graph of this endpoint" in response.text


# -- service description, content negotiation ---------------------------------------------------------------


def test_service_description(server: LiveServer) -> None:
    response = sparql(server, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    endpoint = rdflib.URIRef(server.url + "/sparql")
    assert (endpoint, sd.endpoint, endpoint) in graph
    assert (
        endpoint,
        sd.defaultSupportedEntailmentProfile,
        rdflib.URIRef("http://www.w3.org/ns/owl-profile/RL"),
    ) in graph
    names = {str(name) for name in graph.objects(None, sd.name)}
    assert INFERRED in names and all(name.startswith(GRAPHS) for name in names)
    assert len(set(graph.objects(endpoint, sd.resultFormat))) == 10
    # The source passages' graphs (one each: 30k at 1M triples) are counted, not listed.
    counted = sparql(
        server,
        params={
            "query": "SELECT (COUNT(DISTINCT ?g) AS ?graphs) (COUNT(*) AS ?statements) "
            f'WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{SOURCES}")) }}'
        },
        headers={"Accept": "application/sparql-results+json"},
    ).json()["results"]["bindings"][0]
    graphs, statements = (int(counted[name]["value"]) for name in ("graphs", "statements"))
    assert graphs > 40
    comments = " ".join(str(comment) for comment in graph.objects(endpoint, rdflib.RDFS.comment))
    assert f"one named graph per source passage ({graphs:,} graphs, {statements:,} statements)" in comments
    (subset,) = graph.objects(None, rdflib.VOID.subset)
    assert graph.value(subset, rdflib.VOID.triples).toPython() == statements


def test_a_browser_asking_for_the_endpoint_gets_the_query_page(server: LiveServer) -> None:
    response = sparql(server, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, allow_redirects=False)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", "application/sparql-results+json"),
        ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/*;q=0.9, text/csv;q=0", "text/tab-separated-values"),
        (
            "application/x-sparqlstar-results+json,application/sparql-results+json,application/json",
            "application/sparql-results+json",
        ),
    ],
)
def test_content_negotiation_for_select(server: LiveServer, accept: str, expected: str) -> None:
    response = sparql(server, params={"query": "SELECT (1 AS ?x) {}"}, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == expected


def test_no_acceptable_format_is_406(server: LiveServer) -> None:
    response = sparql(server, params={"query": "SELECT (1 AS ?x) {}"}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("json", "application/sparql-results+json"),
        ("xml", "application/sparql-results+xml"),
        ("csv", "text/csv"),
        ("tsv", "text/tab-separated-values"),
    ],
)
def test_format_short_names(server: LiveServer, name: str, expected: str) -> None:
    response = sparql(
        server, params={"query": "SELECT (1 AS ?x) {}", "format": name}, headers={"Accept": "text/turtle"}
    )
    assert response.headers["Content-Type"].split(";")[0] == expected


def test_an_unknown_short_name_is_406(server: LiveServer) -> None:
    response = sparql(server, params={"query": "SELECT (1 AS ?x) {}", "output": "yaml"})
    assert response.status_code == 406
    assert "output='yaml'" in response.text


def test_construct_defaults_to_turtle(server: LiveServer) -> None:
    response = sparql(server, params={"query": CONSTRUCT})
    assert response.headers["Content-Type"].startswith("text/turtle")


# -- caching, compression, CORS, health, metrics ----------------------------------------------------------


def test_etag_and_304(server: LiveServer) -> None:
    first = sparql(server, params={"query": FREE_GPU_SERVICES})
    etag = first.headers["ETag"]
    again = sparql(server, params={"query": FREE_GPU_SERVICES}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    since = sparql(
        server, params={"query": FREE_GPU_SERVICES}, headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert since.status_code == 304
    other = sparql(server, params={"query": FREE_GPU_SERVICES, "format": "xml"}, headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_a_repeated_query_is_served_from_the_cache(server: LiveServer) -> None:
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } # cache test"
    first = sparql(server, params={"query": query})
    second = sparql(server, params={"query": query})
    assert "cache;desc=miss" in first.headers["Server-Timing"]
    assert "cache;desc=hit" in second.headers["Server-Timing"]
    assert first.content == second.content


def test_gzip(server: LiveServer) -> None:
    query = "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 100"
    response = sparql(server, params={"query": query}, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert response.headers["Content-Encoding"] == "gzip"
    body = gzip.decompress(response.raw.read())
    assert len(list(ox.parse(body, format=ox.RdfFormat.TURTLE))) == 100


def test_cors(server: LiveServer) -> None:
    simple = sparql(server, params={"query": "ASK {}"}, headers={"Origin": "https://example.org"})
    assert simple.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in simple.headers
    preflight = requests.options(
        server.url + "/sparql",
        timeout=5,
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_healthz(server: LiveServer, kg) -> None:
    health = requests.get(server.url + "/healthz", timeout=5).json()
    assert health["status"] == "ok"
    assert health["serving"]["build"] == kg.version


def test_metrics(server: LiveServer) -> None:
    sparql(server, params={"query": "ASK {}"})
    text = requests.get(server.url + "/metrics", timeout=5).text
    assert 'mlcloudkg_http_requests_total{endpoint="/sparql"' in text
    assert "mlcloudkg_http_request_seconds_bucket" in text
    assert "mlcloudkg_query_cache_total" in text


# -- limits -------------------------------------------------------------------------------------------------


def test_a_slow_query_is_stopped_while_others_are_answered(server: LiveServer) -> None:
    slow_query = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } # slow"
    outcome: dict[str, object] = {}

    def run_slow() -> None:
        started = time.monotonic()
        response = sparql(server, params={"query": slow_query})
        outcome.update(status=response.status_code, text=response.text, seconds=time.monotonic() - started)

    thread = threading.Thread(target=run_slow)
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    fast = sparql(server, params={"query": "SELECT (2 AS ?x) {} # during the slow one"})
    assert fast.status_code == 200 and time.monotonic() - started < 2
    thread.join(timeout=30)
    assert outcome["status"] == 503
    assert "ran longer than 3 s and was stopped" in str(outcome["text"])
    assert float(outcome["seconds"]) < 10  # type: ignore[arg-type]
    after = sparql(server, params={"query": "SELECT (3 AS ?x) {} # after"})
    assert after.status_code == 200


def test_a_too_large_query_is_413(server: LiveServer) -> None:
    query = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 200_000
    response = sparql(server, "POST", data=query.encode(), headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413


def test_deep_nesting_is_refused_and_the_service_lives(server: LiveServer) -> None:
    query = "SELECT * WHERE " + "{" * 3000 + "?s ?p ?o" + "}" * 3000
    response = sparql(server, "POST", data=query, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 400 and "nests brackets more than" in response.text
    assert sparql(server, params={"query": "ASK {}"}).status_code == 200


def test_results_match_the_embedded_api(server: LiveServer, kg) -> None:
    for name in ("free-gpus", "cheapest-gpu-hour", "feature-matrix"):
        text = kg.named_query(name).bind({})
        over_http = sparql(server, "POST", data={"query": text}, headers={"Accept": "text/csv"}).text
        rows = list(io.StringIO(over_http))
        assert len(rows) - 1 == len(kg.named(name)), name


def test_downloads(server: LiveServer, kg) -> None:
    listing = requests.get(server.url + "/download/", timeout=5).json()
    files = {d["filename"]: d for d in listing["downloads"]}
    assert set(files) >= {"mlcloudkg.ttl", "mlcloudkg.trig", "mlcloudkg.nq", "mlcloudkg.jsonld", "mlcloudkg.nt"}
    response = requests.get(files["mlcloudkg.trig"]["url"], timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/trig")
    quads = list(ox.parse(response.content, format=ox.RdfFormat.TRIG))
    assert len({q.graph_name for q in quads}) > 60
    again = requests.get(files["mlcloudkg.trig"]["url"], headers={"If-None-Match": response.headers["ETag"]}, timeout=5)
    assert again.status_code == 304
    assert requests.get(server.url + "/download/nothing.ttl", timeout=5).status_code == 404


def test_dataset_description(server: LiveServer) -> None:
    response = requests.get(server.url + "/.well-known/void", headers={"Accept": "application/ld+json"}, timeout=5)
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.text, format="json-ld")
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    urls = {str(u) for u in graph.objects(None, dcat.downloadURL)}
    assert f"{server.url}/download/mlcloudkg.ttl" in urls
    assert json.loads(response.text)  # valid JSON


def test_the_public_url_is_the_base_of_every_published_link(settings: Settings, kg) -> None:
    """Behind a proxy the request's host is the proxy's view: links use the configured public URL instead."""
    app = create_app(replace(settings, public_url="https://kg.example.org/"))
    try:
        client = app.test_client()
        listing = client.get("/download/").get_json()["downloads"]
        assert {d["url"] for d in listing} == {f"https://kg.example.org/download/{d['filename']}" for d in listing}
        void = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
        graph = rdflib.Graph().parse(data=void.get_data(as_text=True), format="turtle")
        links = {str(o) for o in graph.objects() if isinstance(o, rdflib.URIRef) and "://localhost" in str(o)}
        assert not links
        dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
        assert "https://kg.example.org/download/mlcloudkg.ttl" in {
            str(u) for u in graph.objects(None, dcat.downloadURL)
        }
    finally:
        app.extensions["mlcloudkg"].close()


def test_every_query_url_is_percent_safe(server: LiveServer) -> None:
    response = requests.get(server.url + "/sparql?query=" + quote('ASK { ?s ?p "é✓" }'), timeout=5)
    assert response.status_code == 200
