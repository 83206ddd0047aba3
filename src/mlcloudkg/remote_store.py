"""Any SPARQL 1.1 endpoint as a store (SparqlStore), queried through SPARQLWrapper: a triple store the dataset was
published to (`mlcloudkg publish`), or another mlcloudkg service.

Every failure is our own error: the endpoint's refusal of a query (QueryRejected, with its reason), no answer within
the time limit (StoreTimeout), an endpoint that cannot be reached or answers with something else (StoreUnavailable).
"""

from __future__ import annotations

import ast
import hashlib
import json
import socket
import time
import urllib.error
from datetime import date
from http.client import HTTPResponse

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from mlcloudkg import __version__
from mlcloudkg.config import Settings, authorization_header
from mlcloudkg.dataset import INFERRED
from mlcloudkg.errors import ConfigurationError, QueryRejected, ResultTooLarge, StoreTimeout, StoreUnavailable
from mlcloudkg.skolem import GENID, deskolemized, deskolemized_triple, skolemized
from mlcloudkg.store import SYNTAX, QueryResult, SparqlStore, Term

CHUNK_BYTES = 1 << 16
# What Oxigraph's server writes at the end of an answer it stopped at its own time limit (with status 200).
CANCELLED = b"operation has been cancelled"


def remote_store(settings: Settings, version: str | None = None) -> RemoteStore:
    """The store of the `store` setting, with its credentials and the query time limit."""
    authorization = authorization_header(settings.store_auth, "the store_auth setting (MLCLOUDKG_STORE_AUTH)")
    return RemoteStore(settings.store, timeout=settings.query_timeout, version=version, authorization=authorization)


class RemoteStore(SparqlStore):
    """Any SPARQL 1.1 endpoint, queried through SPARQLWrapper: POST, SPARQL JSON results for SELECT and ASK,
    Turtle (or whatever RDF syntax the endpoint answers with) for CONSTRUCT and DESCRIBE.

    Each query gets `timeout` seconds in all, however slowly the answer arrives, and an answer longer than
    `max_response_bytes` is refused (ResultTooLarge) without reading the rest. Skolem IRIs in answers are turned
    back into blank nodes (skolem.py). A remote store cannot tell when its data changes: `version` names the
    endpoint, unless given (e.g. the digest of the build that was published to it), and keys caches and ETags."""

    def __init__(
        self,
        endpoint: str,
        *,
        timeout: float = 30.0,
        version: str | None = None,
        default_graph: ox.NamedNode | None = None,
        inferred_graph: ox.NamedNode = INFERRED,
        state_date: date | None = None,
        authorization: str = "",
        max_response_bytes: int | None = None,
        named_graphs: tuple[str, ...] | None = None,
    ) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"{endpoint!r} is not the URL of a SPARQL endpoint — accepted: an http:// or https:// URL, "
                "e.g. http://127.0.0.1:5000/sparql"
            )
        if not timeout > 0:
            raise ConfigurationError(f"a remote store's timeout of {timeout} s — accepted: a number of seconds > 0")
        self.endpoint = endpoint
        self.timeout = timeout
        self.authorization = authorization  # an HTTP Authorization header's value; "" sends none
        self.max_response_bytes = max_response_bytes
        self._version = version or "remote-" + hashlib.sha256(endpoint.encode()).hexdigest()[:16]
        self.default_graph = default_graph
        self.inferred_graph = inferred_graph
        self._state_date = state_date
        self._named_graphs = named_graphs

    def view(self, default_graph: ox.NamedNode, inferred_graph: ox.NamedNode, state_date: date) -> RemoteStore:
        return self._copy(default_graph=default_graph, inferred_graph=inferred_graph, state_date=state_date)

    def limited(self, timeout: float, max_response_bytes: int | None) -> RemoteStore:
        """The same view with another time limit and answer size limit (for reading whole graphs, say)."""
        return self._copy(timeout=timeout, max_response_bytes=max_response_bytes)

    def _copy(self, **changes: object) -> RemoteStore:
        settings: dict[str, object] = {
            "timeout": self.timeout,
            "version": self.version,
            "default_graph": self.default_graph,
            "inferred_graph": self.inferred_graph,
            "state_date": self._state_date,
            "authorization": self.authorization,
            "max_response_bytes": self.max_response_bytes,
            "named_graphs": tuple(g.value for g in self.named_graphs()),
        }
        return RemoteStore(self.endpoint, **{**settings, **changes})  # type: ignore[arg-type]

    @property
    def version(self) -> str:
        return self._version

    def named_graphs(self) -> list[ox.NamedNode]:
        if self._named_graphs is None:  # asked once, then shared with every view made from this store
            rows = self.evaluate_in("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }", None, None)
            assert isinstance(rows, ox.QuerySolutions)
            self._named_graphs = tuple(sorted(s["g"].value for s in rows if isinstance(s["g"], ox.NamedNode)))
        return [ox.NamedNode(g) for g in self._named_graphs]

    def _in_query(self, term: Term) -> str | None:
        return str(skolemized(term))  # a blank node of ours is stored as its skolem IRI: it can be asked about

    def evaluate(self, query: str) -> QueryResult:
        if self.default_graph is None:
            return self.evaluate_in(query, None, None)
        return self.evaluate_in(query, (self.default_graph.value,), None)

    def evaluate_in(
        self, query: str, default_graphs: tuple[str, ...] | None, named_graphs: tuple[str, ...] | None
    ) -> QueryResult:
        """Run a query over the protocol's dataset (default-graph-uri, named-graph-uri; None: the store's own).

        Given default graphs alone, every named graph stays available, as in our own endpoint: the protocol would
        leave none, and queries of a dated view read graph:provenance and the inferences by name."""
        if default_graphs is not None and named_graphs is None:
            named_graphs = tuple(g.value for g in self.named_graphs())
        # A new client per query: SPARQLWrapper objects hold per-query state and are not shared between threads.
        client = SPARQLWrapper(self.endpoint, agent=f"mlcloudkg/{__version__}")
        client.setMethod(POST)
        # The documented attribute, not setTimeout(): that truncates to whole seconds, and 0.5 would mean no limit.
        client.timeout = self.timeout  # type: ignore[assignment]
        if self.authorization:
            client.addCustomHttpHeader("Authorization", self.authorization)
        client.setQuery(query)
        for graph in default_graphs or ():
            client.addDefaultGraph(graph)
        for graph in named_graphs or ():
            client.addNamedGraph(graph)
        if client.isSparqlUpdateRequest():
            raise QueryRejected(
                "SPARQL Update is not accepted: the store is read from, never written to",
                "SELECT, ASK, CONSTRUCT or DESCRIBE queries",
            )
        graph_form = client.queryType in {"CONSTRUCT", "DESCRIBE"}
        client.setReturnFormat(TURTLE if graph_form else JSON)
        deadline = time.monotonic() + self.timeout
        try:
            response = client.query()
            body = self._read(response.response, deadline)
        except (SPARQLWrapperException, urllib.error.URLError, TimeoutError, OSError) as error:
            raise self._failure(error) from None
        media_type = response.info().get("content-type", "")
        try:
            if graph_form:
                rdf_format = ox.RdfFormat.from_media_type(media_type) or ox.RdfFormat.TURTLE
                return iter([deskolemized_triple(quad.triple) for quad in ox.parse(body, format=rdf_format)])
            results_format = ox.QueryResultsFormat.from_media_type(media_type) or ox.QueryResultsFormat.JSON
            return _deskolemized_results(ox.parse_query_results(body, format=results_format), body)
        except SyntaxError as error:
            if CANCELLED in body[-500:]:
                raise StoreTimeout(
                    f"the SPARQL endpoint {self.endpoint} stopped the query at its own time limit",
                    "a cheaper query, or a longer time limit on the store",
                ) from None
            raise StoreUnavailable(
                f"the answer of {self.endpoint} is not readable as {media_type or 'SPARQL results'}: {error}",
                "an endpoint that answers SPARQL JSON, XML, CSV or TSV results and RDF graphs",
            ) from None

    def _read(self, response: HTTPResponse, deadline: float) -> bytes:
        """The whole answer, read before the deadline (an answer that trickles in does not reset the clock) and up
        to the size limit."""
        parts: list[bytes] = []
        size = 0
        while chunk := response.read(CHUNK_BYTES):
            size += len(chunk)
            if self.max_response_bytes is not None and size > self.max_response_bytes:
                response.close()
                raise ResultTooLarge(
                    f"the store's answer is larger than {self.max_response_bytes:,} bytes",
                    "a smaller result: add LIMIT, select fewer variables, or use the dataset downloads",
                )
            if time.monotonic() > deadline:
                response.close()
                raise TimeoutError
            parts.append(chunk)
        return b"".join(parts)

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
            unreachable = StoreUnavailable(
                f"cannot reach the SPARQL endpoint {self.endpoint}: {reason}", "the URL of a running SPARQL endpoint"
            )
            unreachable.status, unreachable.title = 503, "Service Unavailable"  # down for now: worth a retry later
            return unreachable
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


def _deskolemized_results(results: ox.QuerySolutions | ox.QueryBoolean, body: bytes) -> QueryResult:
    """The results with skolem IRIs as blank nodes (untouched, and not copied, when the answer has none)."""
    if isinstance(results, ox.QueryBoolean) or GENID.encode() not in body:
        return results
    document = json.loads(results.serialize(format=ox.QueryResultsFormat.JSON))
    for binding in document["results"]["bindings"]:
        for name, value in binding.items():
            term = deskolemized(ox.NamedNode(value["value"])) if value["type"] == "uri" else None
            if isinstance(term, ox.BlankNode):
                binding[name] = {"type": "bnode", "value": term.value}
    return ox.parse_query_results(json.dumps(document).encode(), format=ox.QueryResultsFormat.JSON)


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
