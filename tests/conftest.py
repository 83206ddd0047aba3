"""Shared fixtures: one build of the real data per test session, and throw-away copies of the project."""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import requests

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.build import current_build
from mlcloudkg.config import Settings
from mlcloudkg.endpoint.executor import Evaluators

PROJECT = Path(__file__).resolve().parents[1]
ARTICLE = PROJECT.parent / "shared" / "source" / "colab-vs-gradient-2020-12-17.md"
# A copy of the article lives in the tests so that they run from any checkout.
ARTICLE_COPY = Path(__file__).parent / "fixtures" / "colab-vs-gradient-2020-12-17.md"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings that build the project's real sources into a private build directory."""
    return Settings.from_env(root=PROJECT, build_dir=tmp_path_factory.mktemp("build"))


ARTICLE_DATE = "2020-12-17"


@pytest.fixture(scope="session")
def kg(settings: Settings) -> KnowledgeGraph:
    """The graph as served: the latest known state."""
    return KnowledgeGraph.embedded(settings)


@pytest.fixture(scope="session")
def article_kg(kg: KnowledgeGraph) -> KnowledgeGraph:
    """The graph as of the article's date, which is what the article's tables and statements describe."""
    return kg.as_of(ARTICLE_DATE)


@pytest.fixture
def project_copy(tmp_path: Path) -> Callable[[], Settings]:
    """Make a copy of ontology/, data/ and queries/ to break on purpose; returns settings that point at it."""

    def make() -> Settings:
        root = tmp_path / "project"
        for part in ("ontology", "data", "queries"):
            shutil.copytree(PROJECT / part, root / part)
        return Settings.from_env(root=root, build_dir=tmp_path / "build")

    return make


@pytest.fixture(scope="session")
def article_text() -> str:
    return ARTICLE_COPY.read_text(encoding="utf-8")


# Starts a stand-in web server for a request handler class, and returns its base URL (see loopback_http).
StandIn = Callable[[type[http.server.BaseHTTPRequestHandler]], str]


@pytest.fixture
def loopback_http() -> Iterator[StandIn]:
    """Start stand-in web servers on loopback, one per request handler class given; each call returns the server's
    base URL (http://127.0.0.1:PORT). They stop when the test ends."""
    started: list[http.server.ThreadingHTTPServer] = []

    def start(handler: type[http.server.BaseHTTPRequestHandler]) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli(settings: Settings, *args: str) -> list[str]:
    """The command line of `mlcloudkg` on the test's project and build directory."""
    return [
        sys.executable,
        "-m",
        "mlcloudkg",
        "--root",
        str(settings.root),
        "--build-dir",
        str(settings.build_dir),
        *args,
    ]


def run_cli(settings: Settings, *args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run `mlcloudkg` as a user does, in a terminal `columns` wide if given."""
    environment = {**os.environ, "COLUMNS": str(columns)} if columns else None
    return subprocess.run(
        cli(settings, *args),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT,
        check=False,
        env=environment,
    )


class LiveServer:
    """`mlcloudkg serve` in a subprocess on a loopback port, as users run it."""

    def __init__(
        self,
        settings: Settings,
        *options: str,
        environment: dict[str, str] | None = None,
        launcher: Sequence[str] = (),
    ) -> None:
        """Start it with these command-line options and MLCLOUDKG_* `environment` variables, through `launcher` (a
        command that sets resource limits or drops privileges, then runs the command given after it)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = settings.build_dir / f"serve-{self.port}.log"
        command = [*launcher, *cli(settings, "serve", "--port", str(self.port), *options)]
        metrics = settings.build_dir / f"metrics-{self.port}"
        metrics.mkdir(parents=True, exist_ok=True)
        environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics), **(environment or {})}
        self.process = subprocess.Popen(command, stdout=self.log.open("w"), stderr=subprocess.STDOUT, env=environment)
        self.wait_until_up()

    def wait_until_up(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return
            except requests.RequestException:  # not listening yet, or too busy starting to answer in time
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not come up: {self.log.read_text()[-2000:]}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@pytest.fixture(scope="session")
def server(settings: Settings, kg: KnowledgeGraph) -> Iterator[LiveServer]:
    """One live server for the session: 1 worker, 2 evaluators, a 3 s query timeout (to test timeouts quickly)."""
    live = LiveServer(settings, "--workers", "1", "--evaluators", "2", "--query-timeout", "3")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def evaluators(settings: Settings, kg: KnowledgeGraph) -> Iterator[Evaluators]:
    """Two query workers over the session's build: 20 s per query (a loaded machine is slow), 1 MB results, 400 MB
    of memory per query."""
    pool = Evaluators(
        current_build(settings).store_path,
        2,
        timeout=20.0,
        max_result_bytes=1_000_000,
        max_memory_bytes=400_000_000,
        max_waiting=8,
    )
    yield pool
    pool.close()


# -- a SPARQL store of our own: Oxigraph's server, with the build published to it ------------------------------------

# The `oxigraph` console script of the dev extra, next to this interpreter (or on PATH).
OXIGRAPH = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which("oxigraph")
VIRTUOSO = shutil.which("virtuoso-t")
ISQL = shutil.which("isql-vt")
INSTALL_VIRTUOSO = "install Debian's virtuoso-opensource (make test does: apt-get install virtuoso-opensource)"


def wait_for_sparql(url: str, log: Path, name: str, seconds: float = 60) -> None:
    """Return once `url` answers ASK {}; fail with the end of the server's log if it does not within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, params={"query": "ASK {}"}, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not come up: {log.read_text()[-2000:]}")


class StoreServer:
    """A SPARQL 1.1 store server started by the tests: its SPARQL endpoint, its Graph Store Protocol service, and
    the named graph the dataset's default graph is published to (None: the store's own default graph)."""

    name: str
    default_graph: str | None = None
    url: str
    query_url: str
    graph_store_url: str
    process: subprocess.Popen[bytes]

    def publish(self, settings: Settings, *options: str) -> subprocess.CompletedProcess[str]:
        """`mlcloudkg publish` of `settings`' build to this store."""
        extra = ("--default-graph", self.default_graph) if self.default_graph else ()
        return run_cli(settings, "publish", "--to", self.graph_store_url, *extra, *options)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class OxigraphServer(StoreServer):
    """`oxigraph serve` on a loopback port: a real SPARQL 1.1 store (query endpoint /query, Graph Store Protocol
    /store) with a default graph of its own, stopping queries at its own time limit as a production store would."""

    name = "oxigraph"

    def __init__(self, directory: Path) -> None:
        if OXIGRAPH is None:
            pytest.fail("no oxigraph command: install the dev extra (pip install -e '.[dev]')")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.query_url, self.graph_store_url = self.url + "/query", self.url + "/store"
        self.log = directory.parent / f"oxigraph-{self.port}.log"
        command = [OXIGRAPH, "serve", "--location", str(directory), "--bind", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(
            [*command, "--timeout-s", "10"], stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        wait_for_sparql(self.query_url, self.log, "oxigraph")


class VirtuosoServer(StoreServer):
    """Virtuoso Open Source 7 (Debian's virtuoso-opensource) in a directory of its own, on loopback ports. Its
    default graph is the union of its named graphs, so the dataset's default graph is published to a named graph;
    its Graph Store Protocol service without credentials (/sparql-graph-crud) is made writable for the test, as an
    operator would do on a private network (or use /sparql-graph-crud-auth with credentials)."""

    name = "virtuoso"
    default_graph = "https://w3id.org/mlcloudkg/graph/default"

    def __init__(self, directory: Path) -> None:
        if VIRTUOSO is None or ISQL is None:
            pytest.fail(f"no virtuoso-t or isql-vt command: {INSTALL_VIRTUOSO}")
        directory.mkdir(parents=True)
        self.port, sql_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.query_url, self.graph_store_url = self.url + "/sparql", self.url + "/sparql-graph-crud"
        self.log = directory.parent / f"virtuoso-{self.port}.log"
        configuration = directory / "virtuoso.ini"
        configuration.write_text(VIRTUOSO_INI.format(directory=directory, http=self.port, sql=sql_port))
        self.process = subprocess.Popen(
            [VIRTUOSO, "+configfile", str(configuration), "+foreground"],
            cwd=directory,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_for_sparql(self.query_url, self.log, "virtuoso")
        grant = "GRANT SPARQL_UPDATE TO \"SPARQL\"; DB.DBA.RDF_DEFAULT_USER_PERMS_SET('nobody', 7);"
        granted = subprocess.run(
            [ISQL, f"127.0.0.1:{sql_port}", "dba", "dba", f"exec={grant}"],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert granted.returncode == 0, granted.stdout + granted.stderr


# A database of its own in `directory`; answers as large as the dataset (the default cap of 10,000 rows would cut
# answers short without saying so); the time limits are the replica's, not Virtuoso's.
VIRTUOSO_INI = """[Database]
DatabaseFile = {directory}/virtuoso.db
ErrorLogFile = {directory}/virtuoso.log
LockFile = {directory}/virtuoso.lck
TransactionFile = {directory}/virtuoso.trx
xa_persistent_file = {directory}/virtuoso.pxa
[TempDatabase]
DatabaseFile = {directory}/virtuoso-temp.db
TransactionFile = {directory}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql}
DisableUnixSocket = 1
DirsAllowed = .
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = /var/lib/virtuoso-opensource-7/vsp
ServerThreads = 10
[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 0
"""
STORES: dict[str, type[OxigraphServer | VirtuosoServer]] = {"oxigraph": OxigraphServer, "virtuoso": VirtuosoServer}


def serve_store(store: StoreServer, directory: Path) -> LiveServer:
    """`mlcloudkg serve --store` over `store`, with its own (empty) build directory: it builds nothing. It looks for
    a new published version every 0.3 s; queries get 3 s, as on the session's embedded server."""
    replica_settings = Settings.from_env(root=PROJECT, build_dir=directory)
    return LiveServer(
        replica_settings,
        *("--workers", "1", "--evaluators", "2", "--query-timeout", "3", "--store", store.query_url),
        environment={"MLCLOUDKG_RELOAD_SECONDS": "0.3"},
    )


def published_store(kind: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreServer]:
    """A store of `kind` holding the session's build, published twice (the second publish must change nothing),
    the second time in parts of 500 statements (the larger graphs: a PUT and POSTs)."""
    server = STORES[kind](tmp_path_factory.mktemp(kind) / "data")
    try:
        for options in [(), ("--part-statements", "500")]:
            published = server.publish(settings, *options)
            assert published.returncode == 0, published.stderr
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def oxigraph_store(
    settings: Settings, kg: KnowledgeGraph, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StoreServer]:
    """Oxigraph's server, with a default graph of its own, holding the session's build."""
    yield from published_store("oxigraph", settings, tmp_path_factory)


@pytest.fixture(scope="session")
def virtuoso_store(
    settings: Settings, kg: KnowledgeGraph, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StoreServer]:
    """Virtuoso, whose default graph is the union of its graphs, holding the session's build."""
    yield from published_store("virtuoso", settings, tmp_path_factory)


@pytest.fixture(scope="session", params=sorted(STORES))
def store(request: pytest.FixtureRequest) -> StoreServer:
    """Each store in turn: the tests of the service over a store run over both."""
    found: StoreServer = request.getfixturevalue(f"{request.param}_store")
    return found


@pytest.fixture(scope="session")
def replica(store: StoreServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The service over the store, as one of several stateless replicas would run."""
    live = serve_store(store, tmp_path_factory.mktemp("replica"))
    yield live
    live.stop()
