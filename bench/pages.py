"""Server time of the web UI's pages: each page rendered repeatedly in-process (the build's data, no network),
reporting the median and the slowest of the Server-Timing `app` figure (the time to answer, HTML rendered).
Pages are not cached between requests: every figure includes the queries and the rendering.

    python -m bench pages [--repeat 20]
"""

from __future__ import annotations

import argparse
import re
import statistics

from mlcloudkg.config import Settings
from mlcloudkg.web import create_app

PAGES = [
    "/",
    "/compare?providers=google-colab,paperspace-gradient",
    "/compare",
    "/find",
    "/find?free=on&min_gpu_memory_gb=16&private_notebooks=on",
    "/explain?resource=google-colab&capability=FreePrivateGPUNotebookService",
    "/explain?resource=paperspace-gradient&capability=FreePrivateGPUNotebookService",
    "/id/google-colab",
    "/id/colab-free-runtime",
    "/source/colab-vs-gradient-2020-12-17",
    "/source/colab-vs-gradient-2020-12-17/free-runtimes-gpu",
    "/graph/inferred",
    "/graph/ontology",
    "/ontology",
]
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench pages", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    options = parser.parse_args(argv)
    app = create_app(Settings.from_env())
    client = app.test_client()
    print(f"{'page':78} {'median ms':>9} {'max ms':>7} {'KiB':>6}")
    try:
        for path in PAGES:
            client.get(path, headers=BROWSER)  # first request compiles the templates
            times, size = [], 0
            for _ in range(options.repeat):
                response = client.get(path, headers=BROWSER)
                assert response.status_code == 200, (path, response.status_code)
                timing = re.search(r"app;dur=([\d.]+)", response.headers["Server-Timing"])
                times.append(float(timing.group(1)) if timing else float("nan"))
                size = len(response.get_data())
            print(f"{path:78} {statistics.median(times):9.1f} {max(times):7.1f} {size / 1024:6.0f}")
    finally:
        app.extensions["mlcloudkg"].close()
