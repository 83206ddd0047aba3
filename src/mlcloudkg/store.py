"""Read access to a built dataset: SPARQL over the Oxigraph store, with results as plain Python values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

import pyoxigraph as ox

from mlcloudkg.build import Build
from mlcloudkg.dataset import (
    DEFAULT,
    INFERRED,
    ONTOLOGY,
    PROVENANCE,
    add_current,
    passage_graphs,
    snapshot_graphs,
)
from mlcloudkg.history import Timeline, passages
from mlcloudkg.reasoning.materialize import materialize
from mlcloudkg.reasoning.rules import RuleSet

XSD = "http://www.w3.org/2001/XMLSchema#"
Row = dict[str, Any]


class GraphStore:
    """A built dataset opened read-only (several processes may open the same build at once), or a view of it:
    the state on another date, or under other rule thresholds."""

    def __init__(
        self,
        build: Build,
        store: ox.Store | None = None,
        *,
        default_graph: ox.NamedNode | None = None,
        inferred_graph: ox.NamedNode = INFERRED,
        state_date: date | None = None,
    ) -> None:
        self.build = build
        self.store = store if store is not None else ox.Store.read_only(str(build.store_path))
        self.default_graph = default_graph  # a snapshot graph, or None for the stored default graph (now)
        self.inferred_graph = inferred_graph  # which graph holds this view's inferences
        self.state_date = state_date or date.fromisoformat(build.manifest["now"])

    def _query(self, query: str) -> Any:
        if self.default_graph is None:
            return self.store.query(query)
        return self.store.query(query, default_graph=self.default_graph)

    def as_of(self, day: date, rules: RuleSet) -> GraphStore:
        """The state on `day`: a stored snapshot if the build has one for it, else computed now."""
        stored = [date.fromisoformat(d) for d in self.build.manifest.get("snapshots", [])]
        earlier = [d for d in stored if d <= day]
        if earlier:
            state_graph, inferred_graph = snapshot_graphs(max(earlier))
            return GraphStore(
                self.build,
                self.store,
                default_graph=state_graph,
                inferred_graph=inferred_graph,
                state_date=max(earlier),
            )
        return self._computed(self.timeline.facts_on(day), rules, {}, day)

    def rematerialized(self, rules: RuleSet, parameters: dict[str, str]) -> GraphStore:
        """This view's asserted facts with the rules re-run under other parameters (thresholds)."""
        facts = self.select_terms(f"""SELECT ?s ?p ?o WHERE {{ ?s ?p ?o
            FILTER NOT EXISTS {{ GRAPH <{self.inferred_graph.value}> {{ ?s ?p ?o }} }}
            FILTER NOT EXISTS {{ GRAPH <{ONTOLOGY.value}> {{ ?s ?p ?o }} }}
            FILTER NOT EXISTS {{ GRAPH <{PROVENANCE.value}> {{ ?s ?p ?o }} }} }}""")
        return self._computed([ox.Triple(f["s"], f["p"], f["o"]) for f in facts], rules, parameters, self.state_date)

    def _computed(
        self, facts: Iterable[ox.Triple], rules: RuleSet, parameters: dict[str, str], day: date
    ) -> GraphStore:
        """An in-memory store laid out like a build: the facts in graph:current and the default graph, with the
        ontology, the provenance and the passage graphs (for sources), then the rules run."""
        scratch = ox.Store()
        for graph in (ONTOLOGY, PROVENANCE, *passage_graphs(self.store)):
            quads = list(self.store.quads_for_pattern(None, None, None, graph))
            scratch.bulk_extend(quads)
            if graph in (ONTOLOGY, PROVENANCE):
                scratch.bulk_extend(ox.Quad(q.subject, q.predicate, q.object, DEFAULT) for q in quads)
        add_current(scratch, facts)
        materialize(scratch, rules, parameters)
        return GraphStore(self.build, scratch, state_date=day)

    @cached_property
    def passages_in_effect(self) -> frozenset[str]:
        """The passage graphs whose facts held on this view's date: the ones to cite for its facts."""
        return frozenset(p.graph.value for p in passages(self.store) if p.holds_on(self.state_date))

    @cached_property
    def timeline(self) -> Timeline:
        """Every passage with its dates and facts (read once: history questions all start from it)."""
        return Timeline.from_store(self.store)

    @property
    def version(self) -> str:
        """Changes with every rebuild from different sources; keys caches and ETags."""
        return self.build.digest

    def select(self, query: str) -> list[Row]:
        """Run a SELECT query; each row maps variable names to Python values (unbound variables are left out)."""
        results = self._query(query)
        if not isinstance(results, ox.QuerySolutions):
            raise TypeError("select() runs SELECT queries only")
        names = [variable.value for variable in results.variables]
        return [
            {name: python_value(term) for name, term in zip(names, solution, strict=True) if term is not None}
            for solution in results
        ]

    def select_terms(self, query: str) -> list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
        """Run a SELECT query; rows map variable names to RDF terms (for code that needs exact terms)."""
        results = self._query(query)
        if not isinstance(results, ox.QuerySolutions):
            raise TypeError("select_terms() runs SELECT queries only")
        names = [variable.value for variable in results.variables]
        return [
            {name: term for name, term in zip(names, solution, strict=True) if term is not None} for solution in results
        ]

    def ask(self, query: str) -> bool:
        return bool(self._query(query))

    def construct(self, query: str) -> Iterator[ox.Triple]:
        results = self._query(query)
        if not isinstance(results, ox.QueryTriples):
            raise TypeError("construct() runs CONSTRUCT and DESCRIBE queries only")
        return iter(results)


def python_value(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> Any:
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
