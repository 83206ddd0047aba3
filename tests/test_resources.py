"""Every IRI of our namespaces dereferences over plain HTTP: HTML for browsers, RDF by content negotiation or
suffix, 406 when nothing fits, 404 for what the graph does not know, and caching like every other response."""

from __future__ import annotations

import json

import pytest
import rdflib
import requests

from .conftest import LiveServer

KG = "https://w3id.org/mlcloudkg/id/"
MLC = "https://w3id.org/mlcloudkg/ontology#"
SCHEMA = "https://schema.org/"
COLAB = rdflib.URIRef(KG + "google-colab")
PASSAGE = "source/colab-vs-gradient-2020-12-17/free-runtimes-gpu"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
RDF_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
}


def get(server: LiveServer, path: str, accept: str | None = None) -> requests.Response:
    headers = {"Accept": accept} if accept else {}
    return requests.get(server.url + path, headers=headers, timeout=30, allow_redirects=False)


def parsed(response: requests.Response, rdf_format: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=response.content, format=rdf_format)


def test_a_browser_gets_the_resource_page(server: LiveServer) -> None:
    response = get(server, "/id/google-colab", BROWSER)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<h1 id="resource-title">Google Colab</h1>' in response.text
    assert "Accept" in response.headers["Vary"]


def test_a_client_without_preference_gets_the_page(server: LiveServer) -> None:
    assert get(server, "/id/google-colab").headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("media_type", list(RDF_TYPES))
def test_rdf_by_content_negotiation(server: LiveServer, media_type: str) -> None:
    response = get(server, "/id/google-colab", media_type)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media_type
    graph = parsed(response, RDF_TYPES[media_type])
    assert (COLAB, rdflib.URIRef(SCHEMA + "name"), rdflib.Literal("Google Colab")) in graph
    # inferred statements are part of the description, and so are statements pointing at the resource
    assert (COLAB, rdflib.RDF.type, rdflib.URIRef(MLC + "FreeGPUService")) in graph
    assert any(graph.triples((None, None, COLAB)))


def test_q_values_pick_the_format(server: LiveServer) -> None:
    response = get(server, "/id/google-colab", "text/html;q=0.5, text/turtle;q=0.9, application/ld+json;q=0.7")
    assert response.headers["Content-Type"].startswith("text/turtle")


def test_nothing_acceptable_is_406_with_what_is_offered(server: LiveServer) -> None:
    response = get(server, "/id/google-colab", "image/png")
    assert response.status_code == 406
    assert "image/png" in response.text and "text/turtle" in response.text


@pytest.mark.parametrize(
    ("suffix", "media_type", "rdf_format"),
    [
        (".ttl", "text/turtle", "turtle"),
        (".nt", "application/n-triples", "nt"),
        (".jsonld", "application/ld+json", "json-ld"),
        (".rdf", "application/rdf+xml", "xml"),
    ],
)
def test_suffixes_choose_the_format_whatever_the_accept_header(
    server: LiveServer, suffix: str, media_type: str, rdf_format: str
) -> None:
    response = get(server, "/id/google-colab" + suffix, BROWSER)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media_type
    assert (COLAB, rdflib.URIRef(SCHEMA + "name"), rdflib.Literal("Google Colab")) in parsed(response, rdf_format)


def test_json_ld_uses_the_canonical_iris(server: LiveServer) -> None:
    document = json.loads(get(server, "/id/google-colab.jsonld").text)
    assert KG + "google-colab" in {node["@id"] for node in document}


def test_a_passage_as_trig_holds_its_description_and_its_facts(server: LiveServer) -> None:
    response = get(server, f"/{PASSAGE}.trig")
    assert response.headers["Content-Type"].startswith("application/trig")
    dataset = rdflib.Dataset()
    dataset.parse(data=response.content, format="trig")
    passage = rdflib.URIRef("https://w3id.org/mlcloudkg/" + PASSAGE)
    assert (passage, rdflib.URIRef(MLC + "sourceLocator"), rdflib.Literal("free-runtime table, row 'GPU'")) in (
        dataset.default_graph
    )
    facts = dataset.graph(passage)
    assert (rdflib.URIRef(KG + "colab-free-runtime"), rdflib.URIRef(MLC + "gpuModel"), None) in facts


def test_passage_pages_show_the_quote_and_the_facts(server: LiveServer) -> None:
    page = get(server, f"/{PASSAGE}", BROWSER).text
    assert "|GPU|Nvidia K80s, T4s, P4s and P100s|Nvidia M4000 and P5000 GPUs|" in page
    assert "What this graph holds" in page and "Tesla T4" in page


def test_graph_iris_dereference(server: LiveServer) -> None:
    response = get(server, "/graph/inferred.nq")
    assert response.status_code == 200
    lines = [line for line in response.text.splitlines() if line]
    assert lines and all(line.endswith("<https://w3id.org/mlcloudkg/graph/inferred> .") for line in lines)


def test_a_resource_the_graph_does_not_know_is_404(server: LiveServer) -> None:
    response = get(server, "/id/no-such-thing", "text/turtle")
    assert response.status_code == 404
    assert "https://w3id.org/mlcloudkg/id/no-such-thing" in response.text


@pytest.mark.parametrize("path", ["/id/a%3Eb", "/id/a%20b", "/source/%7Bx%7D", "/graph/%22quoted%22"])
def test_a_path_that_makes_no_iri_is_404(server: LiveServer, path: str) -> None:
    response = get(server, path, "text/turtle")
    assert response.status_code == 404
    assert "the graph says nothing about" in response.text


def test_an_unknown_suffix_is_not_a_format(server: LiveServer) -> None:
    response = get(server, "/id/google-colab.xyz")
    assert response.status_code == 404
    assert ".ttl" in response.text


def test_resources_revalidate_with_their_etag(server: LiveServer) -> None:
    first = get(server, "/id/google-colab", "text/turtle")
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    again = requests.get(
        server.url + "/id/google-colab",
        headers={"Accept": "text/turtle", "If-None-Match": first.headers["ETag"]},
        timeout=30,
    )
    assert again.status_code == 304
    other_format = get(server, "/id/google-colab", "application/n-triples")
    assert other_format.headers["ETag"] != first.headers["ETag"]


def test_pages_revalidate_with_their_etag(server: LiveServer) -> None:
    first = get(server, "/compare?providers=google-colab", BROWSER)
    headers = {"Accept": BROWSER, "If-None-Match": first.headers["ETag"]}
    assert requests.get(server.url + "/compare?providers=google-colab", headers=headers, timeout=30).status_code == 304


def test_the_ontology_by_content_negotiation_and_suffix(server: LiveServer) -> None:
    turtle = parsed(get(server, "/ontology", "text/turtle"), "turtle")
    assert (rdflib.URIRef(MLC + "NotebookService"), rdflib.RDF.type, rdflib.OWL.Class) in turtle
    assert len(parsed(get(server, "/ontology.nt"), "nt")) == len(turtle)
    assert get(server, "/ontology/1.0.0", BROWSER).status_code == 200
    assert get(server, "/ontology/0.9", BROWSER).status_code == 404


def test_the_ontology_page_has_an_anchor_for_every_term(server: LiveServer) -> None:
    turtle = parsed(get(server, "/ontology.ttl"), "turtle")
    page = get(server, "/ontology", BROWSER).text
    terms = {str(s) for s in turtle.subjects() if isinstance(s, rdflib.URIRef) and str(s).startswith(MLC)}
    assert len(terms) > 100
    missing = [term for term in terms if f'id="{term.removeprefix(MLC)}"' not in page]
    assert missing == []


def test_the_dataset_iri_leads_to_its_description(server: LiveServer) -> None:
    response = get(server, "/dataset", "text/turtle")
    assert response.status_code == 303 and response.headers["Location"].endswith("/.well-known/void")
