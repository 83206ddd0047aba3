"""The ontology documents itself and reuses the standard vocabularies."""

from __future__ import annotations

import rdflib
from rdflib import OWL, RDF, RDFS, URIRef
from rdflib.namespace import SKOS

from mlcloudkg.namespaces import MLC, ONTOLOGY_IRI

from .conftest import PROJECT


def ontology() -> rdflib.Graph:
    return rdflib.Graph().parse(PROJECT / "ontology" / "mlcloud.ttl")


def test_the_ontology_is_versioned() -> None:
    graph = ontology()
    assert (URIRef(ONTOLOGY_IRI), RDF.type, OWL.Ontology) in graph
    assert graph.value(URIRef(ONTOLOGY_IRI), OWL.versionIRI) == URIRef(ONTOLOGY_IRI + "/1.0.0")


def test_every_term_has_a_label_and_a_definition() -> None:
    graph = ontology()
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, RDFS.Datatype)
    terms = {s for kind in kinds for s in graph.subjects(RDF.type, kind) if str(s).startswith(str(MLC))}
    assert len(terms) > 60
    undocumented = [
        t
        for t in terms
        if graph.value(t, RDFS.label) is None
        or (graph.value(t, RDFS.comment) is None and graph.value(t, SKOS.definition) is None)
    ]
    assert undocumented == []


def test_standard_vocabularies_are_reused() -> None:
    graph = ontology()
    schema = rdflib.Namespace("https://schema.org/")
    assert (MLC.Plan, RDFS.subClassOf, schema.Offer) in graph
    assert (MLC.NotebookService, RDFS.subClassOf, schema.Service) in graph
    assert (MLC.SourcedGraph, RDFS.subClassOf, rdflib.Namespace("http://www.w3.org/ns/prov#").Entity) in graph
    assert (MLC.offersPlan, RDFS.subPropertyOf, schema.offers) in graph
