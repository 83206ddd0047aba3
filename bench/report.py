"""The endpoint benchmark's tables, as Markdown (they read as well in a terminal as in bench/RESULTS.md).

Every ratio is ours / the peer's, measured in the same run: for latency and memory above 1x means ours is slower or
bigger, for throughput below 1x means ours serves fewer queries per second.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

OURS = "ours"
# Our service over a store (serve --store), here an Oxigraph server that `mlcloudkg publish` loaded.
OVER_STORE = "ours over oxigraph"
PEERS = ("oxigraph", "rdflib-endpoint")
SERVERS = (OURS, OVER_STORE, *PEERS)
# The ratios reported: each of our two backends against the peers it can be compared with.
RATIOS = ((OURS, "oxigraph"), (OURS, "rdflib-endpoint"), (OVER_STORE, "oxigraph"))
MIB = 1024 * 1024
MISSING = "-"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table with columns padded to their widest cell."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def milliseconds(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return MISSING
    milli = seconds * 1000
    return f"{milli:.1f}" if milli < 100 else f"{milli:,.0f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or math.isnan(ours) or math.isnan(theirs) or theirs == 0:
        return MISSING
    value = ours / theirs
    return f"{value:.2f}x" if value < 10 else f"{value:,.0f}x"


def mebibytes(size: float | None) -> str:
    return MISSING if size is None or math.isnan(size) else f"{size / MIB:,.0f}"


def seconds_text(seconds: float | None) -> str:
    return MISSING if seconds is None or math.isnan(seconds) else f"{seconds:.2f}"


def growth_exponent(small: float, large: float, small_size: float, large_size: float) -> float:
    """k in cost ∝ size^k between two sizes: 1 is linear, above 1 grows faster than the data."""
    if min(small, large, small_size, large_size) <= 0 or small_size == large_size:
        return math.nan
    return math.log(large / small) / math.log(large_size / small_size)


def _status(result: dict[str, Any], server: str) -> str:
    return result["servers"].get(server, {}).get("status", "not run")


def _answered_p50(by_server: dict[str, Any], server: str) -> float | None:
    """A server's p50 for a query, unless it failed it (a p50 of the few answers before it gave up is no figure)."""
    figures = by_server.get(server, {})
    return None if figures.get("skipped") else figures.get("p50")


def latency_table(result: dict[str, Any]) -> str:
    header = ["query (1 client)", *(f"{s} p50 / p99 ms" for s in SERVERS), *(f"{a}/{b} p50" for a, b in RATIOS), "rows"]
    rows = []
    for name, by_server in result["latency"].items():
        cells = [name]
        for server in SERVERS:
            figures = by_server.get(server)
            if figures is None:
                cells.append(MISSING)
            elif figures.get("skipped"):
                cells.append(figures["skipped"])
            else:
                cells.append(f"{milliseconds(figures['p50'])} / {milliseconds(figures['p99'])}")
        for ours, peer in RATIOS:
            cells.append(ratio(_answered_p50(by_server, ours), _answered_p50(by_server, peer)))
        counts = {s: f["rows"] for s, f in by_server.items() if f.get("rows") is not None}
        if not counts:
            cells.append("")
        elif len(set(counts.values())) == 1:
            cells.append(f"{next(iter(counts.values())):,}")
        else:
            cells.append("DIFFER " + ", ".join(f"{s} {n:,}" for s, n in counts.items()))
        rows.append(cells)
    return table(header, rows)


def throughput_table(result: dict[str, Any]) -> str:
    header = ["mix", "clients", *(f"{s} q/s" for s in SERVERS), *(f"{a}/{b}" for a, b in RATIOS), "errors"]
    rows = []
    for mix, by_clients in result["throughput"].items():
        for clients, by_server in by_clients.items():
            cells = [mix, str(clients)]
            for server in SERVERS:
                figures = by_server.get(server)
                if figures is None:
                    cells.append(MISSING)
                elif figures.get("skipped"):
                    cells.append(figures["skipped"])
                else:
                    cells.append(f"{figures['qps']:,.1f}")
            for ours, peer in RATIOS:
                cells.append(ratio(by_server.get(ours, {}).get("qps"), by_server.get(peer, {}).get("qps")))
            cells.append("; ".join(f"{s}: {_errors(f['errors'])}" for s, f in by_server.items() if f.get("errors")))
            rows.append(cells)
    return table(header, rows)


def _errors(errors: dict[str, int] | int) -> str:
    """The errors of the runs of one mix, by kind (runs before the kinds were kept give a number)."""
    if isinstance(errors, int):
        return str(errors)
    kinds = sorted(errors.items(), key=lambda kind: -kind[1])
    return f"{sum(errors.values())} (" + ", ".join(f"{kind} {count}" for kind, count in kinds) + ")"


def servers_table(result: dict[str, Any]) -> str:
    header = [
        "server",
        "status",
        "load s",
        "startup s",
        "first /api/find s",
        "idle RSS MiB",
        "peak RSS MiB",
        "peak ours/this",
    ]
    ours_peak = result["servers"].get(OURS, {}).get("peak_rss")
    rows = []
    for server in SERVERS:
        figures = result["servers"].get(server, {})
        rows.append(
            [
                server,
                _status(result, server),
                seconds_text(figures.get("load_seconds")),
                seconds_text(figures.get("startup_seconds")),
                seconds_text(figures.get("first_find_seconds")),
                mebibytes(figures.get("idle_rss")),
                mebibytes(figures.get("peak_rss")),
                "" if server == OURS else ratio(ours_peak, figures.get("peak_rss")),
            ]
        )
    return table(header, rows)


def build_table(results: Sequence[dict[str, Any]]) -> str:
    steps = ["load", "validate", "store", "reason", "snapshots", "compact store", "downloads"]
    header = [
        "size",
        "input triples",
        "quads served",
        "build s",
        *steps,
        "build peak RSS MiB",
        "runs (measured at, load avg)",
    ]
    rows = []
    for result in results:
        build = result["build"]
        timings = build.get("timings", {})
        rows.append(
            [
                result["size"],
                f"{result['input_triples']:,}",
                f"{result['quads']:,}",
                seconds_text(build.get("seconds")),
                *(seconds_text(timings.get(step)) for step in steps),
                mebibytes(build.get("peak_rss")),
                f"{build['runs']} ({build['measured_at'][:16]}, load {build['load_average'][0]})",
            ]
        )
    return table(header, rows)


def build_memory_table(results: Sequence[dict[str, Any]]) -> str:
    """The build process's high-water mark at the end of each step: where its peak comes from."""
    measured = [r for r in results if "step_peak_rss_mib" in r["build"]]
    if not measured:
        return ""
    steps = list(measured[0]["build"]["step_peak_rss_mib"])
    rows = [
        [r["size"], *(f"{r['build']['step_peak_rss_mib'].get(step, math.nan):,.0f}" for step in steps)]
        for r in measured
    ]
    return table(["size", *steps], rows)


def growth_table(results: Sequence[dict[str, Any]]) -> str:
    """How each cost grows between successive sizes, as the exponent k of size^k (1 = linear)."""
    if len(results) < 2:
        return ""
    header = ["figure", *(f"k {a['size']}→{b['size']}" for a, b in itertools.pairwise(results))]
    figures: dict[str, list[float]] = {}

    def add(name: str, values: list[float | None]) -> None:
        figures[name] = [math.nan if v is None else v for v in values]

    add("build seconds (ours)", [r["build"].get("seconds") for r in results])
    for server in SERVERS:
        add(f"startup seconds ({server})", [r["servers"].get(server, {}).get("startup_seconds") for r in results])
        add(f"peak RSS ({server})", [r["servers"].get(server, {}).get("peak_rss") for r in results])
    for name in results[-1]["latency"]:
        for server in SERVERS:
            add(f"p50 {name} ({server})", [r["latency"].get(name, {}).get(server, {}).get("p50") for r in results])
    rows = []
    for name, values in figures.items():
        cells = [name]
        for (a, b), (x, y) in zip(itertools.pairwise(results), itertools.pairwise(values), strict=True):
            k = growth_exponent(x, y, a["quads"], b["quads"])
            cells.append(MISSING if math.isnan(k) else f"{k:.2f}" + (" SUPERLINEAR" if k > 1.2 else ""))
        if any(c != MISSING for c in cells[1:]):
            rows.append(cells)
    return table(header, rows)
