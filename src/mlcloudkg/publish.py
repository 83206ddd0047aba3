"""`mlcloudkg publish`: load a build into any SPARQL 1.1 store through the Graph Store HTTP Protocol.

Every named graph of the build is PUT under its own name (replacing what the store held under it), and the build's
default graph into the store's default graph (`?default`), so that a store whose default graph is its own (not the
union of its named graphs, as Oxigraph's server by default) answers like our embedded store. A store whose default
graph is the union of its named graphs (Virtuoso, GraphDB) would answer with every passage and snapshot at once:
there the default graph goes into a named graph of the user's choice (`default_graph`), which the publish record
names, and the services reading the store ask their queries with it as the default graph. Bodies are N-Triples,
written in chunks to a spool file (in memory up to SPOOL_BYTES, then on disk), never built whole in memory, and sent
with their length: Virtuoso answers a chunked body with 201 Created and stores nothing. A graph larger than a part
(`part_statements`) is sent in parts, the first PUT (replacing the graph) and the others POSTed (added to it): a
store holds each request's transaction in memory, and one graph of the 10M build took Oxigraph's server over 15 GB.
Blank nodes are written as skolem IRIs (skolem.py), so that the parts of a graph name the same nodes. Graphs are
sent `jobs` at a time: each PUT is a transaction of the store, whose commit (not our sending) is most of a small
graph's time, and a store commits several at once.

The order makes a re-publish safe for the services reading the store: graph:provenance, which holds the version
record (release.py), is written last, so the version they read changes only once all the data is in place; then the
graphs of the previous version that this one no longer has are deleted. Until then they read the previous record
over graphs being replaced one by one, and a graph sent in parts part by part.
"""

from __future__ import annotations

import tempfile
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from itertools import chain, islice
from typing import IO
from urllib.parse import quote

import pyoxigraph as ox

from mlcloudkg import __version__
from mlcloudkg.build import Build
from mlcloudkg.config import MAX_PUBLISH_JOBS, PUBLISH_JOBS, PUBLISH_PART_STATEMENTS, PUBLISH_TIMEOUT_SECONDS
from mlcloudkg.dataset import DEFAULT, PROVENANCE, snapshot_graphs
from mlcloudkg.errors import ConfigurationError, PublishFailed
from mlcloudkg.namespaces import MLC, RDF_TYPE_NODE
from mlcloudkg.release import publish_record
from mlcloudkg.skolem import skolemized_triple

NTRIPLES = "application/n-triples"
TRIPLES_PER_CHUNK = 10_000
SPOOL_BYTES = 64 << 20
SOURCED_GRAPH = ox.NamedNode(str(MLC.SourcedGraph))
SNAPSHOT_DATE = ox.NamedNode(str(MLC.snapshotDate))
DEFAULT_GRAPH_NAME = ox.NamedNode(str(MLC.defaultGraphName))
GSP = "https://www.w3.org/TR/sparql11-http-rdf-update/"
# What to say the store accepts, by the status it refused a request with.
ACCEPTED_BY_STATUS = {
    400: "RDF the store can parse: N-Triples, https://www.w3.org/TR/n-triples/",
    401: "credentials with write access: --auth USER:PASSWORD or 'Bearer TOKEN' (env MLCLOUDKG_PUBLISH_AUTH)",
    403: "credentials with write access: --auth USER:PASSWORD or 'Bearer TOKEN' (env MLCLOUDKG_PUBLISH_AUTH)",
    404: "the URL of the store's Graph Store Protocol service, e.g. http://127.0.0.1:7878/store (Oxigraph) or "
    "http://127.0.0.1:3030/dataset/data (Fuseki)",
    405: "the URL of the store's Graph Store Protocol service, writable (not its read-only SPARQL endpoint)",
    413: "a store that accepts larger requests (raise its body size limit)",
    415: f"a store that accepts {NTRIPLES} bodies",
}


@dataclass(frozen=True)
class Published:
    """What was published where."""

    version: str
    graphs: int
    triples: int
    removed: tuple[str, ...]  # graphs of the previous version that this one does not have
    seconds: float


class GraphStoreClient:
    """The SPARQL 1.1 Graph Store HTTP Protocol with indirect graph identification (?graph=IRI, ?default); `timeout`
    is how long the store may stay silent (config.PUBLISH_TIMEOUT_SECONDS)."""

    def __init__(self, url: str, authorization: str = "", timeout: float = PUBLISH_TIMEOUT_SECONDS) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"--to {url!r} is not the URL of a Graph Store Protocol service — accepted: an http:// or https:// "
                "URL, e.g. http://127.0.0.1:7878/store"
            )
        self.url = url
        self.authorization = authorization
        self.timeout = timeout

    def put(self, graph: ox.NamedNode | ox.DefaultGraph, body: Iterable[bytes]) -> None:
        """Replace the graph with the N-Triples of `body`."""
        self._upload("PUT", graph, body)

    def post(self, graph: ox.NamedNode | ox.DefaultGraph, body: Iterable[bytes]) -> None:
        """Add the N-Triples of `body` to the graph."""
        self._upload("POST", graph, body)

    def _upload(self, method: str, graph: ox.NamedNode | ox.DefaultGraph, body: Iterable[bytes]) -> None:
        """Send `body`, spooled first so as to be sent with its length."""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            for chunk in body:
                spool.write(chunk)
            length = spool.tell()
            spool.seek(0)
            headers = {"Content-Type": f"{NTRIPLES}; charset=utf-8", "Content-Length": str(length)}
            self._send(method, graph, spool, headers)

    def get(self, graph: ox.NamedNode) -> list[ox.Triple] | None:
        """The graph's statements, or None when the store has no such graph (404)."""
        try:
            body, media_type = self._send("GET", graph, None, {"Accept": f"{NTRIPLES}, text/turtle;q=0.9"})
        except PublishFailed as failed:
            if failed.status == 404:
                return None
            raise
        rdf_format = ox.RdfFormat.from_media_type(media_type) or ox.RdfFormat.N_TRIPLES
        try:
            return [quad.triple for quad in ox.parse(body, format=rdf_format)]
        except SyntaxError as error:
            raise PublishFailed(
                f"the store's copy of <{graph.value}> is not readable as {media_type or NTRIPLES}: {error}"
                f" — accepted: a store that answers GET {self._address(graph)} with RDF"
            ) from None

    def delete(self, graph: ox.NamedNode) -> None:
        """Remove the graph (a graph already gone is fine)."""
        try:
            self._send("DELETE", graph, None, {})
        except PublishFailed as failed:
            if failed.status != 404:
                raise

    def _address(self, graph: ox.NamedNode | ox.DefaultGraph) -> str:
        joiner = "&" if "?" in self.url else "?"
        if isinstance(graph, ox.DefaultGraph):
            return f"{self.url}{joiner}default"
        return f"{self.url}{joiner}graph={quote(graph.value, safe='')}"

    def _send(
        self, method: str, graph: ox.NamedNode | ox.DefaultGraph, body: IO[bytes] | None, headers: dict[str, str]
    ) -> tuple[bytes, str]:
        headers = {**headers, "User-Agent": f"mlcloudkg/{__version__}"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        address = self._address(graph)
        request = urllib.request.Request(address, data=body, method=method, headers=headers)  # type: ignore[arg-type]
        name = "the default graph" if isinstance(graph, ox.DefaultGraph) else f"<{graph.value}>"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read(), response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            message = " ".join(error.read().decode("utf-8", "replace").split())[:500] or "(no message)"
            raise PublishFailed(
                f"the store refused {method} {address} for {name} ({error.code} {error.reason}): {message} — "
                f"accepted: {ACCEPTED_BY_STATUS.get(error.code, f'a store that implements {GSP}')}",
                status=error.code,
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            raise PublishFailed(
                f"cannot {method} {name} at {address}: {reason or type(reason).__name__} — accepted: the URL of a "
                f"running store's Graph Store Protocol service that answers within {self.timeout:g} s"
            ) from None


def publish(
    build: Build,
    client: GraphStoreClient,
    default_graph: str | None = None,
    jobs: int = PUBLISH_JOBS,
    part_statements: int = PUBLISH_PART_STATEMENTS,
) -> Published:
    """Load `build` into the store behind `client` (see the module's description for the order), `jobs` graphs at
    a time, at most `part_statements` statements a request; its default graph into the store's, or into the named
    graph `default_graph` (an IRI) when given."""
    if not 1 <= jobs <= MAX_PUBLISH_JOBS:
        raise ConfigurationError(
            f"jobs={jobs} (how many graphs publish sends at once) is out of range — accepted: a whole number from 1 "
            f"to {MAX_PUBLISH_JOBS}"
        )
    if part_statements < 1:
        raise ConfigurationError(
            f"part_statements={part_statements} (the most statements publish sends in one request) is out of range "
            "— accepted: a whole number from 1"
        )
    started = time.perf_counter()
    store = ox.Store.read_only(str(build.store_path))
    graphs = [g for g in store.named_graphs() if isinstance(g, ox.NamedNode) and g != PROVENANCE]
    default = _default_graph_name(default_graph, {PROVENANCE, *graphs}) if default_graph else DEFAULT
    record = publish_record(build, default_graph=default if isinstance(default, ox.NamedNode) else None)
    previous = _published_graphs(client.get(PROVENANCE) or [])
    # The default graph first: the largest by far, it is sent while the others go beside it.
    parts: list[_Part] = [(default, DEFAULT, record), *((g, g, []) for g in sorted(graphs, key=lambda g: g.value))]
    triples = _put_all(client, store, parts, jobs, part_statements)
    provenance = store.quads_for_pattern(None, None, None, PROVENANCE)
    triples += _put(client, PROVENANCE, provenance, record, part_statements)
    current = {g.value for g in graphs} | ({default.value} if isinstance(default, ox.NamedNode) else set())
    removed = tuple(sorted(previous - current - {PROVENANCE.value}))
    for stale in removed:
        client.delete(ox.NamedNode(stale))
    return Published(build.digest, len(graphs) + 1, triples, removed, time.perf_counter() - started)


def _default_graph_name(iri: str, taken: set[ox.NamedNode]) -> ox.NamedNode:
    """The named graph to publish the default graph to: an absolute IRI that is not a graph of the dataset."""
    accepted = "an absolute IRI that names no graph of the dataset, e.g. https://w3id.org/mlcloudkg/graph/default"
    try:
        graph = ox.NamedNode(iri)
    except ValueError as error:
        raise ConfigurationError(f"--default-graph {iri!r} is not an IRI ({error}) — accepted: {accepted}") from None
    if graph in taken:
        raise ConfigurationError(f"--default-graph <{iri}> is a graph of the dataset itself — accepted: {accepted}")
    return graph


# Where a graph goes, which graph of the build it is, and statements to add to it.
_Part = tuple[ox.NamedNode | ox.DefaultGraph, ox.NamedNode | ox.DefaultGraph, list[ox.Triple]]


def _put_all(client: GraphStoreClient, store: ox.Store, parts: list[_Part], jobs: int, part_statements: int) -> int:
    """PUT every part, `jobs` at a time; returns the statements sent. After a failure no other PUT starts (those
    under way finish), and the first failure is raised."""

    def send(part: _Part) -> int:
        target, source, extra = part
        try:
            return _put(client, target, store.quads_for_pattern(None, None, None, source), extra, part_statements)
        except BaseException as error:
            # The traceback's frames hold the graph's quad iterator, which pyoxigraph lets only this thread drop.
            traceback.clear_frames(error.__traceback__)
            raise

    sent = 0
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="publish") as pool:
        running: set[Future[int]] = set()
        for part in parts:
            if len(running) >= jobs:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                sent += sum(future.result() for future in done)
            running.add(pool.submit(send, part))
        sent += sum(future.result() for future in wait(running).done)
    return sent


def _put(
    client: GraphStoreClient,
    graph: ox.NamedNode | ox.DefaultGraph,
    quads: Iterable[ox.Quad],
    extra: list[ox.Triple],
    part_statements: int,
) -> int:
    """Replace the graph with `quads` and `extra`: the first part PUT, the others POSTed; returns the statements."""
    # chain, not a tuple: the default graph at 10M is 14M statements, which a tuple held in memory at once (5 GB).
    statements = (skolemized_triple(t) for t in chain((q.triple for q in quads), extra))
    counted = [0]
    client.put(graph, _ntriples(islice(statements, part_statements), counted))  # even empty: it replaces
    while counted[0] % part_statements == 0:  # the part was full: there may be more
        chunks = _ntriples(islice(statements, part_statements), counted)
        first = next(chunks, None)
        if first is None:
            break
        client.post(graph, chain([first], chunks))
    return counted[0]


def _ntriples(statements: Iterator[ox.Triple], counted: list[int]) -> Iterator[bytes]:
    """N-Triples in chunks of TRIPLES_PER_CHUNK statements; counts what it wrote."""
    while chunk := list(islice(statements, TRIPLES_PER_CHUNK)):
        counted[0] += len(chunk)
        yield ox.serialize(chunk, format=ox.RdfFormat.N_TRIPLES)


def _published_graphs(provenance: list[ox.Triple]) -> set[str]:
    """The passage and snapshot graphs a previous publish wrote, as its graph:provenance describes them, and the
    named graph it wrote the default graph to, if it did."""
    passages = {
        t.subject.value
        for t in provenance
        if t.predicate == RDF_TYPE_NODE and t.object == SOURCED_GRAPH and isinstance(t.subject, ox.NamedNode)
    }
    snapshots = {
        graph.value
        for t in provenance
        if t.predicate == SNAPSHOT_DATE and isinstance(t.object, ox.Literal)
        for graph in snapshot_graphs(date.fromisoformat(t.object.value))
    }
    default = {t.object.value for t in provenance if t.predicate == DEFAULT_GRAPH_NAME}
    return passages | snapshots | default
