"""Read access to the dataset: SPARQL over the built Oxigraph store or over any SPARQL 1.1 endpoint, with the same
interface, so that everything above (the Python API, explanations, the finder, the comparison) runs on either.

Every store answers `evaluate` with pyoxigraph's own result objects; `select`, `select_terms`, `ask` and `construct`
are written once, on top of it.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import socket
import urllib.error
from abc import ABC, abstractmethod
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from mlcloudkg import __version__
from mlcloudkg.build import Build
from mlcloudkg.dataset import ASSERTED, DEFAULT, INFERRED, ONTOLOGY, PROVENANCE
from mlcloudkg.endpoint.executor import Evaluation, Evaluators
from mlcloudkg.errors import ConfigurationError, QueryRejected, StoreTimeout, StoreUnavailable
from mlcloudkg.reasoning.materialize import materialize
from mlcloudkg.reasoning.rules import RuleSet

XSD = "http://www.w3.org/2001/XMLSchema#"
Term = ox.NamedNode | ox.BlankNode | ox.Literal
Row = dict[str, Any]
TermRow = dict[str, Term]
# What a query gives: solutions (SELECT), a boolean (ASK) or triples (CONSTRUCT, DESCRIBE).
QueryResult = ox.QuerySolutions | ox.QueryBoolean | Iterator[ox.Triple]
SYNTAX = "SPARQL 1.1 query syntax, https://www.w3.org/TR/sparql11-query/"


class SparqlStore(ABC):
    """A read-only SPARQL dataset."""

    @property
    @abstractmethod
    def version(self) -> str:
        """Identifies the data the store holds; keys caches and ETags."""

    @abstractmethod
    def evaluate(self, query: str) -> QueryResult:
        """Run a query of any form; raises QueryRejected for a query the store cannot run."""

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

    def rematerialized(self, rules: RuleSet, parameters: dict[str, str]) -> GraphStore:
        """An in-memory copy of the asserted data (with its provenance and the ontology), the rules re-run on it
        under other parameters: what the closure would be with other thresholds.

        Reads the data through SPARQL, so it works the same over a remote store."""
        copy = ox.Store()
        rows = self.select_terms(
            f"SELECT ?g ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{INFERRED.value}>) }}"
        )
        # The default graph is the merge of the whole-dataset graphs (see dataset.py); the reasoner reads it.
        merged = {ASSERTED, ONTOLOGY, PROVENANCE}
        copy.bulk_extend(
            quad
            for row in rows
            for quad in (
                ox.Quad(row["s"], row["p"], row["o"], row["g"]),
                *((ox.Quad(row["s"], row["p"], row["o"], DEFAULT),) if row["g"] in merged else ()),
            )
        )
        materialize(copy, rules, parameters)
        key = ",".join(f"{name}={value}" for name, value in sorted(parameters.items()))
        return GraphStore(copy, f"{self.version}+{key}")


class GraphStore(SparqlStore):
    """A pyoxigraph store in this process: a build opened read-only (`GraphStore.open`), or an in-memory dataset.

    Several processes may open the same build at once."""

    def __init__(self, store: ox.Store, version: str, build: Build | None = None) -> None:
        self.store = store
        self.build = build
        self._version = version

    @classmethod
    def open(cls, build: Build) -> GraphStore:
        return cls(ox.Store.read_only(str(build.store_path)), build.digest, build)

    @property
    def version(self) -> str:
        """The build's digest: changes with every rebuild from different sources."""
        return self._version

    def evaluate(self, query: str) -> QueryResult:
        try:
            return self.store.query(query)
        except SyntaxError as error:
            raise QueryRejected(f"SPARQL syntax error: {error}", SYNTAX) from None


class WorkerStore(SparqlStore):
    """A build queried in a worker process that is killed at the time limit (endpoint/executor.py), with the
    result-size limit: for queries written by someone, as on the command line. Starting the worker costs a
    process; GraphStore answers in this process, for our own queries."""

    def __init__(self, build: Build, timeout: float, max_result_bytes: int) -> None:
        self._version = build.digest
        self._evaluators = Evaluators(build.store_path, 1, timeout, max_result_bytes)

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
        body = self._evaluators.evaluate(Evaluation(query, media_type)).body
        if graph_form:
            return iter([quad.triple for quad in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)])
        return ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)

    def close(self) -> None:
        """Stop the worker."""
        self._evaluators.close()


class RemoteStore(SparqlStore):
    """Any SPARQL 1.1 endpoint, queried through SPARQLWrapper: POST, SPARQL JSON results for SELECT and ASK,
    Turtle (or whatever RDF syntax the endpoint answers with) for CONSTRUCT and DESCRIBE.

    A remote store cannot tell when its data changes: `version` names the endpoint, unless given (e.g. the digest
    of the build that was published to it), and keys caches and ETags."""

    def __init__(self, endpoint: str, *, timeout: float = 30.0, version: str | None = None) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"{endpoint!r} is not the URL of a SPARQL endpoint — accepted: an http:// or https:// URL, "
                "e.g. http://127.0.0.1:5000/sparql"
            )
        if not timeout > 0:
            raise ConfigurationError(f"a remote store's timeout of {timeout} s — accepted: a number of seconds > 0")
        self.endpoint = endpoint
        self.timeout = timeout
        self._version = version or "remote-" + hashlib.sha256(endpoint.encode()).hexdigest()[:16]

    @property
    def version(self) -> str:
        return self._version

    def evaluate(self, query: str) -> QueryResult:
        # A new client per query: SPARQLWrapper objects hold per-query state and are not shared between threads.
        client = SPARQLWrapper(self.endpoint, agent=f"mlcloudkg/{__version__}")
        client.setMethod(POST)
        # The documented attribute, not setTimeout(): that truncates to whole seconds, and 0.5 would mean no limit.
        client.timeout = self.timeout  # type: ignore[assignment]
        client.setQuery(query)
        if client.isSparqlUpdateRequest():
            raise QueryRejected(
                "SPARQL Update is not accepted: the store is read from, never written to",
                "SELECT, ASK, CONSTRUCT or DESCRIBE queries",
            )
        graph_form = client.queryType in {"CONSTRUCT", "DESCRIBE"}
        client.setReturnFormat(TURTLE if graph_form else JSON)
        try:
            response = client.query()
            body = response.response.read()
        except (SPARQLWrapperException, urllib.error.URLError, TimeoutError, OSError) as error:
            raise self._failure(error) from None
        media_type = response.info().get("content-type", "")
        if graph_form:
            rdf_format = ox.RdfFormat.from_media_type(media_type) or ox.RdfFormat.TURTLE
            try:
                return iter([quad.triple for quad in ox.parse(body, format=rdf_format)])
            except SyntaxError as error:
                raise self._unreadable(media_type, error) from None
        results_format = ox.QueryResultsFormat.from_media_type(media_type) or ox.QueryResultsFormat.JSON
        try:
            results = ox.parse_query_results(body, format=results_format)
        except SyntaxError as error:
            raise self._unreadable(media_type, error) from None
        return results

    def _failure(self, error: Exception) -> QueryRejected | StoreTimeout | StoreUnavailable:
        """Our error for what went wrong talking to the endpoint, with the endpoint's own message where it gave one."""
        if isinstance(error, SPARQLWrapperException):
            # SPARQLWrapper turns 400, 401, 404, 414 and 500 into its own exceptions, with the body in the message.
            context = error.__context__
            status = context.code if isinstance(context, urllib.error.HTTPError) else 500
            detail, accepted = _endpoint_message(_wrapped_body(error))
        elif isinstance(error, urllib.error.HTTPError):
            status = error.code
            detail, accepted = _endpoint_message(error.read())
        else:
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            if isinstance(reason, TimeoutError | socket.timeout):
                return StoreTimeout(
                    f"the SPARQL endpoint {self.endpoint} did not answer within {self.timeout:g} s",
                    "a cheaper query, or a longer timeout",
                )
            return StoreUnavailable(
                f"cannot reach the SPARQL endpoint {self.endpoint}: {reason}", "the URL of a running SPARQL endpoint"
            )
        if status in {400, 403, 413, 422}:
            return QueryRejected(f"the SPARQL endpoint refused the query ({status}): {detail}", accepted or SYNTAX)
        if status == 504:
            return StoreTimeout(f"the SPARQL endpoint {self.endpoint} timed out: {detail}", accepted)
        failed = StoreUnavailable(
            f"the SPARQL endpoint {self.endpoint} answered {status}: {detail}",
            accepted or "the URL of a SPARQL 1.1 endpoint",
        )
        if status == 503:  # busy or stopped the query: worth a retry, unlike a broken endpoint
            failed.status, failed.title = 503, "Service Unavailable"
        return failed

    def _unreadable(self, media_type: str, error: SyntaxError) -> StoreUnavailable:
        return StoreUnavailable(
            f"the answer of {self.endpoint} is not readable as {media_type or 'SPARQL results'}: {error}",
            "an endpoint that answers SPARQL JSON, XML, CSV or TSV results and RDF graphs",
        )


def _wrapped_body(error: SPARQLWrapperException) -> bytes:
    """The response body SPARQLWrapper wrote into its exception's message (as a bytes literal)."""
    _, _, literal = str(error).partition("Response:\n")
    try:
        body = ast.literal_eval(literal) if literal else b""
    except (ValueError, SyntaxError):
        return literal.encode()
    return body if isinstance(body, bytes) else str(body).encode()


def _endpoint_message(body: bytes) -> tuple[str, str]:
    """What an endpoint's error body says, as one line, and what it accepts if it says (RFC 9457 problem+json, as
    ours sends, or any text)."""
    text = body.decode("utf-8", "replace")
    try:
        problem = json.loads(text)
    except ValueError:
        problem = None
    if isinstance(problem, dict) and isinstance(problem.get("detail"), str):
        return problem["detail"], str(problem.get("accepted", ""))
    return " ".join(text.split())[:500] or "(no message)", ""


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
