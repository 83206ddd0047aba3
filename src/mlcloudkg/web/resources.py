"""Every IRI of our namespaces dereferences: /id/<name>, /source/<path>, /graph/<name> (the canonical IRIs are
https://w3id.org/mlcloudkg/…). HTML for browsers; Turtle, N-Triples, JSON-LD, RDF/XML, TriG and N-Quads by content
negotiation or by a suffix (.ttl, .nt, .jsonld, .rdf, .trig, .nq); 406 when nothing fits."""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox
from flask import Blueprint, Response, abort, redirect, request

from mlcloudkg import describe
from mlcloudkg.endpoint.formats import Format, Kind, formats_of
from mlcloudkg.namespaces import BASE, PREFIXES
from mlcloudkg.web.http import HTML, cacheable, entity_tag, negotiate, not_modified, not_modified_response
from mlcloudkg.web.rendering import page, served
from mlcloudkg.web.state import outdated

blueprint = Blueprint("resources", __name__)

RDF_FORMATS = formats_of(Kind.GRAPH)
BY_SUFFIX = {f".{f.extension}": f for f in RDF_FORMATS}
# Formats that hold named graphs: they also carry what a graph resource holds.
DATASET_FORMATS = {ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS}


def offers() -> list[str]:
    """HTML first (a browser, or a client with no preference, gets the page), then each RDF format and its aliases."""
    return [HTML] + [f.media_type for f in RDF_FORMATS] + [a for f in RDF_FORMATS for a in f.aliases]


def chosen_format(suffix: Format | None) -> Format | None:
    """The RDF format asked for by suffix or Accept header; None for the HTML page."""
    if suffix is not None:
        return suffix
    media_type = negotiate(offers())
    if media_type == HTML:
        return None
    return next(f for f in RDF_FORMATS if media_type in (f.media_type, *f.aliases))


def split_suffix(path: str, known: Callable[[str], bool]) -> tuple[str, Format | None]:
    """The resource's path and the format its suffix asks for. A name that exists as written wins over a suffix."""
    if known(path):
        return path, None
    for suffix, rdf_format in BY_SUFFIX.items():
        if path.endswith(suffix) and known(path.removesuffix(suffix)):
            return path.removesuffix(suffix), rdf_format
    return path, None


def serialize(rdf_format: Format, triples: list[ox.Triple], quads: list[ox.Quad]) -> bytes:
    content = quads if rdf_format.serializer in DATASET_FORMATS else triples
    return ox.serialize(content, format=rdf_format.serializer, prefixes=PREFIXES)


def rdf_response(rdf_format: Format, key: tuple[object, ...], produce: Callable[[], bytes]) -> Response:
    build = served()
    etag = entity_tag("rdf", build.version, *key, rdf_format.media_type)
    if not_modified(etag, build.last_modified):
        return not_modified_response(etag, build.last_modified)
    response = Response(produce(), content_type=rdf_format.content_type)
    return cacheable(response, etag, build.last_modified)


def resource(path: str) -> Response:
    """The page or the RDF of https://w3id.org/mlcloudkg/<path>."""
    kg = served().kg
    name, suffix = split_suffix(path, lambda candidate: describe.exists(kg, BASE + candidate))
    iri = BASE + name
    if not describe.exists(kg, iri):
        suffixes = ", ".join(BY_SUFFIX)
        abort(404, description=f"the graph says nothing about {iri}; a resource may end in one of {suffixes}")
    rdf_format = chosen_format(suffix)
    if rdf_format is not None:
        return rdf_response(
            rdf_format,
            (iri,),
            lambda: serialize(rdf_format, describe.triples(kg, iri), describe.quads(kg, iri)),
        )
    alternates = [(f, f"/{name}.{f.extension}") for f in RDF_FORMATS]
    freshness = kg.freshness([iri])
    return page(
        "resource.html",
        description=describe.describe(kg, iri),
        alternates=alternates,
        datasets=[(f, href) for f, href in alternates if f.serializer in DATASET_FORMATS],
        max_listed=describe.MAX_LISTED,
        capabilities=kg.rules.labels,
        describe_query=f"DESCRIBE <{iri}>",
        freshness=freshness,
        stale=bool(outdated(kg, freshness)),
    )


@blueprint.route("/id/<path:name>")
def identified(name: str) -> Response:
    return resource("id/" + name)


@blueprint.route("/source/<path:name>")
def source(name: str) -> Response:
    return resource("source/" + name)


@blueprint.route("/graph/<name>")
def graph(name: str) -> Response:
    return resource("graph/" + name)


@blueprint.route("/dataset")
def dataset() -> Response:
    """The dataset's IRI (in VoID and DCAT) leads to its description."""
    return redirect("/.well-known/void" + ("?" + request.query_string.decode() if request.query_string else ""), 303)
