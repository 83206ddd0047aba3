"""The ontology as documentation: every mlc: term with its kind, label, definition, place in the hierarchy,
domain and range, and, for what the reasoner derives, its definition in words and the rule behind it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.namespaces import MLC, ONTOLOGY_IRI, PREFIXES, compact, sparql_prologue
from mlcloudkg.reasoning.rules import Rule

RDF, RDFS, OWL = PREFIXES["rdf"], PREFIXES["rdfs"], PREFIXES["owl"]
SKOS_DEFINITION = "http://www.w3.org/2004/02/skos/core#definition"
SKOS_NOTATION = "http://www.w3.org/2004/02/skos/core#notation"
# Kinds of term, in the order the page lists them.
KINDS = {
    OWL + "Class": "Classes",
    OWL + "ObjectProperty": "Object properties",
    OWL + "DatatypeProperty": "Datatype properties",
    OWL + "AnnotationProperty": "Annotation properties",
    RDFS + "Datatype": "Datatypes",
}
INDIVIDUALS = "Individuals"
STATEMENTS = (
    sparql_prologue()
    + """SELECT ?term ?property ?value WHERE {
  GRAPH graph:ontology { ?term ?property ?value }
  FILTER(isIRI(?term) && (STRSTARTS(STR(?term), STR(mlc:)) || ?term = <ONTOLOGY>) && !isBlank(?value))
}""".replace("ONTOLOGY", ONTOLOGY_IRI)
)
MEMBERS = (
    sparql_prologue()
    + """SELECT ?class ?member ?name WHERE {
  GRAPH graph:ontology { ?class mlc:capabilityGroup ?group }
  ?member a ?class . OPTIONAL { ?member schema:name ?name }
} ORDER BY ?class ?name"""
)


@dataclass
class Term:
    iri: str
    label: str
    kind: str
    definition: str = ""
    types: list[str] = field(default_factory=list)  # for individuals: the classes they belong to
    superclasses: list[str] = field(default_factory=list)
    superproperties: list[str] = field(default_factory=list)
    domain: list[str] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    functional: bool = False
    notation: str = ""  # a unit's UN/CEFACT code
    symbol: str = ""
    group: str = ""  # capability group: a capability users ask about
    derivation: Rule | None = None  # how the reasoner derives its members (or triples)
    members: list[tuple[str, str]] = field(default_factory=list)  # services that have the capability

    @property
    def anchor(self) -> str:
        return self.iri.rsplit("#", 1)[-1]


@dataclass
class Vocabulary:
    iri: str
    title: str
    description: str
    version: str
    version_iri: str
    license: str
    sections: dict[str, list[Term]]  # heading -> terms, by label
    capabilities: dict[str, list[Term]]  # capability group -> capabilities
    units: list[Term]
    rules: list[Rule]  # the rules written by hand (what OWL 2 RL cannot say)


def vocabulary(kg: KnowledgeGraph) -> Vocabulary:
    """The ontology of the served build, ready to document."""
    statements: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in kg.query(STATEMENTS):
        statements[row["term"]][row["property"]].append(str(row["value"]))
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in kg.query(MEMBERS):
        members[row["class"]].append((row["member"], row.get("name", compact(row["member"]))))
    about = statements.pop(ONTOLOGY_IRI, {})
    terms = [_term(kg, iri, said, members.get(iri, [])) for iri, said in statements.items()]
    sections: dict[str, list[Term]] = {heading: [] for heading in [*KINDS.values(), INDIVIDUALS]}
    for term in sorted(terms, key=lambda t: t.label.lower()):
        sections[term.kind].append(term)
    capabilities: dict[str, list[Term]] = defaultdict(list)
    for term in sections["Classes"]:
        if term.group:
            capabilities[term.group].append(term)
    units = [t for t in sections[INDIVIDUALS] if str(MLC.UnitOfMeasure) in t.types]
    return Vocabulary(
        iri=ONTOLOGY_IRI,
        title=_first(about, PREFIXES["dcterms"] + "title"),
        description=_first(about, PREFIXES["dcterms"] + "description"),
        version=_first(about, OWL + "versionInfo"),
        version_iri=_first(about, OWL + "versionIRI"),
        license=_first(about, PREFIXES["dcterms"] + "license"),
        sections={heading: listed for heading, listed in sections.items() if listed},
        capabilities=dict(sorted(capabilities.items())),
        units=units,
        rules=[r for r in kg.rules.rules if r.name.startswith("rule ")],
    )


def _term(kg: KnowledgeGraph, iri: str, said: dict[str, list[str]], members: list[tuple[str, str]]) -> Term:
    types = said.get(RDF + "type", [])
    kind = next((KINDS[t] for t in types if t in KINDS), INDIVIDUALS)
    rule = kg.rules.defining(iri)
    return Term(
        iri=iri,
        label=_first(said, RDFS + "label") or compact(iri),
        kind=kind,
        definition=_first(said, SKOS_DEFINITION) or _first(said, RDFS + "comment"),
        types=[t for t in types if t not in KINDS and t != OWL + "FunctionalProperty"],
        superclasses=said.get(RDFS + "subClassOf", []),
        superproperties=said.get(RDFS + "subPropertyOf", []),
        domain=said.get(RDFS + "domain", []),
        range=said.get(RDFS + "range", []),
        functional=OWL + "FunctionalProperty" in types,
        notation=_first(said, SKOS_NOTATION),
        symbol=_first(said, str(MLC.symbol)),
        group=_first(said, str(MLC.capabilityGroup)),
        derivation=rule,
        members=members,
    )


def _first(said: dict[str, list[str]], prop: str) -> str:
    values = said.get(prop, [])
    return sorted(values)[0] if values else ""
