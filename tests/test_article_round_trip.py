"""The article's three tables and its list of alternatives, regenerated from the graph as of the article's date,
match the article cell by cell. A fact missing from the graph (or a wrong one) changes a cell and fails these tests."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.tables import alternatives_list, feature_table, free_runtime_table, what_is_table

Table = list[list[str]]

# How the article names feature rows, against our labels (the article spells "Hyperparmeter").
FEATURE_ROW_ALIASES = {
    "persistent": "persistentstorage",
    "jupyterversion": "jupyterflavour",
    "hyperparmetertuning": "hyperparametertuning",
}


def markdown_tables(text: str) -> list[Table]:
    tables: list[Table] = []
    current: Table = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r"-+", cell) for cell in cells if cell):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def alternatives(text: str) -> list[str]:
    section = text.split("## Other Alternatives", 1)[1]
    return [line.strip() for line in section.splitlines() if re.match(r"^\d+\. ", line.strip())]


def squash(cell: str) -> str:
    """Case, spacing, the emoji variation selector and trailing zeros of decimals do not matter."""
    cell = cell.replace("\ufe0f", "").lower()
    cell = re.sub(r"\d+\.\d+", lambda m: str(Decimal(m.group()).normalize()), cell)
    return re.sub(r"\s+", "", cell).rstrip(".")


def gpu_models(cell: str) -> set[str]:
    return set(re.findall(r"\b[A-Z]\d{1,4}(?=s?\b)", cell))


@pytest.fixture(scope="module")
def article(article_text: str) -> list[Table]:
    tables = markdown_tables(article_text)
    assert len(tables) == 3, "the article has three tables"
    return tables


def test_what_is_table_matches_the_article(article_kg: KnowledgeGraph, article: list[Table]) -> None:
    expected, generated = article[0], markdown_tables(what_is_table(article_kg))[0]
    assert generated[0] == expected[0]  # the two services, in the same order
    descriptions = zip(generated[1], expected[1], strict=True)
    assert all(squash(ours) == squash(theirs) for ours, theirs in descriptions)
    for ours, theirs in zip(generated[2], expected[2], strict=True):
        assert squash(ours) == squash(theirs).replace("productfrom", "productof")


def test_free_runtime_table_matches_the_article(article_kg: KnowledgeGraph, article: list[Table]) -> None:
    expected = {row[0]: row[1:] for row in article[1][1:]}
    generated_table = markdown_tables(free_runtime_table(article_kg))[0]
    assert generated_table[0][1:] == article[1][0][1:]
    generated = {row[0]: row[1:] for row in generated_table[1:]}
    assert generated.keys() == expected.keys()
    for label, cells in expected.items():
        for ours, theirs in zip(generated[label], cells, strict=True):
            if label == "GPU":
                assert gpu_models(ours) == gpu_models(theirs), label
                assert "nvidia" in ours.lower() and "nvidia" in theirs.lower()
            else:
                assert squash(ours) == squash(theirs), label


def test_feature_table_matches_the_article(article_kg: KnowledgeGraph, article: list[Table]) -> None:
    expected = {FEATURE_ROW_ALIASES.get(squash(r[0]), squash(r[0])): r[1:] for r in article[2][1:]}
    generated_table = markdown_tables(feature_table(article_kg))[0]
    assert generated_table[0][1:] == article[2][0][1:]
    generated = {squash(r[0]): r[1:] for r in generated_table[1:]}
    assert expected.keys() <= generated.keys(), f"rows missing: {expected.keys() - generated.keys()}"
    # The only extra row is a feature the article states for both services outside its table (tl;dr, conclusion).
    assert generated.keys() - expected.keys() == {"jupyternotebooks"}
    for row, cells in expected.items():
        assert [squash(c) for c in generated[row]] == [squash(c) for c in cells], row


def test_alternatives_list_matches_the_article(article_kg: KnowledgeGraph, article_text: str) -> None:
    expected = alternatives(article_text)
    generated = alternatives("## Other Alternatives\n" + alternatives_list(article_kg))
    assert len(expected) == 4
    assert [squash(line) for line in generated] == [squash(line) for line in expected]


def test_a_missing_fact_breaks_the_round_trip(project_copy) -> None:
    """The round trip is not vacuous: drop one cell's fact and its table no longer matches."""
    settings = project_copy()
    article = settings.data_dir / "article-colab-vs-gradient-2020-12-17.trig"
    text = article.read_text()
    text = text.replace(
        "kg:colab-free-runtime-disk a schema:QuantitativeValue ; schema:value 40 ;",
        "kg:colab-free-runtime-disk a schema:QuantitativeValue ; schema:value 30 ;",
    )
    article.write_text(text)
    table = markdown_tables(free_runtime_table(KnowledgeGraph.embedded(settings).as_of("2020-12-17")))[0]
    storage = next(row for row in table if row[0] == "Storage")
    assert storage[1] == "30GB"
