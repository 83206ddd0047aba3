"""What the graph says about one resource: its statements out and in, each with the graphs that hold it (asserted
with the passages that state it, inferred, ontology, provenance), labels of every term, readable quantities and
prices, and, for a graph, what it holds. Resource pages show it; its RDF is served by content negotiation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import pyoxigraph as ox

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.cells import money, number
from mlcloudkg.dataset import ASSERTED, CURRENT, DEFAULT, INFERRED, ONTOLOGY, PROVENANCE
from mlcloudkg.namespaces import DCTERMS, MLC, PREFIXES, RDF_TYPE_NODE, SCHEMA, SKOS, compact, sparql_prologue
from mlcloudkg.store import SparqlStore

MAX_NESTING = 3  # levels of blank nodes shown inside a statement (an author, an OWL restriction)
MAX_LISTED = 300  # statements of a graph listed on its page; the rest are in the downloads

# Which label a term gets, best first; English or untagged literals only.
# A passage of a source has no name: its locator ("free-runtime table, row 'GPU'") says which it is.
LABEL_PROPERTIES = (SCHEMA.name, PREFIXES["rdfs"] + "label", SKOS.prefLabel, DCTERMS.title, MLC.sourceLocator)
LABELS = (
    sparql_prologue()
    + """SELECT ?term ?property ?label WHERE {
  VALUES (?term ?property) { %s }
  ?term ?property ?label .
  FILTER(LANG(?label) = "" || LANGMATCHES(LANG(?label), "en"))
}"""
)
QUANTITIES = (
    sparql_prologue()
    + """SELECT ?term ?value ?min ?max ?unit ?unitText ?approximate ?price ?currency WHERE {
  VALUES ?term { %s }
  OPTIONAL { ?term schema:value ?value } OPTIONAL { ?term schema:minValue ?min }
  OPTIONAL { ?term schema:maxValue ?max } OPTIONAL { ?term schema:unitCode ?unit }
  OPTIONAL { ?term schema:unitText ?unitText } OPTIONAL { ?term mlc:approximate ?approximate }
  OPTIONAL { ?term schema:price ?price } OPTIONAL { ?term schema:priceCurrency ?currency }
  FILTER(BOUND(?value) || BOUND(?min) || BOUND(?max) || BOUND(?price))
}"""
)
UNIT_SYMBOLS = (
    sparql_prologue()
    + "SELECT ?code ?symbol WHERE { GRAPH graph:ontology { ?unit a mlc:UnitOfMeasure ; skos:notation ?code ; "
    "mlc:symbol ?symbol } }"
)
PASSAGES = (
    sparql_prologue()
    + """SELECT ?graph ?source ?title ?section ?locator ?quote ?asOf ?validFrom ?validUntil ?status WHERE {
  VALUES ?graph { %s }
  ?graph a mlc:SourcedGraph ; prov:wasDerivedFrom ?source .
  OPTIONAL { ?source dcterms:title ?title } OPTIONAL { ?graph mlc:sourceSection ?section }
  OPTIONAL { ?graph mlc:sourceLocator ?locator } OPTIONAL { ?graph mlc:quote ?quote }
  OPTIONAL { ?graph mlc:asOf ?asOf } OPTIONAL { ?graph mlc:validFrom ?validFrom }
  OPTIONAL { ?graph mlc:validUntil ?validUntil } OPTIONAL { ?graph mlc:epistemicStatus/rdfs:label ?status }
}"""
)
PER_UNIT = {"MON": "month", "HUR": "hour", "ANN": "year", "DAY": "day"}

Node = ox.NamedNode | ox.BlankNode | ox.Literal


@dataclass
class Term:
    """A node as a page shows it: its label, and for a quantity or price its value in words."""

    node: Node
    label: str
    summary: str = ""  # "up to 12 hours", "$8/month"
    nested: list[Statement] = field(default_factory=list)  # a blank node's own statements

    @property
    def iri(self) -> str | None:
        return self.node.value if isinstance(self.node, ox.NamedNode) else None

    @property
    def is_literal(self) -> bool:
        return isinstance(self.node, ox.Literal)

    @property
    def datatype(self) -> str:
        """The literal's datatype, compacted, unless it is a plain string."""
        if not isinstance(self.node, ox.Literal) or self.node.language:
            return ""
        datatype = self.node.datatype.value
        return "" if datatype.endswith("#string") else compact(datatype)

    @property
    def language(self) -> str:
        return self.node.language or "" if isinstance(self.node, ox.Literal) else ""


@dataclass
class Passage:
    """A passage of a source: a named graph holding exactly the facts it states."""

    graph: str
    source: str
    source_title: str
    section: str = ""
    locator: str = ""
    quote: str = ""
    as_of: str = ""
    valid_from: str = ""
    valid_until: str = ""
    status: str = ""
    in_effect: bool = True  # its facts hold on the date of the state shown

    @property
    def start(self) -> str:
        return self.valid_from or self.as_of


@dataclass
class Statement:
    """One statement about the resource: the property and the value at the other end, and where it is held."""

    subject: Term
    predicate: Term
    object: Term
    graphs: frozenset[str]
    passages: list[Passage] = field(default_factory=list)

    @property
    def asserted(self) -> bool:
        return ASSERTED.value in self.graphs

    @property
    def inferred(self) -> bool:
        """Derived by the reasoner and stated by no source."""
        return INFERRED.value in self.graphs and not self.asserted

    @property
    def holds(self) -> bool:
        """Part of the state shown: a source's statement that is superseded or has ended is history only."""
        return not self.asserted or CURRENT.value in self.graphs

    @property
    def in_ontology(self) -> bool:
        return ONTOLOGY.value in self.graphs

    @property
    def in_provenance(self) -> bool:
        return PROVENANCE.value in self.graphs


@dataclass
class HistoryEntry:
    """One passage about the resource, in date order: what it said, and which of that still holds."""

    passage: Passage
    statements: list[Statement]


@dataclass
class Description:
    iri: str
    label: str
    types: list[Statement]
    outgoing: list[Statement]
    incoming: list[Statement]
    passage: Passage | None = None  # when the resource is a passage of a source
    graph_size: int | None = None  # when the resource names a graph
    held: list[Statement] = field(default_factory=list)  # the statements of that graph (up to MAX_LISTED)
    history: list[HistoryEntry] = field(default_factory=list)  # the passages stating its properties, oldest first


def exists(kg: KnowledgeGraph, iri: str) -> bool:
    """Whether the dataset mentions the IRI anywhere: as a subject, object or graph name (False for a non-IRI)."""
    try:
        node = ox.NamedNode(iri)
    except ValueError:
        return False
    store = kg.store
    return bool(store.quads(node, limit=1) or store.quads(None, None, node, limit=1) or store.graph_size(node))


def describe(kg: KnowledgeGraph, iri: str) -> Description:
    """Everything the graph says about `iri`, ready to show."""
    store = kg.store
    node = ox.NamedNode(iri)
    out = _grouped(store.quads(node))
    into = _grouped(store.quads(None, None, node))
    graph_quads = store.quads(graph=node, limit=MAX_LISTED)
    held_size = store.graph_size(node) if graph_quads else None
    held = _grouped(ox.Quad(q.subject, q.predicate, q.object, node) for q in graph_quads)
    nested = _blank_closure(store, [o for (_, _, o) in [*out, *held] if isinstance(o, ox.BlankNode)])

    nodes = {node} | {n for triples in (out, into, held, nested) for t in triples for n in t}
    labels = _labels(kg, [n for n in nodes if isinstance(n, ox.NamedNode)])
    summaries = _summaries(kg, [n for n in nodes if isinstance(n, ox.NamedNode | ox.BlankNode)])
    graphs = {g for triples in (out, into, held) for gs in triples.values() for g in gs}
    passages = passages_of(kg, sorted({*graphs, iri}))

    def term(n: Node, depth: int = 0) -> Term:
        shown = Term(n, labels.get(n, _fallback_label(n)), summaries.get(n, ""))
        if isinstance(n, ox.BlankNode) and depth < MAX_NESTING:
            shown.nested = [
                Statement(shown, term(p), term(o, depth + 1), frozenset())
                for (s, p, o) in sorted(nested, key=_order)
                if s == n
            ]
        return shown

    def statements(triples: dict[tuple[Node, Node, Node], set[str]]) -> list[Statement]:
        made = [
            Statement(term(s), term(p), term(o), frozenset(gs), [passages[g] for g in sorted(gs) if g in passages])
            for (s, p, o), gs in triples.items()
        ]
        return sorted(made, key=lambda st: (st.predicate.label.lower(), st.subject.label.lower(), st.object.label))

    outgoing = statements(out)
    return Description(
        iri=iri,
        label=labels.get(node, compact(iri)),
        types=[s for s in outgoing if s.predicate.node == RDF_TYPE_NODE and s.holds],
        outgoing=[s for s in outgoing if s.predicate.node != RDF_TYPE_NODE and s.holds],
        incoming=[s for s in statements(into) if s.holds],
        passage=passages.get(iri),
        graph_size=held_size,
        held=statements(held),
        history=_history(outgoing),
    )


def _history(outgoing: list[Statement]) -> list[HistoryEntry]:
    by_passage: dict[str, HistoryEntry] = {}
    for statement in outgoing:
        for passage in statement.passages:
            by_passage.setdefault(passage.graph, HistoryEntry(passage, [])).statements.append(statement)
    return sorted(by_passage.values(), key=lambda entry: (entry.passage.start, entry.passage.graph))


def triples(kg: KnowledgeGraph, iri: str) -> list[ox.Triple]:
    """The resource's statements as RDF: out (with the blank nodes they reach) and in, from the default graph."""
    store = kg.store
    node = ox.NamedNode(iri)
    out = [q.triple for q in store.quads(node, graph=DEFAULT)]
    blank = [o for (_, _, o) in out if isinstance(o, ox.BlankNode)]
    closure = [ox.Triple(*t) for t in _blank_closure(store, blank, DEFAULT)]
    into = [q.triple for q in store.quads(None, None, node, DEFAULT)]
    return out + closure + into


def quads(kg: KnowledgeGraph, iri: str) -> list[ox.Quad]:
    """The resource's statements in the default graph and, when it names a graph, everything that graph holds."""
    described = [ox.Quad(*t, DEFAULT) for t in triples(kg, iri)]
    return described + kg.store.quads(graph=ox.NamedNode(iri))


# -- helpers ----------------------------------------------------------------------------------------------------


def _grouped(found: Iterable[ox.Quad]) -> dict[tuple[Node, Node, Node], set[str]]:
    """Statements and the named graphs that hold each (the default graph, the merge of them all, is left out)."""
    grouped: dict[tuple[Node, Node, Node], set[str]] = defaultdict(set)
    for quad in found:
        key = (quad.subject, quad.predicate, quad.object)
        if isinstance(quad.graph_name, ox.NamedNode):
            grouped[key].add(quad.graph_name.value)
        else:
            grouped.setdefault(key, set())
    return grouped


def _blank_closure(
    store: SparqlStore, roots: list[ox.BlankNode], graph: ox.DefaultGraph | None = DEFAULT
) -> list[tuple[Node, Node, Node]]:
    """The statements of blank nodes reachable from `roots`, breadth first, up to MAX_NESTING levels."""
    found: list[tuple[Node, Node, Node]] = []
    seen: set[ox.BlankNode] = set()
    frontier = list(dict.fromkeys(roots))
    for _ in range(MAX_NESTING):
        following = []
        for blank in frontier:
            if blank in seen:
                continue
            seen.add(blank)
            for quad in store.quads(blank, graph=graph):
                found.append((quad.subject, quad.predicate, quad.object))
                if isinstance(quad.object, ox.BlankNode):
                    following.append(quad.object)
        frontier = following
    return found


def _order(triple: tuple[Node, Node, Node]) -> tuple[str, str]:
    return (triple[1].value, str(triple[2]))


def _fallback_label(node: Node) -> str:
    if isinstance(node, ox.NamedNode):
        return compact(node.value)
    if isinstance(node, ox.BlankNode):
        return "(anonymous)"
    return node.value


def _values(nodes: list[ox.NamedNode]) -> str:
    return " ".join(str(n) for n in nodes)


def labels(kg: KnowledgeGraph, iris: list[str]) -> dict[str, str]:
    """The label of each IRI that has one (schema:name, rdfs:label, skos:prefLabel, dcterms:title, a locator)."""
    return {node.value: label for node, label in _labels(kg, [ox.NamedNode(iri) for iri in iris]).items()}


def readable_names(kg: KnowledgeGraph, iris: list[str]) -> dict[str, str]:
    """How a page names each IRI: a quantity or a price by its value in words ("up to 12 h"), else its label."""
    nodes = [ox.NamedNode(iri) for iri in iris]
    summaries = _summaries(kg, list(nodes))
    return {**labels(kg, iris), **{node.value: text for node, text in summaries.items() if text}}  # type: ignore[union-attr]


def _labels(kg: KnowledgeGraph, nodes: list[ox.NamedNode]) -> dict[Node, str]:
    if not nodes:
        return {}
    rank = {str(p): i for i, p in enumerate(LABEL_PROPERTIES)}
    best: dict[Node, tuple[int, str]] = {}
    # Each (term, property) pair given: with a VALUES for each, Oxigraph read every statement of the store
    # first (7 s for 100 terms at 10M triples, against 7 ms).
    pairs = " ".join(f"({node} <{prop}>)" for node in nodes for prop in LABEL_PROPERTIES)
    for row in kg.store.select_terms(LABELS % pairs):
        candidate = (rank[row["property"].value], row["label"].value)
        if row["term"] not in best or candidate < best[row["term"]]:
            best[row["term"]] = candidate
    return {n: label for n, (_, label) in best.items()}


def _summaries(kg: KnowledgeGraph, nodes: list[ox.NamedNode | ox.BlankNode]) -> dict[Node, str]:
    """Quantities and prices in words. Blank nodes cannot be named in SPARQL, so only IRIs are summarised."""
    iris = [n for n in nodes if isinstance(n, ox.NamedNode)]
    if not iris:
        return {}
    symbols = {row["code"]: row["symbol"] for row in kg.query(UNIT_SYMBOLS)}
    summaries: dict[Node, str] = {}
    for row in kg.store.select_terms(QUANTITIES % _values(iris)):
        values = {k: v.value for k, v in row.items()}
        summaries.setdefault(row["term"], _in_words(values, symbols))
    return summaries


def _in_words(row: dict[str, str], symbols: dict[str, str]) -> str:
    if "price" in row:
        amount = money(Decimal(row["price"]), row.get("currency", "USD"))
        per = PER_UNIT.get(row.get("unit", ""))
        return f"{amount}/{per}" if per else amount
    unit = symbols.get(row.get("unit", ""), row.get("unitText", row.get("unit", "")))
    approximate = "~" if row.get("approximate") in {"true", "1"} else ""
    value, low, high = row.get("value"), row.get("min"), row.get("max")
    if value and high:
        text = f"{number(value)} (up to {number(high)})"
    elif low and high:
        text = f"{number(low)} to {number(high)}"
    elif high:
        text = f"up to {number(high)}"
    elif low:
        text = f"at least {number(low)}"
    else:
        text = number(value) if value else ""
    return f"{approximate}{text} {unit}".strip()


def passages_of(kg: KnowledgeGraph, graphs: list[str]) -> dict[str, Passage]:
    """The passages named by `graphs`, described for a reader (graphs that are not passages are left out)."""
    if not graphs:
        return {}
    in_effect = kg.store.passages_in_effect(graphs)
    passages = {}
    for row in kg.query(PASSAGES % " ".join(f"<{g}>" for g in graphs)):
        passages[row["graph"]] = Passage(
            graph=row["graph"],
            source=row["source"],
            source_title=row.get("title", compact(row["source"])),
            section=row.get("section", ""),
            locator=row.get("locator", ""),
            quote=row.get("quote", ""),
            as_of=str(row.get("asOf", "")),
            valid_from=str(row.get("validFrom", "")),
            valid_until=str(row.get("validUntil", "")),
            status=row.get("status", ""),
            in_effect=row["graph"] in in_effect,
        )
    return passages
