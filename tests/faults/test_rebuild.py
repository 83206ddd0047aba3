"""`serve` rebuilds when the sources change: a build that fails (a data file, the reasoner) keeps the last good
build in service and /healthz says why; a good build is swapped in atomically, and no request sees half of one."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator

import pytest

from mlcloudkg.config import Settings
from mlcloudkg.rebuild import attempt_build_apart

from ..conftest import LiveServer
from .conftest import (
    Article,
    children,
    command_line,
    deepnote,
    has_ended,
    health,
    serve_copy,
    settled_deepnote,
    settled_health,
    wait_for,
    web_workers,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def copy(project_copy: Callable[[], Settings]) -> Iterator[tuple[Settings, LiveServer]]:
    settings = project_copy()
    server = serve_copy(settings)
    yield settings, server
    server.stop()


def is_ok(serving: str) -> Callable[[dict], bool]:
    return lambda h: h["status"] == "ok" and h["serving"]["build"] == serving


def test_a_broken_data_file_keeps_the_last_good_build_and_says_why(copy: tuple[Settings, LiveServer]) -> None:
    settings, server = copy
    good = health(server)["serving"]["build"]
    article = Article(settings)
    article.break_syntax()
    degraded = settled_health(server, lambda h: h["status"] == "degraded")
    assert degraded["serving"]["build"] == good
    (problem,) = degraded["problems"]
    assert "the sources changed but do not build: data/article-colab-vs-gradient-2020-12-17.trig:" in problem
    assert "syntax error" in problem and f"still serving the last good build {good}" in problem
    assert deepnote(server)[1] == "Deepnote"

    article.name_deepnote("Deepnote Inc.")
    mended = settled_health(server, lambda h: h["status"] == "ok" and h["serving"]["build"] != good)
    assert mended["problems"] == [] and not mended["sources_changed_since_build"]
    settled_deepnote(server, "Deepnote Inc.")


def test_a_failing_reasoner_keeps_the_last_good_build_and_says_why(copy: tuple[Settings, LiveServer]) -> None:
    settings, server = copy
    good = health(server)["serving"]["build"]
    ontology = settings.ontology_dir / "mlcloud.ttl"
    original = ontology.read_text()
    # Equivalence of two named classes: valid OWL, but a rule the reasoner refuses to compile.
    ontology.write_text(original + "\nmlc:Plan owl:equivalentClass mlc:Offering .\n")
    degraded = settled_health(server, lambda h: h["status"] == "degraded")
    assert degraded["serving"]["build"] == good
    assert "owl:equivalentClass" in degraded["problems"][0]
    assert deepnote(server)[1] == "Deepnote"

    ontology.write_text(original)  # back to the sources of the build being served: it is reused
    settled_health(server, is_ok(good))


def test_no_request_sees_half_a_build_while_builds_are_swapped(copy: tuple[Settings, LiveServer]) -> None:
    settings, server = copy
    article = Article(settings)
    first = health(server)["serving"]["build"]
    triples, _ = deepnote(server)
    article.name_deepnote("Deepnote Inc.")
    second = settled_health(server, lambda h: h["status"] == "ok" and h["serving"]["build"] != first)["serving"]
    allowed = {(triples, "Deepnote"), (triples, "Deepnote Inc.")}  # renaming keeps the number of triples
    assert settled_deepnote(server, "Deepnote Inc.") == (triples, "Deepnote Inc.")

    answers: list[tuple[int, str]] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                answers.append(deepnote(server))
            except BaseException as error:  # any failure fails the test
                failures.append(error)

    clients = [threading.Thread(target=ask) for _ in range(4)]
    for client in clients:
        client.start()
    try:
        for name, build in [("Deepnote", first), ("Deepnote Inc.", second["build"])] * 2:
            article.name_deepnote(name)
            settled_health(server, is_ok(build))
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=30)
    assert failures == []
    assert len(answers) > 20
    assert set(answers) <= allowed
    assert set(answers) == allowed  # both builds were seen


def test_the_watcher_outlives_a_reload_of_the_web_workers(copy: tuple[Settings, LiveServer]) -> None:
    settings, server = copy
    good = health(server)["serving"]["build"]
    old = set(web_workers(server))
    server.process.send_signal(signal.SIGHUP)  # gunicorn's reload: new web workers; the old ones exit gracefully
    # Idle workers exit at once; one that hangs on its way out is killed only after the 30 s grace period.
    wait_for(lambda: not old & set(web_workers(server)), 20, "the old web workers gone")
    Article(settings).name_deepnote("Deepnote Inc.")
    settled_health(server, lambda h: h["status"] == "ok" and h["serving"]["build"] != good)
    settled_deepnote(server, "Deepnote Inc.")


def test_a_build_process_that_is_killed_is_a_failed_attempt(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    before = set(children(os.getpid()))
    outcome = {}
    attempt = threading.Thread(target=lambda: outcome.update(attempt=attempt_build_apart(settings)))
    attempt.start()
    (builder,) = wait_for(  # a new process started by multiprocessing (not its resource tracker)
        lambda: [p for p in set(children(os.getpid())) - before if "spawn_main" in command_line(p)],
        30,
        "the build process started",
    )
    os.kill(builder, signal.SIGKILL)
    attempt.join(timeout=60)
    assert outcome["attempt"].failure == "the build process was killed (SIGKILL; out of memory?)"
    assert not (settings.build_dir / "current").exists()


def test_stopping_the_server_mid_rebuild_stops_the_build_and_leaves_no_staging(
    copy: tuple[Settings, LiveServer],
) -> None:
    settings, server = copy
    watcher = next(p for p in children(server.process.pid) if "spawn_main" in command_line(p))
    Article(settings).name_deepnote("Deepnote Inc.")
    staging = wait_for(lambda: list((settings.build_dir / "builds").glob(".staging-*")), 30, "a rebuild under way")
    builder = next(p for p in children(watcher) if "spawn_main" in command_line(p))
    assert server.stop() == 0
    assert has_ended(watcher) and has_ended(builder)
    assert not any(path.exists() for path in staging)
