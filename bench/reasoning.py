"""Reasoning benchmark: our rule engine (on pyoxigraph) against owlrl, the OWL 2 RL reasoner of record.

Each (engine, size, repetition) runs in a fresh process, so peak RSS is that run's alone. Reports the median time,
peak memory, the number of published inferred triples, the ratio owlrl / ours, and whether the two agree exactly
(owlrl's publishable closure plus the rule-only classes, which OWL cannot express, equals our graph:inferred).

    python -m bench reasoning [--sizes real,10k,100k,1M] [--repeat 3] [--owlrl-max 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from bench.synthetic import write as write_synthetic
from mlcloudkg.config import Settings
from mlcloudkg.dataset import DEFAULT, assemble
from mlcloudkg.reasoning.materialize import materialize
from mlcloudkg.reasoning.oracle import our_inferred, owlrl_inferred, rule_outputs
from mlcloudkg.reasoning.rules import compile_rules
from mlcloudkg.sources import SourceFile, Sources

RESULTS = Path(__file__).parent / "results"
SIZES = {"real": 0, "10k": 10_000, "100k": 100_000, "1M": 1_000_000}


def data_files(size: str, settings: Settings) -> list[Path]:
    if size == "real":
        return sorted(settings.data_dir.glob("*.trig"))
    path = RESULTS / f"synthetic-{size}.trig"
    if not path.exists():
        RESULTS.mkdir(exist_ok=True)
        write_synthetic(SIZES[size], path)
    return [path]


def load(files: list[Path], settings: Settings) -> ox.Store:
    """The asserted data laid out exactly as a build lays it out (`dataset.assemble`), without validation."""

    def parsed(path: Path) -> SourceFile:
        return SourceFile(path, path.name, "", tuple(ox.parse(path=str(path))))

    ontology = parsed(settings.ontology_dir / "mlcloud.ttl")
    sources = Sources(ontology, ontology, tuple(parsed(path) for path in files), (), "")
    store = ox.Store()
    assemble(store, sources)
    return store


def run_one(engine: str, size: str) -> dict[str, object]:
    """One measured run, in this process."""
    settings = Settings.from_env()
    store = load(data_files(size, settings), settings)
    asserted = sum(1 for _ in store.quads_for_pattern(None, None, None, DEFAULT))
    rules = compile_rules(
        Graph().parse(settings.ontology_dir / "mlcloud.ttl"), settings.ontology_dir / "rules", settings.root
    )
    started = time.perf_counter()
    materialize(store, rules)
    ours_seconds = time.perf_counter() - started
    result: dict[str, object] = {"engine": engine, "size": size, "input_triples": asserted}
    if engine == "rules":
        result.update(seconds=ours_seconds, inferred=len(our_inferred(store)))
    else:
        started = time.perf_counter()
        theirs = owlrl_inferred(store)
        seconds = time.perf_counter() - started
        agrees = our_inferred(store) == theirs | {q.triple for q in rule_outputs(store)}
        result.update(seconds=seconds, inferred=len(theirs) + len(rule_outputs(store)), agrees=agrees)
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def measure(engine: str, size: str, repeat: int) -> dict[str, object]:
    runs = []
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, "-m", "bench.reasoning", "--one", engine, size], capture_output=True, text=True, check=True
        )
        runs.append(json.loads(output.stdout))
    summary = dict(runs[0])
    summary["seconds"] = statistics.median(r["seconds"] for r in runs)
    summary["peak_mib"] = statistics.median(r["peak_mib"] for r in runs)
    summary["runs"] = [round(r["seconds"], 3) for r in runs]
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Reasoning benchmark: rules on pyoxigraph vs owlrl")
    parser.add_argument("--sizes", default="real,10k,100k,1M")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--owlrl-max", type=int, default=10_000, help="largest size owlrl is run on (it is slow)")
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "SIZE"), help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.one:
        print(json.dumps(run_one(*arguments.one)))
        return
    rows = []
    for size in arguments.sizes.split(","):
        ours = measure("rules", size, arguments.repeat)
        theirs = measure("owlrl", size, arguments.repeat) if SIZES[size] <= arguments.owlrl_max else None
        rows.append((size, ours, theirs))
    print(
        f"{'size':>5} {'input':>9} | {'rules (s)':>9} {'MiB':>6} {'inferred':>8} | "
        f"{'owlrl (s)':>9} {'MiB':>6} {'agree':>5} | {'owlrl/rules':>11}"
    )
    for size, ours, theirs in rows:
        line = (
            f"{size:>5} {ours['input_triples']:>9,} | {ours['seconds']:>9.3f} {ours['peak_mib']:>6.0f} "
            f"{ours['inferred']:>8,} | "
        )
        if theirs:
            ratio = theirs["seconds"] / ours["seconds"]
            line += (
                f"{theirs['seconds']:>9.3f} {theirs['peak_mib']:>6.0f} {'yes' if theirs['agrees'] else 'NO':>5} "
                f"| {ratio:>10.0f}x"
            )
        else:
            line += f"{'not run':>9} {'':>6} {'':>5} | {'':>11}"
        print(line)
    print(f"median of {arguments.repeat} runs each, one fresh process per run; owlrl includes its rdflib conversion")


if __name__ == "__main__":
    main()
