"""Endpoint benchmark: our service (`mlcloudkg serve`) against `oxigraph serve` and rdflib-endpoint, side by side in
one run, serving the same data over HTTP on 127.0.0.1.

At each size: synthetic data (bench/synthetic.py) with the real ontology, queries and article data is built in a
root of its own under bench/results/endpoint/<size>/ (load + validate + reason + store, timed by the build's
manifest); the whole built dataset is exported as N-Quads for the peers; the three servers are started (startup
time: from process start until they answer, and for ours until its first finder answer); then every query of the
workload (bench/workload.py) is timed at one client (p50/p99), and two mixes are run at each client count
(queries/s), while each server's peak RSS (process tree) is sampled. Each figure is the median of --repeat runs.
Tables go to stdout and to a Markdown file; all figures to a JSON file, both under bench/results/.

    python -m bench endpoint [--sizes 10k,100k,1M] [--clients 1,8,32] [--duration 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import loadgen, peers, report, servers, workload
from bench.synthetic import write as write_synthetic

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000, "10M": 10_000_000}
OURS, OVER_STORE, OXIGRAPH, RDFLIB = report.SERVERS
OUR_SERVERS = (OURS, OVER_STORE)


def _size(text: str) -> int:
    return SIZES[text] if text in SIZES else int(text)


# -- data and build ------------------------------------------------------------------------------------------------


def prepare_root(directory: Path, size: int) -> Path:
    """A project root with our ontology, queries and article data (symlinked) and synthetic data of `size`."""
    root = directory / "root"
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    # Re-pointed every run: a root made by another checkout would measure that checkout's queries and data.
    links = [(root / name, ROOT / name) for name in ("ontology", "queries")]
    links += [(data / source.name, source) for source in sorted((ROOT / "data").glob("*.trig"))]
    for link, target in links:
        if link.is_symlink() and link.readlink() != target:
            link.unlink()
        if not link.exists():
            link.symlink_to(target)
    synthetic = data / f"synthetic-{size}.trig"
    if not synthetic.exists():
        write_synthetic(size, synthetic)
    return root


def our_environment(directory: Path) -> dict[str, str]:
    return {"MLCLOUDKG_ROOT": str(directory / "root"), "MLCLOUDKG_BUILD_DIR": str(directory / "build")}


def measure_build(directory: Path, repeat: int, reuse: bool) -> dict[str, Any]:
    """`mlcloudkg build --force`, `repeat` times, each its own process: wall time, the manifest's step timings and
    peak RSS, medians. The figures are kept beside the build; with `reuse`, an earlier measurement of the same
    sources is reported instead of building again (its date says when it was measured)."""
    kept = directory / "build-measured.json"
    manifest_path = directory / "build" / "current" / "manifest.json"
    if reuse and kept.exists() and manifest_path.exists():
        figures = json.loads(kept.read_text())
        if figures["digest"] == json.loads(manifest_path.read_text())["digest"]:
            return figures
    walls, peaks, timings, step_peaks = [], [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "mlcloudkg", "build", "--force"],
            env={**os.environ, **our_environment(directory)},
            stdout=subprocess.DEVNULL,
        )
        tree_peak = _sample_tree_rss(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"mlcloudkg build failed with exit code {process.returncode}")
        walls.append(time.perf_counter() - started)
        # The validation workers are processes of their own: their memory counts beside the build's.
        peaks.append(max(usage.ru_maxrss * 1024, tree_peak()))  # ru_maxrss: kilobytes on Linux
        manifest = json.loads(manifest_path.read_text())
        timings.append(manifest["timings_seconds"])
        step_peaks.append(manifest.get("peak_rss_mib", {}))  # older builds did not record it
    figures = {
        "digest": json.loads(manifest_path.read_text())["digest"],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "runs": repeat,
        "seconds": statistics.median(walls),
        "seconds_each": [round(w, 2) for w in walls],
        "peak_rss": statistics.median(peaks),
        "timings": {step: statistics.median(t[step] for t in timings) for step in timings[0]},
        # The build process's high-water mark (MiB) at the end of each step, from the manifest.
        "step_peak_rss_mib": {step: statistics.median(p[step] for p in step_peaks) for step in step_peaks[0]},
    }
    kept.write_text(json.dumps(figures, indent=1))
    return figures


def _sample_tree_rss(pid: int, interval: float = 0.2) -> Callable[[], int]:
    """Sample a process tree's resident memory until it ends; the returned function gives the peak."""
    peak = [0]

    def sample() -> None:
        while (now := servers.tree_rss(pid)) > 0:
            peak[0] = max(peak[0], now)
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    def result() -> int:
        sampler.join(timeout=5)
        return peak[0]

    return result


# -- servers -------------------------------------------------------------------------------------------------------


def start_ours(directory: Path, log_dir: Path) -> servers.Server:
    port = servers.free_port()
    metrics = log_dir / f"metrics-{port}"
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir(parents=True)
    # --no-watch: a rebuild in the middle of a measurement would measure the rebuild.
    command = [sys.executable, "-m", "mlcloudkg", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-watch"]
    environment = {**our_environment(directory), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    return servers.start(OURS, command, port, "/healthz", log_dir / "ours.log", env=environment)


def publish(directory: Path, store: servers.Server) -> float:
    """`mlcloudkg publish` of the build into an Oxigraph server; returns the seconds it took."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mlcloudkg", "publish", "--to", f"http://127.0.0.1:{store.port}/store"],
        env={**os.environ, **our_environment(directory)},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def start_over_store(directory: Path, store: servers.Server, log_dir: Path) -> servers.Server:
    port = servers.free_port()
    metrics = log_dir / f"metrics-{port}"
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir(parents=True)
    command = [
        *(sys.executable, "-m", "mlcloudkg", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-watch"),
        *("--store", f"http://127.0.0.1:{store.port}/query"),
    ]
    environment = {**our_environment(directory), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    return servers.start(OVER_STORE, command, port, "/healthz", log_dir / "over-store.log", env=environment)


def start_oxigraph(bin_dir: Path, location: Path, log_dir: Path) -> servers.Server:
    port = servers.free_port()
    command = peers.oxigraph_command(bin_dir, location, port)
    return servers.start(OXIGRAPH, command, port, "/query?query=ASK%7B%7D", log_dir / "oxigraph.log")


def start_rdflib(bin_dir: Path, dataset: Path, log_dir: Path) -> servers.Server:
    port = servers.free_port()
    command = peers.rdflib_endpoint_command(bin_dir, dataset, port)
    return servers.start(RDFLIB, command, port, "/?query=ASK%7B%7D", log_dir / "rdflib-endpoint.log")


ENDPOINT_PATHS = {OURS: "/sparql", OVER_STORE: "/sparql", OXIGRAPH: "/query", RDFLIB: "/"}
# The finder's question (workload.FINDER) through the API, asked the moment a server of ours is up: its answer waits
# for the finder's index (read from the graph, or loaded from beside the build).
FIRST_FIND = "/api/find?free=true&private_notebooks=true&min_gpu_memory_gb=16"


def timed_starts(
    fleet: servers.Fleet, start: Any, repeat: int, first_answers: list[float] | None = None
) -> tuple[servers.Server, list[float]]:
    """Start a server `repeat` times (each a fresh process, stopped before the next); the last one keeps running.
    With `first_answers`, each start's seconds until its first finder answer (FIRST_FIND) are added to it; each is
    stopped only once idle, as a server that has run a while is: what it reads on starting (the finder's index over
    a store) is then kept for the next."""
    times = []
    for number in range(repeat):
        server = fleet.add(start())
        times.append(server.startup_seconds)
        if first_answers is not None:
            first_answers.append(server.first_answer_seconds(FIRST_FIND))
        if number < repeat - 1:
            if first_answers is not None:
                fleet.settle()
            fleet.stop(server)
    return server, times


def _started(times: list[float], first_finds: list[float]) -> dict[str, Any]:
    return {
        "status": "ok",
        "startup_seconds": statistics.median(times),
        "startup_each": times,
        "first_find_seconds": statistics.median(first_finds),
        "first_find_each": first_finds,
    }


# -- measurements --------------------------------------------------------------------------------------------------


def measure_latency(
    items: list[workload.Item],
    endpoints: dict[str, loadgen.Endpoint],
    options: argparse.Namespace,
    fleet: servers.Fleet,
) -> dict[str, dict[str, dict[str, Any]]]:
    """p50 and p99 of each item at one client on each server, the median over rounds. A server that times out or
    fails on an item every time in a round is not asked it again. Each measurement starts on an idle machine."""
    rounds: dict[str, dict[str, list[loadgen.Outcome]]] = {item.name: {} for item in items}
    given_up: dict[tuple[str, str], str] = {}
    for _ in range(options.repeat):
        for item in items:
            for server, endpoint in endpoints.items():
                if (item.ours_only and server not in OUR_SERVERS) or (item.name, server) in given_up:
                    continue
                fleet.settle()
                outcome = loadgen.latency(endpoint, item.make, options.samples, options.budget, options.timeout)
                rounds[item.name].setdefault(server, []).append(outcome)
                if outcome.completed == 0:
                    given_up[(item.name, server)] = _failure(outcome)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for item in items:
        results[item.name] = {}
        for server, outcomes in rounds[item.name].items():
            results[item.name][server] = {
                "p50": loadgen.median_or_nan([loadgen.percentile(o.latencies, 0.5) for o in outcomes]),
                "p99": loadgen.median_or_nan([loadgen.percentile(o.latencies, 0.99) for o in outcomes]),
                "samples": [o.completed for o in outcomes],
                "errors": _errors(outcomes),
                "rows": next((o.rows for o in outcomes if o.rows is not None), None),
            }
            if (item.name, server) in given_up:
                results[item.name][server]["skipped"] = given_up[(item.name, server)]
    return results


def _failure(outcome: loadgen.Outcome) -> str:
    kind = max(outcome.errors, key=lambda k: outcome.errors[k]) if outcome.errors else "no answer"
    return f"failed ({kind})"


def _errors(outcomes: list[loadgen.Outcome]) -> dict[str, int]:
    total: dict[str, int] = {}
    for outcome in outcomes:
        for kind, count in outcome.errors.items():
            total[kind] = total.get(kind, 0) + count
    return total


def measure_throughput(
    items: list[workload.Item],
    endpoints: dict[str, loadgen.Endpoint],
    latency: dict[str, dict[str, dict[str, Any]]],
    options: argparse.Namespace,
    fleet: servers.Fleet,
) -> dict[str, dict[int, dict[str, Any]]]:
    """Queries/s of each mix at each client count on each server, the median over rounds (rounds outermost, so that
    a busy spell of the machine falls on every server alike). A server that failed an item of the mix at one
    client is not loaded with that mix: its figure would measure the failures."""
    sparql = [item for item in items if not item.ours_only]
    mixes = {"selective (comparison, finder, provenance)": [item for item in sparql if item.selective]}
    if not options.selective_only:
        mixes["all SPARQL queries"] = sparql
    runs: dict[tuple[str, int, str], list[loadgen.Outcome]] = {}
    for _ in range(options.repeat):
        for mix, members in mixes.items():
            for clients in options.clients:
                for server, endpoint in endpoints.items():
                    if not _failed(members, server, latency):
                        makers = [m.make for m in members]
                        fleet.settle()
                        outcome = loadgen.throughput(endpoint, makers, clients, options.duration, options.timeout)
                        runs.setdefault((mix, clients, server), []).append(outcome)
    results: dict[str, dict[int, dict[str, Any]]] = {}
    for mix, members in mixes.items():
        results[mix] = {}
        for clients in options.clients:
            by_server: dict[str, Any] = {}
            for server in endpoints:
                failed = _failed(members, server, latency)
                if failed:
                    by_server[server] = {"skipped": f"not run ({failed[0]} failed)"}
                    continue
                outcomes = runs[(mix, clients, server)]
                by_server[server] = {
                    "qps": statistics.median(o.throughput for o in outcomes),
                    "qps_each": [round(o.throughput, 1) for o in outcomes],
                    "errors": dict(sum((Counter(o.errors) for o in outcomes), Counter())),
                }
            results[mix][clients] = by_server
    return results


def _failed(members: list[workload.Item], server: str, latency: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    return [m.name for m in members if latency[m.name].get(server, {}).get("skipped")]


# -- one size ------------------------------------------------------------------------------------------------------


def run_size(label: str, options: argparse.Namespace, bin_dir: Path) -> dict[str, Any]:
    size = _size(label)
    directory = RESULTS / "endpoint" / label
    print(f"\n## {label}: preparing data and building", flush=True)
    prepare_root(directory, size)
    build = measure_build(directory, options.build_repeat, options.reuse_build)
    manifest = json.loads((directory / "build" / "current" / "manifest.json").read_text())
    store_path = directory / "build" / "current" / "store"
    dataset = directory / "dataset.nq"
    # The peers load the build's quads from a file; without them, the manifest counts the quads.
    if size <= _size(options.oxigraph_max) or size <= _size(options.rdflib_max):
        quads = peers.export_dataset(store_path, dataset)
    else:
        quads = sum(manifest["graphs"].values())
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    result: dict[str, Any] = {
        "size": label,
        "input_triples": _synthetic_triples(directory / "root" / "data" / f"synthetic-{size}.trig"),
        "quads": quads,
        "default_graph_triples": manifest["graphs"]["default"],
        "build": build,
        "servers": {},
        "load_average": {"start": load_at_start},
    }
    items = [i for i in workload.items(ROOT / "queries", size) if i.selective or not options.selective_only]
    fleet = servers.Fleet()
    with fleet.running():
        print(f"## {label}: starting servers ({quads:,} quads)", flush=True)
        running = start_servers(
            size, directory, dataset=dataset, options=options, bin_dir=bin_dir, fleet=fleet, status=result["servers"]
        )
        time.sleep(2)
        for name, server in running.items():
            result["servers"][name]["idle_rss"] = server.rss_now()
        endpoints = {
            name: loadgen.Endpoint(name, server.port, ENDPOINT_PATHS[name]) for name, server in running.items()
        }
        print(f"## {label}: latency at 1 client", flush=True)
        result["latency"] = measure_latency(items, endpoints, options, fleet)
        print(f"## {label}: throughput", flush=True)
        result["throughput"] = measure_throughput(items, endpoints, result["latency"], options, fleet)
        _record_end(result, running, fleet)
    return result


def start_servers(
    size: int,
    directory: Path,
    *,
    dataset: Path,
    options: argparse.Namespace,
    bin_dir: Path,
    fleet: servers.Fleet,
    status: dict[str, Any],
) -> dict[str, servers.Server]:
    """Start ours and each peer run at this size (each `repeat` times, for its startup time), writing each one's
    status, load and startup figures into `status`; returns the running servers by name."""
    log_dir = directory / "logs"
    with_oxigraph, with_rdflib = size <= _size(options.oxigraph_max), size <= _size(options.rdflib_max)
    running: dict[str, servers.Server] = {}
    first_finds: list[float] = []
    ours, times = timed_starts(fleet, lambda: start_ours(directory, log_dir), options.repeat, first_finds)
    running[OURS] = ours
    status[OURS] = _started(times, first_finds)
    if with_oxigraph:
        store = directory / "oxigraph-store"
        loads = [peers.oxigraph_load(bin_dir, dataset, store) for _ in range(options.repeat)]
        oxigraph, times = timed_starts(fleet, lambda: start_oxigraph(bin_dir, store, log_dir), options.repeat)
        running[OXIGRAPH] = oxigraph
        status[OXIGRAPH] = {
            "status": "ok",
            "load_seconds": statistics.median(loads),
            "startup_seconds": statistics.median(times),
            "startup_each": times,
        }
    else:
        status[OXIGRAPH] = {"status": f"not run above {options.oxigraph_max} (--oxigraph-max)"}
    if size <= _size(options.remote_max):
        # A store of its own, so that the peer's stays exactly the exported dataset.
        shutil.rmtree(directory / "published-store", ignore_errors=True)
        store = fleet.add(start_oxigraph(bin_dir, directory / "published-store", log_dir))
        published = publish(directory, store)
        first_finds = []
        over_store, times = timed_starts(
            fleet, lambda: start_over_store(directory, store, log_dir), options.repeat, first_finds
        )
        running[OVER_STORE] = over_store
        status[OVER_STORE] = {**_started(times, first_finds), "load_seconds": published}
    else:
        status[OVER_STORE] = {"status": f"not run above {options.remote_max} (--remote-max)"}
    if with_rdflib:
        try:
            rdflib, times = timed_starts(fleet, lambda: start_rdflib(bin_dir, dataset, log_dir), 1)
            running[RDFLIB] = rdflib
            # Its start is its load: it parses the whole N-Quads file before it answers.
            status[RDFLIB] = {"status": "ok", "load_seconds": times[0], "startup_seconds": times[0]}
        except RuntimeError as error:
            status[RDFLIB] = {"status": f"failed to start: {error}"}
    else:
        status[RDFLIB] = {"status": f"not run above {options.rdflib_max} (--rdflib-max)"}
    return running


def _record_end(result: dict[str, Any], running: dict[str, servers.Server], fleet: servers.Fleet) -> None:
    """What the servers used, whether they lasted, and how the machine was when the measurements ended."""
    result["load_average"]["end"] = [round(x, 2) for x in os.getloadavg()]
    result["settle_seconds"] = round(fleet.settled_seconds, 1)
    for name, server in running.items():
        result["servers"][name]["peak_rss"] = server.peak_rss
        if server.process.poll() is not None:
            result["servers"][name]["status"] = f"exited with {server.process.returncode} during the run"


def _synthetic_triples(path: Path) -> int:
    import pyoxigraph as ox

    return sum(1 for _ in ox.parse(path=str(path), format=ox.RdfFormat.TRIG))


# -- report --------------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "uname": " ".join(platform.uname()),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def our_versions() -> dict[str, str]:
    from importlib.metadata import version

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True, cwd=ROOT
    )
    return {
        "mlcloudkg": f"{version('mlcloudkg')} ({commit.stdout.strip() or 'unknown commit'})",
        "pyoxigraph": version("pyoxigraph"),
        "gunicorn": version("gunicorn"),
        "flask": version("flask"),
    }


def render(run: dict[str, Any]) -> str:
    lines = [
        f"# Endpoint benchmark, {run['machine']['date']}",
        "",
        f"Command: `{run['command']}`",
        "",
        "Machine: {nproc} cores, {ram_gib} GiB RAM, Python {python}, `{uname}`; load average at start {start}, "
        "at end {end}".format(
            **run["machine"], start=run["machine"]["load_average"], end=run.get("load_average_end", "?")
        ),
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in {**run["ours"], **run["peers"]}.items()),
        "",
        f"Settings: {run['settings']}",
        "",
        "## Build (ours: load + validate + reason + store), median of the runs",
        "",
        report.build_table(run["sizes"]),
    ]
    memory = report.build_memory_table(run["sizes"])
    if memory:
        lines += ["", "Build memory: the build process's peak RSS (MiB) by the end of each step", "", memory]
    for result in run["sizes"]:
        lines += [
            "",
            f"## {result['size']}: {result['input_triples']:,} synthetic triples, {result['quads']:,} quads served "
            f"({result['default_graph_triples']:,} in the default graph)",
            "",
            f"Load average (1, 5, 15 min) when the servers started: {result['load_average']['start']}, "
            f"when the measurements ended: {result['load_average'].get('end')}; waited for idle servers between "
            f"measurements: {result.get('settle_seconds', '?')} s",
            "",
            report.servers_table(result),
            "",
            report.latency_table(result),
            "",
            report.throughput_table(result),
        ]
    growth = report.growth_table(run["sizes"])
    if growth:
        lines += ["", "## Growth with the data (k in cost ∝ quads^k; 1 = linear)", "", growth]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench endpoint", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1M", help="synthetic data sizes: 10k, 100k, 1M, 10M or a number")
    parser.add_argument("--clients", default="1,8,32", help="concurrent clients for the throughput runs")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of each throughput run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (the median is reported)")
    parser.add_argument("--samples", type=int, default=30, help="requests per latency run of one query")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds after which a latency run stops early")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a client waits for one answer")
    parser.add_argument("--build-repeat", type=int, default=3, help="builds measured at each size")
    parser.add_argument(
        "--reuse-build", action="store_true", help="report the build measured earlier (of the same sources), if any"
    )
    parser.add_argument("--build-only", action="store_true", help="measure the builds only, start no server")
    parser.add_argument(
        "--report",
        nargs="+",
        type=Path,
        metavar="JSON",
        help="print one report of earlier runs' JSON files, run nothing",
    )
    parser.add_argument(
        "--selective-only",
        action="store_true",
        help="only the selective questions (one service's plans, the finder, provenance, the two pages)",
    )
    parser.add_argument("--rdflib-max", default="100k", help="largest size rdflib-endpoint is run at")
    parser.add_argument(
        "--oxigraph-max",
        default="10M",
        help="largest size `oxigraph serve` is run at (loading it takes about 250 to 400 s at 10M, once a repeat)",
    )
    parser.add_argument(
        "--remote-max",
        default="1M",
        help="largest size ours over an Oxigraph server is run at (publishing over the Graph Store Protocol takes "
        "about 2 min a million triples: 20 min at 10M)",
    )
    options = parser.parse_args(argv)
    options.clients = [int(c) for c in options.clients.split(",")]
    if options.report:
        print(render(merged([json.loads(path.read_text()) for path in options.report])))
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that every server is stopped (finally blocks)
    RESULTS.mkdir(exist_ok=True)
    bin_dir = peers.ensure_environment(RESULTS / "peers")
    run: dict[str, Any] = {
        "command": "python -m bench endpoint " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "ours": our_versions(),
        "peers": peers.versions(bin_dir),
        "settings": {k: v for k, v in vars(options).items() if k != "sizes"},
        "sizes": [],
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    if options.build_only:
        for label in options.sizes.split(","):
            directory = RESULTS / "endpoint" / label
            prepare_root(directory, _size(label))
            print(label, json.dumps(measure_build(directory, options.build_repeat, options.reuse_build)), flush=True)
        return
    for label in options.sizes.split(","):
        run["sizes"].append(run_size(label, options, bin_dir))
        run["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        (RESULTS / f"endpoint-{stamp}.json").write_text(json.dumps(run, indent=1, default=_jsonable))
        (RESULTS / f"endpoint-{stamp}.md").write_text(render(run))
    print()
    print(render(run))
    print(f"written: {RESULTS / f'endpoint-{stamp}.md'} and .json")


def merged(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs as one, for one report (each size keeps its own load averages; commands are listed)."""
    first = dict(runs[0])
    first["command"] = "`; `".join(run["command"] for run in runs)
    first["sizes"] = [size for run in runs for size in run["sizes"]]
    first["load_average_end"] = runs[-1].get("load_average_end")
    return first


def _jsonable(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)
