"""The query page at /: YASGUI with our endpoint, prefixes and every named query as an example tab, result
downloads in every format the endpoint speaks and a chart view; a plain form when the editor is not installed."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, request, url_for

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.endpoint.formats import Format, Kind, formats_of
from mlcloudkg.namespaces import PREFIXES, sparql_prologue
from mlcloudkg.web.assets import INSTALL_HINT, editor_available
from mlcloudkg.web.http import entity_tag
from mlcloudkg.web.rendering import page, served

blueprint = Blueprint("query_page", __name__)

NEW_TAB_QUERY = (
    sparql_prologue() + "\nSELECT ?service ?name WHERE {\n  ?service a mlc:NotebookService ; schema:name ?name .\n}\n"
)
# Classes and properties the editor completes (instead of asking a remote vocabulary service).
TERMS = {
    "classes": "SELECT DISTINCT ?term WHERE { ?x a ?term FILTER(isIRI(?term)) } ORDER BY ?term",
    "properties": "SELECT DISTINCT ?term WHERE { ?x ?term ?y } ORDER BY ?term",
}


def format_label(result_format: Format) -> str:
    """A format's name as people know it, from its W3C format IRI (…/formats/SPARQL_Results_CSV -> CSV)."""
    name = result_format.w3c.rsplit("/", 1)[-1].removeprefix("SPARQL_Results_")
    return name.replace("RDF_XML", "RDF/XML").replace("_", " ")


def formats() -> dict[str, list[dict[str, str]]]:
    return {
        kind.value: [
            {
                "label": format_label(f),
                "mediaType": f.media_type,
                "extension": f.extension,
                "shortName": f.short_names[0],
            }
            for f in formats_of(kind)
        ]
        for kind in Kind
    }


@lru_cache(maxsize=4)
def _terms(kg: KnowledgeGraph, version: str) -> dict[str, list[str]]:
    return {key: [row["term"] for row in kg.query(query)] for key, query in TERMS.items()}


def editor_config(kg: KnowledgeGraph, version: str) -> dict[str, Any]:
    """Everything the page's script needs, in one JSON document embedded in the page."""
    examples = [
        {"name": q.name, "title": q.title, "description": q.description, "answers": q.answers, "query": q.text}
        for q in kg.catalog.values()
    ]
    return {
        "endpoint": url_for("sparql.sparql", _external=True),
        "prefixes": PREFIXES,
        "newTabQuery": NEW_TAB_QUERY,
        "examples": examples,
        # A new catalogue of examples starts a new workspace: browsers keep tabs per workspace.
        "workspace": "mlcloudkg-" + entity_tag(*(e["query"] for e in examples))[3:15],
        "formats": formats(),
        "completions": _terms(kg, version),
    }


@blueprint.route("/")
def query() -> Response:
    build = served()
    available = editor_available()
    return page(
        "query.html",
        varies=(available,),
        editor=available,
        config=editor_config(build.kg, build.version) if available else None,
        examples=list(build.kg.catalog.values()),
        prefilled=request.args.get("query", NEW_TAB_QUERY),
        formats=formats(),
        install_hint=INSTALL_HINT,
        downloads=build.release.downloads,
    )
