"""`serve` keeps the graph in step with its sources: a watcher process rebuilds it when they change.

Edit a data file while `make run` serves, and the service serves the new graph a few seconds later. A build that
fails never replaces the good one (build.py moves build/current only after a complete build): the service keeps
serving the last good build and /healthz says "degraded", with the reason, until a build succeeds.

The outcome of the last build travels from the watcher to the web workers in shared memory, not in a file, so
that it is reported even when the disk is full or the build directory read-only.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from mlcloudkg.build import is_built
from mlcloudkg.config import Settings
from mlcloudkg.errors import MlcloudkgError
from mlcloudkg.served_build import build_to_serve
from mlcloudkg.sources import WatchedDigest, sources_digest

log = logging.getLogger(__name__)
_CONTEXT = multiprocessing.get_context("spawn")  # the watcher starts before gunicorn forks its workers
STATUS_BYTES = 16_384
MAX_REASON_CHARS = 2_000
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
STOP_SECONDS = 30  # for a stopped build to remove its staging
BUILD_NICENESS = 10  # a rebuild takes what CPU the service leaves: requests keep their speed meanwhile


@dataclass(frozen=True)
class Attempt:
    """One build of the sources: which sources (their digest), when, and why it failed (None: it succeeded)."""

    digest: str
    at: float
    failure: str | None


class BuildStatus:
    """The last build attempt, written by the watcher (or serve at start) and read by every web worker."""

    def __init__(self) -> None:
        self._shared: Any = _CONTEXT.Array("c", STATUS_BYTES)

    def record(self, attempt: Attempt) -> None:
        failure = attempt.failure if attempt.failure is None else attempt.failure[:MAX_REASON_CHARS]
        data = json.dumps({"digest": attempt.digest, "at": attempt.at, "failure": failure}).encode()
        with self._shared.get_lock():
            self._shared.raw = data.ljust(STATUS_BYTES, b"\0")

    def last(self) -> Attempt | None:
        """The last attempt, or None if there was none (or the writer died while writing: never block a reader)."""
        lock = self._shared.get_lock()
        if not lock.acquire(timeout=1):
            return None
        try:
            data = self._shared.raw.rstrip(b"\0")
        finally:
            lock.release()
        return Attempt(**json.loads(data)) if data else None


def attempt_build(settings: Settings) -> Attempt:
    """Build the sources as they are now; a failure of any kind is recorded, never raised."""
    digest = _digest_or_none(lambda: sources_digest(settings)) or "unreadable"
    try:
        outcome = build_to_serve(settings)
    except Exception as error:  # a bug in a step must not stop the service either
        log.error("the sources do not build; still serving the last good build", exc_info=True)
        return Attempt(digest, time.time(), describe_failure(error, settings))
    return Attempt(outcome.build.digest, time.time(), None)


def attempt_build_apart(settings: Settings) -> Attempt:
    """attempt_build in a process of its own, which ends with the build. Its memory goes with it (a long-lived
    process keeps its high-water mark), a crash of it (the kernel's OOM killer) is a failed attempt rather than the
    end of the caller, and the caller never runs the on-disk store's threads (RocksDB's): gunicorn forks the web
    workers from `serve`'s process, and a fork inherits those threads' state but not the threads, so a web worker
    then hung or crashed on its way out, in RocksDB's exit handler. (ProcessPoolExecutor cannot stop a running
    build when we are stopped.)"""
    digest = _digest_or_none(lambda: sources_digest(settings))
    if digest is not None and is_built(settings, digest):
        return Attempt(digest, time.time(), None)  # served already: no process to start (0.7 s of imports)
    receiving, sending = _CONTEXT.Pipe(duplex=False)
    builder = _CONTEXT.Process(target=_build_and_send, args=(settings, sending), name="mlcloudkg-build")
    builder.start()
    sending.close()
    try:
        return receiving.recv()
    except EOFError:
        builder.join()
        code = builder.exitcode or 0
        how = f"was killed ({signal.Signals(-code).name}; out of memory?)" if code < 0 else f"ended with status {code}"
        reason = f"the build process {how}"
        log.error("%s; still serving the last good build", reason)
        return Attempt(digest or "unreadable", time.time(), reason)
    except BaseException:  # we are being stopped: so is the build, which removes its staging on the way out
        builder.terminate()
        raise
    finally:
        builder.join()
        receiving.close()


def _build_and_send(settings: Settings, sending: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group: our parent stops us
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # exit through `finally` blocks: staging is cleaned
    outcome = attempt_build(settings)
    with contextlib.suppress(OSError):  # the parent is gone
        sending.send(outcome)


def describe_failure(error: BaseException, settings: Settings) -> str:
    """Why a build failed, fit for /healthz (public): our errors say what and where (file:line, relative to the
    project); a file-system error says what went wrong without its path; anything else names only its kind."""
    if isinstance(error, MlcloudkgError):
        return str(error).replace(f"{settings.root}/", "")
    if isinstance(error, OSError):
        number = _error_number(error)
        if number is None:
            return "the new build could not be read or written; the server log has the details"
        reason = os.strerror(number)
        if number in DISK_FULL:
            return f"the new build could not be written: {reason} (the disk is full?)"
        if number in READ_ONLY:
            return f"the new build could not be written: {reason} (the build directory is read-only?)"
        return f"the new build could not be read or written: {reason}"
    return f"the build failed unexpectedly ({type(error).__name__}); the server log has the details"


def _error_number(error: OSError) -> int | None:
    """The error's number. The on-disk store's errors (RocksDB's, through pyoxigraph) carry none, only a message
    that names the file and ends with the system's words for the error, e.g. "...000008.log: File too large"."""
    if error.errno:
        return error.errno
    message = str(error)
    return next((number for number in (*DISK_FULL, *READ_ONLY) if os.strerror(number) in message), None)


def start_watcher(settings: Settings, status: BuildStatus, attempted: str | None) -> multiprocessing.Process:
    """Start the watcher process; stop it with stop_watcher (should the server die, it sees it and ends too). Not a
    daemon: a daemon may not start processes, and each build runs in one, with workers of its own to validate."""
    watcher = _CONTEXT.Process(target=watch, args=(settings, status, attempted, os.getpid()), name="mlcloudkg-watcher")
    watcher.start()
    return watcher


def stop_watcher(watcher: multiprocessing.Process) -> None:
    """Stop the watcher, and the build it may be running (which removes its staging on the way out)."""
    watcher.terminate()
    watcher.join(timeout=STOP_SECONDS)
    if watcher.is_alive():
        watcher.kill()
        watcher.join()


def watch(settings: Settings, status: BuildStatus, attempted: str | None, parent: int) -> None:
    """Every `reload_seconds`, look at the sources; once a change has settled (the same digest twice in a row: an
    editor may still be writing), build it. A digest already tried is not tried again until the sources change."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group: the server stops us
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # exit through `finally`: the build is stopped too
    os.nice(BUILD_NICENESS)  # the builds inherit it
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [watcher] %(message)s")
    seen = attempted
    sources = WatchedDigest(settings)
    while os.getppid() == parent:
        time.sleep(settings.reload_seconds)
        digest = _digest_or_none(sources.digest)
        if digest is None or digest == attempted:
            continue
        if digest != seen:
            seen = digest
            continue
        log.info("the sources changed (%s): building", digest)
        outcome = attempt_build_apart(settings)
        attempted = digest
        status.record(outcome)
        if outcome.failure is None:
            log.info("built %s; the web workers pick it up within %g s", outcome.digest, settings.reload_seconds)


def _digest_or_none(compute: Callable[[], str]) -> str | None:
    try:
        return compute()
    except OSError:  # a file is being replaced right now; look again next time
        return None
