"""The dataset the service is serving now, swapped for a new version when one appears: a new local build, or a new
publish to the store the service reads (`serve --store`).

A request takes one `Served` snapshot and uses it to the end, so it never sees half of an old version and half of a
new one. A new version is picked up within `reload_seconds`; the old snapshot's workers stop after a grace period.
If the new build cannot be opened, the sources do not build (see rebuild.py), or the store cannot be read, the
service keeps serving the last good version and says so on /healthz.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import pyoxigraph as ox

from mlcloudkg.api import KnowledgeGraph, local_rules
from mlcloudkg.build import Build, current_build
from mlcloudkg.config import Settings
from mlcloudkg.dataset import PROVENANCE
from mlcloudkg.endpoint.cache import ResultCache
from mlcloudkg.endpoint.executor import Answer, Evaluation, Evaluators, QueryEngine, answer_here
from mlcloudkg.endpoint.guard import Limits
from mlcloudkg.endpoint.remote import RemoteEngine
from mlcloudkg.errors import MlcloudkgError
from mlcloudkg.export import write_downloads_from
from mlcloudkg.rebuild import BuildStatus
from mlcloudkg.release import Release, published_version, read_release, without_publish_record
from mlcloudkg.remote_store import RemoteStore, remote_store
from mlcloudkg.sources import WatchedDigest
from mlcloudkg.store import GraphStore
from mlcloudkg.web import metrics

log = logging.getLogger(__name__)
RETIRE_AFTER_SECONDS = 60.0
# The store's downloads kept on disk, by version (each is a copy of the dataset: gigabytes at 10M triples), and how
# old a writer's staging directory must be to count as left by one that died (writing them took 22 min at 10M).
KEEP_DOWNLOAD_VERSIONS = 2
STALE_STAGING_SECONDS = 24 * 3600.0
MAX_VIEWS = 32  # dated views kept per build: a snapshot view is cheap, one computed for an early date is not


def prune_downloads(current: Path, keep: int = KEEP_DOWNLOAD_VERSIONS) -> list[Path]:
    """Remove the downloads written for older versions of a store's data, beside `current`: all but the `keep`
    newest (a worker still serving the one before writes it again if asked), and staging directories left by a
    writer that died (older than STALE_STAGING_SECONDS). Returns what it removed."""
    now = time.time()
    versions, stale = [], []
    for entry in current.parent.iterdir():
        if entry.name.startswith(".writing-"):
            if now - entry.stat().st_mtime > STALE_STAGING_SECONDS:
                stale.append(entry)
        elif entry.is_dir() and entry != current:
            versions.append(entry)
    versions.sort(key=lambda entry: entry.stat().st_mtime, reverse=True)
    removed = versions[keep - 1 :] + stale
    for entry in removed:
        shutil.rmtree(entry, ignore_errors=True)
        log.info("removed the downloads %s", entry)
    return removed


@dataclass
class Served:
    """One version of the data, opened for serving: the graph API, where its queries run (the query workers over
    the local build, or the remote store), its result cache and where its downloads are."""

    release: Release
    kg: KnowledgeGraph
    engine: QueryEngine
    cache: ResultCache
    graphs: frozenset[str]
    downloads: Path  # the directory of the download files (for a remote store: written from it on first use)
    build: Build | None = None  # the local build; None when serving a remote store
    opened_at: float = field(default_factory=time.time)
    _views: dict[str, KnowledgeGraph] = field(default_factory=dict)
    _downloads_lock: threading.Lock = field(default_factory=threading.Lock)

    def view(self, as_of: str | None) -> KnowledgeGraph:
        """The graph as of a date (YYYY-MM-DD), or now when none is given; the last few views are kept."""
        if not as_of or as_of == "now":
            return self.kg
        found = self._views.get(as_of)
        if found is None:
            found = self.kg.as_of(as_of)
            if len(self._views) >= MAX_VIEWS:
                self._views.pop(next(iter(self._views)))
            self._views[as_of] = found
        return found

    @property
    def version(self) -> str:
        return self.release.version

    @property
    def last_modified(self) -> datetime:
        return self.release.built_at

    def download_path(self, filename: str) -> Path:
        """The file of a download. Over a remote store, every download is written from the store's graphs on the
        first request for one (once per version), to a temporary directory renamed into place so that concurrent
        workers never read half a file."""
        with self._downloads_lock:
            if not self.downloads.is_dir():
                self._write_downloads()
        return self.downloads / filename

    def _write_downloads(self) -> None:
        store = self.kg.store
        assert isinstance(store, RemoteStore), "a local build has its downloads already"
        reader = store.for_whole_graph_reads()
        self.downloads.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=self.downloads.parent))

        def read_graph(graph: ox.NamedNode) -> list[ox.Quad]:
            found = reader.quads(graph=graph)
            return without_publish_record(found) if graph == PROVENANCE else found

        try:
            write_downloads_from(read_graph, reader.named_graphs(), staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        try:
            staging.rename(self.downloads)
        except OSError:  # another worker got there first: its files are the same
            shutil.rmtree(staging, ignore_errors=True)
        prune_downloads(self.downloads)

    def answer_in(self, view: KnowledgeGraph, evaluation: Evaluation) -> tuple[Answer, str]:
        """`answer` on a view of the data: a stored snapshot is the workers' default graph; a state computed in
        memory (a date before the first snapshot, or data with too many change dates to snapshot) is evaluated in
        this process, with the same size limit."""
        if view is self.kg:
            return self.answer(evaluation)
        snapshot = view.store.default_graph
        if snapshot is not None:
            return self.answer(replace(evaluation, default_graphs=(snapshot.value,), named_graphs=None))
        limit = self.engine.max_result_bytes
        return self._cached(
            (self.version, view.version, evaluation), lambda: answer_here(view.store.evaluate, evaluation, limit)
        )

    def answer(self, evaluation: Evaluation) -> tuple[Answer, str]:
        """The answer to a query from the result cache ("hit"), from an identical query being evaluated now
        ("shared"), else from the query workers ("miss"): time limit, result-size and memory limits and crash
        isolation included. Every query a client writes (/sparql) or names (/api/queries/<name>) goes here."""
        return self._cached((self.version, evaluation), lambda: self.engine.evaluate(evaluation))

    def _cached(self, key: Hashable, compute: Callable[[], Answer]) -> tuple[Answer, str]:
        # A query slot per evaluation: slow queries cannot take every thread (see endpoint/cache.py).
        answer, outcome = self.cache.get_or_compute(key, compute, self.engine.admission)
        metrics.cache_results.labels(outcome).inc()
        return answer, outcome


def _read_ahead(served: Served) -> Served:
    """Start reading the service list and the finder's index in the background: every comparison and finder page
    needs the list (5.5 s to read at 10M triples), and the finder its index (5 s at 1M), which the first such
    request of each worker (and of each new build) would wait for. An index saved beside the build holds both."""

    def read() -> None:
        try:
            served.kg.finder_index().read_ahead()  # the service list first, unless the index was saved
        except MlcloudkgError as error:  # the store is down: the first request that needs them will say so
            log.warning("could not read the service list and finder index ahead of the first request: %s", error)

    threading.Thread(target=read, name="read-ahead", daemon=True).start()
    return served


class LiveDataset:
    """Gives each request the data currently served: the local build (watching build/current for a newer one) or,
    with the `store` setting, the dataset published to a SPARQL store (watching its publish record for a new
    version)."""

    def __init__(self, settings: Settings, *, build_status: BuildStatus | None = None) -> None:
        """Serve the current build, or the store's dataset; `build_status` (from `serve`) tells of rebuilds that
        failed."""
        self.settings = settings
        self.sources = WatchedDigest(settings)  # /healthz says whether they changed since the build served
        self.build_status = build_status
        self.limits = Limits(settings.max_query_bytes, settings.max_nesting)
        self.reload_error: str | None = None
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()
        self._store = remote_store(settings) if settings.store else None
        self._served = self._open_store(self._store) if self._store else self._open(current_build(settings))

    def current(self) -> Served:
        """The data to answer this request from (checking for a new version now and then)."""
        if time.monotonic() - self._checked_at >= self.settings.reload_seconds:
            self._reload_if_changed()
        return self._served

    def _reload_if_changed(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is already checking
        try:
            self._checked_at = time.monotonic()
            fresh = self._newer_store() if self._store else self._newer_build()
            if fresh is None:
                return
            old, self._served, self.reload_error = self._served, fresh, None
            log.info("now serving version %s", fresh.version)
            retire = threading.Timer(RETIRE_AFTER_SECONDS, old.engine.close)
            retire.daemon = True  # a pending retirement must not hold up shutdown (SIGTERM waited 30 s for it)
            retire.start()
        finally:
            self._lock.release()

    def _newer_build(self) -> Served | None:
        link = self.settings.build_dir / "current"
        try:
            target = link.resolve(strict=True)
        except OSError:
            return None
        if self._served.build is not None and target == self._served.build.directory:
            return None
        try:
            return self._open(current_build(self.settings))
        except (MlcloudkgError, OSError, ValueError) as error:
            self.reload_error = f"could not open the new build {target.name}: {error}"
            log.error(self.reload_error)
            return None

    def _newer_store(self) -> Served | None:
        assert self._store is not None
        try:
            if published_version(self._store) == self._served.version:
                self.reload_error = None
                return None
            return self._open_store(self._store)
        except MlcloudkgError as error:  # the store is down, or half-way through a publish: serve on, and say so
            self.reload_error = f"could not read the dataset's version from the store {self.settings.store}: {error}"
            log.error(self.reload_error)
            return None

    def _open(self, build: Build) -> Served:
        store = GraphStore.open(build)
        kg = KnowledgeGraph(store, self.settings)
        evaluators = Evaluators(
            build.store_path,
            self.settings.evaluators,
            timeout=self.settings.query_timeout,
            max_result_bytes=self.settings.max_result_bytes,
            max_memory_bytes=self.settings.max_query_memory_bytes,
            max_waiting=self.settings.max_waiting_queries,
        )
        release = Release.of_build(build)
        # The release lists them: asking the store took 5 s at 10M triples (297,066 passage graphs).
        graphs = frozenset(release.graph_sizes)
        cache = ResultCache(self.settings.cache_bytes)
        return _read_ahead(Served(release, kg, evaluators, cache, graphs, build.downloads_path, build))

    def _open_store(self, unversioned: RemoteStore) -> Served:
        release = read_release(unversioned)
        store = remote_store(self.settings, release.version, release.published_default, release.now)
        kg = KnowledgeGraph(store, self.settings, local_rules(self.settings))
        engine = RemoteEngine(
            store, self.settings.max_result_bytes, self.settings.evaluators + self.settings.max_waiting_queries
        )
        graphs = frozenset(g.value for g in store.named_graphs())
        downloads = self.settings.build_dir / "store-downloads" / release.version
        return _read_ahead(Served(release, kg, engine, ResultCache(self.settings.cache_bytes), graphs, downloads))

    def problems(self) -> list[str]:
        """What is wrong with what this worker serves, for /healthz: empty when it serves the sources as they are."""
        found = []
        attempt = self.build_status.last() if self.build_status else None
        if attempt is not None and attempt.failure:
            found.append(
                f"the sources changed but do not build: {attempt.failure} — "
                f"still serving the last good build {self._served.version}"
            )
        if self.reload_error:
            found.append(self.reload_error)
        return found

    def close(self) -> None:
        self._served.engine.close()

    @property
    def build_dir(self) -> Path:
        return self.settings.build_dir
