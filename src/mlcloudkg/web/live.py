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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.build import Build, current_build
from mlcloudkg.config import Settings
from mlcloudkg.endpoint.cache import ResultCache
from mlcloudkg.endpoint.executor import Evaluators
from mlcloudkg.endpoint.guard import Limits
from mlcloudkg.errors import MlcloudkgError
from mlcloudkg.rebuild import BuildStatus
from mlcloudkg.store import GraphStore

log = logging.getLogger(__name__)
RETIRE_AFTER_SECONDS = 60.0


@dataclass
class Served:
    """One build, opened for serving: the graph API, its query workers and its result cache."""

    build: Build
    kg: KnowledgeGraph
    evaluators: Evaluators
    cache: ResultCache
    graphs: frozenset[str]
    opened_at: float = field(default_factory=time.time)

    @property
    def version(self) -> str:
        return self.build.digest

    @property
    def last_modified(self) -> datetime:
        return datetime.fromisoformat(self.build.manifest["built_at"])


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
        store = GraphStore(build)
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
