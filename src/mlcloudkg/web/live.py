"""The dataset the service is serving now, swapped for a new build when one appears.

A request takes one `Served` snapshot and uses it to the end, so it never sees half of an old build and half of a
new one. A new build is picked up within `reload_seconds`; the old snapshot's workers stop after a grace period.
If the new build cannot be opened, or the sources do not build (see rebuild.py), the service keeps serving the last
good one and says so on /healthz.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.build import Build, current_build
from mlcloudkg.config import Settings
from mlcloudkg.endpoint.cache import ResultCache
from mlcloudkg.endpoint.executor import Answer, Evaluation, Evaluators, answer_here
from mlcloudkg.endpoint.guard import Limits
from mlcloudkg.errors import MlcloudkgError
from mlcloudkg.rebuild import BuildStatus
from mlcloudkg.store import GraphStore
from mlcloudkg.web import metrics

log = logging.getLogger(__name__)
RETIRE_AFTER_SECONDS = 60.0
MAX_VIEWS = 32  # dated views kept per build: a snapshot view is cheap, one computed for an early date is not


@dataclass
class Served:
    """One build, opened for serving: the graph API, its query workers and its result cache."""

    build: Build
    kg: KnowledgeGraph
    evaluators: Evaluators
    cache: ResultCache
    graphs: frozenset[str]
    opened_at: float = field(default_factory=time.time)
    _views: dict[str, KnowledgeGraph] = field(default_factory=dict)

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
        return self.build.digest

    @property
    def last_modified(self) -> datetime:
        return datetime.fromisoformat(self.build.manifest["built_at"])

    def answer_in(self, view: KnowledgeGraph, evaluation: Evaluation) -> tuple[Answer, str]:
        """`answer` on a view of the data: a stored snapshot is the workers' default graph; a state computed in
        memory (a date before the first snapshot, or data with too many change dates to snapshot) is evaluated in
        this process, with the same size limit."""
        if view is self.kg:
            return self.answer(evaluation)
        snapshot = view.store.default_graph
        if snapshot is not None:
            return self.answer(replace(evaluation, default_graphs=(snapshot.value,), named_graphs=None))
        limit = self.evaluators.max_result_bytes
        return self._cached(
            (self.version, view.version, evaluation), lambda: answer_here(view.store.evaluate, evaluation, limit)
        )

    def answer(self, evaluation: Evaluation) -> tuple[Answer, str]:
        """The answer to a query from the result cache ("hit"), from an identical query being evaluated now
        ("shared"), else from the query workers ("miss"): time limit, result-size and memory limits and crash
        isolation included. Every query a client writes (/sparql) or names (/api/queries/<name>) goes here."""
        return self._cached((self.version, evaluation), lambda: self.evaluators.evaluate(evaluation))

    def _cached(self, key: Hashable, compute: Callable[[], Answer]) -> tuple[Answer, str]:
        # A query slot per evaluation: slow queries cannot take every thread (see endpoint/cache.py).
        answer, outcome = self.cache.get_or_compute(key, compute, self.evaluators.admission)
        metrics.cache_results.labels(outcome).inc()
        return answer, outcome


class LiveDataset:
    """Gives each request the build currently served, and watches build/current for a newer one."""

    def __init__(self, settings: Settings, *, build_status: BuildStatus | None = None) -> None:
        """Serve the current build; `build_status` (from `serve`) tells of rebuilds that failed."""
        self.settings = settings
        self.build_status = build_status
        self.limits = Limits(settings.max_query_bytes, settings.max_nesting)
        self.reload_error: str | None = None
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()
        self._served = self._open(current_build(settings))

    def current(self) -> Served:
        """The build to answer this request from (checking for a new one now and then)."""
        if time.monotonic() - self._checked_at >= self.settings.reload_seconds:
            self._reload_if_changed()
        return self._served

    def _reload_if_changed(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is already checking
        try:
            self._checked_at = time.monotonic()
            link = self.settings.build_dir / "current"
            try:
                target = link.resolve(strict=True)
            except OSError:
                return
            if target == self._served.build.directory:
                return
            try:
                fresh = self._open(current_build(self.settings))
            except (MlcloudkgError, OSError, ValueError) as error:
                self.reload_error = f"could not open the new build {target.name}: {error}"
                log.error(self.reload_error)
                return
            old, self._served, self.reload_error = self._served, fresh, None
            log.info("now serving build %s", fresh.version)
            retire = threading.Timer(RETIRE_AFTER_SECONDS, old.evaluators.close)
            retire.daemon = True  # a pending retirement must not hold up shutdown (SIGTERM waited 30 s for it)
            retire.start()
        finally:
            self._lock.release()

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
        graphs = frozenset(g.value for g in store.store.named_graphs() if hasattr(g, "value"))
        return Served(build, kg, evaluators, ResultCache(self.settings.cache_bytes), graphs)

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
        self._served.evaluators.close()

    @property
    def build_dir(self) -> Path:
        return self.settings.build_dir
