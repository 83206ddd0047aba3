"""Explanations: why a derived fact holds (a proof down to sourced facts), or why it does not (the failed condition).

Works over any SPARQL store through one `select` function, so the same explanations come from the embedded store
or a remote endpoint. Proofs are found by running a rule's body with its head bound (a witness), then explaining
each premise in turn; asserted premises end the proof with the passages that state them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyoxigraph as ox

from mlcloudkg.history import Freshness
from mlcloudkg.namespaces import GRAPH_ONTOLOGY, PREFIXES, RDF_TYPE, compact
from mlcloudkg.reasoning.expressions import (
    Expression,
    HasValue,
    Intersection,
    Named,
    Some,
    Union,
    from_dict,
    to_words,
)
from mlcloudkg.reasoning.rules import Pattern, Rule, RuleSet
from mlcloudkg.sparql_text import without_top_level_filters

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Select = Callable[[str], list[dict[str, Term]]]
MAX_DEPTH = 12
MAX_VALUES_SHOWN = 8
_PROLOGUE = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())


@dataclass
class Source:
    """A passage that states an asserted fact."""

    graph: str
    title: str
    locator: str
    quote: str
    status: str
    as_of: str | None = None
    valid_from: str | None = None
    primary_sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "graph": self.graph,
            "source": self.title,
            "locator": self.locator,
            "quote": self.quote,
            "status": self.status,
            "as_of": self.as_of,
            "valid_from": self.valid_from,
            "primary_sources": self.primary_sources,
        }


@dataclass
class Proof:
    """Why one triple holds: asserted (with its sources), an ontology axiom, or derived by a rule from premises."""

    triple: tuple[str, str, str]  # N-Triples terms
    by: str  # "asserted", "ontology", or the rule's name
    rule: str = ""  # the rule in words
    origin: str = ""  # where the rule is written
    conditions: list[str] = field(default_factory=list)
    premises: list[Proof] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    alternatives: int = 0  # other witnesses of the same rule

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"statement": _show_triple(self.triple), "by": self.by}
        if self.rule:
            data.update(rule=self.rule, origin=self.origin)
        if self.conditions:
            data["conditions"] = self.conditions
        if self.sources:
            data["sources"] = [s.to_dict() for s in self.sources]
        if self.premises:
            data["premises"] = [p.to_dict() for p in self.premises]
        if self.alternatives:
            data["other_witnesses"] = self.alternatives
        return data


@dataclass
class Check:
    """One condition of a definition, checked against the data: holds or not, and what was found."""

    condition: str
    holds: bool
    found: str = ""
    children: list[Check] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"condition": self.condition, "holds": self.holds}
        if self.found:
            data["found"] = self.found
        if self.children:
            data["checks"] = [c.to_dict() for c in self.children]
        return data


@dataclass
class Explanation:
    """The answer to "is <resource> a <class>, and why?"."""

    resource: str
    capability: str
    label: str
    holds: bool
    definition: str
    proof: Proof | None = None
    checks: list[Check] = field(default_factory=list)
    freshness: Freshness | None = None  # how old the facts about the resource are

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "resource": self.resource,
            "capability": self.capability,
            "label": self.label,
            "holds": self.holds,
            "definition": self.definition,
        }
        if self.proof:
            data["proof"] = self.proof.to_dict()
        if self.checks:
            data["why_not"] = [c.to_dict() for c in self.checks]
        if self.freshness:
            data["facts"] = self.freshness.to_dict(date.today())
        return data

    def to_text(self) -> str:
        verdict = "is" if self.holds else "is NOT"
        lines = [
            f"{compact(self.resource)} {verdict} {compact(self.capability)} ({self.label})",
            f"  definition: {self.definition}",
        ]
        if self.proof:
            lines += _proof_lines(self.proof, "  ")
        for check in self.checks:
            lines += _check_lines(check, "  ")
        return "\n".join(lines)


class Explainer:
    """Explains membership of resources in the classes the rule table derives."""

    def __init__(
        self,
        rules: RuleSet,
        select: Select,
        inferred_graph: str,
        in_effect: Callable[[Iterable[str]], frozenset[str]],
    ) -> None:
        self.rules = rules
        self.select = select
        self.inferred_graph = inferred_graph  # where the view's derived triples are: the rest is asserted
        self.in_effect = in_effect  # of some graphs, the passages holding on the view's date: the only ones cited

    def explain(self, resource: str, capability: str, parameters: dict[str, str] | None = None) -> Explanation:
        """Explain over the closure `select` reads; `parameters` must be those it was materialised with."""
        label = self.rules.labels.get(capability, compact(capability))
        definition = self._definition(capability)
        triple = (f"<{resource}>", f"<{RDF_TYPE}>", f"<{capability}>")
        holds = self._holds(triple)
        explanation = Explanation(resource, capability, label, holds, definition)
        if holds:
            explanation.proof = self._prove(triple, parameters, depth=0, seen=frozenset())
        else:
            explanation.checks = self._why_not(resource, capability, parameters, depth=0)
        return explanation

    def prove(self, triple: tuple[str, str, str]) -> Proof:
        """Why a statement of the closure holds (N-Triples terms), with the build's parameters."""
        return self._prove(triple, None, depth=0, seen=frozenset())

    # -- positive ---------------------------------------------------------------------------------------------

    def _holds(self, triple: tuple[str, str, str]) -> bool:
        return bool(self.select(f"SELECT (1 AS ?yes) WHERE {{ {' '.join(triple)} }} LIMIT 1"))

    def _prove(
        self,
        triple: tuple[str, str, str],
        parameters: dict[str, str] | None,
        depth: int,
        seen: frozenset[tuple[str, str, str]],
    ) -> Proof:
        if self._in_graph(triple, GRAPH_ONTOLOGY):
            return Proof(triple, "ontology", origin="ontology/mlcloud.ttl")
        if self._holds(triple) and not self._in_graph(triple, self.inferred_graph):
            return Proof(triple, "asserted", sources=self._sources(triple))
        if depth >= MAX_DEPTH or triple in seen:
            return Proof(triple, "see above")
        for rule in self._rules_for(triple):
            rows, bound = self._witnesses(rule, triple, parameters, limit=5)
            if not rows:
                continue
            witness = {**bound, **{name: _nt(term) for name, term in rows[0].items()}}
            premises = [
                self._prove(p, parameters, depth + 1, seen | {triple})
                for p in (_instantiate(pattern, witness) for pattern in rule.premises)
                if p
            ]
            conditions = [_fill(condition, witness) for condition in rule.conditions]
            conditions += [f"{name} = {value}" for name, value in self._parameter_values(rule, parameters).items()]
            return Proof(
                triple,
                rule.name,
                rule=rule.description,
                origin=rule.origin,
                conditions=conditions,
                premises=premises,
                alternatives=len(rows) - 1,
            )
        return Proof(triple, "no rule derives it")

    def _rules_for(self, triple: tuple[str, str, str]) -> list[Rule]:
        key = triple[2] if triple[1] == f"<{RDF_TYPE}>" else triple[1]
        return [rule for rule in self.rules.deriving(key.strip("<>")) if _unify(rule.head[0], triple) is not None]

    def _witnesses(
        self, rule: Rule, triple: tuple[str, str, str], parameters: dict[str, str] | None, limit: int
    ) -> tuple[list[dict[str, Term]], dict[str, str]]:
        bound = _unify(rule.head[0], triple) or {}
        values = {k: v for k, v in (parameters or {}).items() if k in rule.parameters}
        return self.select(rule.witness_query(bound, values, limit)), bound

    def _parameter_values(self, rule: Rule, parameters: dict[str, str] | None) -> dict[str, str]:
        given = parameters or {}
        return {name: given.get(name, spec["default"]) for name, spec in rule.parameters.items()}

    def _in_graph(self, triple: tuple[str, str, str], graph: str) -> bool:
        return bool(self.select(f"SELECT (1 AS ?yes) WHERE {{ GRAPH <{graph}> {{ {' '.join(triple)} }} }} LIMIT 1"))

    def _sources(self, triple: tuple[str, str, str]) -> list[Source]:
        rows = self.select(
            _PROLOGUE
            + f"""
            SELECT ?graph ?title ?locator ?quote ?status ?asOf ?validFrom
                   (GROUP_CONCAT(DISTINCT ?primary; separator="\\u001f") AS ?primaries)
            WHERE {{
              GRAPH ?graph {{ {" ".join(triple)} }}
              ?graph a mlc:SourcedGraph ; prov:wasDerivedFrom/dcterms:title ?title ; mlc:sourceLocator ?locator ;
                     mlc:epistemicStatus/rdfs:label ?status .
              OPTIONAL {{ ?graph mlc:quote ?quote }}
              OPTIONAL {{ ?graph mlc:asOf ?asOf }}
              OPTIONAL {{ ?graph mlc:validFrom ?validFrom }}
              OPTIONAL {{ ?graph prov:hadPrimarySource/dcterms:title ?primary }}
            }}
            GROUP BY ?graph ?title ?locator ?quote ?status ?asOf ?validFrom ORDER BY ?graph"""
        )
        sources = []
        in_effect = self.in_effect(row["graph"].value for row in rows)
        for row in rows:
            if row["graph"].value not in in_effect:
                continue
            primaries = (
                row["primaries"].value.split("\u001f") if row.get("primaries") and row["primaries"].value else []
            )
            sources.append(
                Source(
                    row["graph"].value,
                    row["title"].value,
                    row["locator"].value,
                    row["quote"].value if row.get("quote") else "",
                    row["status"].value,
                    row["asOf"].value if row.get("asOf") else None,
                    row["validFrom"].value if row.get("validFrom") else None,
                    primaries,
                )
            )
        return sources

    # -- negative ---------------------------------------------------------------------------------------------

    def _definition(self, capability: str) -> str:
        rule = self.rules.defining(capability)
        if rule is None:
            return "(no definition: asserted only)"
        if rule.expression is not None:
            return f"{rule.title}: {to_words(from_dict(rule.expression), self.rules.labels)}"
        return rule.description

    def _why_not(self, resource: str, capability: str, parameters: dict[str, str] | None, depth: int) -> list[Check]:
        rule = self.rules.defining(capability)
        if rule is None:
            return [Check(f"is stated to be a {self._label(capability)}", False, "no source states it")]
        if rule.expression is not None:
            return [self._check(resource, from_dict(rule.expression), parameters, depth)]
        return self._check_rule(resource, rule, parameters)

    def _check(self, node: str, expression: Expression, parameters: dict[str, str] | None, depth: int) -> Check:
        words = to_words(expression, self.rules.labels)
        match expression:
            case Named(iri):
                holds = self._holds((f"<{node}>", f"<{RDF_TYPE}>", f"<{iri}>"))
                check = Check(f"is a {self._label(iri)}", holds)
                if not holds and depth < 4 and self.rules.defining(iri) is not None:
                    check.children = self._why_not(node, iri, parameters, depth + 1)
                return check
            case Intersection(members):
                children = [self._check(node, m, parameters, depth) for m in members]
                return Check(words, all(c.holds for c in children), children=children)
            case Union(members):
                children = [self._check(node, m, parameters, depth) for m in members]
                return Check(words, any(c.holds for c in children), children=children)
            case HasValue(prop, value):
                found = self._values(node, prop)
                return Check(words, value in found, self._found(prop, found))
            case Some(prop, filler):
                found = self._values(node, prop)
                if not found:
                    return Check(words, False, f"no {self._label(prop)} stated")
                children = []
                for value in found[:MAX_VALUES_SHOWN]:
                    if not value.startswith("<"):
                        continue
                    inner = self._check(value[1:-1], filler, parameters, depth + 1)
                    inner.condition = f"{compact(value[1:-1])}: {inner.condition}"
                    children.append(inner)
                return Check(words, any(c.holds for c in children), children=children)
        raise AssertionError(expression)

    def _check_rule(self, resource: str, rule: Rule, parameters: dict[str, str] | None) -> list[Check]:
        """For a hand-written rule: the first premise no solution satisfies, or else the condition that fails."""
        subject = rule.head[0][0]
        bound = {subject[1:]: f"<{resource}>"}
        values = {k: v for k, v in (parameters or {}).items() if k in rule.parameters}
        checks = []
        witness: dict[str, str] = dict(bound)
        for count in range(1, len(rule.premises) + 1):
            partial = Rule(
                **{
                    **rule.__dict__,
                    "body": " ".join(" ".join(p) + " ." for p in rule.premises[:count]),
                    "parameters": {},
                }
            )
            pattern = rule.premises[count - 1]
            rows = self.select(partial.witness_query(bound, None, 1))
            checks.append(Check(_show_pattern(pattern, bound), bool(rows)))
            if not rows:
                return checks
            witness = {**bound, **{name: _nt(term) for name, term in rows[0].items()}}
        unfiltered = Rule(**{**rule.__dict__, "body": without_top_level_filters(rule.body)})
        rows = self.select(unfiltered.witness_query(bound, values, 1))
        if rows:
            witness = {**bound, **{name: _nt(term) for name, term in rows[0].items()}}
        for condition in rule.conditions:
            checks.append(
                Check(
                    _fill(condition, witness),
                    False,
                    "fails for every solution of the premises (values shown are one of them)",
                )
            )
        parameter_values = self._parameter_values(rule, values)
        if parameter_values:
            checks.append(Check(", ".join(f"{k} = {v}" for k, v in parameter_values.items()), True, "parameters"))
        return checks

    def _values(self, node: str, prop: str) -> list[str]:
        rows = self.select(f"SELECT ?value WHERE {{ <{node}> <{prop}> ?value }} ORDER BY ?value")
        return [_nt(row["value"]) for row in rows]

    def _found(self, prop: str, values: list[str]) -> str:
        if not values:
            return f"no {self._label(prop)} stated"
        shown = ", ".join(self._label(v[1:-1]) if v.startswith("<") else v for v in values[:MAX_VALUES_SHOWN])
        return f"{self._label(prop)}: {shown}"

    def _label(self, iri: str) -> str:
        return self.rules.labels.get(iri, compact(iri))


def _unify(head: Pattern, triple: tuple[str, str, str]) -> dict[str, str] | None:
    """Bindings that make the rule head equal to the triple, or None."""
    bindings: dict[str, str] = {}
    for written, term in zip(head, triple, strict=True):
        pattern = f"<{RDF_TYPE}>" if written == "a" else _expand(written)
        if pattern.startswith("?"):
            if bindings.get(pattern[1:], term) != term:
                return None
            bindings[pattern[1:]] = term
        elif pattern != term:
            return None
    return bindings


def _instantiate(pattern: Pattern, witness: dict[str, str]) -> tuple[str, str, str] | None:
    terms = []
    for written in pattern:
        term = f"<{RDF_TYPE}>" if written == "a" else _expand(written)
        if term.startswith("?"):
            if term[1:] not in witness:
                return None
            term = witness[term[1:]]
        terms.append(term)
    return terms[0], terms[1], terms[2]


def _expand(term: str) -> str:
    """A prefixed name of ours as <IRI>; other terms unchanged."""
    if term.startswith(("<", "?", '"')) or ":" not in term:
        return term
    prefix, _, local = term.partition(":")
    return f"<{PREFIXES[prefix]}{local}>" if prefix in PREFIXES else term


def _fill(condition: str, witness: dict[str, str]) -> str:
    """The condition with the witness's values after each variable, e.g. '?hours (= 12) >= 12'."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"{match.group(0)} (= {_short(witness[name])})" if name in witness else match.group(0)

    return re.sub(r"\?([A-Za-z_][A-Za-z0-9_]*)", value, condition)


def _nt(term: Term) -> str:
    return str(term)


def _short(term: str) -> str:
    if term.startswith("<"):
        return compact(term[1:-1])
    match = re.match(r'^"(.*)"\^\^<http://www.w3.org/2001/XMLSchema#(?:integer|decimal|double|boolean)>$', term)
    return match.group(1) if match else term


def _show_triple(triple: tuple[str, str, str]) -> str:
    subject, predicate, obj = (_short(t) for t in triple)
    predicate = "a" if predicate == "rdf:type" else predicate
    return f"{subject} {predicate} {obj}"


def _show_pattern(pattern: Pattern, bound: dict[str, str]) -> str:
    return " ".join(
        _short(bound[t[1:]])
        if t.startswith("?") and t[1:] in bound
        else (_short(_expand(t)) if not t.startswith("?") and t != "a" else t)
        for t in pattern
    )


def _proof_lines(proof: Proof, indent: str) -> list[str]:
    if proof.by == "asserted":
        lines = [f"{indent}{_show_triple(proof.triple)}   [asserted]"]
        for source in proof.sources:
            when = f", as of {source.as_of}" if source.as_of else ""
            when += f", valid from {source.valid_from}" if source.valid_from else ""
            primary = f"; primary source: {'; '.join(source.primary_sources)}" if source.primary_sources else ""
            lines.append(f"{indent}    ← {source.title}, {source.locator}{when} ({source.status}{primary})")
            if source.quote:
                lines.append(f'{indent}      "{source.quote}"')
        return lines
    if proof.by in {"ontology", "see above", "no rule derives it"}:
        return [f"{indent}{_show_triple(proof.triple)}   [{proof.by}]"]
    more = f"; {proof.alternatives} other way(s)" if proof.alternatives else ""
    lines = [f"{indent}{_show_triple(proof.triple)}   [{proof.by}{more}]"]
    lines += [f"{indent}    if {condition}" for condition in proof.conditions]
    for premise in proof.premises:
        lines += _proof_lines(premise, indent + "    ")
    return lines


def _check_lines(check: Check, indent: str) -> list[str]:
    mark = "✓" if check.holds else "✗"
    found = f" — {check.found}" if check.found else ""
    lines = [f"{indent}{mark} {check.condition}{found}"]
    for child in check.children:
        lines += _check_lines(child, indent + "    ")
    return lines
