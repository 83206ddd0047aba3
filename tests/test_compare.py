"""The comparison: the article's tables for any services, each cell with the statement it shows and the passages
that state it; derived capabilities marked as derived."""

from __future__ import annotations

import pytest

from mlcloudkg.api import KnowledgeGraph, UnknownName
from mlcloudkg.compare import compare
from mlcloudkg.namespaces import KG

COLAB, GRADIENT, DEEPNOTE = str(KG["google-colab"]), str(KG["paperspace-gradient"]), str(KG["deepnote"])


def row(comparison, section: str, label: str):  # type: ignore[no-untyped-def]
    found = next(s for s in comparison.sections if s.title.startswith(section))
    return next(r for r in found.rows if r.label == label)


def test_services_are_compared_in_the_order_asked(kg: KnowledgeGraph) -> None:
    comparison = compare(kg, ["paperspace-gradient", "kg:google-colab", DEEPNOTE])
    assert [iri for iri, _ in comparison.services] == [GRADIENT, COLAB, DEEPNOTE]
    assert [name for _, name in comparison.services] == ["Paperspace Gradient", "Google Colab", "Deepnote"]


def test_a_free_tier_cell_names_its_passage_and_date(article_kg: KnowledgeGraph) -> None:
    cell = row(compare(article_kg, ["google-colab"]), "Free GPU tier", "GPU").cells[COLAB]
    assert cell.text == "NVIDIA K80, P100, P4 and T4"
    assert cell.subject == str(KG["colab-free-runtime"])
    [source] = cell.sources
    assert (source.locator, source.as_of, source.status) == ("free-runtime table, row 'GPU'", "2020-12-17", "stated")
    assert source.graph.endswith("/free-runtimes-gpu")


def test_a_fact_stated_by_two_passages_lists_both(kg: KnowledgeGraph) -> None:
    cell = row(compare(kg, ["paperspace-gradient"]), "Free GPU tier", "GPU").cells[GRADIENT]
    assert len({s.graph for s in cell.sources}) == len(cell.sources) >= 2


def test_capability_cells_are_derived_and_agree_with_the_reasoner(kg: KnowledgeGraph) -> None:
    comparison = compare(kg, ["google-colab", "paperspace-gradient", "deepnote"])
    capabilities = next(s for s in comparison.sections if s.title.startswith("Capabilities"))
    assert len(capabilities.rows) == len(kg.capabilities_known())
    for capability_row in capabilities.rows:
        for service, cell in capability_row.cells.items():
            assert cell.derived and not cell.sources
            assert (cell.text == "✔️") == (cell.capability in kg.capabilities(service))


def test_feature_cells_show_the_statement_with_its_object(kg: KnowledgeGraph) -> None:
    cell = row(compare(kg, ["google-colab"]), "Features", "CLI").cells[COLAB]
    assert cell.text.startswith("❌")
    assert cell.predicate.endswith("#lacksFeature") and cell.object.endswith("#CommandLineInterface")
    assert cell.sources and all("CLI" in s.locator for s in cell.sources)


def test_an_unknown_service_is_refused_with_the_known_ones(kg: KnowledgeGraph) -> None:
    with pytest.raises(UnknownName, match=r"'nope' is not a service of the graph.*kg:google-colab"):
        compare(kg, ["nope"])


def test_services_lists_every_notebook_service_by_name(kg: KnowledgeGraph) -> None:
    names = [name for _, name in kg.services()]
    assert names == sorted(names, key=str.lower) and {"Google Colab", "Q Blocks", "FloydHub"} <= set(names)
    assert kg.services() is kg.services()  # read once for this version of the data
