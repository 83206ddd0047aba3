"""Read access to the dataset: SPARQL over the built Oxigraph store or over any SPARQL 1.1 endpoint, with the same
interface, so that everything above (the Python API, explanations, the finder, the comparison) runs on either.

Every store answers `evaluate` with pyoxigraph's own result objects; `select`, `select_terms`, `ask` and `construct`
are written once, on top of it. A store is also a view of the dataset: the state now (the stored default graph), or
on another date (a snapshot graph as the default graph, or a state computed on demand), or under other rule
thresholds; everything above asks the view it is given and never needs to know which.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from functools import cached_property
from itertools import islice
from typing import Any

import pyoxigraph as ox

from mlcloudkg.build import Build
from mlcloudkg.dataset import DEFAULT, INFERRED, ONTOLOGY, PROVENANCE, add_current, snapshot_graphs
from mlcloudkg.endpoint.executor import Evaluation, Evaluators
from mlcloudkg.errors import QueryRejected
from mlcloudkg.history import Passage, Timeline, change_dates, passages
from mlcloudkg.namespaces import MLC
from mlcloudkg.reasoning.materialize import materialize
from mlcloudkg.reasoning.rules import RuleSet

XSD = "http://www.w3.org/2001/XMLSchema#"
Term = ox.NamedNode | ox.BlankNode | ox.Literal
Row = dict[str, Any]
TermRow = dict[str, Term]
# What a query gives: solutions (SELECT), a boolean (ASK) or triples (CONSTRUCT, DESCRIBE).
QueryResult = ox.QuerySolutions | ox.QueryBoolean | Iterator[ox.Triple]
Pattern = tuple[str, str, str | None]  # subject and predicate IRIs, and an object IRI or None for any
Subject = ox.NamedNode | ox.BlankNode
GraphName = ox.NamedNode | ox.DefaultGraph
SYNTAX = "SPARQL 1.1 query syntax, https://www.w3.org/TR/sparql11-query/"


class SparqlStore(ABC):
    """A read-only SPARQL dataset, seen as the state on one date."""

    # Which graph is this view's default graph (None: the store's own, which holds the latest state), which graph
    # holds its inferences, and the date of its state (None: the latest one the data knows of).
    default_graph: ox.NamedNode | None = None
    inferred_graph: ox.NamedNode = INFERRED
    _state_date: date | None = None
    _latest_state: date | None = None  # the date of the latest state, when the build or publish record says it

    @property
    @abstractmethod
    def version(self) -> str:
        """Identifies the data the store holds; keys caches and ETags."""

    @abstractmethod
    def evaluate(self, query: str) -> QueryResult:
        """Run a query of any form against this view; raises QueryRejected for a query the store cannot run."""

    @abstractmethod
    def view(self, default_graph: ox.NamedNode, inferred_graph: ox.NamedNode, state_date: date) -> SparqlStore:
        """The same data with a stored snapshot as the default graph."""

    def for_whole_graph_reads(self) -> SparqlStore:
        """This view for the reads over the whole dataset that the service makes for itself, each once per version
        (the passages, the service list, the finder's index, the downloads): they get the time they need, not the
        time limit of a client's query (over a remote store of 10M triples, some take longer). This store itself,
        unless its queries have a time limit (a remote store's do; one in this process has none)."""
        return self

    # -- time ---------------------------------------------------------------------------------------------------

    @cached_property
    def passages(self) -> list[Passage]:
        """Every source passage with its dates (read once)."""
        return passages(self.for_whole_graph_reads().select_terms)

    @cached_property
    def timeline(self) -> Timeline:
        """Every passage with its dates and facts (read once: history questions all start from it)."""
        return Timeline.read(self.for_whole_graph_reads().select_terms)

    @property
    def state_date(self) -> date:
        """The date whose state this view answers for."""
        if self._state_date is None:
            self._state_date = self.latest_state
        return self._state_date

    @property
    def latest_state(self) -> date:
        """The date of the latest known state, whatever date this view answers for: as the build's manifest or the
        store's publish record says, else found from the passages (read once: 1.3 s over a store of 1M triples)."""
        if self._latest_state is None:
            self._latest_state = max(change_dates(self.passages))
        return self._latest_state

    def passages_in_effect(self, graphs: Iterable[str]) -> frozenset[str]:
        """Those of `graphs` that are passages whose facts held on this view's date: the ones to cite for its facts.
        Asked of these graphs only: reading every passage took 18 s at 10M triples (297,066 passages)."""
        wanted = set(graphs)
        if not wanted:
            return frozenset()
        return frozenset(p.graph.value for p in passages(self.select_terms, wanted) if p.holds_on(self.state_date))

    def snapshot_dates(self) -> list[date]:
        """The dates the dataset holds a snapshot graph for (mlc:Snapshot, described in graph:provenance)."""
        rows = self.select_terms(
            f"SELECT ?day WHERE {{ GRAPH <{PROVENANCE.value}> {{ ?snapshot a <{MLC.Snapshot}> ; "
            f"<{MLC.snapshotDate}> ?day }} }}"
        )
        return sorted(date.fromisoformat(row["day"].value) for row in rows)

    def as_of(self, day: date, rules: RuleSet) -> SparqlStore:
        """The state on `day`: the stored snapshot of the latest change on or before it, else computed now (when
        the dataset has no snapshots, e.g. too many change dates, or `day` is before the first)."""
        earlier = [d for d in self.snapshot_dates() if d <= day]
        latest_change = max((d for d in change_dates(self.passages) if d <= day), default=None)
        if earlier and max(earlier) == latest_change:
            state_graph, inferred_graph = snapshot_graphs(max(earlier))
            return self.view(state_graph, inferred_graph, max(earlier))
        return self._computed(self.timeline.facts_on(day), rules, {}, day)

    def graphs_holding(self, patterns: list[Pattern]) -> dict[Pattern, set[str]]:
        """For each (subject, predicate, object or None) pattern, the named graphs holding a matching statement."""
        found: dict[Pattern, set[str]] = {pattern: set() for pattern in patterns}
        for start in range(0, len(patterns), 200):  # a VALUES block of bounded size per query
            chunk = patterns[start : start + 200]
            values = " ".join(f"(<{s}> <{p}> {f'<{o}>' if o else 'UNDEF'})" for s, p, o in chunk)
            rows = self.select_terms(
                f"SELECT ?s ?p ?o ?g WHERE {{ VALUES (?s ?p ?o) {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }}"
            )
            for row in rows:
                subject, predicate, value = row["s"].value, row["p"].value, row["o"]
                exact = (subject, predicate, value.value if isinstance(value, ox.NamedNode) else None)
                for key in {exact, (subject, predicate, None)} & found.keys():
                    found[key].add(row["g"].value)
        return found

    # -- statements ---------------------------------------------------------------------------------------------

    def quads(
        self,
        subject: Subject | None = None,
        predicate: ox.NamedNode | None = None,
        object_: Term | None = None,
        graph: GraphName | None = None,
        *,
        limit: int | None = None,
    ) -> list[ox.Quad]:
        """The statements matching a pattern (None: any), in `graph`: a named graph, DEFAULT (this view's default
        graph) or None (every graph, the default one included), like pyoxigraph's quads_for_pattern.

        Written in SPARQL here, for any store; a blank node that the store cannot be asked about matches nothing."""
        given = {"s": subject, "p": predicate, "o": object_}
        written = {name: self._in_query(term) if term is not None else f"?{name}" for name, term in given.items()}
        if None in written.values():
            return []
        pattern = f"{written['s']} {written['p']} {written['o']}"
        if graph is None:
            where = f"{{ {pattern} }} UNION {{ GRAPH ?g {{ {pattern} }} }}"
        elif isinstance(graph, ox.DefaultGraph):
            where = pattern
        else:
            where = f"GRAPH <{graph.value}> {{ {pattern} }}"
        wanted = " ".join(f"?{name}" for name, term in given.items() if term is None)
        rows = self.select_terms(
            f"SELECT {wanted} ?g WHERE {{ {where} }}" + (f" LIMIT {limit}" if limit is not None else "")
        )
        return [
            ox.Quad(
                row.get("s", subject),  # type: ignore[arg-type]
                row.get("p", predicate),  # type: ignore[arg-type]
                row.get("o", object_),  # type: ignore[arg-type]
                row.get("g", graph if isinstance(graph, ox.NamedNode) else DEFAULT),  # type: ignore[arg-type]
            )
            for row in rows
        ]

    def _in_query(self, term: Term) -> str | None:
        """A term as SPARQL writes it; None for a blank node (a query cannot name one)."""
        return None if isinstance(term, ox.BlankNode) else str(term)

    def named_graphs(self) -> list[ox.NamedNode]:
        """Every named graph of the dataset."""
        rows = self.select_terms("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }")
        return sorted((row["g"] for row in rows if isinstance(row["g"], ox.NamedNode)), key=lambda g: g.value)

    def graph_size(self, graph: ox.NamedNode) -> int:
        """How many statements a named graph holds."""
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}")
        return int(rows[0]["n"]) if rows else 0

    # -- other thresholds -----------------------------------------------------------------------------------------

    def rematerialized(self, rules: RuleSet, parameters: dict[str, str]) -> GraphStore:
        """This view's asserted facts with the rules re-run under other parameters: what the closure would be with
        other thresholds. Reads the data through SPARQL, so it works the same over a remote store."""
        facts = self.select_terms(f"""SELECT ?s ?p ?o WHERE {{ ?s ?p ?o
            FILTER NOT EXISTS {{ GRAPH <{self.inferred_graph.value}> {{ ?s ?p ?o }} }}
            FILTER NOT EXISTS {{ GRAPH <{ONTOLOGY.value}> {{ ?s ?p ?o }} }}
            FILTER NOT EXISTS {{ GRAPH <{PROVENANCE.value}> {{ ?s ?p ?o }} }} }}""")
        return self._computed([ox.Triple(f["s"], f["p"], f["o"]) for f in facts], rules, parameters, self.state_date)

    def _computed(
        self, facts: Iterable[ox.Triple], rules: RuleSet, parameters: dict[str, str], day: date
    ) -> GraphStore:
        """An in-memory dataset laid out like a build: the facts in graph:current and the default graph, with the
        ontology, the provenance and the passage graphs (for sources), then the rules run."""
        scratch = ox.Store()
        rows = self.select_terms(f"""SELECT ?g ?s ?p ?o WHERE {{
            {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g IN (<{ONTOLOGY.value}>, <{PROVENANCE.value}>)) }}
            UNION {{ GRAPH <{PROVENANCE.value}> {{ ?g a <{MLC.SourcedGraph}> }} GRAPH ?g {{ ?s ?p ?o }} }} }}""")
        background = {ONTOLOGY, PROVENANCE}
        scratch.bulk_extend(
            quad
            for row in rows
            for quad in (
                ox.Quad(row["s"], row["p"], row["o"], row["g"]),
                *((ox.Quad(row["s"], row["p"], row["o"]),) if row["g"] in background else ()),
            )
        )
        add_current(scratch, facts)
        materialize(scratch, rules, parameters)
        key = ",".join(f"{name}={value}" for name, value in sorted(parameters.items()))
        return GraphStore(scratch, f"{self.version}@{day.isoformat()}+{key}", state_date=day)

    # -- reading --------------------------------------------------------------------------------------------------

    def select(self, query: str) -> list[Row]:
        """Run a SELECT query; each row maps variable names to Python values (unbound variables are left out)."""
        return [{name: python_value(term) for name, term in row.items()} for row in self.select_terms(query)]

    def select_terms(self, query: str) -> list[TermRow]:
        """Run a SELECT query; rows map variable names to RDF terms (for code that needs exact terms)."""
        results = self.evaluate(query)
        if not isinstance(results, ox.QuerySolutions):
            raise TypeError("select() and select_terms() run SELECT queries only")
        return solution_rows(results)

    def ask(self, query: str) -> bool:
        """Run an ASK query."""
        results = self.evaluate(query)
        if not isinstance(results, ox.QueryBoolean):
            raise TypeError("ask() runs ASK queries only")
        return bool(results)

    def construct(self, query: str) -> list[ox.Triple]:
        """Run a CONSTRUCT or DESCRIBE query."""
        results = self.evaluate(query)
        if isinstance(results, ox.QuerySolutions | ox.QueryBoolean):
            raise TypeError("construct() runs CONSTRUCT and DESCRIBE queries only")
        return list(results)


class GraphStore(SparqlStore):
    """A pyoxigraph store in this process: a build opened read-only (`GraphStore.open`), or an in-memory dataset.

    Several processes may open the same build at once."""

    def __init__(
        self,
        store: ox.Store,
        version: str,
        build: Build | None = None,
        *,
        default_graph: ox.NamedNode | None = None,
        inferred_graph: ox.NamedNode = INFERRED,
        state_date: date | None = None,
    ) -> None:
        self.store = store
        self.build = build
        self._version = version
        self.default_graph = default_graph
        self.inferred_graph = inferred_graph
        self._state_date = state_date
        self._latest_state = date.fromisoformat(build.manifest["now"]) if build is not None else None

    @classmethod
    def open(cls, build: Build) -> GraphStore:
        return cls(
            ox.Store.read_only(str(build.store_path)),
            build.digest,
            build,
            state_date=date.fromisoformat(build.manifest["now"]),
        )

    def view(self, default_graph: ox.NamedNode, inferred_graph: ox.NamedNode, state_date: date) -> GraphStore:
        return GraphStore(
            self.store,
            self.version,
            self.build,
            default_graph=default_graph,
            inferred_graph=inferred_graph,
            state_date=state_date,
        )

    @cached_property
    def timeline(self) -> Timeline:
        return Timeline.from_store(self.store)  # index look-ups: much faster than reading it through SPARQL

    @property
    def latest_state(self) -> date:
        # The build knows it: reading every passage to find it took 18 s at 10M triples.
        return date.fromisoformat(self.build.manifest["now"]) if self.build is not None else super().latest_state

    def graphs_holding(self, patterns: list[Pattern]) -> dict[Pattern, set[str]]:
        # Index look-ups: a query joining every pattern with GRAPH ?g took most of the time of a comparison.
        found: dict[Pattern, set[str]] = {}
        for pattern in patterns:
            subject, predicate, wanted = pattern
            quads = self.store.quads_for_pattern(
                ox.NamedNode(subject), ox.NamedNode(predicate), ox.NamedNode(wanted) if wanted else None, None
            )
            found[pattern] = {q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode)}
        return found

    def quads(
        self,
        subject: Subject | None = None,
        predicate: ox.NamedNode | None = None,
        object_: Term | None = None,
        graph: GraphName | None = None,
        *,
        limit: int | None = None,
    ) -> list[ox.Quad]:
        # Index look-ups, without a query to parse.
        if isinstance(graph, ox.DefaultGraph) and self.default_graph is not None:
            found = (
                ox.Quad(q.subject, q.predicate, q.object, DEFAULT)
                for q in self.store.quads_for_pattern(subject, predicate, object_, self.default_graph)
            )
        else:
            found = self.store.quads_for_pattern(subject, predicate, object_, graph)
        return list(islice(found, limit))

    def named_graphs(self) -> list[ox.NamedNode]:
        return sorted((g for g in self.store.named_graphs() if isinstance(g, ox.NamedNode)), key=lambda g: g.value)

    def graph_size(self, graph: ox.NamedNode) -> int:
        return sum(1 for _ in self.store.quads_for_pattern(None, None, None, graph))

    def snapshot_dates(self) -> list[date]:
        if self.build is None:
            return []  # an in-memory dataset (a computed state) holds no snapshot graphs
        return [date.fromisoformat(d) for d in self.build.manifest.get("snapshots", [])]

    @property
    def version(self) -> str:
        """The build's digest: changes with every rebuild from different sources."""
        return self._version

    def evaluate(self, query: str) -> QueryResult:
        try:
            if self.default_graph is None:
                return self.store.query(query)
            return self.store.query(query, default_graph=self.default_graph)
        except SyntaxError as error:
            raise QueryRejected(f"SPARQL syntax error: {error}", SYNTAX) from None


class WorkerStore(SparqlStore):
    """A build queried in a worker process that is killed at the time limit (endpoint/executor.py), with the
    result-size limit: for queries written by someone, as on the command line. Starting the worker costs a
    process; GraphStore answers in this process, for our own queries."""

    def __init__(
        self,
        build: Build,
        timeout: float,
        max_result_bytes: int,
        max_memory_bytes: int,
        default_graph: ox.NamedNode | None = None,
    ) -> None:
        self._build = build
        self._version = build.digest
        self._state_date = self._latest_state = date.fromisoformat(build.manifest["now"])
        self._limits = (timeout, max_result_bytes, max_memory_bytes)
        self.default_graph = default_graph  # a snapshot, when the query is asked as of a date
        self._evaluators = Evaluators(
            build.store_path,
            1,
            timeout=timeout,
            max_result_bytes=max_result_bytes,
            max_memory_bytes=max_memory_bytes,
            max_waiting=0,
        )

    def view(self, default_graph: ox.NamedNode, inferred_graph: ox.NamedNode, state_date: date) -> WorkerStore:
        view = WorkerStore(self._build, *self._limits, default_graph)
        view.inferred_graph, view._state_date = inferred_graph, state_date
        return view

    @property
    def version(self) -> str:
        return self._version

    def evaluate(self, query: str) -> QueryResult:
        try:
            # Parsing against an empty store says the form (the worker must know which format to answer in).
            shape = ox.Store().query(query)
        except SyntaxError as error:
            raise QueryRejected(f"SPARQL syntax error: {error}", SYNTAX) from None
        graph_form = not isinstance(shape, ox.QuerySolutions | ox.QueryBoolean)
        media_type = "application/n-triples" if graph_form else "application/sparql-results+json"
        dataset = (self.default_graph.value,) if self.default_graph is not None else None
        body = self._evaluators.evaluate(Evaluation(query, media_type, default_graphs=dataset)).body
        if graph_form:
            return iter([quad.triple for quad in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)])
        return ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)

    def close(self) -> None:
        """Stop the worker."""
        self._evaluators.close()


def solution_rows(results: ox.QuerySolutions) -> list[TermRow]:
    """Rows of terms, unbound variables left out."""
    names = [variable.value for variable in results.variables]
    return [
        {name: term for name, term in zip(names, solution, strict=True) if term is not None} for solution in results
    ]


def python_value(term: Term | ox.Triple) -> Any:
    """IRIs as str, literals as int/Decimal/float/bool/date/str by datatype, blank nodes as '_:id'."""
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if not isinstance(term, ox.Literal):
        return str(term)
    datatype = term.datatype.value.removeprefix(XSD)
    try:
        if datatype in {"integer", "int", "long", "short", "nonNegativeInteger", "positiveInteger"}:
            return int(term.value)
        if datatype == "decimal":
            return Decimal(term.value)
        if datatype in {"double", "float"}:
            return float(term.value)
        if datatype == "boolean":
            return term.value in {"true", "1"}
        if datatype == "date":
            return dt.date.fromisoformat(term.value)
    except ValueError:
        return term.value
    return term.value
