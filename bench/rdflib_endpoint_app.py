"""rdflib-endpoint serving an N-Quads file, run in the peers' virtual environment (it imports nothing of ours).

The default graph stays the file's default graph, as in our service and `oxigraph serve`: the `rdflib-endpoint
serve` command would make it the union of every graph (Dataset(default_union=True)), a different dataset.

    python rdflib_endpoint_app.py DATASET.nq HOST PORT
"""

from __future__ import annotations

import sys

import uvicorn
from rdflib import Dataset
from rdflib_endpoint import SparqlEndpoint


def main() -> None:
    path, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    dataset = Dataset(default_union=False)
    dataset.parse(path, format="nquads")
    uvicorn.run(SparqlEndpoint(graph=dataset), host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
