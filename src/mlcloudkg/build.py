"""Build: load → validate → store → reason → downloads, cached by a hash of the sources.

Each build lives in build/builds/<digest>/ (the Oxigraph store, the downloads, manifest.json). build/current is a
symlink to the build being served; it is replaced atomically, so a reader sees the old build or the new one,
never a half-written one. An unchanged build is found by its digest and costs nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import resource
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from mlcloudkg import __version__
from mlcloudkg.config import Settings
from mlcloudkg.dataset import (
    INFERRED,
    ONTOLOGY,
    PROVENANCE,
    add_current,
    add_snapshot,
    assemble,
    passage_graphs,
)
from mlcloudkg.errors import BuildNotFound, ValidationFailed
from mlcloudkg.export import write_downloads
from mlcloudkg.history import Timeline, rows_of
from mlcloudkg.reasoning.materialize import materialize
from mlcloudkg.reasoning.rules import RuleSet, compile_rules
from mlcloudkg.sources import load_sources, sources_digest, to_rdflib
from mlcloudkg.validate import validate

MANIFEST = "manifest.json"
RULES = "rules.json"
STORE_DIR = "store"
DOWNLOADS_DIR = "downloads"
KEEP_BUILDS = 3
MAX_SNAPSHOTS = 100


@dataclass(frozen=True)
class Build:
    """A finished build on disk."""

    directory: Path
    manifest: dict[str, Any]

    @property
    def digest(self) -> str:
        return str(self.manifest["digest"])

    @property
    def store_path(self) -> Path:
        return self.directory / STORE_DIR

    @property
    def downloads_path(self) -> Path:
        return self.directory / DOWNLOADS_DIR

    @property
    def rules_path(self) -> Path:
        return self.directory / RULES


@dataclass(frozen=True)
class BuildOutcome:
    build: Build
    reused: bool
    seconds: float


def build(
    settings: Settings, *, force: bool = False, before_serving: Callable[[Build], None] | None = None
) -> BuildOutcome:
    """Build the dataset from the sources, or reuse the build of identical sources. `before_serving` is given a
    finished build before build/current points to it (served_build.py: what the service derives from a build)."""
    started = time.perf_counter()
    builds = settings.build_dir / "builds"
    digest = sources_digest(settings)
    target = builds / digest
    if not force and is_built(settings, digest):
        # Nothing to write, so a build directory that is read-only (or on a full disk) is no obstacle.
        return BuildOutcome(_read(target), True, time.perf_counter() - started)
    builds.mkdir(parents=True, exist_ok=True)
    with _exclusive(settings.build_dir / ".lock"):
        if (target / MANIFEST).is_file() and not force:
            reused = _read(target)
            if before_serving is not None:
                before_serving(reused)
            _point_current(settings.build_dir, target)
            return BuildOutcome(reused, True, time.perf_counter() - started)
        staging = builds / f".staging-{digest}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            manifest = _build_into(settings, staging, digest)
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        built = Build(target, manifest)
        if before_serving is not None:
            before_serving(built)
        _point_current(settings.build_dir, target)
        _prune(builds, keep=target)
    return BuildOutcome(built, False, time.perf_counter() - started)


def _build_into(settings: Settings, directory: Path, digest: str) -> dict[str, Any]:
    timings: dict[str, float] = {}
    peaks: dict[str, int] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = round(now - clock, 3)
        peaks[step] = _peak_rss_mib()
        clock = now

    sources = load_sources(settings)
    lap("load")
    violations = validate(sources)
    lap("validate")
    if violations:
        raise ValidationFailed(violations)
    directory.mkdir(parents=True)
    read = [f.display for f in (sources.ontology, sources.shapes, *sources.data)]
    ontology = to_rdflib(sources.ontology.quads)
    # Built in the on-disk store itself: a copy in memory, bulk-loaded into it at the end, cost the build twice
    # the memory at 1M triples and would not fit at 10M (bench/RESULTS.md, run E).
    store = ox.Store(str(directory / STORE_DIR))
    assemble(store, sources)
    del sources  # the store holds every quad now; the parsed files are the largest thing this process holds
    timeline = Timeline.from_store(store)
    now = timeline.now()
    add_current(store, timeline.facts_on(now))
    lap("store")
    rules = compile_rules(ontology, settings.ontology_dir / "rules", settings.root)
    reasoning = materialize(store, rules)
    lap("reason")
    snapshots = _snapshots(store, timeline, rules)
    del timeline
    lap("snapshots")
    # Bulk loads leave many overlapping files; compacted, the same queries read 2-3x faster at 1M triples
    # (bench/RESULTS.md). The store is read-only from here on.
    store.optimize()
    lap("compact store")
    (directory / RULES).write_text(rules.to_json())
    downloads = write_downloads(store, directory / DOWNLOADS_DIR)
    graphs = _graph_sizes(store)
    passages = len(passage_graphs(store.named_graphs()))
    store.flush()
    del store  # closes the database before the directory is renamed
    lap("downloads")
    manifest = {
        "digest": digest,
        "mlcloudkg_version": __version__,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sources": read,
        "graphs": graphs,
        "passage_graphs": passages,
        "downloads": downloads,
        "reasoning": {
            "inferred": reasoning.inferred,
            "rounds": reasoning.rounds,
            "seconds": reasoning.seconds,
            "rules_run": reasoning.rules_run,
        },
        "now": now.isoformat(),
        "snapshots": [day.isoformat() for day in snapshots],
        "timings_seconds": timings,
        # Where the build's memory goes: this process's high-water mark at the end of each step, in MiB. Not the
        # validation workers': a spawned child's getrusage counts the parent's pages it was forked with.
        "peak_rss_mib": peaks,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _peak_rss_mib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # Linux reports kilobytes


def _snapshots(store: ox.Store, timeline: Timeline, rules: RuleSet) -> list[date]:
    """A snapshot (facts and inferences) for every date the state changes on, so that SPARQL can ask "as of"
    with default-graph-uri. With more change dates than MAX_SNAPSHOTS (large synthetic data) none are stored
    and as-of questions are answered by computing the state on demand (GraphStore.as_of)."""
    days = timeline.change_dates()
    if len(days) > MAX_SNAPSHOTS:
        return []
    background = [
        q.triple for graph in (ONTOLOGY, PROVENANCE) for q in store.quads_for_pattern(None, None, None, graph)
    ]
    for day in days:
        scratch = ox.Store()
        scratch.bulk_extend(ox.Quad(*t) for t in [*background, *timeline.facts_on(day)])
        materialize(scratch, rules)
        state = [q.triple for q in scratch.quads_for_pattern(None, None, None, ox.DefaultGraph())]
        inferred = [q.triple for q in scratch.quads_for_pattern(None, None, None, INFERRED)]
        add_snapshot(store, day, state, inferred)
    return days


def _graph_sizes(store: ox.Store) -> dict[str, int]:
    """Triples in the default graph and in every named graph, for the manifest and the service description.
    Counted by the store: counting its quads in Python took ten times as long (1M triples: 36 s against 3.5 s)."""
    select = rows_of(store)
    sizes = {"default": int(select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"].value)}
    by_graph = select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(isIRI(?g)) } GROUP BY ?g")
    return sizes | dict(sorted((row["g"].value, int(row["n"].value)) for row in by_graph))


def current_build(settings: Settings) -> Build:
    """The build the service serves; raises BuildNotFound if there is none yet."""
    current = settings.build_dir / "current"
    if not (current / MANIFEST).is_file():
        raise BuildNotFound(f"no built dataset in {settings.build_dir}: run `mlcloudkg build` first")
    return _read(current.resolve())


def _read(directory: Path) -> Build:
    return Build(directory, json.loads((directory / MANIFEST).read_text()))


def is_built(settings: Settings, digest: str) -> bool:
    """Whether build/current already is the finished build of the sources with this digest."""
    target = settings.build_dir / "builds" / digest
    try:
        current = (settings.build_dir / "current").resolve(strict=True)
        return (target / MANIFEST).is_file() and current == target.resolve()
    except OSError:
        return False


def _point_current(build_dir: Path, target: Path) -> None:
    link = build_dir / "current"
    staged = build_dir / f".current-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        staged.unlink()
    staged.symlink_to(target.relative_to(build_dir))
    staged.replace(link)


def _prune(builds: Path, keep: Path) -> None:
    """Delete all but the newest builds; a server still reading an old one keeps its open files."""
    finished = sorted((d for d in builds.iterdir() if (d / MANIFEST).is_file()), key=lambda d: d.stat().st_mtime)
    for old in finished[:-KEEP_BUILDS]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
