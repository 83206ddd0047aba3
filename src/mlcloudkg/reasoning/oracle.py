"""owlrl, the OWL 2 RL reasoner of record, run on the same input as our rule engine, for comparison.

owlrl cannot derive the classes defined by rules (thresholds, absence, minimum), so their members, as our rules
derive them, are given to it as input; everything else it must derive by itself from the ontology. Its closure,
filtered by the same `publishable` test and without the asserted triples, must equal our graph:inferred.
"""

from __future__ import annotations

import owlrl
import pyoxigraph as ox
from rdflib import Dataset, URIRef

from mlcloudkg.dataset import CURRENT, INFERRED, ONTOLOGY, PROVENANCE
from mlcloudkg.namespaces import MLC, RDF_TYPE_NODE
from mlcloudkg.reasoning.materialize import publishable
from mlcloudkg.sources import to_rdflib

_INPUT = URIRef("urn:mlcloudkg:oracle:input")
_OUTPUT = URIRef("urn:mlcloudkg:oracle:inferred")


def rule_outputs(store: ox.Store) -> list[ox.Quad]:
    """Members of the classes only rules derive (mlc:derivedBy), as graph:inferred holds them."""
    query = f"""SELECT ?x ?class WHERE {{
        GRAPH <{INFERRED.value}> {{ ?x a ?class }}
        GRAPH <{ONTOLOGY.value}> {{ ?class <{MLC.derivedBy}> ?rule }} }}"""
    return [ox.Quad(row["x"], RDF_TYPE_NODE, row["class"]) for row in store.query(query)]


def owlrl_inferred(store: ox.Store) -> set[ox.Triple]:
    """What owlrl derives from the store's current facts, provenance and ontology plus the rule outputs."""
    quads = [q for graph in (CURRENT, PROVENANCE, ONTOLOGY) for q in store.quads_for_pattern(None, None, None, graph)]
    quads += rule_outputs(store)
    given = {q.triple for q in quads}
    dataset = Dataset(default_union=True)
    source = dataset.graph(_INPUT)
    for triple in to_rdflib(quads):
        source.add(triple)
    # The Dataset + destination form gives the complete closure in a graph of its own (expanding one named graph
    # into another misses triples derived from derived ones).
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(dataset, destination=_OUTPUT)
    derived = dataset.graph(_OUTPUT)
    kept = [t for t in derived if not isinstance(t[0], owlrl.Literal) and not isinstance(t[1], owlrl.Literal)]
    text = "".join(f"{s.n3()} {p.n3()} {o.n3()} .\n" for s, p, o in kept)
    triples = {q.triple for q in ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES)}
    return {t for t in triples if publishable(t) and t not in given}


def our_inferred(store: ox.Store) -> set[ox.Triple]:
    return {q.triple for q in store.quads_for_pattern(None, None, None, INFERRED)}
