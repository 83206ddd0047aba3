"""Reason step: run the rule table stratum by stratum to a fixpoint, publishing what it derives.

Derived triples go to graph:inferred and the default graph, so later rules (and queries) see them. Only
meaningful triples are kept (see `publishable`): no owl:sameAs, no statements about literals, blank nodes or
vocabulary terms, no trivial types (owl:Thing, rdfs:Resource) — none of the junk a general OWL RL closure has.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyoxigraph as ox

from mlcloudkg.dataset import INFERRED
from mlcloudkg.namespaces import RDF_TYPE
from mlcloudkg.queries import ParameterError
from mlcloudkg.reasoning.rules import ANY, PUBLISHED_SUBJECTS, Rule, RuleSet, order_for_evaluation

OUR_RESOURCES = PUBLISHED_SUBJECTS
VOCABULARY_NAMESPACES = (
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2002/07/owl#",
    "http://www.w3.org/2001/XMLSchema#",
)
TRIVIAL_CLASSES = {
    "http://www.w3.org/2002/07/owl#Thing",
    "http://www.w3.org/2000/01/rdf-schema#Resource",
    "http://www.w3.org/2002/07/owl#NamedIndividual",
}
MAX_ROUNDS = 100


class ReasoningDiverged(RuntimeError):
    """A stratum did not reach a fixpoint: a rule keeps deriving new triples (a bug in a rule)."""


@dataclass
class Report:
    """What a materialisation did: inferred triples per class (types) or property, time and rounds per stratum."""

    inferred: dict[str, int] = field(default_factory=dict)
    seconds: dict[int, float] = field(default_factory=dict)
    rounds: dict[int, int] = field(default_factory=dict)
    rules_run: int = 0

    @property
    def total(self) -> int:
        return sum(self.inferred.values())


def publishable(triple: ox.Triple) -> bool:
    """Whether a derived triple says something about our resources that is worth publishing."""
    subject, predicate, obj = triple.subject, triple.predicate.value, triple.object
    if not isinstance(subject, ox.NamedNode) or not subject.value.startswith(OUR_RESOURCES):
        return False
    if isinstance(obj, ox.BlankNode):
        return False
    if predicate == RDF_TYPE:
        return (
            isinstance(obj, ox.NamedNode)
            and obj.value not in TRIVIAL_CLASSES
            and not obj.value.startswith(VOCABULARY_NAMESPACES)
        )
    return not predicate.startswith(VOCABULARY_NAMESPACES)


def materialize(store: ox.Store, rules: RuleSet, parameters: dict[str, str] | None = None) -> Report:
    """Derive everything the rules derive from the store's default graph, stratum by stratum.

    `parameters` override rule parameters (thresholds) by name; the build uses the defaults."""
    given = parameters or {}
    known = {name for rule in rules.rules for name in rule.parameters}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ParameterError(unknown[0], "is not a parameter of any rule", "parameters: " + ", ".join(sorted(known)))
    report = Report()
    # For each rule that has run: the classes and properties something was added to since it last ran. A rule
    # runs again only if one of those is something it reads; a stratum is finished when no rule needs to run.
    added_since: dict[str, set[str]] = {}

    def needs_to_run(rule: Rule) -> bool:
        if rule.name not in added_since:
            return True
        changed = added_since[rule.name]
        return bool(changed) and (ANY in rule.reads or not changed.isdisjoint(rule.reads))

    for stratum in rules.strata:
        started = time.perf_counter()
        ordered = order_for_evaluation(rules.for_stratum(stratum))
        for round_number in range(1, MAX_ROUNDS + 1):
            for rule in ordered:
                if not needs_to_run(rule):
                    continue
                values = {name: value for name, value in given.items() if name in rule.parameters}
                added_since[rule.name] = set()
                report.rules_run += 1
                if store.query(rule.would_add(values)):
                    store.update(rule.insert(INFERRED.value, values))
                    for changed in added_since.values():
                        changed.add(rule.defines)
            if not any(needs_to_run(rule) for rule in ordered):
                report.rounds[stratum] = round_number
                break
        else:
            raise ReasoningDiverged(f"stratum {stratum} did not reach a fixpoint in {MAX_ROUNDS} rounds")
        report.seconds[stratum] = round(time.perf_counter() - started, 4)
    report.inferred = inferred_counts(store)
    return report


def inferred_counts(store: ox.Store) -> dict[str, int]:
    """How many inferred statements there are per class (for types) and per property (for the rest)."""
    query = f"""SELECT ?key (COUNT(*) AS ?count) WHERE {{
        GRAPH <{INFERRED.value}> {{ ?s ?p ?o }} BIND(IF(?p = <{RDF_TYPE}>, ?o, ?p) AS ?key) }} GROUP BY ?key"""
    return {row["key"].value: int(row["count"].value) for row in store.query(query)}
