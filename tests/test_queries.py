"""The competency queries answer the article's questions; the expected answers are written from the article."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.queries import ParameterError, QueryFileError, load_catalog, parse_query_file

KG = "https://w3id.org/mlcloudkg/id/"


def test_every_query_file_loads(kg: KnowledgeGraph) -> None:
    assert kg.catalog_problems == []
    assert len(kg.catalog) >= 10
    assert all(q.title and q.description for q in kg.catalog.values())


def test_free_gpus_per_service(article_kg: KnowledgeGraph) -> None:
    rows = article_kg.named("free-gpus")
    by_service: dict[str, set[str]] = {}
    for row in rows:
        by_service.setdefault(row["serviceName"], set()).add(row["gpuName"])
    assert by_service == {
        "Google Colab": {"Tesla K80", "Tesla T4", "Tesla P4", "Tesla P100 PCIe 16 GB"},
        "Paperspace Gradient": {"Quadro M4000", "Quadro P5000"},
    }
    assignment = {row["serviceName"]: row["assignment"] for row in rows}
    assert assignment == {"Google Colab": "random assignment", "Paperspace Gradient": "user choice"}


def test_free_gpus_with_at_least_16_gb(article_kg: KnowledgeGraph) -> None:
    rows = article_kg.named("free-gpus", min_gpu_memory_gb="16")
    assert {(r["serviceName"], r["gpuName"]) for r in rows} == {
        ("Google Colab", "Tesla T4"),
        ("Google Colab", "Tesla P100 PCIe 16 GB"),
        ("Paperspace Gradient", "Quadro P5000"),
    }


def test_cheapest_gpu_hour(article_kg: KnowledgeGraph) -> None:
    rows = article_kg.named("cheapest-gpu-hour")
    assert [(r["serviceName"], r["pricePerHour"]) for r in rows] == [
        ("Q Blocks", Decimal("0.2")),
        ("Paperspace Gradient", Decimal("0.45")),
        ("Paperspace Gradient", Decimal("0.78")),
        ("FloydHub", Decimal("1.2")),
    ]
    assert rows[0]["basis"] == "package of ~100 hours"
    assert rows[-1]["monthlyFee"] == 9


def test_cheapest_gpu_hour_now(kg: KnowledgeGraph) -> None:
    """FloydHub shut down in 2021; Colab's compute units are not priced per hour."""
    rows = kg.named("cheapest-gpu-hour")
    assert [r["serviceName"] for r in rows] == ["Q Blocks", "Paperspace Gradient", "Paperspace Gradient"]


def test_free_gpus_now(kg: KnowledgeGraph) -> None:
    """By March 2026 Colab's free tier is a T4 only (mccormickml.com), Gradient's is unchanged as far as we know."""
    rows = kg.named("free-gpus")
    assert {(r["serviceName"], r["gpuName"]) for r in rows} == {
        ("Google Colab", "Tesla T4"),
        ("Paperspace Gradient", "Quadro M4000"),
        ("Paperspace Gradient", "Quadro P5000"),
    }


def test_cheapest_gpu_hour_in_another_currency_is_empty(kg: KnowledgeGraph) -> None:
    assert kg.named("cheapest-gpu-hour", currency="SGD") == []


def test_storage_upgrades(kg: KnowledgeGraph) -> None:
    rows = kg.named("storage-upgrades")
    assert {(r["serviceName"], r["route"], r["capacityGB"], r["price"], r["currency"], r["unit"]) for r in rows} == {
        ("Google Colab", "Google Drive", 100, Decimal("2.79"), "SGD", "MON"),
        ("Google Colab", "Google Drive", 200, Decimal("3.88"), "SGD", "MON"),
        ("Paperspace Gradient", "Paperspace Gradient", 200, 8, "USD", "MON"),
    }


def test_where_colabs_12_hour_limit_comes_from(kg: KnowledgeGraph) -> None:
    rows = kg.named(
        "fact-provenance",
        subject=KG + "colab-free-runtime",
        property="https://w3id.org/mlcloudkg/ontology#maxSessionDuration",
    )
    assert len(rows) == 1
    [row] = rows
    assert row["sourceTitle"] == "Free GPUs for Machine Learning: Google Colab vs Paperspace Gradient"
    assert row["locator"] == "free-runtime table, row 'Runtime'"
    assert row["quote"] == "|Runtime|Up to 12 hours|Up to 6 hours|"
    assert str(row["asOf"]) == "2020-12-17"
    assert row["status"] == "stated"


def test_a_restated_fact_has_both_passages(kg: KnowledgeGraph) -> None:
    rows = kg.named(
        "fact-provenance",
        subject=KG + "gradient-free-runtime",
        property="https://w3id.org/mlcloudkg/ontology#maxSessionDuration",
    )
    assert {r["locator"] for r in rows} == {
        "free-runtime table, row 'Runtime'",
        "bullet 2",
        "notes under the GPU table, third bullet",
    }


def test_hearsay_is_recorded_as_hearsay(kg: KnowledgeGraph) -> None:
    rows = kg.named(
        "fact-provenance",
        subject=KG + "colab-free-runtime",
        property="https://w3id.org/mlcloudkg/ontology#reportedIssue",
    )
    assert [r["status"] for r in rows] == ["hearsay"]


def test_colab_pro_is_sold_in_the_us_and_canada_only(kg: KnowledgeGraph) -> None:
    rows = kg.query("""
        PREFIX schema: <https://schema.org/>
        SELECT ?code WHERE { <https://w3id.org/mlcloudkg/id/colab-pro> schema:eligibleRegion/schema:identifier ?code }
    """)
    assert {r["code"] for r in rows} == {"US", "CA"}


def test_a_required_parameter_must_be_given(kg: KnowledgeGraph) -> None:
    with pytest.raises(ParameterError, match="'subject': is required"):
        kg.named("fact-provenance")


@pytest.mark.parametrize(("value", "message"), [("sixteen", "is not a number"), ("1e999999", "is not a number")])
def test_a_parameter_of_the_wrong_type_is_refused(kg: KnowledgeGraph, value: str, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        kg.named("free-gpus", min_gpu_memory_gb=value)


def test_an_unknown_parameter_is_refused(kg: KnowledgeGraph) -> None:
    with pytest.raises(ParameterError, match="is not a parameter of this query — accepted: parameters: "):
        kg.named("free-gpus", max_price="3")


def test_a_parameter_value_cannot_inject_sparql(kg: KnowledgeGraph) -> None:
    sneaky = 'USD" } ?s ?p ?o . { "x'
    assert kg.named("cheapest-gpu-hour", currency=sneaky) == []


def test_a_malformed_query_file_is_reported_with_its_line_and_left_out(tmp_path, kg: KnowledgeGraph) -> None:
    for query in kg.catalog.values():
        (tmp_path / query.path.name).write_text(query.text)
    (tmp_path / "broken.rq").write_text(
        "# title: Broken\n# description: a bad param line\n"
        "# param: limit number -- How many\nSELECT * WHERE { ?s ?p ?limit }\n"
    )
    catalog, problems = load_catalog(tmp_path)
    assert set(catalog) == set(kg.catalog)
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'broken.rq'}:3 — unknown parameter type 'number' — accepted: "
        "string, integer, decimal, boolean, date, iri"
    ]


def test_a_query_with_a_syntax_error_is_reported(tmp_path) -> None:
    path = tmp_path / "bad.rq"
    path.write_text("# title: Bad\n# description: missing brace\nSELECT * WHERE { ?s ?p ?o\n")
    with pytest.raises(QueryFileError, match=r"bad.rq:\d+ — SPARQL syntax error"):
        parse_query_file(path)


def write_query(directory, name: str, header: str, body: str = "SELECT * WHERE { ?s ?p ?o }\n"):
    path = directory / f"{name}.rq"
    path.write_text("# title: T\n# description: D\n" + header + body)
    return path


def test_a_parameter_description_may_go_on_over_several_lines(tmp_path) -> None:
    path = write_query(tmp_path, "long", "# param: o string -- The first half\n#   and the second half.\n")
    assert parse_query_file(path).parameters[0].description == "The first half and the second half."


def test_format_is_not_a_parameter_name(tmp_path) -> None:
    path = write_query(
        tmp_path, "fmt", "# param: format string -- A format.\n", "SELECT ?format WHERE { ?s ?p ?format }\n"
    )
    with pytest.raises(QueryFileError, match=r"fmt.rq:3 — 'format' is reserved \(it chooses the output format\)"):
        parse_query_file(path)


def test_a_query_name_must_be_usable_in_a_url(tmp_path) -> None:
    path = write_query(tmp_path, "Free GPUs", "")
    with pytest.raises(
        QueryFileError, match=re.escape("'Free GPUs.rq' is not a usable query name — accepted: file names of")
    ):
        parse_query_file(path)


def test_allowed_values_are_compared_as_typed_values(tmp_path) -> None:
    path = write_query(tmp_path, "ratio", "# param: o decimal in 0.25|0.5 -- A ratio.\n")
    [parameter] = parse_query_file(path).parameters
    assert parameter.to_term("0.50") == parameter.to_term("0.5")
    with pytest.raises(ParameterError, match=re.escape("'0.3' is not an allowed value — accepted: one of 0.25, 0.5")):
        parameter.to_term("0.3")
    with pytest.raises(ParameterError, match=re.escape("'half' is not a number — accepted: one of 0.25, 0.5")):
        parameter.to_term("half")


def test_an_allowed_value_of_the_wrong_type_is_reported(tmp_path) -> None:
    path = write_query(tmp_path, "top", "# param: o integer in 5|ten -- How many.\n")
    with pytest.raises(
        QueryFileError, match=r"top.rq:3 — an allowed value of 'o': parameter 'o': 'ten' is not a whole"
    ):
        parse_query_file(path)


def test_a_named_query_knows_its_form_and_columns(kg: KnowledgeGraph) -> None:
    services = kg.named_query("services")
    assert services.form == "SELECT"
    assert services.variables[:2] == ("service", "serviceName")
