"""/api: the named queries of queries/ as a REST API, and the finder, the comparison, explanations and capabilities
as JSON; described by the OpenAPI 3.1 document at /api/openapi.json, tried out at /api/docs.

A named query runs like a query sent to /sparql: checked by the guard, evaluated by the query workers (time limit,
size limit), cached, with ETag and Last-Modified. Its parameters are bound as typed RDF terms (queries.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Hashable
from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, send_from_directory

from mlcloudkg.api import KnowledgeGraph, UnknownName
from mlcloudkg.compare import compare
from mlcloudkg.endpoint.executor import Answer, Evaluation
from mlcloudkg.endpoint.guard import check_query
from mlcloudkg.errors import InvalidParameter, RequestError
from mlcloudkg.finder import parse
from mlcloudkg.namespaces import KG, compact
from mlcloudkg.queries import NamedQuery
from mlcloudkg.results import JSON_MEDIA_TYPE, plain_json_from_sparql_json, plain_value
from mlcloudkg.web.description import base_url
from mlcloudkg.web.http import (
    cacheable,
    entity_tag,
    negotiate,
    not_modified,
    not_modified_response,
    server_timing,
)
from mlcloudkg.web.live import LiveDataset, Served
from mlcloudkg.web.openapi import openapi_document, operation_id
from mlcloudkg.web.outputs import choose_output, outputs_for

blueprint = Blueprint("api", __name__, url_prefix="/api")

# Swagger UI from npm (package.json), served from this machine: never a CDN.
SWAGGER_UI = Path("node_modules") / "swagger-ui-dist"
SWAGGER_FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})
RESOURCE_ACCEPTED = "an IRI, a prefixed name (kg:google-colab) or a bare name (google-colab)"
AS_OF = "as_of"
AS_OF_ACCEPTED = "a date YYYY-MM-DD (the state on that date), e.g. 2020-12-17, or now (the default)"
STATE_HEADER = "Mlcloudkg-State-Date"  # the date of the state an answer describes


def live() -> LiveDataset:
    return current_app.extensions["mlcloudkg"]


def as_of_view(served: Served, values: dict[str, str]) -> KnowledgeGraph:
    """The graph as of the `as_of` parameter (taken out of `values`), or the latest state without one."""
    asked = values.pop(AS_OF, None)
    try:
        return served.view(asked)
    except UnknownName:
        raise InvalidParameter(AS_OF, f"{asked!r} is not a date", AS_OF_ACCEPTED) from None


def _stated(response: Response, view: KnowledgeGraph) -> Response:
    """Every answer says which state it describes (a JSON body also says how old its facts are)."""
    response.headers[STATE_HEADER] = view.state_date.isoformat()
    return response


@blueprint.get("/")
def index() -> Response:
    """Where everything of the API is."""
    base = base_url()
    served = live().current()
    return _json(
        served,
        served.kg,
        ("index",),
        lambda: {
            "openapi": f"{base}/api/openapi.json",
            "docs": f"{base}/api/docs",
            "queries": f"{base}/api/queries",
            "find": f"{base}/api/find",
            "compare": f"{base}/api/compare",
            "explain": f"{base}/api/explain",
            "capabilities": f"{base}/api/capabilities",
            "sparql": f"{base}/sparql",
            "downloads": f"{base}/download/",
        },
    )


@blueprint.get("/queries")
def queries() -> Response:
    """Every named query with its parameters, and the query files left out because they are malformed."""
    served = live().current()
    _refuse_unknown(_single_values(), set())
    catalog = served.kg.catalog
    return _json(
        served,
        served.kg,
        ("queries", tuple((q.name, q.text) for q in catalog.values())),
        lambda: {
            "queries": [describe(query) for query in catalog.values()],
            "problems": [problem.located(problem.path.name) for problem in served.kg.catalog_problems],
        },
    )


def describe(query: NamedQuery) -> dict[str, Any]:
    """A named query as data: what it answers, its parameters (typed defaults and allowed values), its columns."""
    base = base_url()
    return {
        "name": query.name,
        "title": query.title,
        "description": query.description,
        "answers": query.answers,
        "form": query.form,
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "description": p.description,
                "required": p.required,
                "default": plain_value(p.to_term(p.default)) if p.default is not None else None,
                "allowed": [plain_value(p.to_term(choice)) for choice in p.choices] or None,
            }
            for p in query.parameters
        ],
        "columns": list(query.variables),
        "formats": [name for output in outputs_for(query.form) for name in output.short_names[:1]],
        "sparql": query.text,
        "links": {
            "run": f"{base}/api/queries/{query.name}",
            "docs": f"{base}/api/docs#/Named%20queries/{operation_id(query)}",
        },
    }


@blueprint.get("/queries/<name>")
def run_query(name: str) -> Response:
    """Run a named query with its parameters from the query string; answer in the negotiated format."""
    served = live().current()
    query = served.kg.named_query(name)
    values = _single_values()
    view = as_of_view(served, values)
    requested = values.pop("format", None)
    text = query.bind(values)
    output = choose_output(outputs_for(query.form), requested)
    checked = check_query(text, served.graphs, live().limits)
    key = ("named", served.version, view.state_date, checked.text, output.media_type)
    etag = entity_tag(*key)
    if not_modified(etag, served.last_modified):
        return not_modified_response(etag, served.last_modified)
    started = time.perf_counter()
    answer, outcome = served.answer_in(view, Evaluation(checked.text, output.evaluated_as.media_type))
    body = plain_json_from_sparql_json(answer.body) if output.plain else answer.body
    response = Response(body, content_type=output.content_type)
    response.headers["Server-Timing"] = server_timing(answer, started, outcome)
    response.headers["Content-Disposition"] = f'inline; filename="{query.name}.{output.extension}"'
    return _stated(cacheable(response, etag, served.last_modified), view)


@blueprint.get("/find")
def find_services() -> Response:
    """The services that meet every requirement given, and what every other service fails: a page of each list."""
    served = live().current()
    values = _single_values()
    view = as_of_view(served, values)
    requirements, shown = parse(values)
    return _json(served, view, ("find", requirements, shown), lambda: view.answer_finder(requirements, shown).to_dict())


@blueprint.get("/compare")
def compare_services() -> Response:
    """The comparison of the providers' services named in `providers` (comma-separated or repeated)."""
    served = live().current()
    _refuse_unknown({name: "" for name in request.args}, {"providers", AS_OF})
    view = as_of_view(served, {AS_OF: request.args[AS_OF]} if AS_OF in request.args else {})
    names = [name.strip() for value in request.args.getlist("providers") for name in value.split(",") if name.strip()]
    if not names:
        raise InvalidParameter(
            "providers", "is required", "one or more services, e.g. google-colab,paperspace-gradient"
        )
    return _json(served, view, ("compare", tuple(names)), lambda: compare(view, names).to_dict())


@blueprint.get("/explain")
def explain() -> Response:
    """Whether a resource has a capability, with the proof down to the sources or the condition that fails."""
    served = live().current()
    values = _single_values()
    _refuse_unknown(values, {"resource", "capability", AS_OF, *served.kg.rule_parameters()})
    view = as_of_view(served, values)
    resource, capability = values.pop("resource", ""), values.pop("capability", "")
    if not resource:
        raise InvalidParameter("resource", "is required", RESOURCE_ACCEPTED)
    if not capability:
        raise InvalidParameter("capability", "is required", "a capability of GET /api/capabilities, e.g. MLOpsService")
    return _json(
        served,
        view,
        ("explain", resource, capability, tuple(sorted(values.items()))),
        lambda: view.explain(resource, capability, **values).to_dict(),
    )


@blueprint.get("/capabilities")
def capabilities() -> Response:
    """The capabilities of the ontology, or those a `resource` has."""
    served = live().current()
    values = _single_values()
    _refuse_unknown(values, {"resource", AS_OF})
    kg = as_of_view(served, values)
    resource = values.get("resource")

    def listed() -> dict[str, Any]:
        classes = kg.capabilities(resource) if resource else kg.capabilities_known()
        return {
            "resource": kg.resolve(resource, str(KG)) if resource else None,
            "capabilities": [
                {"iri": iri, "name": compact(iri), "label": kg.rules.labels.get(iri, "")} for iri in classes
            ],
        }

    return _json(served, kg, ("capabilities", resource), listed)


@blueprint.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of the service, generated from queries/."""
    served = live().current()
    catalog = served.kg.catalog
    return _json(
        served,
        served.kg,
        ("openapi", tuple((q.name, q.text) for q in catalog.values())),
        lambda: openapi_document(served.kg, base_url()),
    )


@blueprint.get("/docs")
def docs() -> str:
    """Swagger UI over /api/openapi.json: every operation, with a form to try it."""
    if not _swagger_directory().is_dir():
        raise RequestError(
            "the API docs page needs Swagger UI, which is not installed here",
            "`make install` (npm ci), or read /api/openapi.json",
            status=503,
            title="Service Unavailable",
        )
    return render_template("api_docs.html")


@blueprint.get("/docs/assets/<filename>")
def docs_asset(filename: str) -> Response:
    if filename not in SWAGGER_FILES:
        abort(404, description=f"there is no file {filename!r} here")
    return send_from_directory(_swagger_directory(), filename, max_age=3600)


def _swagger_directory() -> Path:
    return live().settings.root / SWAGGER_UI


def _single_values() -> dict[str, str]:
    """The query string as name -> value, refusing a parameter given twice (which value would be meant?)."""
    values: dict[str, str] = {}
    for name in request.args:
        given = request.args.getlist(name)
        if len(given) > 1:
            raise InvalidParameter(name, f"is given {len(given)} times", "each parameter once")
        values[name] = given[0]
    return values


def _refuse_unknown(values: dict[str, str], known: set[str]) -> None:
    unknown = sorted(set(values) - known)
    if unknown:
        names = ", ".join(sorted(known)) or "none"
        raise InvalidParameter(unknown[0], "is not a parameter here", f"parameters: {names}")


def _json(served: Served, view: KnowledgeGraph, key: tuple[Hashable, ...], compute: Callable[[], Any]) -> Response:
    """A JSON answer computed in this process from `view` of the graph, cached for the build like a query's answer,
    with ETag and Last-Modified: the data only changes with a new build (and the age of facts with the day)."""
    negotiate([JSON_MEDIA_TYPE])  # 406 for a client that accepts no JSON
    cache_key = ("api", served.version, view.state_date, date.today(), base_url(), *key)
    etag = entity_tag(*cache_key)
    if not_modified(etag, served.last_modified):
        return not_modified_response(etag, served.last_modified)
    started = time.perf_counter()
    answer = served.cache.get(cache_key)
    outcome = "hit" if answer is not None else "miss"
    if answer is None:
        body = json.dumps(compute(), ensure_ascii=False).encode("utf-8")
        answer = Answer(body, JSON_MEDIA_TYPE, time.perf_counter() - started)
        served.cache.put(cache_key, answer)
    response = Response(answer.body, content_type=JSON_MEDIA_TYPE)
    response.headers["Server-Timing"] = server_timing(answer, started, outcome)
    return _stated(cacheable(response, etag, served.last_modified), view)
