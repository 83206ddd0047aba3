"""The peers we measure against, installed from PyPI into a virtual environment of their own under bench/results/peers
(rdflib-endpoint brings FastAPI and another rdflib; none of it may leak into our environment), and how to start each
over the same data as ours: the whole dataset of our build, every graph and the default graph, as N-Quads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox

# Pinned so that a run is repeatable; the versions go into RESULTS.md with the figures.
PACKAGES = ("oxigraph==0.5.13", "rdflib-endpoint==0.6.3", "uvicorn==0.54.0")
APP = Path(__file__).parent / "rdflib_endpoint_app.py"


def ensure_environment(directory: Path) -> Path:
    """The peers' virtual environment (created and installed once); returns its bin directory."""
    bin_dir = directory / "venv" / "bin"
    marker = directory / "venv" / ("installed-" + "-".join(PACKAGES).replace("/", "_"))
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", str(directory / "venv")], check=True)
        subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", *PACKAGES], check=True)
        marker.touch()
    return bin_dir


def versions(bin_dir: Path) -> dict[str, str]:
    """Installed versions of the peers and the libraries that decide their speed."""
    listed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True
    )
    wanted = {"oxigraph", "rdflib-endpoint", "rdflib", "fastapi", "uvicorn"}
    return {p["name"].lower(): p["version"] for p in json.loads(listed.stdout) if p["name"].lower() in wanted}


def export_dataset(store_path: Path, target: Path) -> int:
    """Every quad of our build's store (the default graph included) as N-Quads; returns the number of quads.

    The build's own mlcloudkg.nq download leaves out the graphs that follow from the others (graph:current,
    graph:asserted, the default graph), which our queries read: the peers need them to answer the same."""
    store = ox.Store.read_only(str(store_path))
    store.dump(str(target), ox.RdfFormat.N_QUADS)
    return len(store)


def oxigraph_load(bin_dir: Path, dataset: Path, location: Path) -> float:
    """`oxigraph load` of the dataset into a new store directory; returns the seconds it took."""
    shutil.rmtree(location, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(
        [str(bin_dir / "oxigraph"), "load", "--location", str(location), "--file", str(dataset)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def oxigraph_command(bin_dir: Path, location: Path, port: int) -> list[str]:
    return [str(bin_dir / "oxigraph"), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"]


def rdflib_endpoint_command(bin_dir: Path, dataset: Path, port: int) -> list[str]:
    return [str(bin_dir / "python"), str(APP), str(dataset), "127.0.0.1", str(port)]
