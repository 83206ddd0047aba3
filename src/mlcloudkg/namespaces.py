"""IRIs of our vocabularies, resources and graphs, and the prefixes every serialisation and query uses."""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import Namespace
from rdflib.namespace import RDF

BASE = "https://w3id.org/mlcloudkg/"

MLC = Namespace(BASE + "ontology#")
KG = Namespace(BASE + "id/")
SRC = Namespace(BASE + "source/")
GRAPH = Namespace(BASE + "graph/")
SHAPES = Namespace(BASE + "shapes#")

ONTOLOGY_IRI = BASE + "ontology"
DATASET_IRI = BASE + "dataset"  # the dataset as a whole: its VoID/DCAT description and its version

RDF_TYPE = str(RDF.type)
RDF_TYPE_NODE = ox.NamedNode(RDF_TYPE)

SCHEMA = Namespace("https://schema.org/")
PROV = Namespace("http://www.w3.org/ns/prov#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
VOID = Namespace("http://rdfs.org/ns/void#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
SPDX = Namespace("http://spdx.org/rdf/terms#")  # checksums of the downloads, as DCAT 3 does

# Named graphs of the published dataset. Each passage of a source has a graph of its own under SRC.
GRAPH_ASSERTED = GRAPH["asserted"]  # every fact ever asserted, whatever its date
GRAPH_CURRENT = GRAPH["current"]  # the facts that hold now (the latest known state)
SNAPSHOT_PREFIX = str(GRAPH) + "as-of/"  # graph/as-of/<date>: the facts on that date; .../inferred: their inferences
GRAPH_INFERRED = GRAPH["inferred"]
GRAPH_ONTOLOGY = GRAPH["ontology"]
GRAPH_PROVENANCE = GRAPH["provenance"]

PREFIXES: dict[str, str] = {
    "mlc": str(MLC),
    "kg": str(KG),
    "src": str(SRC),
    "graph": str(GRAPH),
    "schema": str(SCHEMA),
    "prov": str(PROV),
    "dcterms": str(DCTERMS),
    "dcat": str(DCAT),
    "void": str(VOID),
    "skos": str(SKOS),
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def sparql_prologue() -> str:
    """PREFIX declarations for every prefix we publish, to put in front of a query."""
    return "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in PREFIXES.items())


def compact(iri: str) -> str:
    """The shortest prefixed name for an IRI, or the IRI in angle brackets if no prefix covers it."""
    best = None
    for name, namespace in PREFIXES.items():
        if iri.startswith(namespace) and (best is None or len(namespace) > len(PREFIXES[best])):
            local = iri[len(namespace) :]
            if local and all(c.isalnum() or c in "-_." for c in local) and not local.endswith("."):
                best = name
    return f"{best}:{iri[len(PREFIXES[best]) :]}" if best else f"<{iri}>"
