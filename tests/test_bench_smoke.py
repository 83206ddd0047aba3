"""The endpoint benchmark's parts (bench/loadgen.py, bench/report.py): percentiles, ratios and tables, and requests
that never repeat a query text (against a stand-in endpoint on loopback)."""

from __future__ import annotations

import http.server
import math
from collections.abc import Callable
from pathlib import Path

from bench import loadgen, workload
from bench.loadgen import percentile
from bench.report import growth_exponent, ratio, table, throughput_table

from .conftest import StandIn

ROOT = Path(__file__).resolve().parents[1]


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0


def test_p99_of_fewer_than_a_hundred_samples_is_the_maximum() -> None:
    assert percentile([3.0, 1.0, 2.0], 0.99) == 3.0


def test_percentile_of_no_samples_is_not_a_number() -> None:
    assert math.isnan(percentile([], 0.5))


def test_ratio_is_ours_over_theirs_and_missing_figures_give_a_dash() -> None:
    assert ratio(0.013, 0.010) == "1.30x"
    assert ratio(math.nan, 0.010) == "-"
    assert ratio(0.5, None) == "-"


def test_growth_exponent_is_one_for_linear_growth() -> None:
    assert math.isclose(growth_exponent(2.0, 20.0, 1_000, 10_000), 1.0)
    assert math.isclose(growth_exponent(1.0, 100.0, 1_000, 10_000), 2.0)


def test_table_pads_columns_to_the_widest_cell() -> None:
    assert table(["a", "long header"], [["wide cell", "1"]]).splitlines() == [
        "| a         | long header |",
        "|-----------|-------------|",
        "| wide cell | 1           |",
    ]


def test_the_throughput_table_lists_each_servers_errors_by_kind_most_first() -> None:
    slots, busy = "HTTP 503 Query Slots Taken", "HTTP 503 Query Workers Busy"
    result = {"throughput": {"selective": {32: {"ours": {"qps": 2.0, "errors": {busy: 9, slots: 170}}}}}}
    assert throughput_table(result).splitlines()[2].endswith(f"| ours: 179 ({slots} 170, {busy} 9) |")
    earlier = {"throughput": {"selective": {32: {"ours": {"qps": 2.0, "errors": 179}}}}}  # a run before the kinds
    assert throughput_table(earlier).splitlines()[2].endswith("| ours: 179 |")


def endpoint_answering(answer: Callable[[str, bytes], tuple[int, bytes]]) -> type[http.server.BaseHTTPRequestHandler]:
    """A stand-in SPARQL endpoint: each POST is answered with the status and body `answer(path, body)` gives."""

    class Endpoint(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            status, body = answer(self.path, self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    return Endpoint


def test_no_query_text_is_sent_twice_across_runs_and_every_server_gets_the_same_questions(
    loopback_http: StandIn,
) -> None:
    """Our result cache answers a text it has seen: a benchmark that sent one twice would time the cache. And the
    n-th question of a kind is the same on every server, whatever else each was asked before (a latency run stops
    at its time budget, so servers get different numbers of the other questions)."""
    received: dict[str, list[bytes]] = {"/ours": [], "/peer": []}

    def answer(path: str, body: bytes) -> tuple[int, bytes]:
        received[path].append(body)
        return 200, b'{"head": {"vars": []}, "results": {"bindings": []}}'

    port = int(loopback_http(endpoint_answering(answer)).rsplit(":", 1)[1])
    ours, peer = (loadgen.Endpoint(name, port, f"/{name}") for name in ("ours", "peer"))
    comparison, finder = (item.make for item in workload.items(ROOT / "queries", 10_000)[:2])
    loadgen.latency(ours, finder, samples=3, budget=10, timeout=10)  # asked of ours only
    for endpoint in (ours, peer):
        loadgen.latency(endpoint, comparison, samples=5, budget=10, timeout=10)
    first_comparisons = {path: list(texts[-6:]) for path, texts in received.items()}
    for _ in range(3):  # rounds, as --repeat runs them
        loadgen.latency(ours, comparison, samples=5, budget=10, timeout=10)
        loadgen.throughput(ours, [comparison, finder], clients=2, duration=0.2, timeout=10)
    assert first_comparisons["/ours"] == first_comparisons["/peer"]
    assert len(received["/ours"]) > 4 + 3 * 6
    assert len(set(received["/ours"])) == len(received["/ours"])


def test_an_error_is_counted_by_the_limit_our_answer_names(loopback_http: StandIn) -> None:
    """Our 503s name the limit reached (our plain text for SPARQL, problem+json for pages); a peer's body is not
    taken for a title."""
    answers = iter(
        [
            b"503 Query Timeout: the warm-up's answer, not counted\n",
            b"503 Query Slots Taken: all 4 query slots of this worker stayed taken for 2 s\naccepted: a retry\n",
            b'{"type": "about:blank", "title": "Query Timeout", "status": 503, "detail": "stopped at 10 s"}',
            b"Service Unavailable: too many requests",
        ]
    )

    port = int(loopback_http(endpoint_answering(lambda _path, _body: (503, next(answers)))).rsplit(":", 1)[1])
    comparison = workload.items(ROOT / "queries", 10_000)[0].make
    outcome = loadgen.latency(loadgen.Endpoint("ours", port, "/"), comparison, samples=3, budget=10, timeout=10)
    assert outcome.errors == {"HTTP 503 Query Slots Taken": 1, "HTTP 503 Query Timeout": 1, "HTTP 503": 1}
    assert outcome.latencies == []
