"""The REST API over HTTP (a live server on loopback): every named query with valid and invalid parameters, the
answer formats, caching, the finder, the comparison, explanations and capabilities; and, on a project with extra
query files, that a malformed file leaves the others working and that named queries run under the time limit."""

from __future__ import annotations

import csv
import io
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from werkzeug.test import TestResponse

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.build import build
from mlcloudkg.config import Settings
from mlcloudkg.web import create_app

from .conftest import PROJECT, LiveServer

KG = "https://w3id.org/mlcloudkg/id/"
MLC = "https://w3id.org/mlcloudkg/ontology#"
# A value for every parameter a query requires; the others are left to their defaults.
REQUIRED = {"fact-provenance": {"subject": KG + "colab-free-runtime"}}
# A value of the wrong kind for each parameter type (strings take anything, unless they list allowed values).
WRONG = {
    "integer": "six",
    "decimal": "sixteen",
    "boolean": "maybe",
    "date": "2020-13-45",
    "iri": "not an iri",
}


def get(server: LiveServer, path: str, **options: Any) -> requests.Response:
    return requests.get(server.url + path, timeout=30, **options)


def plain(value: object) -> object:
    """A Python API value as the JSON API writes it."""
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[union-attr]
    return value


# -- the catalogue --------------------------------------------------------------------------------------------


def test_the_catalogue_lists_every_query_with_its_parameters(server: LiveServer, kg: KnowledgeGraph) -> None:
    response = get(server, "/api/queries")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    listed = {q["name"]: q for q in response.json()["queries"]}
    assert set(listed) == set(kg.catalog)
    assert response.json()["problems"] == []
    currency = listed["cheapest-gpu-hour"]["parameters"][0]
    assert currency == {
        "name": "currency",
        "type": "string",
        "description": "Only prices in this ISO 4217 currency (prices in different currencies are not comparable).",
        "required": False,
        "default": "USD",
        "allowed": None,
    }
    subject = listed["fact-provenance"]["parameters"][0]
    assert (subject["name"], subject["type"], subject["required"]) == ("subject", "iri", True)
    free_gpus = listed["free-gpus"]
    assert free_gpus["title"] == "Free GPUs per service"
    assert free_gpus["columns"][:2] == ["service", "serviceName"]
    assert free_gpus["links"]["run"] == server.url + "/api/queries/free-gpus"
    assert get(server, "/api/queries", params={"page": "2"}).status_code == 400


# -- every named query: valid parameters ----------------------------------------------------------------------


def test_every_named_query_answers_its_rows_as_plain_json(server: LiveServer, kg: KnowledgeGraph) -> None:
    for name, query in kg.catalog.items():
        response = get(server, f"/api/queries/{name}", params=REQUIRED.get(name, {}))
        assert response.status_code == 200, (name, response.text)
        rows = response.json()
        expected = [
            {variable: plain(row.get(variable)) for variable in query.variables}
            for row in kg.named(name, **REQUIRED.get(name, {}))
        ]
        assert rows == expected, name
        assert rows, name


def test_free_gpus_of_at_least_16_gb_then_and_now(server: LiveServer) -> None:
    then = get(server, "/api/queries/free-gpus", params={"min_gpu_memory_gb": "16", "as_of": "2020-12-17"})
    assert then.headers["Mlcloudkg-State-Date"] == "2020-12-17"
    assert {(r["serviceName"], r["gpuName"], r["gpuMemoryGB"]) for r in then.json()} == {
        ("Google Colab", "Tesla T4", 16),
        ("Google Colab", "Tesla P100 PCIe 16 GB", 16),
        ("Paperspace Gradient", "Quadro P5000", 16),
    }
    now = get(server, "/api/queries/free-gpus", params={"min_gpu_memory_gb": "16"})
    assert now.headers["Mlcloudkg-State-Date"] == "2026-03-01"
    assert {(r["serviceName"], r["gpuName"]) for r in now.json()} == {
        ("Google Colab", "Tesla T4"),  # the free tier is a T4 only by 2026
        ("Paperspace Gradient", "Quadro P5000"),
    }


def test_every_json_answer_says_how_old_its_facts_are(server: LiveServer) -> None:
    found = get(server, "/api/find", params={"gpu": "true", "as_of": "2020-12-17"}).json()
    assert "FloydHub" in [m["name"] for m in found["matches"]]  # shut down in 2021
    assert found["facts"]["state_as_of"] == "2020-12-17" and found["facts"]["latest_state"] == "2026-03-01"
    assert "FloydHub" not in [m["name"] for m in get(server, "/api/find", params={"gpu": "true"}).json()["matches"]]
    explained = get(server, "/api/explain", params={"resource": "floydhub", "capability": "PaidHourlyGPUService"})
    assert explained.json()["facts"]["possibly_outdated"] == ["https://w3id.org/mlcloudkg/id/floydhub"]
    bad = requests.get(server.url + "/api/find", params={"as_of": "someday"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["parameter"] == "as_of"


def test_json_values_are_json_numbers_booleans_and_strings(server: LiveServer) -> None:
    cheapest = get(server, "/api/queries/cheapest-gpu-hour").json()
    assert (cheapest[0]["serviceName"], cheapest[0]["pricePerHour"]) == ("Q Blocks", 0.2)
    [row] = get(
        server,
        "/api/queries/fact-provenance",
        params={"subject": KG + "colab-free-runtime", "property": MLC + "maxSessionDuration"},
    ).json()
    assert row["asOf"] == "2020-12-17"
    assert row["validFrom"] is None
    gpus = get(server, "/api/queries/free-gpus").json()
    assert {type(r["tensorCores"]) for r in gpus} == {bool}


def test_a_parameter_value_cannot_inject_sparql(server: LiveServer) -> None:
    response = get(server, "/api/queries/cheapest-gpu-hour", params={"currency": 'USD" } ?s ?p ?o . { "x'})
    assert response.status_code == 200
    assert response.json() == []


# -- every named query: invalid parameters --------------------------------------------------------------------


def test_every_typed_parameter_refuses_a_value_of_the_wrong_kind(server: LiveServer, kg: KnowledgeGraph) -> None:
    checked = 0
    for name, query in kg.catalog.items():
        for parameter in query.parameters:
            if parameter.type not in WRONG:
                continue
            values = {**REQUIRED.get(name, {}), parameter.name: WRONG[parameter.type]}
            response = get(server, f"/api/queries/{name}", params=values)
            assert response.status_code == 400, (name, parameter.name)
            assert response.headers["Content-Type"] == "application/problem+json"
            problem = response.json()
            assert problem["parameter"] == parameter.name
            assert (
                problem["detail"]
                == f"parameter {parameter.name!r}: {WRONG[parameter.type]!r} is not "
                + (parameter.accepted.split(",")[0])
            )
            assert problem["accepted"] == parameter.accepted
            checked += 1
    assert checked >= 5


def test_every_query_refuses_an_unknown_parameter(server: LiveServer, kg: KnowledgeGraph) -> None:
    for name, query in kg.catalog.items():
        response = get(server, f"/api/queries/{name}", params={**REQUIRED.get(name, {}), "limit": "5"})
        assert response.status_code == 400, name
        assert response.json()["parameter"] == "limit"
        names = ", ".join(p.name for p in query.parameters) or "none"
        assert response.json()["accepted"] == f"parameters: {names}"


def test_a_required_parameter_must_be_given(server: LiveServer) -> None:
    response = get(server, "/api/queries/fact-provenance")
    assert response.status_code == 400
    assert response.json()["detail"] == "parameter 'subject': is required"
    assert response.json()["accepted"].startswith("an absolute IRI")


def test_a_parameter_given_twice_is_refused(server: LiveServer) -> None:
    response = get(server, "/api/queries/free-gpus?min_gpu_memory_gb=8&min_gpu_memory_gb=16")
    assert response.status_code == 400
    assert response.json()["detail"] == "parameter 'min_gpu_memory_gb': is given 2 times"


def test_an_unknown_query_is_not_found(server: LiveServer) -> None:
    response = get(server, "/api/queries/free-gpu")
    assert response.status_code == 404
    assert "no named query 'free-gpu' — accepted: one of alternatives," in response.json()["detail"]


def test_errors_are_plain_text_for_clients_that_prefer_it(server: LiveServer) -> None:
    response = get(server, "/api/queries/free-gpus?min_gpu_memory_gb=x", headers={"Accept": "text/plain"})
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.startswith("400 Bad Request: parameter 'min_gpu_memory_gb': 'x' is not a number")


# -- formats ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "media_type"),
    [
        ({"params": {"format": "csv"}}, "text/csv"),
        ({"headers": {"Accept": "text/csv"}}, "text/csv"),
        ({"params": {"format": "tsv"}}, "text/tab-separated-values"),
        ({"headers": {"Accept": "text/tab-separated-values"}}, "text/tab-separated-values"),
        ({"params": {"format": "sparql-json"}}, "application/sparql-results+json"),
        ({"headers": {"Accept": "application/sparql-results+json"}}, "application/sparql-results+json"),
        ({"params": {"format": "sparql-xml"}}, "application/sparql-results+xml"),
        ({"headers": {"Accept": "text/csv;q=0.5, application/json"}}, "application/json"),
        ({}, "application/json"),
    ],
)
def test_the_format_by_name_or_by_content_negotiation(
    server: LiveServer, how: dict[str, dict[str, str]], media_type: str
) -> None:
    response = get(server, "/api/queries/services", **how)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media_type
    assert "Accept" in response.headers["Vary"]


def test_csv_has_a_header_and_one_line_per_row(server: LiveServer) -> None:
    rows = get(server, "/api/queries/services").json()
    table = list(csv.DictReader(io.StringIO(get(server, "/api/queries/services?format=csv").text)))
    assert [r["serviceName"] for r in table] == [r["serviceName"] for r in rows]
    assert table[0]["service"] == rows[0]["service"]


def test_sparql_json_is_the_sparql_results_document(server: LiveServer) -> None:
    document = get(server, "/api/queries/services?format=sparql-json").json()
    assert document["head"]["vars"][:2] == ["service", "serviceName"]
    assert document["results"]["bindings"][0]["service"]["type"] == "uri"


def test_an_unknown_format_names_the_accepted_ones(server: LiveServer) -> None:
    response = get(server, "/api/queries/services?format=xlsx")
    assert response.status_code == 400
    assert response.json()["parameter"] == "format"
    assert response.json()["accepted"] == "json, csv, tsv, sparql-json, srj, sparql-xml, srx, xml"


def test_an_unacceptable_accept_header_is_406(server: LiveServer) -> None:
    response = get(server, "/api/queries/services", headers={"Accept": "image/png"})
    assert response.status_code == 406


# -- caching ---------------------------------------------------------------------------------------------------


def test_answers_are_cached_and_revalidated(server: LiveServer) -> None:
    path = "/api/queries/gpu-specs?min_gpu_memory_gb=11"
    first = get(server, path)
    again = get(server, path)
    assert "cache;desc=hit" in again.headers["Server-Timing"]
    assert again.content == first.content
    etag = first.headers["ETag"]
    assert get(server, path, headers={"If-None-Match": etag}).status_code == 304
    assert get(server, path, headers={"If-None-Match": etag, "Accept": "text/csv"}).status_code == 200
    assert get(server, "/api/queries/gpu-specs?min_gpu_memory_gb=12").headers["ETag"] != etag


@pytest.mark.parametrize(
    "path", ["/api/queries", "/api/find?free=true", "/api/compare?providers=deepnote", "/api/capabilities"]
)
def test_json_endpoints_are_revalidated(server: LiveServer, path: str) -> None:
    first = get(server, path)
    assert first.status_code == 200
    assert get(server, path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


# -- finder, comparison, explanations, capabilities -------------------------------------------------------------


def test_find(server: LiveServer) -> None:
    response = get(server, "/api/find", params={"free": "true", "min_gpu_memory_gb": "16", "private_notebooks": "1"})
    assert response.status_code == 200
    found = response.json()
    assert [m["name"] for m in found["matches"]] == ["Google Colab"]
    assert found["requirements"] == {"free": True, "min_gpu_memory_gb": 16.0, "private_notebooks": True}
    assert "SELECT DISTINCT ?service ?name" in found["query"]
    deepnote = next(o for o in found["others"] if o["name"] == "Deepnote")
    assert "with a GPU" in deepnote["fails"]


def test_find_answers_a_page_of_each_list_with_the_counts(server: LiveServer) -> None:
    asked = {"free": "true", "min_gpu_memory_gb": "16", "private_notebooks": "true"}
    whole = get(server, "/api/find", params=asked).json()
    page = get(server, "/api/find", params={**asked, "limit": "2", "others_offset": "3"}).json()
    assert (page["match_count"], page["other_count"]) == (1, 5)
    assert page["page"] == {"limit": 2, "offset": 0, "others_offset": 3}
    assert page["others"] == whole["others"][3:5]
    assert page["matches"] == whole["matches"]


@pytest.mark.parametrize(
    ("query", "parameter", "detail"),
    [
        ({"limit": "5000"}, "limit", "parameter 'limit': 5000 is out of range"),
        ({"offset": "first"}, "offset", "parameter 'offset': 'first' is not a whole number"),
        ({"free": "maybe"}, "free", "requirement 'free': 'maybe' is not true or false"),
        ({"min_gpu_memory_gb": "-3"}, "min_gpu_memory_gb", "requirement 'min_gpu_memory_gb': -3 is out of range"),
        ({"gpus": "2"}, "gpus", "requirement 'gpus': is not a requirement"),
    ],
)
def test_find_refuses_a_bad_requirement(server: LiveServer, query: dict[str, str], parameter: str, detail: str) -> None:
    response = get(server, "/api/find", params=query)
    assert response.status_code == 400
    assert (response.json()["parameter"], response.json()["detail"]) == (parameter, detail)


def test_compare(server: LiveServer, kg: KnowledgeGraph) -> None:
    response = get(server, "/api/compare?providers=google-colab,kg:paperspace-gradient")
    assert response.status_code == 200
    assert response.json() == kg.compare("google-colab", "paperspace-gradient").to_dict()
    repeated = get(server, "/api/compare?providers=google-colab&providers=kg:paperspace-gradient")
    assert repeated.json() == response.json()


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/api/compare", "parameter 'providers': is required"),
        ("/api/compare?providers=colab", "'colab' is not a service of the graph — accepted: kg:blobcity, "),
        ("/api/compare?services=deepnote", "parameter 'services': is not a parameter here"),
    ],
)
def test_compare_refuses_bad_input(server: LiveServer, path: str, detail: str) -> None:
    response = get(server, path)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)


def test_explain(server: LiveServer, kg: KnowledgeGraph) -> None:
    response = get(server, "/api/explain?resource=google-colab&capability=FreePrivateGPUNotebookService")
    assert response.status_code == 200
    assert response.json() == kg.explain("google-colab", "FreePrivateGPUNotebookService").to_dict()
    assert response.json()["holds"] is True
    assert "proof" in response.json()


def test_explain_with_another_threshold(server: LiveServer) -> None:
    path = "/api/explain?resource=paperspace-gradient&capability=LongFreeSessionService"
    assert get(server, path).json()["holds"] is False
    assert get(server, path + "&min_session_hours=5").json()["holds"] is True


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/api/explain?capability=MLOpsService", "parameter 'resource': is required"),
        ("/api/explain?resource=deepnote", "parameter 'capability': is required"),
        ("/api/explain?resource=deepnote&capability=Fast", "'Fast' is not a class of the ontology — accepted: "),
        ("/api/explain?resource=nobody&capability=MLOpsService", "'nobody' is not a resource of the graph"),
        ("/api/explain?resource=deepnote&capability=MLOpsService&hours=3", "parameter 'hours': is not a parameter"),
        (
            "/api/explain?resource=deepnote&capability=MLOpsService&min_session_hours=long",
            "parameter 'min_session_hours': 'long' is not a number",
        ),
    ],
)
def test_explain_refuses_bad_input(server: LiveServer, path: str, detail: str) -> None:
    response = get(server, path)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)


def test_capabilities(server: LiveServer) -> None:
    every = get(server, "/api/capabilities").json()
    assert every["resource"] is None
    assert len(every["capabilities"]) == 19
    colab = get(server, "/api/capabilities?resource=google-colab").json()
    assert colab["resource"] == KG + "google-colab"
    assert {"iri": MLC + "FreeGPUService", "name": "mlc:FreeGPUService", "label": "offers a free GPU"} in colab[
        "capabilities"
    ]
    assert get(server, "/api/capabilities?resource=nobody").status_code == 400


def test_the_api_index_links_everything(server: LiveServer) -> None:
    index = get(server, "/api/").json()
    assert set(index) == {
        "openapi",
        "docs",
        "queries",
        "find",
        "compare",
        "explain",
        "capabilities",
        "sparql",
        "downloads",
    }
    for name, url in index.items():
        response = get(server, url.removeprefix(server.url))
        if name in {"compare", "explain"}:  # these need parameters, and say which
            assert response.status_code == 400
            assert response.json()["detail"].endswith("is required")
        else:
            assert response.status_code == 200, name


# -- a project with extra query files: malformed, slow, CONSTRUCT, ASK -----------------------------------------

BROKEN = "# title: Broken\n# description: a bad parameter line\n# param: limit number -- How many\n"
SLOW = (
    "# title: Slow\n# description: Every triple with every triple with every triple.\n"
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }\n"
)
GRAPH = (
    "# title: GPU graph\n# description: The GPUs each service offers, as a graph.\n"
    "# param: service iri -- Only this service.\n"
    "PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#>\n"
    "CONSTRUCT { ?service mlc:offersGPU ?gpu } WHERE { ?service mlc:offersGPU ?gpu }\n"
)
ASK = (
    "# title: Has free GPUs\n# description: Whether a service gives free GPUs.\n"
    "# param: service iri required -- The service.\n"
    "PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#>\nASK WHERE { ?service a mlc:FreeGPUService }\n"
)


@pytest.fixture(scope="module")
def extra_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A built copy of the project with four more query files, a 2 s time limit and two query workers."""
    root = tmp_path_factory.mktemp("extra")
    for part in ("ontology", "data", "queries"):
        shutil.copytree(PROJECT / part, root / part)
    for name, text in {
        "broken": BROKEN + SLOW[SLOW.index("SELECT") :],
        "slow": SLOW,
        "graph": GRAPH,
        "ask": ASK,
    }.items():
        (root / "queries" / f"{name}.rq").write_text(text)
    settings = replace(Settings.from_env(root=root, build_dir=root / "build"), query_timeout=2.0, evaluators=2)
    build(settings)
    return settings


@pytest.fixture(scope="module")
def extra(extra_settings: Settings) -> Iterator[FlaskClient]:
    app = create_app(extra_settings)
    yield app.test_client()
    app.extensions["mlcloudkg"].close()


def test_a_malformed_query_file_is_reported_and_the_others_work(extra: FlaskClient, kg: KnowledgeGraph) -> None:
    listed = extra.get("/api/queries").get_json()
    assert listed["problems"] == [
        "broken.rq:3 — unknown parameter type 'number' — accepted: string, integer, decimal, boolean, date, iri"
    ]
    assert {q["name"] for q in listed["queries"]} == set(kg.catalog) | {"slow", "graph", "ask"}
    assert extra.get("/api/queries/broken").status_code == 404
    assert extra.get("/api/queries/services").status_code == 200


def test_a_named_query_is_stopped_at_the_time_limit(extra: FlaskClient) -> None:
    response = extra.get("/api/queries/slow")
    assert response.status_code == 503
    assert response.get_json()["detail"] == "the query ran longer than 2 s and was stopped"
    assert extra.get("/api/queries/services").status_code == 200  # the other worker answers


def test_a_query_beyond_the_query_slots_is_turned_away_and_each_503_names_its_limit(extra_settings: Settings) -> None:
    """A full web worker and a query stopped at the time limit are both 503 (worth a retry), told apart by title:
    an operator reading the errors, and the benchmark counting them, need to know which limit was reached."""
    app = create_app(replace(extra_settings, query_timeout=5.0, evaluators=1, max_waiting_queries=0))
    answers: dict[str, TestResponse] = {}
    running = threading.Thread(target=lambda: answers.update(first=app.test_client().get("/api/queries/slow")))
    try:
        running.start()
        time.sleep(0.5)  # the first holds the one query slot until the time limit stops it
        answers["second"] = app.test_client().get("/api/queries/slow")
        running.join(timeout=30)
    finally:
        app.extensions["mlcloudkg"].close()
    turned_away, stopped = answers["second"], answers["first"]
    assert turned_away.status_code == 503 and turned_away.headers["Retry-After"] == "5"
    assert turned_away.get_json()["title"] == "Query Slots Taken"
    assert turned_away.get_json()["detail"].startswith("all 1 query slots of this worker stayed taken for 2 s")
    assert stopped.status_code == 503 and stopped.get_json()["title"] == "Query Timeout"


def test_a_construct_query_answers_a_graph(extra: FlaskClient) -> None:
    turtle = extra.get("/api/queries/graph", query_string={"service": KG + "paperspace-gradient"})
    assert turtle.status_code == 200
    assert turtle.headers["Content-Type"].startswith("text/turtle")
    assert "kg:paperspace-gradient mlc:offersGPU" in turtle.get_data(as_text=True)
    assert "kg:google-colab" not in turtle.get_data(as_text=True)
    triples = extra.get("/api/queries/graph?format=nt").get_data(as_text=True).strip().splitlines()
    assert len(triples) >= 6
    assert all(line.endswith(" .") for line in triples)


def test_an_ask_query_answers_a_boolean(extra: FlaskClient) -> None:
    assert extra.get("/api/queries/ask", query_string={"service": KG + "google-colab"}).get_json() is True
    assert extra.get("/api/queries/ask", query_string={"service": KG + "deepnote"}).get_json() is False


def test_the_malformed_file_is_logged_when_the_graph_opens(
    extra_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR"):
        KnowledgeGraph.embedded(extra_settings, rebuild=False)
    broken = extra_settings.queries_dir / "broken.rq"
    assert f"named query left out: {broken}:3 — unknown parameter type 'number'" in caplog.text


def test_the_openapi_document_leaves_the_malformed_file_out(extra: FlaskClient) -> None:
    document = extra.get("/api/openapi.json").get_json()
    validate(document)
    assert {"/api/queries/slow", "/api/queries/graph", "/api/queries/ask", "/api/queries/services"} <= set(
        document["paths"]
    )
    assert "/api/queries/broken" not in document["paths"]
    assert "`broken.rq:3 — unknown parameter type 'number'" in document["info"]["description"]
    graph = document["paths"]["/api/queries/graph"]["get"]["responses"]["200"]["content"]
    assert next(iter(graph)) == "text/turtle"
