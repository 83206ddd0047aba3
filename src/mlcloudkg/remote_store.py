"""Any SPARQL 1.1 endpoint as a store (SparqlStore), queried through SPARQLWrapper: a triple store the dataset was
published to (`mlcloudkg publish`), or another mlcloudkg service.

Every failure is our own error: the endpoint's refusal of a query (QueryRejected, with its reason), no answer within
the time limit (StoreTimeout, also when the store stops a query itself and sends what it had), an endpoint that
cannot be reached or answers with something else (StoreUnavailable).

Stores differ in what the protocol leaves open, and each difference met is handled here: a store whose default
graph is the union of its named graphs (Virtuoso, GraphDB) holds ours as a named graph (`publish --default-graph`)
that is sent as default-graph-uri, with the named graphs the query reads (without named-graph-uri the protocol
leaves none: Virtuoso then finds nothing in GRAPH <iri>, yet everything in GRAPH ?g); booleans written 1 and 0
(Virtuoso's JSON results) are read as true and false, and so is an ASK answered as a row holding 1 or as no row
(Virtuoso); graphs are asked for as N-Triples, which every store writes
with exact datatypes (Virtuoso's Turtle writes a double as a decimal).
"""

from __future__ import annotations

import ast
import hashlib
import http.client
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
from mlcloudkg.dataset import ASSERTED, CURRENT, INFERRED, ONTOLOGY, PROVENANCE, snapshot_graphs
from mlcloudkg.errors import ConfigurationError, QueryRejected, ResultTooLarge, StoreTimeout, StoreUnavailable
from mlcloudkg.namespaces import MLC
from mlcloudkg.skolem import GENID, deskolemized, deskolemized_triple, skolemized
from mlcloudkg.sparql_text import Kind, tokens
from mlcloudkg.store import SYNTAX, QueryResult, SparqlStore, Term

CHUNK_BYTES = 1 << 16
# The time limit of the reads over the whole dataset that the service makes for itself (see for_whole_graph_reads):
# the downloads (22 min for the graphs of 10M triples), the passages (18 s at 10M), the finder's index (11 s for its
# largest check, scaled from 1M).
WHOLE_GRAPH_READ_SECONDS = 300.0
# What Oxigraph's server writes at the end of an answer it stopped at its own time limit (with status 200).
CANCELLED = b"operation has been cancelled"
# Virtuoso answers a query it stopped at its time limit with status 200, what it had found, and this SQL state.
INCOMPLETE_STATE = "S1TAT"
# ... or, stopped at a point where it has nothing to send, with status 500 and this SQL state ("operation
# cancelled": "Async statement killed by SQLCancel").
CANCELLED_STATE = "HY008"
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9, */*;q=0.1"
BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
BOOLEAN_DIGITS = {"1": "true", "0": "false"}
# Virtuoso echoes every named-graph-uri of a request as a header of its answer, and http.client refuses an answer
# with more than 100 headers: a query reading every graph of a dataset sends thousands.
http.client._MAXHEADERS = max(http.client._MAXHEADERS, 1 << 20)  # type: ignore[attr-defined]
WHOLE_DATASET_GRAPHS = (ASSERTED, CURRENT, INFERRED, ONTOLOGY, PROVENANCE)
DESCRIBED_GRAPHS_QUERY = f"""SELECT ?g ?day WHERE {{ GRAPH <{PROVENANCE.value}> {{
  {{ ?g a <{MLC.SourcedGraph}> }} UNION {{ ?snapshot a <{MLC.Snapshot}> ; <{MLC.snapshotDate}> ?day }} }} }}"""


def remote_store(
    settings: Settings, version: str | None = None, published_default: str | None = None, now: date | None = None
) -> RemoteStore:
    """The store of the `store` setting, with its credentials and the query time limit; `published_default` is the
    named graph the publish record says holds the default graph, if it says so, and `now` the date of the latest
    state it records (else found from the passages when first needed: 1.3 s of queries at 1M triples)."""
    authorization = authorization_header(settings.store_auth, "the store_auth setting (MLCLOUDKG_STORE_AUTH)")
    return RemoteStore(
        settings.store,
        timeout=settings.query_timeout,
        version=version,
        state_date=now,
        latest_state=now,
        authorization=authorization,
        published_default=ox.NamedNode(published_default) if published_default else None,
    )


class RemoteStore(SparqlStore):
    """Any SPARQL 1.1 endpoint, queried through SPARQLWrapper: POST, SPARQL JSON results for SELECT and ASK,
    Turtle (or whatever RDF syntax the endpoint answers with) for CONSTRUCT and DESCRIBE.

    Each query gets `timeout` seconds in all, however slowly the answer arrives, and an answer longer than
    `max_response_bytes` is refused (ResultTooLarge) without reading the rest. Skolem IRIs in answers are turned
    back into blank nodes (skolem.py). A remote store cannot tell when its data changes: `version` names the
    endpoint, unless given (e.g. the digest of the build that was published to it), and keys caches and ETags.

    `published_default` is the named graph that holds the dataset's default graph in a store whose own default graph
    is the union of its named graphs (`mlcloudkg publish --default-graph`): queries that name no dataset of their
    own are asked with it as their default graph."""

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
        published_default: ox.NamedNode | None = None,
        graph_list: list[tuple[str, ...]] | None = None,
        latest_state: date | None = None,
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
        self.data_version = version  # None: the data is not named, only the endpoint
        self._version = version or "remote-" + hashlib.sha256(endpoint.encode()).hexdigest()[:16]
        self.default_graph = default_graph
        self.inferred_graph = inferred_graph
        self._state_date = state_date
        self._latest_state = latest_state
        # The dataset's named graphs once asked (one item), shared by every copy and view made from this store.
        self._graph_list = graph_list if graph_list is not None else []
        self.published_default = published_default

    def view(self, default_graph: ox.NamedNode, inferred_graph: ox.NamedNode, state_date: date) -> RemoteStore:
        return self._copy(default_graph=default_graph, inferred_graph=inferred_graph, state_date=state_date)

    def limited(self, timeout: float, max_response_bytes: int | None) -> RemoteStore:
        """The same view with another time limit and answer size limit."""
        return self._copy(timeout=timeout, max_response_bytes=max_response_bytes)

    def for_whole_graph_reads(self) -> RemoteStore:
        """The same view with the longer time limit of whole-dataset reads, and no answer size limit."""
        return self.limited(max(self.timeout, WHOLE_GRAPH_READ_SECONDS), None)

    def _copy(self, **changes: object) -> RemoteStore:
        settings: dict[str, object] = {
            "timeout": self.timeout,
            "version": self.data_version,
            "default_graph": self.default_graph,
            "inferred_graph": self.inferred_graph,
            "state_date": self._state_date,
            "authorization": self.authorization,
            "max_response_bytes": self.max_response_bytes,
            "graph_list": self._graph_list,
            "published_default": self.published_default,
            "latest_state": self._latest_state,
        }
        return RemoteStore(self.endpoint, **{**settings, **changes})  # type: ignore[arg-type]

    @property
    def version(self) -> str:
        return self._version

    def named_graphs(self) -> list[ox.NamedNode]:
        """The dataset's named graphs, as graph:provenance describes them: not every store lists its graphs for
        `GRAPH ?g {}` (Virtuoso answers none), and a store may hold graphs of its own or of other datasets."""
        if not self._graph_list:
            rows = self.for_whole_graph_reads().evaluate_in(DESCRIBED_GRAPHS_QUERY, None, None)
            assert isinstance(rows, ox.QuerySolutions)
            described: set[str] = {graph.value for graph in WHOLE_DATASET_GRAPHS}
            for row in rows:
                if isinstance(row["g"], ox.NamedNode):
                    described.add(row["g"].value)
                if isinstance(row["day"], ox.Literal):
                    described.update(g.value for g in snapshot_graphs(date.fromisoformat(row["day"].value)))
            self._graph_list[:] = [tuple(sorted(described))]
        return [ox.NamedNode(g) for g in self._graph_list[0]]

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

        Given default graphs alone, the named graphs stay available, as in our own endpoint: the protocol would leave
        none, and queries of a dated view read graph:provenance and the inferences by name. Only those the query
        reads are sent when its GRAPH patterns all name theirs (a store may hold hundreds of thousands)."""
        if default_graphs is None and named_graphs is None and self.published_default and not _names_dataset(query):
            default_graphs = (self.published_default.value,)
        if default_graphs is not None and named_graphs is None:
            read = _graphs_read_by_name(query)
            named_graphs = read if read is not None else tuple(g.value for g in self.named_graphs())
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
        if graph_form:
            client.addCustomHttpHeader("Accept", GRAPH_ACCEPT)
        deadline = time.monotonic() + self.timeout
        try:
            response = client.query()
            body = self._read(response.response, deadline)
        except (SPARQLWrapperException, urllib.error.URLError, TimeoutError, OSError) as error:
            raise self._failure(error) from None
        except http.client.HTTPException as error:
            raise StoreUnavailable(
                f"the answer of {self.endpoint} is not a readable HTTP response: {error!r}",
                "an endpoint that answers with HTTP/1.1",
            ) from None
        headers = response.info()  # its keys are lower-cased
        if headers.get("x-sql-state", "").strip() == INCOMPLETE_STATE:
            raise StoreTimeout(
                f"the SPARQL endpoint {self.endpoint} stopped the query at its own time limit and sent what it had "
                f"found so far ({' '.join(headers.get('x-sql-message', '').split())[:200]})",
                "a cheaper query, or a longer time limit on the store",
            )
        media_type = headers.get("content-type", "")
        try:
            if graph_form:
                rdf_format = ox.RdfFormat.from_media_type(media_type) or ox.RdfFormat.TURTLE
                return iter([deskolemized_triple(quad.triple) for quad in ox.parse(body, format=rdf_format)])
            results_format = ox.QueryResultsFormat.from_media_type(media_type) or ox.QueryResultsFormat.JSON
            results = ox.parse_query_results(body, format=results_format)
            if client.queryType == "ASK" and isinstance(results, ox.QuerySolutions):
                return _boolean_of(results)
            return _read_back(results, body)
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
        if status == 500 and f" {CANCELLED_STATE} " in f" {detail} ":
            return StoreTimeout(
                f"the SPARQL endpoint {self.endpoint} stopped the query at its own time limit: {detail}",
                "a cheaper query, or a longer time limit on the store",
            )
        failed = StoreUnavailable(
            f"the SPARQL endpoint {self.endpoint} answered {status}: {detail}",
            accepted or "the URL of a SPARQL 1.1 endpoint",
        )
        if status == 503:  # busy or stopped the query: worth a retry, unlike a broken endpoint
            failed.status, failed.title = 503, "Service Unavailable"
        return failed


def _read_back(results: ox.QuerySolutions | ox.QueryBoolean, body: bytes) -> QueryResult:
    """The results with skolem IRIs as blank nodes and booleans written 1 or 0 as true or false (untouched, and not
    copied, when the answer has neither)."""
    if isinstance(results, ox.QueryBoolean) or (GENID.encode() not in body and BOOLEAN.encode() not in body):
        return results
    document = json.loads(results.serialize(format=ox.QueryResultsFormat.JSON))
    for binding in document["results"]["bindings"]:
        for name, value in binding.items():
            term = deskolemized(ox.NamedNode(value["value"])) if value["type"] == "uri" else None
            if isinstance(term, ox.BlankNode):
                binding[name] = {"type": "bnode", "value": term.value}
            elif value.get("datatype") == BOOLEAN and value["value"] in BOOLEAN_DIGITS:
                value["value"] = BOOLEAN_DIGITS[value["value"]]
    return ox.parse_query_results(json.dumps(document).encode(), format=ox.QueryResultsFormat.JSON)


def _boolean_of(rows: ox.QuerySolutions) -> ox.QueryBoolean:
    """The answer to an ASK query that a store sent as one row holding 1, or none (Virtuoso: ?__ASK_RETVAL)."""
    found = [term for row in rows for term in row if term is not None]
    true = bool(found) and found[0].value not in {"0", "false"}
    answer = ox.parse_query_results(json.dumps({"head": {}, "boolean": true}), format=ox.QueryResultsFormat.JSON)
    assert isinstance(answer, ox.QueryBoolean)
    return answer


def _names_dataset(query: str) -> bool:
    """Whether the query has FROM or FROM NAMED clauses (the protocol's default-graph-uri would override them)."""
    return any(t.kind is Kind.KEYWORD and t.word == "FROM" for t in tokens(query))


def _graphs_read_by_name(query: str) -> tuple[str, ...] | None:
    """The graphs the query's GRAPH patterns read, when each names an IRI (no other named graph can change the
    answer; none when it has no GRAPH pattern); None when one reads a variable's graphs."""
    found = [t for t in tokens(query) if t.kind is not Kind.COMMENT]
    named: set[str] = set()
    for index, token in enumerate(found):
        if token.kind is Kind.KEYWORD and token.word == "BASE":
            return None  # relative IRIs would need resolving
        if token.kind is Kind.KEYWORD and token.word == "GRAPH":
            following = found[index + 1] if index + 1 < len(found) else None
            if following is None or following.kind is not Kind.IRI:
                return None
            named.add(following.text[1:-1])
    return tuple(sorted(named))


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
