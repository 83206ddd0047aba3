"""The rule table: every way a triple can be derived, compiled from the ontology or read from ontology/rules/.

One rule = one CONSTRUCT: a head (the derived triple pattern) and a body (a SPARQL group pattern). The same rules
drive materialisation (run them to a fixpoint) and explanation (run a body with the head bound to find the premises
of a derived triple). OWL 2 RL definitions of the ontology are compiled here, so the OWL axioms stay the one source
of their meaning; a test checks that owlrl, the reasoner of record, derives the same triples from them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rdflib import OWL, RDF, RDFS, BNode, Graph, URIRef, Variable
from rdflib.paths import Path as PropertyPath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue

from mlcloudkg.namespaces import PREFIXES, compact
from mlcloudkg.queries import NamedQuery, Parameter, ParameterError, bind_values, parse_query_file
from mlcloudkg.reasoning.expressions import (
    Expression,
    UnsupportedAxiom,
    disjuncts,
    parse_expression,
    to_dict,
    to_sparql,
    to_words,
)
from mlcloudkg.sparql_text import Kind, tokens, top_level_filters, where_clause_span

OWL_STRATUM = 20
ANY = "*"
# Derived statements are published about these resources only (see materialize.publishable).
PUBLISHED_SUBJECTS = ("https://w3id.org/mlcloudkg/id/", "https://w3id.org/mlcloudkg/source/")
Pattern = tuple[str, str, str]  # a triple pattern: "?var", "<iri>" or an N-Triples literal per position

# OWL and RDFS constructs the compiler implements; any other axiom in the ontology is refused.
_SUPPORTED_TBOX = {
    OWL.equivalentClass,
    RDFS.subClassOf,
    RDFS.subPropertyOf,
    RDFS.domain,
    RDFS.range,
    OWL.propertyChainAxiom,
}
_UNSUPPORTED_TBOX = {
    OWL.inverseOf: "owl:inverseOf",
    OWL.equivalentProperty: "owl:equivalentProperty",
    OWL.allValuesFrom: "owl:allValuesFrom",
    OWL.maxCardinality: "owl:maxCardinality",
    OWL.maxQualifiedCardinality: "owl:maxQualifiedCardinality",
    OWL.complementOf: "owl:complementOf",
    OWL.oneOf: "owl:oneOf",
    OWL.hasKey: "owl:hasKey",
    OWL.sameAs: "owl:sameAs",
}
_UNSUPPORTED_TYPES = {
    OWL.TransitiveProperty: "owl:TransitiveProperty",
    OWL.SymmetricProperty: "owl:SymmetricProperty",
    OWL.InverseFunctionalProperty: "owl:InverseFunctionalProperty",
}


@dataclass(frozen=True)
class Rule:
    """One way to derive triples."""

    name: str
    title: str
    description: str
    origin: str
    stratum: int
    head: tuple[Pattern, ...]
    body: str
    premises: tuple[Pattern, ...]
    conditions: tuple[str, ...] = ()
    # name -> {"type": ..., "default": ..., "description": ...}, from the rule file's '# param:' lines
    parameters: dict[str, dict[str, str]] = field(default_factory=dict)
    expression: dict[str, Any] | None = None  # the OWL definition, for explaining why a class does not hold
    defines: str = ""  # the class or property whose triples the rule derives
    # The classes and properties the body reads; ANY if it reads statements of every kind (?x ?p ?y, ?x a ?c).
    reads: tuple[str, ...] = ()

    def _new_and_publishable(self, values: dict[str, str] | None) -> str:
        """The body, restricted to solutions whose head is new (not in the default graph) and publishable."""
        head = " ".join(" ".join(p) + " ." for p in self.head)
        return f"{self._bound_body(values)} FILTER NOT EXISTS {{ {head} }} {self._publishable_filter()}"

    def would_add(self, values: dict[str, str] | None = None) -> str:
        """ASK whether the rule derives anything new."""
        return f"{_PROLOGUE}ASK {{ {self._new_and_publishable(values)} }}"

    def insert(self, graph: str, values: dict[str, str] | None = None) -> str:
        """The rule as an update adding its new triples to the default graph and to `graph`."""
        head = " ".join(" ".join(p) + " ." for p in self.head)
        return (
            f"{_PROLOGUE}INSERT {{ {head} GRAPH <{graph}> {{ {head} }} }} "
            f"WHERE {{ {self._new_and_publishable(values)} }}"
        )

    def _publishable_filter(self) -> str:
        """`materialize.publishable` in SPARQL for this head: subjects among our resources, no blank objects."""
        subject, _, obj = self.head[0]
        tests = []
        if subject.startswith("?"):
            starts = " || ".join(f'STRSTARTS(STR({subject}), "{prefix}")' for prefix in PUBLISHED_SUBJECTS)
            tests.append(f"isIRI({subject}) && ({starts})")
        if obj.startswith("?"):
            tests.append(f"!isBlank({obj})")
        return f"FILTER({' && '.join(tests)})" if tests else ""

    def witness_query(self, bound: dict[str, str], values: dict[str, str] | None = None, limit: int = 5) -> str:
        """SELECT the body's solutions with some head variables already bound (N-Triples terms)."""
        body = self._bound_body(values)
        if bound:
            names = " ".join(f"?{name}" for name in bound)
            body = f"VALUES ({names}) {{ ({' '.join(bound.values())}) }} {body}"
        return f"{_PROLOGUE}SELECT * WHERE {{ {body} }} LIMIT {limit}"

    def _bound_body(self, values: dict[str, str] | None) -> str:
        """The body with every parameter bound: to the given value, else to its default."""
        given = values or {}
        unknown = sorted(set(given) - set(self.parameters))
        if unknown:
            names = ", ".join(self.parameters) or "none"
            raise ParameterError(unknown[0], f"is not a parameter of {self.name}", f"parameters: {names}")
        terms = {
            name: Parameter(name, spec["type"], spec["description"]).to_term(given.get(name, spec["default"]))
            for name, spec in self.parameters.items()
        }
        return bind_values(self.body, 0, terms) if terms else self.body


_PROLOGUE = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    labels: dict[str, str]

    @property
    def strata(self) -> list[int]:
        return sorted({r.stratum for r in self.rules} | {OWL_STRATUM})

    def defining(self, iri: str) -> Rule | None:
        """The definition or rule that says what class `iri` means (not a subclass or domain axiom)."""
        return next((r for r in self.deriving(iri) if not r.name.startswith(("cax", "prp"))), None)

    def for_stratum(self, stratum: int) -> list[Rule]:
        """The rules a stratum runs: its own, plus the OWL rules from stratum 20 on (see ontology/rules/README.md)."""
        own = [r for r in self.rules if r.stratum == stratum]
        owl = [r for r in self.rules if r.stratum == OWL_STRATUM] if stratum > OWL_STRATUM else []
        return own + owl

    def deriving(self, iri: str) -> list[Rule]:
        """Rules that derive members of class `iri` (or triples of property `iri`): definitions and rules first,
        then the RDFS axioms."""
        return sorted((r for r in self.rules if r.defines == iri), key=lambda r: r.name.startswith(("cax", "prp")))

    def to_json(self) -> str:
        return json.dumps({"labels": self.labels, "rules": [asdict(r) for r in self.rules]}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> RuleSet:
        data = json.loads(text)
        rules = []
        for item in data["rules"]:
            item["head"] = tuple(tuple(p) for p in item["head"])
            item["premises"] = tuple(tuple(p) for p in item["premises"])
            item["conditions"] = tuple(item["conditions"])
            item["reads"] = tuple(item["reads"])
            rules.append(Rule(**item))
        return cls(tuple(rules), data["labels"])


def compile_rules(ontology: Graph, rules_dir: Path, root: Path) -> RuleSet:
    """All rules: the ontology's OWL 2 RL axioms compiled to SPARQL, and the hand-written rules of `rules_dir`."""
    _refuse_unsupported(ontology)
    labels = {str(s): str(o) for s, o in ontology.subject_objects(RDFS.label) if isinstance(s, URIRef)}
    rules = [*_axiom_rules(ontology, labels), *_definition_rules(ontology, labels), *_chain_rules(ontology, labels)]
    rules += [_hand_rule(path, root) for path in sorted(rules_dir.glob("*.rq"))]
    return RuleSet(tuple(rules), labels)


def _refuse_unsupported(ontology: Graph) -> None:
    for predicate, name in _UNSUPPORTED_TBOX.items():
        for subject in ontology.subjects(predicate, None):
            raise UnsupportedAxiom(
                f"{compact(str(subject))} uses {name}, which the reasoner does not implement — "
                f"accepted: {', '.join(sorted(compact(str(p)) for p in _SUPPORTED_TBOX))}, "
                "owl:intersectionOf, owl:unionOf, owl:someValuesFrom, owl:hasValue"
            )
    for kind, name in _UNSUPPORTED_TYPES.items():
        for subject in ontology.subjects(RDF.type, kind):
            raise UnsupportedAxiom(f"{compact(str(subject))} is a {name}, which the reasoner does not implement")
    for subject, other in ontology.subject_objects(OWL.equivalentClass):
        if isinstance(other, URIRef):
            raise UnsupportedAxiom(
                f"{compact(str(subject))} owl:equivalentClass {compact(str(other))}: equivalence "
                "of named classes is not supported — accepted: a definition [ ... ] or rdfs:subClassOf"
            )
    for subject, superclass in ontology.subject_objects(RDFS.subClassOf):
        if isinstance(subject, BNode) or isinstance(superclass, BNode):
            raise UnsupportedAxiom(
                f"rdfs:subClassOf between {subject} and {superclass}: only named classes, "
                "define complex classes with owl:equivalentClass"
            )


def _axiom_rules(ontology: Graph, labels: dict[str, str]) -> list[Rule]:
    """One rule per RDFS axiom between named terms: cax-sco (subclass), prp-spo1 (subproperty), prp-dom (domain),
    prp-rng (range) of the OWL 2 RL rule tables, each reading only the class or property it starts from."""

    def named(subject: object, obj: object) -> bool:
        return isinstance(subject, URIRef) and isinstance(obj, URIRef) and subject != obj

    def rule(kind: str, axiom: str, description: str, head: Pattern, premise: Pattern) -> Rule:
        def key(pattern: Pattern) -> str:  # the class of a type pattern, else the property
            return (pattern[2] if pattern[1] == "a" else pattern[1]).strip("<>")

        return Rule(
            name=f"{kind}: {axiom}",
            title=kind,
            description=description,
            origin=f"ontology/mlcloud.ttl, {axiom} (OWL 2 RL rule {kind})",
            stratum=OWL_STRATUM,
            head=(head,),
            body=" ".join(premise) + " .",
            premises=(premise,),
            defines=key(head),
            reads=(key(premise),),
        )

    def word(term: URIRef) -> str:
        return labels.get(str(term), compact(str(term)))

    rules = []
    for sub, sup in sorted(ontology.subject_objects(RDFS.subClassOf)):
        if named(sub, sup):
            rules.append(
                rule(
                    "cax-sco",
                    f"{compact(str(sub))} rdfs:subClassOf {compact(str(sup))}",
                    f"every {word(sub)} is a {word(sup)}",
                    ("?x", "a", f"<{sup}>"),
                    ("?x", "a", f"<{sub}>"),
                )
            )
    for sub, sup in sorted(ontology.subject_objects(RDFS.subPropertyOf)):
        if named(sub, sup):
            rules.append(
                rule(
                    "prp-spo1",
                    f"{compact(str(sub))} rdfs:subPropertyOf {compact(str(sup))}",
                    f"{word(sub)} implies {word(sup)}",
                    ("?x", f"<{sup}>", "?y"),
                    ("?x", f"<{sub}>", "?y"),
                )
            )
    for prop, domain in sorted(ontology.subject_objects(RDFS.domain)):
        if named(prop, domain):
            rules.append(
                rule(
                    "prp-dom",
                    f"{compact(str(prop))} rdfs:domain {compact(str(domain))}",
                    f"what has {word(prop)} is a {word(domain)}",
                    ("?x", "a", f"<{domain}>"),
                    ("?x", f"<{prop}>", "?y"),
                )
            )
    for prop, range_ in sorted(ontology.subject_objects(RDFS.range)):
        if named(prop, range_) and (prop, RDF.type, OWL.DatatypeProperty) not in ontology:
            rules.append(
                rule(
                    "prp-rng",
                    f"{compact(str(prop))} rdfs:range {compact(str(range_))}",
                    f"the {word(prop)} of something is a {word(range_)}",
                    ("?y", "a", f"<{range_}>"),
                    ("?x", f"<{prop}>", "?y"),
                )
            )
    return rules


def _definition_rules(ontology: Graph, labels: dict[str, str]) -> list[Rule]:
    """One rule per case of each owl:equivalentClass definition (a union on the left-hand side is one case per
    member), each with the whole definition for explaining why a class does not hold."""
    rules = []
    for defined, definition in sorted(ontology.subject_objects(OWL.equivalentClass)):
        if not isinstance(defined, URIRef) or not isinstance(definition, BNode):
            continue
        expression = parse_expression(ontology, definition)
        name = compact(str(defined))
        cases = disjuncts(expression)
        for number, case in enumerate(cases, start=1):
            suffix = f" (case {number} of {len(cases)}: {to_words(case, labels)})" if len(cases) > 1 else ""
            rules.append(
                Rule(
                    name=f"definition of {name}" + (f", case {number}" if len(cases) > 1 else ""),
                    title=labels.get(str(defined), name),
                    description=f"{labels.get(str(defined), name)}: {to_words(expression, labels)}{suffix}",
                    origin=f"ontology/mlcloud.ttl, {name} owl:equivalentClass",
                    stratum=OWL_STRATUM,
                    head=(("?x", "a", f"<{defined}>"),),
                    body=to_sparql(case, "x"),
                    premises=_premises_of(case),
                    expression=to_dict(expression),
                    defines=str(defined),
                    reads=_reads(to_sparql(case, "x")),
                )
            )
    return rules


def _premises_of(expression: Expression) -> tuple[Pattern, ...]:
    """The triple patterns of a definition that every witness binds (those outside unions)."""
    from mlcloudkg.reasoning.expressions import HasValue, Intersection, Named, Some

    patterns: list[Pattern] = []
    counter = iter(range(1000))

    def walk(node: Expression, variable: str) -> None:
        match node:
            case Named(iri) if iri != str(OWL.Thing):
                patterns.append((f"?{variable}", "a", f"<{iri}>"))
            case Intersection(members):
                for member in members:
                    walk(member, variable)
            case Some(prop, filler):
                inner = f"v{next(counter)}"
                patterns.append((f"?{variable}", f"<{prop}>", f"?{inner}"))
                walk(filler, inner)
            case HasValue(prop, value):
                patterns.append((f"?{variable}", f"<{prop}>", value))

    walk(expression, "x")
    return tuple(patterns)


def _chain_rules(ontology: Graph, labels: dict[str, str]) -> list[Rule]:
    from rdflib.collection import Collection

    rules = []
    for prop, chain in sorted(ontology.subject_objects(OWL.propertyChainAxiom)):
        links = [str(p) for p in Collection(ontology, chain)]
        variables = [f"?x{i}" for i in range(len(links) + 1)]
        premises = tuple((variables[i], f"<{link}>", variables[i + 1]) for i, link in enumerate(links))
        name = compact(str(prop))
        path = " then ".join(labels.get(link, compact(link)) for link in links)
        rules.append(
            Rule(
                name=f"property chain of {name}",
                title=labels.get(str(prop), name),
                description=f"{labels.get(str(prop), name)}: {path}",
                origin=f"ontology/mlcloud.ttl, {name} owl:propertyChainAxiom",
                stratum=OWL_STRATUM,
                head=((variables[0], f"<{prop}>", variables[-1]),),
                body=" ".join(" ".join(p) + " ." for p in premises),
                premises=premises,
                defines=str(prop),
                reads=tuple(links),
            )
        )
    return rules


def _hand_rule(path: Path, root: Path) -> Rule:
    query: NamedQuery = parse_query_file(path)
    span = where_clause_span(query.text)
    if span is None:
        raise UnsupportedAxiom(f"{path}: a rule is a CONSTRUCT ... WHERE {{ ... }}")
    body = query.text[span[0] : span[1]]
    parsed = prepareQuery(query.text)
    template = parsed.algebra.get("template") or []
    head = tuple(tuple(_pattern_term(term) for term in triple) for triple in template)
    defines = next((p[2][1:-1] for p in head if p[1] == "a" and p[2].startswith("<")), "")
    try:
        stratum = int(path.name.split("-", 1)[0])
    except ValueError:
        raise UnsupportedAxiom(
            f"{path}: a rule file name starts with its stratum, e.g. 10-high-memory-gpu.rq"
        ) from None
    return Rule(
        name=f"rule {path.stem}",
        title=query.title,
        description=query.description,
        origin=path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path),
        stratum=stratum,
        head=head,  # type: ignore[arg-type]
        body=body,
        premises=_in_written_order(_top_level_triples(parsed.algebra), body),
        conditions=tuple(top_level_filters(body)),
        parameters={
            p.name: {"type": p.type, "default": p.default or "", "description": p.description} for p in query.parameters
        },
        defines=defines,
        reads=_reads(body),
    )


def _reads(body: str) -> tuple[str, ...]:
    """Every class and property a body mentions (also inside NOT EXISTS: negation reads them too)."""
    mentioned = set()
    for token in tokens(body):
        if token.kind is Kind.IRI:
            mentioned.add(token.text[1:-1])
        elif token.kind is Kind.PREFIXED_NAME:
            prefix, _, local = token.text.partition(":")
            if prefix in PREFIXES:
                mentioned.add(PREFIXES[prefix] + local)
    return tuple(sorted(mentioned))


def order_for_evaluation(rules: list[Rule]) -> list[Rule]:
    """Rules that derive a class or property before the rules that read it, so that one round does most work;
    rules that read everything (the RDFS ones) last."""
    remaining = [r for r in rules if ANY not in r.reads]
    ordered: list[Rule] = []
    while remaining:
        pending = {r.defines for r in remaining}
        ready = [r for r in remaining if not (set(r.reads) & (pending - {r.defines}))] or remaining[:1]
        ordered += ready
        remaining = [r for r in remaining if r not in ready]
    return ordered + [r for r in rules if ANY in r.reads]


def _in_written_order(premises: list[Pattern], body: str) -> tuple[Pattern, ...]:
    """rdflib's algebra reorders a BGP; explanations read better in the order the rule is written."""

    def position(pattern: Pattern) -> tuple[int, int]:
        subject = body.find(pattern[0])
        predicate = pattern[1] if pattern[1] == "a" else compact(pattern[1].strip("<>"))
        return subject, body.find(predicate, max(subject, 0))

    return tuple(sorted(premises, key=position))


def _pattern_term(term: Any) -> str:
    if isinstance(term, Variable):
        return f"?{term}"
    if term == RDF.type:
        return "a"
    return term.n3()


def _top_level_triples(node: Any) -> list[Pattern]:
    """Triple patterns the body always matches: BGPs reached through joins, filters, binds and the left side of
    OPTIONALs (not inside sub-selects, NOT EXISTS or the optional part)."""
    found: list[Pattern] = []
    if isinstance(node, CompValue):
        if node.name == "BGP":
            for triple in node.triples:
                if not isinstance(triple[1], PropertyPath):
                    found.append(tuple(_pattern_term(t) for term in [triple] for t in term))  # type: ignore[misc]
            return found
        if node.name == "ConstructQuery":
            projection = node.get("p")  # the query's own projection; sub-selects sit under ToMultiSet instead
            return _top_level_triples(projection.get("p") if projection.name == "Project" else projection)
        if node.name in {"Filter", "Extend"}:
            return _top_level_triples(node.get("p"))
        if node.name == "Join":
            return _top_level_triples(node.get("p1")) + _top_level_triples(node.get("p2"))
        if node.name in {"LeftJoin", "Minus"}:  # the optional part and the subtracted part are not premises
            return _top_level_triples(node.get("p1"))
    return found
