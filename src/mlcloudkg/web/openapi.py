"""The OpenAPI 3.1 document of the service, generated from what it serves: one operation per named query (its
parameters typed from the query's header, allowed values as enums, defaults, required), the JSON endpoints of
/api, the SPARQL endpoint and the downloads. A malformed query file is listed in the description and left out;
every other operation stays."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

from mlcloudkg import __version__
from mlcloudkg.compare import LISTED_ONE_BY_ONE, MAX_COMPARED
from mlcloudkg.endpoint.formats import FORMATS
from mlcloudkg.export import DOWNLOADS
from mlcloudkg.finder import MAX_NUMBER, PAGE_FIELDS, Page, Requirements, is_number
from mlcloudkg.namespaces import KG, MLC
from mlcloudkg.queries import NamedQuery, Parameter
from mlcloudkg.results import JSON_MEDIA_TYPE, plain_value
from mlcloudkg.web.description import RDF_SERIALIZERS
from mlcloudkg.web.outputs import Output, outputs_for

if TYPE_CHECKING:
    from mlcloudkg.api import KnowledgeGraph

NAMED = "Named queries"
DISCOVER = "Finder, comparison, explanations"
SPARQL = "SPARQL endpoint"
DOWNLOAD = "Downloads"
PROBLEM = "application/problem+json"
# A parameter's type in the query header -> its JSON Schema.
PARAMETER_SCHEMAS: dict[str, dict[str, str]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "decimal": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "iri": {"type": "string", "format": "iri"},
}


def openapi_document(kg: KnowledgeGraph, base: str) -> dict[str, Any]:
    """The whole document, for the server at `base`."""
    paths: dict[str, Any] = {
        "/api/queries": {"get": _list_operation()},
        **{f"/api/queries/{q.name}": {"get": query_operation(q)} for q in kg.catalog.values()},
        "/api/find": {"get": _find_operation()},
        "/api/compare": {"get": _compare_operation(kg)},
        "/api/explain": {"get": _explain_operation(kg)},
        "/api/capabilities": {"get": _capabilities_operation()},
        "/sparql": _sparql_operations(),
        "/download/": {"get": _downloads_index_operation()},
        "/download/{filename}": {"get": _download_operation()},
        "/.well-known/void": {"get": _void_operation()},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mlcloudkg",
            "version": __version__,
            "summary": "A knowledge graph of cloud GPU notebook services: named queries, SPARQL and downloads.",
            "description": _description(kg),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": base}],
        "tags": [
            {"name": NAMED, "description": "Each file of queries/ is an operation: typed parameters, JSON rows."},
            {"name": DISCOVER, "description": "The finder, side-by-side comparisons and why a capability holds."},
            {"name": SPARQL, "description": "SPARQL 1.1 Protocol, read-only."},
            {"name": DOWNLOAD, "description": "The dataset as files, and its VoID/DCAT description."},
        ],
        "paths": paths,
        "components": _components(),
    }


def _description(kg: KnowledgeGraph) -> str:
    text = (
        "Every named query of `queries/` is an operation of its own. Parameters are checked against their declared "
        "type and bound as typed RDF terms, never pasted into the query text; a wrong one is answered 400 with "
        "which parameter, what was wrong and what is accepted (RFC 9457 problem details).\n\n"
        "Answers are plain JSON rows by default; `format=` or the Accept header asks for CSV, TSV or the SPARQL "
        "result formats. Every answer carries an ETag and Last-Modified: the data only changes with a new build."
    )
    if kg.catalog_problems:
        listed = "\n".join(f"- `{p.located(p.path.name)}`" for p in kg.catalog_problems)
        text += f"\n\n**Left out** (malformed query files; every other operation works):\n\n{listed}"
    return text


def query_operation(query: NamedQuery) -> dict[str, Any]:
    """The operation that runs one named query."""
    outputs = outputs_for(query.form)
    description = query.description
    if query.answers:
        description += f"\n\n**Answers:** {query.answers}"
    # The SPARQL it runs, folded (Swagger UI would otherwise show it before the parameters); the header is above.
    body = "\n".join(line for line in query.text.strip().splitlines() if not line.startswith("#")).strip()
    description += f"\n\n<details><summary>The SPARQL query</summary>\n\n```sparql\n{body}\n```\n\n</details>"
    return {
        "tags": [NAMED],
        "operationId": operation_id(query),
        "summary": query.title,
        "description": description,
        "parameters": [*(query_parameter(p) for p in query.parameters), _format_parameter(outputs), AS_OF_PARAMETER],
        "responses": {
            "200": {
                "description": "The answer, in the format asked for.",
                "headers": _caching_headers(),
                "content": {output.media_type: {"schema": _answer_schema(query, output)} for output in outputs},
            },
            **_errors("304", "400", "404", "406", "422", "503"),
        },
    }


def operation_id(query: NamedQuery) -> str:
    """The query's operationId (also Swagger UI's anchor for it, and a function name in generated clients)."""
    return query.name.replace("-", "_")


def query_parameter(parameter: Parameter) -> dict[str, Any]:
    """A query-header parameter as an OpenAPI parameter: JSON Schema type, enum, default."""
    schema: dict[str, Any] = dict(PARAMETER_SCHEMAS[parameter.type])
    if parameter.choices:
        schema["enum"] = [plain_value(parameter.to_term(choice)) for choice in parameter.choices]
    if parameter.default is not None:
        schema["default"] = plain_value(parameter.to_term(parameter.default))
    return {
        "name": parameter.name,
        "in": "query",
        "required": parameter.required,
        "description": parameter.description
        + (f" Accepted: {parameter.accepted}." if parameter.choices or parameter.type != "string" else ""),
        "schema": schema,
    }


def _format_parameter(outputs: tuple[Output, ...]) -> dict[str, Any]:
    names = [name for output in outputs for name in output.short_names]
    listed = "; ".join(f"`{output.short_names[0]}`: {output.description}" for output in outputs)
    return {
        "name": "format",
        "in": "query",
        "required": False,
        "description": f"The answer's format, instead of the Accept header: {listed}.",
        "schema": {"type": "string", "enum": names},
    }


def _answer_schema(query: NamedQuery, output: Output) -> dict[str, Any]:
    if not output.plain:
        return {"type": "string"}
    if query.form == "ASK":
        return {"type": "boolean"}
    return {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {name: {"$ref": "#/components/schemas/Value"} for name in query.variables},
            "required": list(query.variables),
            "additionalProperties": False,
        },
    }


def _list_operation() -> dict[str, Any]:
    return {
        "tags": [NAMED],
        "operationId": "list_queries",
        "summary": "List the named queries",
        "description": "Every named query: what it answers, its parameters (type, default, allowed values, "
        "required), its columns, its SPARQL; and the query files left out because they are malformed.",
        "responses": {"200": _json_response("The catalogue.", "QueryList"), **_errors("304", "400", "406")},
    }


def _find_operation() -> dict[str, Any]:
    parameters = []
    for requirement in fields(Requirements):
        if is_number(requirement):
            schema: dict[str, Any] = {"type": "number", "minimum": 0, "maximum": int(MAX_NUMBER)}
        else:
            schema = {"type": "boolean", "default": False}
        parameters.append(
            {"name": requirement.name, "in": "query", "description": requirement.metadata["help"], "schema": schema}
        )
    for shown in fields(Page):
        lowest, highest = shown.metadata["range"]
        schema = {"type": "integer", "minimum": lowest, "maximum": highest, "default": shown.default}
        parameters.append({"name": shown.name, "in": "query", "description": shown.metadata["help"], "schema": schema})
    return {
        "tags": [DISCOVER],
        "operationId": "find",
        "summary": "Find the services that meet your requirements",
        "description": "Requirements about a plan (free, GPU, memory, session length, privacy, storage, price) must "
        "hold on the same plan. For every other service, the answer says which requirements it does not meet. "
        "Both lists are in name order and come a page at a time (limit, offset, others_offset), with how many "
        "there are in all. The answer includes a SPARQL query that selects the same services.",
        "parameters": [*parameters, AS_OF_PARAMETER],
        "responses": {"200": _json_response("The matches and the others.", "FinderResult"), **_errors("304", "400")},
    }


def _compare_operation(kg: KnowledgeGraph) -> dict[str, Any]:
    names = [iri.removeprefix(str(KG)) for iri, _ in kg.services()]
    # The services as an enum while a form can list them (a large graph has thousands).
    item: dict[str, Any] = {"type": "string", "enum": names} if len(names) <= LISTED_ONE_BY_ONE else {"type": "string"}
    return {
        "tags": [DISCOVER],
        "operationId": "compare",
        "summary": "Compare services side by side",
        "description": "The article's comparison for any services: what they are, the free GPU tier, plans and "
        "prices, features and the capabilities the reasoner derives; every cell with the statement it shows "
        "and the passages of the sources that state it.",
        "parameters": [
            {
                "name": "providers",
                "in": "query",
                "required": True,
                "description": "The services, comma-separated, in the order of the columns.",
                "style": "form",
                "explode": False,
                "schema": {"type": "array", "minItems": 1, "maxItems": MAX_COMPARED, "items": item},
                "example": names[:2],
            },
            AS_OF_PARAMETER,
        ],
        "responses": {"200": _json_response("The comparison.", "Comparison"), **_errors("304", "400")},
    }


def _explain_operation(kg: KnowledgeGraph) -> dict[str, Any]:
    capabilities = [iri.removeprefix(str(MLC)) for iri in kg.capabilities_known()]
    thresholds = [query_parameter(p) for p in kg.rule_parameters().values()]
    for threshold in thresholds:
        threshold["description"] = "A threshold of the rules, other than its default (the closure is recomputed). "
        threshold["description"] += kg.rule_parameters()[threshold["name"]].description
    return {
        "tags": [DISCOVER],
        "operationId": "explain",
        "summary": "Why a resource has a capability, or why not",
        "description": "The proof down to the passages of the sources (quote, date, epistemic status), or the "
        "condition that fails and what the data says instead.",
        "parameters": [
            {
                "name": "resource",
                "in": "query",
                "required": True,
                "description": "The resource: an IRI, a prefixed name (kg:google-colab) or a bare name.",
                "schema": {"type": "string"},
                "example": "google-colab",
            },
            {
                "name": "capability",
                "in": "query",
                "required": True,
                "description": "The capability (a class of the ontology).",
                "schema": {"type": "string", "enum": capabilities},
            },
            *thresholds,
            AS_OF_PARAMETER,
        ],
        "responses": {"200": _json_response("The explanation.", "Explanation"), **_errors("304", "400")},
    }


def _capabilities_operation() -> dict[str, Any]:
    return {
        "tags": [DISCOVER],
        "operationId": "capabilities",
        "summary": "List the capabilities (of a resource)",
        "parameters": [
            {
                "name": "resource",
                "in": "query",
                "required": False,
                "description": "Only the capabilities this resource has (an IRI, prefixed or bare name).",
                "schema": {"type": "string"},
            },
            AS_OF_PARAMETER,
        ],
        "responses": {"200": _json_response("The capabilities.", "Capabilities"), **_errors("304", "400")},
    }


def _sparql_operations() -> dict[str, Any]:
    results = {f.media_type: {"schema": {"type": "string"}} for f in FORMATS}
    results["application/sparql-results+json"] = {"schema": {"type": "object"}}
    responses = {
        "200": {
            "description": "SELECT and ASK results, CONSTRUCT and DESCRIBE graphs, or (without a query) the SPARQL "
            "1.1 Service Description; by Accept or `format`.",
            "headers": _caching_headers(),
            "content": results,
        },
        **_errors("304", "400", "403", "406", "413", "422", "503"),
    }
    graphs = {
        "description": "Named graphs for the default graph / as named graphs (see the service description).",
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string", "format": "iri"}},
    }
    short_names = sorted({name for f in FORMATS for name in f.short_names})
    return {
        "get": {
            "tags": [SPARQL],
            "operationId": "sparql_get",
            "summary": "SPARQL 1.1 query (GET), or the service description without a query",
            "parameters": [
                {"name": "query", "in": "query", "description": "A SPARQL 1.1 query.", "schema": {"type": "string"}},
                {"name": "default-graph-uri", "in": "query", **graphs},
                {"name": "named-graph-uri", "in": "query", **graphs},
                {
                    "name": "format",
                    "in": "query",
                    "description": "A result format by short name, instead of the Accept header.",
                    "schema": {"type": "string", "enum": short_names},
                },
            ],
            "responses": responses,
        },
        "post": {
            "tags": [SPARQL],
            "operationId": "sparql_post",
            "summary": "SPARQL 1.1 query (POST: form-encoded or the query as the body)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["query"],
                            "properties": {
                                "query": {"type": "string"},
                                "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                                "named-graph-uri": {"type": "array", "items": {"type": "string"}},
                            },
                        }
                    },
                    "application/sparql-query": {"schema": {"type": "string"}},
                },
            },
            "responses": responses,
        },
    }


def _downloads_index_operation() -> dict[str, Any]:
    return {
        "tags": [DOWNLOAD],
        "operationId": "list_downloads",
        "summary": "List the dataset's files",
        "responses": {"200": _json_response("The files of the served build.", "Downloads")},
    }


def _download_operation() -> dict[str, Any]:
    return {
        "tags": [DOWNLOAD],
        "operationId": "download",
        "summary": "Download one file of the dataset",
        "description": "Compressed with gzip when the client accepts it; ETag and Last-Modified for revalidation.",
        "parameters": [
            {
                "name": "filename",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": [d.filename for d in DOWNLOADS]},
            }
        ],
        "responses": {
            "200": {
                "description": "The file.",
                "headers": _caching_headers(),
                "content": {media_type: {"schema": {"type": "string"}} for media_type in _download_types()},
            },
            **_errors("304", "404"),
        },
    }


def _download_types() -> list[str]:
    return sorted({d.media_type for d in DOWNLOADS})


def _void_operation() -> dict[str, Any]:
    return {
        "tags": [DOWNLOAD],
        "operationId": "void",
        "summary": "The VoID and DCAT description of the dataset",
        "responses": {
            "200": {
                "description": "What the dataset holds, where it comes from and how to get it.",
                "content": {media_type: {"schema": {"type": "string"}} for media_type in RDF_SERIALIZERS},
            },
            **_errors("304", "406"),
        },
    }


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _caching_headers(),
        "content": {JSON_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


# Every answer of /api is for one state of the data: the latest by default, or the state on a date.
AS_OF_PARAMETER: dict[str, Any] = {
    "name": "as_of",
    "in": "query",
    "required": False,
    "description": "Answer for the state on this date (facts, capabilities and sources as they were then) instead of "
    "the latest known state. The answer's Mlcloudkg-State-Date header gives the date of the state it describes.",
    "schema": {"type": "string", "format": "date"},
    "example": "2020-12-17",
}


def _caching_headers() -> dict[str, Any]:
    return {
        "ETag": {"$ref": "#/components/headers/ETag"},
        "Last-Modified": {"$ref": "#/components/headers/LastModified"},
    }


ERRORS = {
    "304": "NotModified",
    "400": "BadRequest",
    "403": "Forbidden",
    "404": "NotFound",
    "406": "NotAcceptable",
    "413": "TooLarge",
    "422": "ResultTooLarge",
    "503": "Unavailable",
}


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: {"$ref": f"#/components/responses/{ERRORS[status]}"} for status in statuses}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }


def _components() -> dict[str, Any]:
    string, strings = {"type": "string"}, {"type": "array", "items": {"type": "string"}}
    nullable_string = {"type": ["string", "null"]}
    parameter = {
        "type": "object",
        "required": ["name", "type", "description", "required", "default", "allowed"],
        "properties": {
            "name": string,
            "type": {"type": "string", "enum": list(PARAMETER_SCHEMAS)},
            "description": string,
            "required": {"type": "boolean"},
            "default": {"$ref": "#/components/schemas/Value"},
            "allowed": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/Value"}},
        },
    }
    named_query = {
        "type": "object",
        "required": ["name", "title", "description", "answers", "form", "parameters", "columns", "sparql", "links"],
        "properties": {
            "name": string,
            "title": string,
            "description": string,
            "answers": string,
            "form": {"type": "string", "enum": ["SELECT", "ASK", "CONSTRUCT"]},
            "parameters": {"type": "array", "items": {"$ref": "#/components/schemas/Parameter"}},
            "columns": strings,
            "formats": strings,
            "sparql": string,
            "links": {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}},
        },
    }
    service = {"type": "object", "required": ["service", "name"], "properties": {"service": string, "name": string}}
    cell = {
        "type": ["object", "null"],
        "required": ["text", "derived", "sources"],
        "properties": {"text": string, "derived": {"type": "boolean"}, "sources": {"type": "array"}},
    }
    return {
        "schemas": {
            "Value": {
                "description": "A value of the answer: IRIs, strings and dates as strings, numbers, booleans; null "
                "when the variable is unbound.",
                "type": ["string", "number", "boolean", "null"],
            },
            "Problem": {
                "description": "RFC 9457 problem details; `parameter` names the parameter at fault.",
                "type": "object",
                "required": ["title", "status", "detail"],
                "properties": {
                    "type": string,
                    "title": string,
                    "status": {"type": "integer"},
                    "detail": string,
                    "accepted": string,
                    "parameter": string,
                },
            },
            "Parameter": parameter,
            "NamedQuery": named_query,
            "QueryList": {
                "type": "object",
                "required": ["queries", "problems"],
                "properties": {
                    "queries": {"type": "array", "items": {"$ref": "#/components/schemas/NamedQuery"}},
                    "problems": {"description": "Malformed query files (file:line — what is wrong).", **strings},
                },
            },
            "FinderResult": {
                "type": "object",
                "required": [
                    "requirements",
                    "described",
                    "matches",
                    "others",
                    "match_count",
                    "other_count",
                    "page",
                    "query",
                ],
                "properties": {
                    "requirements": {"type": "object"},
                    "described": strings,
                    "matches": {"description": "The page of the matches asked for.", "type": "array", "items": service},
                    "others": {
                        "description": "The page of the others asked for, each with the requirements it fails.",
                        "type": "array",
                        "items": {**service, "properties": {**service["properties"], "fails": strings}},
                    },
                    "match_count": {"description": "How many services meet every requirement.", "type": "integer"},
                    "other_count": {"description": "How many do not.", "type": "integer"},
                    "page": {
                        "type": "object",
                        "properties": {name: {"type": "integer"} for name in PAGE_FIELDS},
                    },
                    "query": string,
                },
            },
            "Comparison": {
                "type": "object",
                "required": ["services", "sections"],
                "properties": {
                    "services": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"iri": string, "name": string}},
                    },
                    "sections": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["title", "rows"],
                            "properties": {
                                "title": string,
                                "rows": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["label", "cells"],
                                        "properties": {
                                            "label": string,
                                            "cells": {"type": "object", "additionalProperties": cell},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
            "Explanation": {
                "type": "object",
                "required": ["resource", "capability", "label", "holds", "definition"],
                "properties": {
                    "resource": string,
                    "capability": string,
                    "label": string,
                    "holds": {"type": "boolean"},
                    "definition": string,
                    "proof": {"type": "object", "description": "Present when it holds: the proof tree."},
                    "why_not": {"type": "array", "description": "Present when it does not: the checks."},
                },
            },
            "Capabilities": {
                "type": "object",
                "required": ["resource", "capabilities"],
                "properties": {
                    "resource": nullable_string,
                    "capabilities": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["iri", "name", "label"],
                            "properties": {"iri": string, "name": string, "label": string},
                        },
                    },
                },
            },
            "Downloads": {
                "type": "object",
                "required": ["build", "built_at", "downloads"],
                "properties": {"build": string, "built_at": string, "downloads": {"type": "array"}},
            },
        },
        "headers": {
            "ETag": {"description": "Changes when the answer does (a new build).", "schema": string},
            "LastModified": {"description": "When the served build was made.", "schema": string},
        },
        "responses": {
            "NotModified": {"description": "Your copy (If-None-Match / If-Modified-Since) is current."},
            "BadRequest": _problem(
                "A parameter is missing, unknown or of the wrong type: which, and what is accepted."
            ),
            "Forbidden": _problem("The query does something this read-only endpoint refuses (update, SERVICE...)."),
            "NotFound": _problem("There is nothing by that name here."),
            "NotAcceptable": _problem("None of the formats the Accept header allows is available."),
            "TooLarge": _problem("The query is larger than the limit."),
            "ResultTooLarge": _problem("The answer is larger than the limit: add LIMIT, or use the downloads."),
            "Unavailable": _problem("The query ran past the time limit and was stopped, or every worker is busy."),
        },
    }
