"""Oxigraph is our query engine because it is far faster (see bench/); rdflib's engine, the toolkit's own, gives the
same answers on every named query and on ad-hoc queries, so either could serve."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pyoxigraph as ox
import pytest
import rdflib

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.build import current_build
from mlcloudkg.config import Settings

AD_HOC = [
    "SELECT ?s (COUNT(?o) AS ?n) WHERE { ?s a <https://w3id.org/mlcloudkg/ontology#NotebookService> ; ?p ?o } "
    "GROUP BY ?s",
    "SELECT DISTINCT ?class WHERE { <https://w3id.org/mlcloudkg/id/google-colab> a ?class }",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "SELECT ?gpu ?memory WHERE { ?gpu <https://w3id.org/mlcloudkg/ontology#gpuMemory>/<https://schema.org/value> "
    "?memory FILTER(?memory > 8) }",
]


@pytest.fixture(scope="module")
def rdflib_dataset(settings: Settings, kg: KnowledgeGraph) -> rdflib.Dataset:
    """The very same dataset as the store holds: every named graph, and the stored default graph as default."""
    store = ox.Store.read_only(str(current_build(settings).store_path))
    dataset = rdflib.Dataset(default_union=False)
    dataset.parse(data=ox.serialize(store, format=ox.RdfFormat.N_QUADS), format="nquads")
    return dataset


def normalise(value: object) -> object:
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return Decimal(str(value)).normalize()
    text = str(value)
    if ", " in text:  # GROUP_CONCAT: the engines may concatenate in different orders
        return ", ".join(sorted(text.split(", ")))
    return text


def oxigraph_rows(kg: KnowledgeGraph, query: str) -> Counter:
    return Counter(tuple(sorted((k, normalise(v)) for k, v in row.items())) for row in kg.query(query))


def rdflib_rows(dataset: rdflib.Dataset, query: str) -> Counter:
    rows = []
    for row in dataset.query(query):
        values = {
            str(k): (v.toPython() if isinstance(v, rdflib.Literal) else str(v))
            for k, v in row.asdict().items()
            if v is not None
        }
        rows.append(tuple(sorted((k, normalise(v)) for k, v in values.items())))
    return Counter(rows)


def test_every_named_query_gives_the_same_answer(kg: KnowledgeGraph, rdflib_dataset: rdflib.Dataset) -> None:
    for name, query in sorted(kg.catalog.items()):
        parameters = (
            {"subject": "https://w3id.org/mlcloudkg/id/colab-free-runtime"} if name == "fact-provenance" else {}
        )
        text = query.bind(parameters)
        assert oxigraph_rows(kg, text) == rdflib_rows(rdflib_dataset, text), name


@pytest.mark.parametrize("query", AD_HOC)
def test_ad_hoc_queries_give_the_same_answer(kg: KnowledgeGraph, rdflib_dataset: rdflib.Dataset, query: str) -> None:
    assert oxigraph_rows(kg, query) == rdflib_rows(rdflib_dataset, query)
