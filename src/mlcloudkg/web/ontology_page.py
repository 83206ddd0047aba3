"""/ontology: the ontology's documentation (classes, capabilities with their definitions in words, properties,
individuals, units, rules), one anchor per term so that …/ontology#Term lands on it; its RDF by content
negotiation or suffix (/ontology.ttl). The version IRI (…/ontology/1.0.0) is served while it is the current one."""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, Response, abort

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.dataset import ONTOLOGY
from mlcloudkg.vocabulary import Vocabulary, vocabulary
from mlcloudkg.web.rendering import page, served
from mlcloudkg.web.resources import BY_SUFFIX, RDF_FORMATS, chosen_format, rdf_response, serialize

blueprint = Blueprint("ontology_page", __name__)


@lru_cache(maxsize=4)
def _documented(kg: KnowledgeGraph, version: str) -> Vocabulary:
    return vocabulary(kg)


def _ontology(suffix: str = "") -> Response:
    build = served()
    rdf_format = chosen_format(BY_SUFFIX[suffix] if suffix else None)
    if rdf_format is not None:

        def produce() -> bytes:
            quads = build.kg.store.quads(graph=ONTOLOGY)
            return serialize(rdf_format, [q.triple for q in quads], quads)

        return rdf_response(rdf_format, ("ontology",), produce)
    documented = _documented(build.kg, build.version)
    return page(
        "ontology.html",
        vocabulary=documented,
        alternates=[(f, f"/ontology.{f.extension}") for f in RDF_FORMATS],
        capabilities=build.kg.rules.labels,
    )


@blueprint.route("/ontology")
def ontology() -> Response:
    return _ontology()


@blueprint.route("/ontology.<extension>")
def ontology_as(extension: str) -> Response:
    if f".{extension}" not in BY_SUFFIX:
        abort(404, description=f"no format .{extension} — accepted: /ontology{', /ontology'.join(BY_SUFFIX)}")
    return _ontology(f".{extension}")


@blueprint.route("/ontology/<version>")
def ontology_version(version: str) -> Response:
    current = _documented(served().kg, served().version)
    if current.version_iri.rsplit("/", 1)[-1] != version:
        abort(404, description=f"ontology version {version} is not served here — accepted: {current.version_iri}")
    return _ontology()
