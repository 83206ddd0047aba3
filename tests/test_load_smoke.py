"""A few seconds of the load test (bench/load.py) against the session's server: the mix runs, every fast request
is answered as it should be (once warm, as in the benchmark, whose clean round comes first), every hostile one is
refused or stopped, and the report renders. Speed is measured by `python -m bench load`, not here."""

from __future__ import annotations

from bench.load import fast_probes, hostile_probes, run_round, table

from .conftest import LiveServer


def test_a_short_load_with_hostile_queries_has_no_errors(server: LiveServer, settings) -> None:
    fast = fast_probes(server.url, settings)
    assert {p.kind for p in fast} == {"query", "download", "page"}
    clean = run_round("warm", server.url, server_pid=server.process.pid, clients=4, seconds=2, fast=fast)
    assert clean.errors == 0, clean.unexpected
    outcome = run_round(
        "smoke",
        server.url,
        server_pid=server.process.pid,
        clients=4,
        seconds=4,
        fast=fast,
        hostile=hostile_probes(),
        hostile_share=0.2,
    )
    assert outcome.errors == 0, outcome.unexpected
    assert len(outcome.fast) > 20
    assert outcome.latencies.get("hostile")
    assert outcome.memory and outcome.memory[0][1] > 0
    report = table([outcome])
    assert report.splitlines()[2].startswith("| smoke")
