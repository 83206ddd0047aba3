"""What the endpoint benchmark asks: every named query of queries/ with its defaults, plus the two selective
questions of issue 7 (one provider's comparison, a finder query) as SPARQL that every server can answer, and the
same two as our own pages (/compare, /find), which only our service has.

Each request is made fresh: the provider asked about changes from one request to the next, and every query text
ends with a unique comment, so that a result cache (ours has one) never answers; every figure is an evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bench.loadgen import Request, RequestMaker
from bench.synthetic import TRIPLES_PER_SERVICE
from mlcloudkg.finder import Requirements, finder_query
from mlcloudkg.namespaces import KG
from mlcloudkg.queries import NamedQuery, load_catalog

# The finder's question: a free plan with private notebooks and a GPU of at least 16 GB.
FINDER = Requirements(free=True, min_gpu_memory_gb=Decimal(16), private_notebooks=True)


@dataclass(frozen=True)
class Item:
    """One kind of request: its name in the tables, how to make the n-th one, and whether it is selective."""

    name: str
    make: RequestMaker
    selective: bool = False
    ours_only: bool = False  # a page of our service, not SPARQL


def services_in(size: int) -> int:
    """How many synthetic services a data set of `size` triples has (see bench/synthetic.py)."""
    return max(1, size // TRIPLES_PER_SERVICE)


def _unique(text: str, number: int) -> str:
    return f"{text}\n# benchmark request {number}\n"


def _named(query: NamedQuery, services: int) -> RequestMaker:
    required = [p.name for p in query.parameters if p.required]

    def make(number: int) -> Request:
        values = {name: str(KG[f"syn-service-{number % services}"]) for name in required}
        return Request(sparql=_unique(query.bind(values), number))

    return make


def _comparison(query: NamedQuery, services: int) -> RequestMaker:
    def make(number: int) -> Request:
        service = str(KG[f"syn-service-{number % services}"])
        return Request(sparql=_unique(query.bind({"service": service}), number))

    return make


def _finder() -> RequestMaker:
    text = finder_query(FINDER)
    return lambda number: Request(sparql=_unique(text, number))


def _finder_page() -> RequestMaker:
    # The finder's question as a page, a new question each time with the same answer: no GPU of the data has between
    # 15.5 and 16 GB, so "at least 15.5 GB and n ten-millionths" matches what "at least 16" does (n < 5 million), and
    # the finder's memo of recent questions never answers.
    def make(number: int) -> Request:
        minimum = Decimal("15.5") + Decimal(number) / 10_000_000
        return Request(page=f"/find?free=on&min_gpu_memory_gb={minimum}&private_notebooks=on")

    return make


def _compare_page(services: int) -> RequestMaker:
    return lambda number: Request(page=f"/compare?providers=syn-service-{number % services}")


def items(queries_dir: Path, size: int) -> list[Item]:
    """The workload at a data size: the selective questions first, then every named query by name."""
    catalog, problems = load_catalog(queries_dir)
    if problems:
        raise ValueError(f"malformed query files: {problems}")
    services = services_in(size)
    selective = [
        Item("comparison: plans of one service", _comparison(catalog["plans"], services), selective=True),
        Item("finder: free, private, GPU >= 16 GB", _finder(), selective=True),
        Item("fact-provenance of one service", _named(catalog["fact-provenance"], services), selective=True),
    ]
    named = [
        Item(name, _named(query, services)) for name, query in sorted(catalog.items()) if name != "fact-provenance"
    ]
    pages = [
        Item("page /compare?providers=<one>", _compare_page(services), selective=True, ours_only=True),
        Item("page /find: free, private, GPU >= 16 GB", _finder_page(), selective=True, ours_only=True),
    ]
    return [*selective, *named, *pages]
