"""Read access to a built dataset: SPARQL over the Oxigraph store, with results as plain Python values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyoxigraph as ox

from mlcloudkg.build import Build
from mlcloudkg.dataset import ASSERTED, DEFAULT, ONTOLOGY, PROVENANCE, passage_graphs
from mlcloudkg.reasoning.materialize import materialize
from mlcloudkg.reasoning.rules import RuleSet

XSD = "http://www.w3.org/2001/XMLSchema#"
Row = dict[str, Any]


class GraphStore:
    """A built dataset opened read-only. Several processes may open the same build at once."""

    def __init__(self, build: Build, store: ox.Store | None = None) -> None:
        self.build = build
        self.store = store if store is not None else ox.Store.read_only(str(build.store_path))

    def rematerialized(self, rules: RuleSet, parameters: dict[str, str]) -> GraphStore:
        """An in-memory copy of the asserted data with the rules re-run under other parameters."""
        copy = ox.Store()
        for graph in (ASSERTED, ONTOLOGY, PROVENANCE, *passage_graphs(self.store)):
            quads = list(self.store.quads_for_pattern(None, None, None, graph))
            copy.bulk_extend(quads)
            copy.bulk_extend(
                ox.Quad(q.subject, q.predicate, q.object, DEFAULT)
                for q in quads
                if graph in (ASSERTED, ONTOLOGY, PROVENANCE)
            )
        materialize(copy, rules, parameters)
        return GraphStore(self.build, copy)

    @property
    def version(self) -> str:
        """Changes with every rebuild from different sources; keys caches and ETags."""
        return self.build.digest

    def select(self, query: str) -> list[Row]:
        """Run a SELECT query; each row maps variable names to Python values (unbound variables are left out)."""
        results = self.store.query(query)
        if not isinstance(results, ox.QuerySolutions):
            raise TypeError("select() runs SELECT queries only")
        names = [variable.value for variable in results.variables]
        return [
            {name: python_value(term) for name, term in zip(names, solution, strict=True) if term is not None}
            for solution in results
        ]

    def select_terms(self, query: str) -> list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
        """Run a SELECT query; rows map variable names to RDF terms (for code that needs exact terms)."""
        results = self.store.query(query)
        if not isinstance(results, ox.QuerySolutions):
            raise TypeError("select_terms() runs SELECT queries only")
        names = [variable.value for variable in results.variables]
        return [
            {name: term for name, term in zip(names, solution, strict=True) if term is not None} for solution in results
        ]

    def ask(self, query: str) -> bool:
        return bool(self.store.query(query))

    def construct(self, query: str) -> Iterator[ox.Triple]:
        results = self.store.query(query)
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
