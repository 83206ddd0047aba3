"""OWL class expressions as the ontology writes them, turned into SPARQL patterns and plain words.

Only the constructs of OWL 2 RL's left-hand side that our definitions use are supported: named classes,
intersectionOf, unionOf, someValuesFrom and hasValue. Anything else in a definition is refused at build time
(UnsupportedAxiom), so an axiom can never be silently ignored by the reasoner.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count
from typing import Any

from rdflib import OWL, RDF, BNode, Graph, Literal, Node, URIRef
from rdflib.collection import Collection

from mlcloudkg.errors import MlcloudkgError
from mlcloudkg.namespaces import compact


class UnsupportedAxiom(MlcloudkgError):
    """The ontology uses an OWL construct the reasoner does not implement."""

    exit_code = 3


@dataclass(frozen=True)
class Named:
    iri: str


@dataclass(frozen=True)
class Intersection:
    members: tuple[Expression, ...]


@dataclass(frozen=True)
class Union:
    members: tuple[Expression, ...]


@dataclass(frozen=True)
class Some:
    property: str
    filler: Expression


@dataclass(frozen=True)
class HasValue:
    property: str
    value: str  # the value as an N-Triples term


Expression = Named | Intersection | Union | Some | HasValue

THING = str(OWL.Thing)


def parse_expression(graph: Graph, node: Node) -> Expression:
    """The class expression rooted at `node` of the ontology graph."""
    if isinstance(node, URIRef):
        return Named(str(node))
    if not isinstance(node, BNode):
        raise UnsupportedAxiom(f"{node!r} is not a class expression")
    intersection = graph.value(node, OWL.intersectionOf)
    if intersection is not None:
        return Intersection(tuple(parse_expression(graph, m) for m in Collection(graph, intersection)))
    union = graph.value(node, OWL.unionOf)
    if union is not None:
        return Union(tuple(parse_expression(graph, m) for m in Collection(graph, union)))
    on_property = graph.value(node, OWL.onProperty)
    if on_property is not None:
        if not isinstance(on_property, URIRef):
            raise UnsupportedAxiom("restrictions on property expressions (inverses) are not supported")
        filler = graph.value(node, OWL.someValuesFrom)
        if filler is not None:
            return Some(str(on_property), parse_expression(graph, filler))
        value = graph.value(node, OWL.hasValue)
        if value is not None:
            return HasValue(str(on_property), value.n3())
    kinds = ", ".join(sorted(compact(str(p)) for p in graph.predicates(node) if p != RDF.type))
    raise UnsupportedAxiom(
        f"a class expression uses {kinds}; supported: owl:intersectionOf, owl:unionOf, "
        "owl:someValuesFrom, owl:hasValue on a named property"
    )


def to_sparql(expression: Expression, variable: str, fresh: count[int] | None = None) -> str:
    """A SPARQL group pattern that holds exactly for the members of `expression` bound to ?variable."""
    fresh = fresh or count()
    match expression:
        case Named(iri) if iri == THING:
            return ""
        case Named(iri):
            return f"?{variable} a <{iri}> ."
        case Intersection(members):
            return " ".join(to_sparql(m, variable, fresh) for m in members)
        case Union(members):
            return " UNION ".join("{ " + to_sparql(m, variable, fresh) + " }" for m in members)
        case Some(prop, filler):
            inner = f"v{next(fresh)}"
            return f"?{variable} <{prop}> ?{inner} . {to_sparql(filler, inner, fresh)}"
        case HasValue(prop, value):
            return f"?{variable} <{prop}> {value} ."
    raise AssertionError(expression)


def disjuncts(expression: Expression) -> list[Expression]:
    """The expression as a union of union-free expressions (intersection distributed over union), so that each
    case becomes one rule: A ⊓ (B ⊔ C) gives A ⊓ B and A ⊓ C."""
    match expression:
        case Union(members):
            return [case for member in members for case in disjuncts(member)]
        case Intersection(members):
            cases: list[tuple[Expression, ...]] = [()]
            for member in members:
                cases = [(*done, option) for done in cases for option in disjuncts(member)]
            return [Intersection(case) for case in cases]
        case Some(prop, filler):
            return [Some(prop, case) for case in disjuncts(filler)]
    return [expression]


def to_words(expression: Expression, labels: dict[str, str]) -> str:
    """The definition in words, with rdfs:labels, e.g. 'a free plan and offers GPU some GPU model'."""
    match expression:
        case Named(iri):
            return labels.get(iri, compact(iri))
        case Intersection(members):
            return " and ".join(to_words(m, labels) for m in members)
        case Union(members):
            return "(" + " or ".join(to_words(m, labels) for m in members) + ")"
        case Some(prop, filler):
            return f"{labels.get(prop, compact(prop))} some {to_words(filler, labels)}"
        case HasValue(prop, value):
            shown = compact(value[1:-1]) if value.startswith("<") else value
            return f"{labels.get(prop, compact(prop))} {labels.get(value[1:-1], shown)}"
    raise AssertionError(expression)


def to_dict(expression: Expression) -> dict[str, Any]:
    match expression:
        case Named(iri):
            return {"class": iri}
        case Intersection(members):
            return {"and": [to_dict(m) for m in members]}
        case Union(members):
            return {"or": [to_dict(m) for m in members]}
        case Some(prop, filler):
            return {"some": prop, "in": to_dict(filler)}
        case HasValue(prop, value):
            return {"has": prop, "value": value}
    raise AssertionError(expression)


def from_dict(data: dict[str, Any]) -> Expression:
    if "class" in data:
        return Named(data["class"])
    if "and" in data:
        return Intersection(tuple(from_dict(m) for m in data["and"]))
    if "or" in data:
        return Union(tuple(from_dict(m) for m in data["or"]))
    if "some" in data:
        return Some(data["some"], from_dict(data["in"]))
    return HasValue(data["has"], data["value"])


def literal_or_iri(term: str) -> Node:
    """Parse one N-Triples term back (used to show hasValue values)."""
    if term.startswith("<"):
        return URIRef(term[1:-1])
    return Literal(term)
