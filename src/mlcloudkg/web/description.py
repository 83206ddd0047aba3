"""Self-descriptions: the SPARQL 1.1 Service Description at GET /sparql, and the VoID + DCAT description of the
dataset at /.well-known/void (also written by `mlcloudkg export`)."""

from __future__ import annotations

from flask import Response, current_app, request
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD

from mlcloudkg.endpoint.formats import FORMATS
from mlcloudkg.namespaces import DATASET_IRI, DCAT, DCTERMS, KG, ONTOLOGY_IRI, PREFIXES, SD, SRC, VOID
from mlcloudkg.release import Release
from mlcloudkg.web.http import cacheable, entity_tag, not_modified, not_modified_response

DATASET = URIRef(DATASET_IRI)
RDF_SERIALIZERS = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
    "application/trig": "trig",
}


def base_url() -> str:
    configured = current_app.extensions["mlcloudkg"].settings.public_url
    return (configured or request.url_root).rstrip("/")


def service_description(media_type: str) -> Response:
    served = current_app.extensions["mlcloudkg"].current()
    settings = current_app.extensions["mlcloudkg"].settings
    endpoint = URIRef(base_url() + "/sparql")
    graph = _graph()
    graph.add((endpoint, RDF.type, SD.Service))
    graph.add((endpoint, SD.endpoint, endpoint))
    graph.add((endpoint, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((endpoint, SD.feature, SD.UnionDefaultGraph))
    graph.add((endpoint, SD.defaultEntailmentRegime, URIRef("http://www.w3.org/ns/entailment/OWL-RDF-Based")))
    graph.add((endpoint, SD.defaultSupportedEntailmentProfile, URIRef("http://www.w3.org/ns/owl-profile/RL")))
    for result_format in FORMATS:
        graph.add((endpoint, SD.resultFormat, URIRef(result_format.w3c)))
    graph.add((endpoint, DCTERMS.title, Literal("mlcloudkg SPARQL endpoint (read-only)")))
    graph.add(
        (
            endpoint,
            RDFS.comment,
            Literal(
                f"Read-only SPARQL 1.1 Query. Limits: queries up to {settings.max_query_bytes} bytes, "
                f"{settings.query_timeout:g} s per query, results up to {settings.max_result_bytes} bytes. "
                "SERVICE, SPARQL Update and graphs other than those described here are refused. "
                "The default graph is the merge of "
                "all named graphs, including the OWL 2 RL inferences of graph:inferred."
            ),
        )
    )
    dataset = BNode()
    graph.add((endpoint, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, DCTERMS.source, DATASET))
    default = BNode()
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    graph.add((default, VOID.triples, Literal(served.release.default_triples, datatype=XSD.integer)))
    # One graph per source passage, named under src: (30k at 1M triples, too many to list: rdflib took minutes to
    # write 30k) is counted; the others are listed.
    listed = {name: size for name, size in served.release.graph_sizes.items() if not name.startswith(str(SRC))}
    passages = len(served.release.graph_sizes) - len(listed)
    if passages:
        statements = sum(served.release.graph_sizes.values()) - sum(listed.values())
        graph.add(
            (
                endpoint,
                RDFS.comment,
                Literal(
                    f"Besides the named graphs listed, one named graph per source passage ({passages:,} graphs, "
                    f"{statements:,} statements), each named by the passage's IRI under <{SRC}>."
                ),
            )
        )
        subset = BNode()
        graph.add((DATASET, VOID.subset, subset))
        graph.add((subset, RDF.type, VOID.Dataset))
        graph.add((subset, DCTERMS.title, Literal("the source passages' named graphs", lang="en")))
        graph.add((subset, VOID.uriSpace, Literal(str(SRC))))
        graph.add((subset, VOID.triples, Literal(statements, datatype=XSD.integer)))
    for name, size in sorted(listed.items()):
        named, described = BNode(), BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(name)))
        graph.add((named, SD.graph, described))
        graph.add((described, RDF.type, SD.Graph))
        graph.add((described, VOID.triples, Literal(size, datatype=XSD.integer)))
    return _respond(graph, media_type, ("sd", served.version, base_url()), served.last_modified)


def dataset_description(release: Release, base: str) -> Graph:
    """VoID and DCAT for the dataset served at `base`: what it holds, where it comes from, how to get it."""
    base = base.rstrip("/")
    graph = _graph()
    graph.add((DATASET, RDF.type, VOID.Dataset))
    graph.add((DATASET, RDF.type, DCAT.Dataset))
    graph.add((DATASET, DCTERMS.title, Literal("mlcloudkg: cloud GPU notebook services", lang="en")))
    graph.add(
        (
            DATASET,
            DCTERMS.description,
            Literal(
                "Facts about cloud notebook services for machine learning "
                "(free GPUs, RAM, storage, session limits, sharing, "
                "prices, features) with the source passage and date of each, and the capabilities an OWL 2 RL reasoner "
                "derives from them.",
                lang="en",
            ),
        )
    )
    graph.add((DATASET, DCTERMS.modified, Literal(release.built_at.isoformat(), datatype=XSD.dateTime)))
    graph.add((DATASET, DCTERMS.hasVersion, Literal(release.version)))
    graph.add((DATASET, VOID.sparqlEndpoint, URIRef(base + "/sparql")))
    graph.add((DATASET, VOID.uriSpace, Literal(str(KG))))
    graph.add((DATASET, VOID.vocabulary, URIRef(ONTOLOGY_IRI)))
    for vocabulary in ("https://schema.org/", "http://www.w3.org/ns/prov#", "http://purl.org/dc/terms/"):
        graph.add((DATASET, VOID.vocabulary, URIRef(vocabulary)))
    graph.add((DATASET, VOID.triples, Literal(release.default_triples, datatype=XSD.integer)))
    service = URIRef(base + "/sparql")
    graph.add((DATASET, DCAT.accessService, service))
    graph.add((service, RDF.type, DCAT.DataService))
    graph.add((service, DCAT.endpointURL, service))
    graph.add((service, DCAT.servesDataset, DATASET))
    graph.add((service, DCTERMS.conformsTo, URIRef("https://www.w3.org/TR/sparql11-protocol/")))
    for filename, details in release.downloads.items():
        distribution = URIRef(f"{base}/download/{filename}")
        graph.add((DATASET, DCAT.distribution, distribution))
        graph.add((DATASET, VOID.dataDump, distribution))
        graph.add((distribution, RDF.type, DCAT.Distribution))
        graph.add((distribution, DCTERMS.title, Literal(details["title"], lang="en")))
        graph.add((distribution, DCAT.downloadURL, distribution))
        graph.add(
            (
                distribution,
                DCAT.mediaType,
                URIRef("https://www.iana.org/assignments/media-types/" + details["media_type"]),
            )
        )
        graph.add((distribution, DCAT.byteSize, Literal(details["bytes"], datatype=XSD.nonNegativeInteger)))
    return graph


def void_response(media_type: str) -> Response:
    served = current_app.extensions["mlcloudkg"].current()
    graph = dataset_description(served.release, base_url())
    return _respond(graph, media_type, ("void", served.version, base_url()), served.last_modified)


def _graph() -> Graph:
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    graph.bind("sd", SD)
    return graph


def _respond(graph: Graph, media_type: str, key: tuple[str, ...], last_modified: object) -> Response:
    etag = entity_tag(*key, media_type)
    if not_modified(etag, last_modified):  # type: ignore[arg-type]
        return not_modified_response(etag, last_modified)  # type: ignore[arg-type]
    body = graph.serialize(format=RDF_SERIALIZERS[media_type])
    content_type = media_type + ("; charset=utf-8" if media_type != "application/n-triples" else "")
    return cacheable(Response(body, content_type=content_type), etag, last_modified)  # type: ignore[arg-type]
