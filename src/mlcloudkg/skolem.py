"""Blank nodes as IRIs in a remote store, and back (RDF 1.1 Concepts §3.5, "Replacing Blank Nodes with IRIs").

Why: the Graph Store Protocol loads each graph in a request of its own, and a blank node of one request is never the
blank node of another, so the restriction an ontology class shares between graph:ontology, the default graph and
the snapshots would become many unrelated nodes; and a store cannot be asked about a blank node it gave in an answer.
`mlcloudkg publish` writes every blank node as a well-known IRI made from its label; a remote store's answers turn
those IRIs back into blank nodes with the same label, so that they read like the embedded store's answers.
"""

from __future__ import annotations

from typing import TypeVar

import pyoxigraph as ox

from mlcloudkg.namespaces import BASE

GENID = BASE + ".well-known/genid/"  # the path RDF 1.1 recommends for skolem IRIs

Node = TypeVar("Node", ox.NamedNode, ox.BlankNode, ox.Literal)


def skolemized(term: Node) -> Node:
    """A blank node as its skolem IRI; any other term as it is."""
    if isinstance(term, ox.BlankNode):
        return ox.NamedNode(GENID + term.value)  # type: ignore[return-value]
    return term


def deskolemized(term: Node) -> Node:
    """A skolem IRI as the blank node it stands for; any other term as it is."""
    if isinstance(term, ox.NamedNode) and term.value.startswith(GENID):
        return ox.BlankNode(term.value[len(GENID) :])  # type: ignore[return-value]
    return term


def skolemized_triple(triple: ox.Triple) -> ox.Triple:
    return ox.Triple(skolemized(triple.subject), triple.predicate, skolemized(triple.object))


def deskolemized_triple(triple: ox.Triple) -> ox.Triple:
    return ox.Triple(deskolemized(triple.subject), triple.predicate, deskolemized(triple.object))
