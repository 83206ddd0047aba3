"""Load test of the live service, on loopback only: `python -m bench load [--clients 32] [--seconds 60]`.

Starts `mlcloudkg serve` on a free 127.0.0.1 port (default settings, no watcher), then runs two rounds of
`--clients` concurrent clients for `--seconds` each:
- clean: the named queries of queries/ (through /sparql, bound with their defaults), the downloads, and the pages
  (/healthz, the service description, the download index, the VoID description);
- hostile: the same, with a share (`--hostile`, default 10%) of slow or hostile queries mixed in.
It prints a table: requests, errors, p50 and p99 of the fast requests, requests per second, and the memory of the
server's processes (sampled every second: after the warm-up, at the end, and the growth). What a demanding user
expects: zero errors, memory flat, and the fast requests' p99 in the hostile round within 2x of the clean one.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from bench import report, servers
from bench.servers import rss
from mlcloudkg.config import Settings
from mlcloudkg.queries import load_catalog

# A value for a parameter that is required and has no default (the others keep their defaults).
EXAMPLES = {
    "iri": "https://w3id.org/mlcloudkg/id/google-colab",
    "string": "Colab",
    "integer": "1",
    "decimal": "16",
    "boolean": "true",
    "date": "2020-12-17",
}
WARM_UP_SHARE = 0.25  # the first quarter of a round warms caches and pools; memory is compared after it


@dataclass(frozen=True)
class Probe:
    """One kind of request: how to send it, and the statuses that mean it was handled as it should be."""

    kind: str  # "query", "download", "page" or "hostile"
    name: str
    send: Callable[[requests.Session, str], requests.Response]
    expect: frozenset[int] = frozenset({200})


@dataclass
class Round:
    name: str
    latencies: dict[str, list[float]] = field(default_factory=dict)  # kind -> seconds
    unexpected: Counter[str] = field(default_factory=Counter)  # "kind name status" -> count
    statuses: Counter[int] = field(default_factory=Counter)
    # (seconds since start, RSS of the server's lasting processes, RSS of its query workers), in bytes
    memory: list[tuple[float, int, int]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def fast(self) -> list[float]:
        return sorted(s for kind, values in self.latencies.items() if kind != "hostile" for s in values)

    @property
    def errors(self) -> int:
        return sum(self.unexpected.values())

    def percentile(self, share: float) -> float:
        fast = self.fast
        return fast[min(len(fast) - 1, int(share * len(fast)))] if fast else float("nan")

    def memory_after_warm_up(self) -> tuple[int, int]:
        """RSS (bytes) of the server's lasting processes (gunicorn, web workers, watcher) just after the warm-up,
        and at the end. Query workers are left out: they are replaced after each timeout, and capped."""
        # Against the sampled span: the round's wall time also holds the wait for its slowest requests to end.
        span = self.memory[-1][0] if self.memory else 0.0
        later = [server for t, server, _ in self.memory if t >= WARM_UP_SHARE * span]
        return (later[0], later[-1]) if later else (0, 0)

    @property
    def query_workers_peak(self) -> int:
        return max((workers for _, _, workers in self.memory), default=0)


def fast_probes(base: str, settings: Settings) -> list[Probe]:
    catalog, _ = load_catalog(settings.queries_dir)
    probes = [
        Probe("query", name, _form(query.bind({p.name: EXAMPLES[p.type] for p in query.parameters if p.required})))
        for name, query in sorted(catalog.items())
    ]
    index = requests.get(base + "/download/", timeout=30).json()
    probes += [Probe("download", d["filename"], _get(f"/download/{d['filename']}")) for d in index["downloads"]]
    probes += [
        Probe("page", "/healthz", _get("/healthz")),
        Probe("page", "service description", _get("/sparql", {"Accept": "text/turtle"})),
        Probe("page", "/download/", _get("/download/")),
        Probe("page", "/.well-known/void", _get("/.well-known/void", {"Accept": "text/turtle"})),
    ]
    return probes


def hostile_probes() -> list[Probe]:
    limited = frozenset({422, 503})
    return [
        Probe(
            "hostile", "cartesian count", _form("SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"), limited
        ),
        Probe(
            "hostile", "path explosion", _form("SELECT * { ?s (!<urn:x>|^!<urn:x>)* ?o . ?o (!<urn:x>)* ?z }"), limited
        ),
        Probe(
            "hostile",
            "string blow-up",
            _form(
                "SELECT (STRLEN(?s10) AS ?n) { BIND('aaaaaaaaaaaaaaaa' AS ?s0) "
                + " ".join(
                    f"BIND(CONCAT(?s{i},?s{i},?s{i},?s{i},?s{i},?s{i},?s{i},?s{i}) AS ?s{i + 1})" for i in range(10)
                )
                + " }"
            ),
            limited,
        ),
        Probe("hostile", "SERVICE", _form("SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"), frozenset({403})),
        Probe("hostile", "INSERT", _form("INSERT DATA { <urn:a> <urn:b> <urn:c> }"), frozenset({403})),
        Probe("hostile", "deep nesting", _form("ASK " + "{" * 2000 + "}" * 2000), frozenset({400})),
    ]


def _form(query: str) -> Callable[[requests.Session, str], requests.Response]:
    def send(session: requests.Session, base: str) -> requests.Response:
        # Fast queries repeat, as the UI's and API's do (and are answered from the cache); errors are never cached.
        return session.post(base + "/sparql", data={"query": query}, timeout=120)

    return send


def _get(path: str, headers: dict[str, str] | None = None) -> Callable[[requests.Session, str], requests.Response]:
    def send(session: requests.Session, base: str) -> requests.Response:
        return session.get(base + path, headers=headers or {}, timeout=120)

    return send


def run_round(
    name: str,
    base: str,
    *,
    server_pid: int,
    clients: int,
    seconds: float,
    fast: list[Probe],
    hostile: list[Probe] = (),  # type: ignore[assignment]
    hostile_share: float = 0.0,
    seed: int = 1,
) -> Round:
    """`clients` threads sending requests back to back for `seconds`; a share of them hostile."""
    outcome = Round(name)
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds

    def client(number: int) -> None:
        chooser = random.Random(seed * 1000 + number)
        session = requests.Session()
        while time.monotonic() < deadline:
            probe = chooser.choice(hostile if hostile and chooser.random() < hostile_share else fast)
            sent = time.monotonic()
            try:
                status = probe.send(session, base).status_code
            except requests.RequestException as error:
                status, _ = 0, error
            elapsed = time.monotonic() - sent
            with lock:
                outcome.latencies.setdefault(probe.kind, []).append(elapsed)
                outcome.statuses[status] += 1
                if status not in probe.expect:
                    outcome.unexpected[f"{probe.kind} {probe.name} {status}"] += 1

    def sample_memory() -> None:
        while time.monotonic() < deadline:
            outcome.memory.append((time.monotonic() - started, *resident_bytes(server_pid)))
            time.sleep(1)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    threads.append(threading.Thread(target=sample_memory))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 300)
    outcome.seconds = time.monotonic() - started
    return outcome


def resident_bytes(root: int) -> tuple[int, int]:
    """The resident memory of a server: its lasting processes (the root, its children: web workers, watcher),
    and its query workers (the web workers' children)."""
    try:
        server = psutil.Process(root)
        children = server.children()
    except psutil.Error:
        return 0, 0
    query_workers = []
    for child in children:
        with contextlib.suppress(psutil.Error):
            query_workers += child.children()
    return rss([server, *children]), rss(query_workers)


def table(rounds: list[Round]) -> str:
    """The figures, one row per round."""
    head = [
        "round", "requests", "req/s", "errors", "fast p50 ms", "fast p99 ms", "hostile",
        "server RSS MB after warm-up", "at end", "growth", "query workers RSS MB, peak",
    ]  # fmt: skip
    rows = []
    for r in rounds:
        warm, end = r.memory_after_warm_up()
        total = sum(len(v) for v in r.latencies.values())
        rows.append(
            [
                r.name,
                str(total),
                f"{total / r.seconds:.0f}",
                str(r.errors),
                f"{r.percentile(0.5) * 1000:.1f}",
                f"{r.percentile(0.99) * 1000:.1f}",
                str(len(r.latencies.get("hostile", []))),
                f"{warm / 1e6:.0f}",
                f"{end / 1e6:.0f}",
                f"{(end - warm) / warm:+.1%}" if warm else "-",
                f"{r.query_workers_peak / 1e6:.0f}",
            ]
        )
    return report.table(head, rows)


def start_server(log: Path) -> servers.Server:
    """`mlcloudkg serve` on a free loopback port, without the watcher (a rebuild would be measured too)."""
    port = servers.free_port()
    command = [sys.executable, "-m", "mlcloudkg", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-watch"]
    return servers.start("ours", command, port, "/healthz", log)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--seconds", type=float, default=60, help="length of each round (default 60)")
    parser.add_argument("--hostile", type=float, default=0.1, help="share of hostile requests (default 0.1)")
    options = parser.parse_args(argv)
    settings = Settings.from_env()
    log = Path(settings.build_dir) / "bench-load-server.log"
    server = start_server(log)
    base = f"http://127.0.0.1:{server.port}"
    try:
        fast = fast_probes(base, settings)
        rounds = [
            run_round(
                "clean",
                base,
                server_pid=server.process.pid,
                clients=options.clients,
                seconds=options.seconds,
                fast=fast,
            ),
            run_round(
                f"{options.hostile:.0%} hostile",
                base,
                server_pid=server.process.pid,
                clients=options.clients,
                seconds=options.seconds,
                fast=fast,
                hostile=hostile_probes(),
                hostile_share=options.hostile,
            ),
        ]
    finally:
        server.stop()
    print(f"{options.clients} clients, {options.seconds:g} s per round, server on {base} (log: {log})\n")
    print(table(rounds))
    clean, hostile = rounds
    print(f"\nfast p99 with hostile queries / clean: {hostile.percentile(0.99) / clean.percentile(0.99):.2f}x")
    for r in rounds:
        for what, count in r.unexpected.most_common():
            print(f"unexpected in {r.name}: {what} x{count}")
