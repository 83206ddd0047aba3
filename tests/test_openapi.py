"""The OpenAPI 3.1 document: valid by the reference validator, one operation per named query with the parameters
its header declares, and a true description of the answers (every answer checked against its documented schema).
The docs page renders it with Swagger UI served from this machine."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import ValidationError
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.queries import parse_query_file
from mlcloudkg.web.openapi import query_operation

from .conftest import LiveServer

KG = "https://w3id.org/mlcloudkg/id/"
REQUIRED = {"fact-provenance": {"subject": KG + "colab-free-runtime"}}
TYPES = {"string": "string", "integer": "integer", "decimal": "number", "boolean": "boolean", "date": "string"}


@pytest.fixture(scope="module")
def document(server: LiveServer) -> dict[str, Any]:
    response = requests.get(server.url + "/api/openapi.json", timeout=30)
    assert response.status_code == 200
    return response.json()


def conforms(document: dict[str, Any], schema: dict[str, Any], instance: object) -> None:
    """Check `instance` against a schema of the document (its $refs point into the document's components)."""
    OAS31Validator({**schema, "components": document["components"]}).validate(instance)


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_the_validator_catches_a_broken_document(document: dict[str, Any]) -> None:
    broken = copy.deepcopy(document)
    del broken["paths"]["/api/queries/free-gpus"]["get"]["parameters"][0]["in"]
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_one_operation_per_named_query(document: dict[str, Any], kg: KnowledgeGraph, server: LiveServer) -> None:
    for name, query in kg.catalog.items():
        operation = document["paths"][f"/api/queries/{name}"]["get"]
        assert operation["summary"] == query.title
        assert operation["operationId"] == name.replace("-", "_")
        assert query.text[query.text.index("PREFIX") :].strip() in operation["description"]  # the SPARQL it runs
    assert document["servers"] == [{"url": server.url}]
    ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))


def test_parameters_are_typed_from_the_query_header(document: dict[str, Any], kg: KnowledgeGraph) -> None:
    for name, query in kg.catalog.items():
        documented = {p["name"]: p for p in document["paths"][f"/api/queries/{name}"]["get"]["parameters"]}
        assert set(documented) == {p.name for p in query.parameters} | {"format", "as_of"}
        for parameter in query.parameters:
            found = documented[parameter.name]
            assert found["in"] == "query"
            assert found["required"] is parameter.required
            assert found["description"].startswith(parameter.description)
            if parameter.type == "iri":
                assert found["schema"] == {"type": "string", "format": "iri"}
            else:
                assert found["schema"]["type"] == TYPES[parameter.type]
    currency = document["paths"]["/api/queries/cheapest-gpu-hour"]["get"]["parameters"][0]
    assert currency["schema"] == {"type": "string", "default": "USD"}


def test_allowed_values_become_typed_enums(tmp_path: Path) -> None:
    path = tmp_path / "typed.rq"
    path.write_text(
        "# title: Typed\n# description: Every kind of parameter.\n"
        "# param: currency string = USD in USD|SGD -- A currency.\n"
        "# param: top integer = 10 in 5|10|20 required -- How many.\n"
        "# param: ratio decimal = 0.50 in 0.25|0.5 -- A ratio.\n"
        "# param: paid boolean = false -- Only paid plans.\n"
        "# param: since date = 2020-12-17 -- Facts from then on.\n"
        "SELECT * WHERE { ?s ?p ?o FILTER(?currency || ?top || ?ratio || ?paid || ?since) }\n"
    )
    parameters = {p["name"]: p for p in query_operation(parse_query_file(path))["parameters"]}
    assert parameters["currency"]["schema"] == {"type": "string", "enum": ["USD", "SGD"], "default": "USD"}
    assert parameters["top"]["schema"] == {"type": "integer", "enum": [5, 10, 20], "default": 10}
    assert parameters["top"]["required"] is True
    assert parameters["ratio"]["schema"] == {"type": "number", "enum": [0.25, 0.5], "default": 0.5}
    assert parameters["paid"]["schema"] == {"type": "boolean", "default": False}
    assert parameters["since"]["schema"] == {"type": "string", "format": "date", "default": "2020-12-17"}
    assert parameters["format"]["schema"]["enum"][:3] == ["json", "csv", "tsv"]


def test_every_named_query_answers_as_documented(
    document: dict[str, Any], kg: KnowledgeGraph, server: LiveServer
) -> None:
    for name in kg.catalog:
        content = document["paths"][f"/api/queries/{name}"]["get"]["responses"]["200"]["content"]
        assert list(content)[:3] == ["application/json", "text/csv", "text/tab-separated-values"]
        response = requests.get(f"{server.url}/api/queries/{name}", params=REQUIRED.get(name, {}), timeout=30)
        conforms(document, content["application/json"]["schema"], response.json())


def test_an_answer_that_is_not_as_documented_is_caught(document: dict[str, Any]) -> None:
    schema = document["paths"]["/api/queries/services"]["get"]["responses"]["200"]["content"]["application/json"]
    row = {name: None for name in schema["schema"]["items"]["properties"]}
    conforms(document, schema["schema"], [row])
    with pytest.raises(ValidationError, match="Additional properties are not allowed"):
        conforms(document, schema["schema"], [{**row, "surprise": 1}])
    with pytest.raises(ValidationError, match="'service' is a required property"):
        conforms(document, schema["schema"], [{k: v for k, v in row.items() if k != "service"}])
    with pytest.raises(ValidationError, match="is not of type"):
        conforms(document, schema["schema"], [{**row, "service": {"type": "uri"}}])


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("/api/queries", "/api/queries"),
        ("/api/find", "/api/find?free=true&min_gpu_memory_gb=16"),
        ("/api/compare", "/api/compare?providers=google-colab,paperspace-gradient"),
        ("/api/explain", "/api/explain?resource=google-colab&capability=FreePrivateGPUNotebookService"),
        ("/api/explain", "/api/explain?resource=paperspace-gradient&capability=FreePrivateGPUNotebookService"),
        ("/api/capabilities", "/api/capabilities?resource=deepnote"),
        ("/download/", "/download/"),
    ],
)
def test_json_endpoints_answer_as_documented(document: dict[str, Any], server: LiveServer, path: str, url: str) -> None:
    schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    conforms(document, schema, requests.get(server.url + url, timeout=30).json())


def test_errors_answer_as_documented(document: dict[str, Any], server: LiveServer) -> None:
    response = requests.get(server.url + "/api/queries/free-gpus?min_gpu_memory_gb=lots", timeout=30)
    assert response.status_code == 400
    problem = document["components"]["responses"]["BadRequest"]["content"]["application/problem+json"]
    conforms(document, problem["schema"], response.json())


def test_the_finder_comparison_and_explanations_are_documented(document: dict[str, Any], kg: KnowledgeGraph) -> None:
    find = {p["name"]: p for p in document["paths"]["/api/find"]["get"]["parameters"]}
    assert find["free"]["schema"] == {"type": "boolean", "default": False}
    assert find["min_gpu_memory_gb"]["schema"]["type"] == "number"
    assert find["min_gpu_memory_gb"]["description"] == "A GPU with at least this much memory per device, in GB."
    providers, as_of = document["paths"]["/api/compare"]["get"]["parameters"]
    assert as_of["name"] == "as_of" and as_of["schema"] == {"type": "string", "format": "date"}
    assert set(providers["schema"]["items"]["enum"]) == {
        "google-colab",
        "paperspace-gradient",
        "deepnote",
        "blobcity",
        "floydhub",
        "q-blocks",
    }
    explain = {p["name"]: p for p in document["paths"]["/api/explain"]["get"]["parameters"]}
    assert len(explain["capability"]["schema"]["enum"]) == len(kg.capabilities_known()) == 19
    assert explain["min_session_hours"]["schema"] == {"type": "number", "default": 12}


def test_the_sparql_endpoint_and_downloads_are_documented(document: dict[str, Any], server: LiveServer) -> None:
    assert set(document["paths"]["/sparql"]) == {"get", "post"}
    post = document["paths"]["/sparql"]["post"]["requestBody"]["content"]
    assert set(post) == {"application/x-www-form-urlencoded", "application/sparql-query"}
    [filename] = document["paths"]["/download/{filename}"]["get"]["parameters"]
    served = requests.get(server.url + "/download/", timeout=30).json()["downloads"]
    assert set(filename["schema"]["enum"]) == {d["filename"] for d in served}
    assert "/.well-known/void" in document["paths"]


# -- the docs page ---------------------------------------------------------------------------------------------


def test_the_docs_page_loads_swagger_ui_from_this_server(server: LiveServer) -> None:
    page = requests.get(server.url + "/api/docs", timeout=30)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    assert all(s.startswith("/") for s in sources), sources  # nothing from another host
    for source in sources:
        asset = requests.get(server.url + source, timeout=30)
        assert asset.status_code == 200, source
    assert '"/api/openapi.json"' in page.text


def test_only_swagger_ui_files_are_served_from_node_modules(server: LiveServer) -> None:
    for name in ("package.json", "..%2F..%2Fpackage.json", "index.html"):
        assert requests.get(f"{server.url}/api/docs/assets/{name}", timeout=30).status_code == 404


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_the_docs_page_renders_every_operation(server: LiveServer, kg: KnowledgeGraph, tmp_path: Path) -> None:
    rendered = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            server.url + "/api/docs",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    assert "Named queries" in rendered
    for query in kg.catalog.values():
        assert f"/api/queries/{query.name}" in rendered, query.name
