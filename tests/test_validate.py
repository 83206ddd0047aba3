"""`mlcloudkg validate` and the build refuse broken data with one clear message per problem, and change nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

import pyoxigraph as ox
import pytest

from mlcloudkg.build import build, current_build
from mlcloudkg.config import Settings
from mlcloudkg.errors import SourceSyntaxError, ValidationFailed
from mlcloudkg.sources import load_sources
from mlcloudkg.validate import validate
from mlcloudkg.validation_parts import split

ARTICLE = "article-colab-vs-gradient-2020-12-17.trig"
HARDWARE = "gpu-hardware.trig"
KG = "https://w3id.org/mlcloudkg/id/"


def edit(settings: Settings, filename: str, old: str, new: str) -> None:
    path = settings.data_dir / filename
    text = path.read_text()
    assert text.count(old) == 1, f"the edit must hit exactly one place: {old!r}"
    path.write_text(text.replace(old, new))


def line_of(settings: Settings, filename: str, fragment: str) -> int:
    lines = (settings.data_dir / filename).read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if fragment in line)


def violations_of(settings: Settings) -> list[str]:
    return [str(v) for v in validate(load_sources(settings))]


def test_the_real_data_is_valid(settings: Settings) -> None:
    assert validate(load_sources(settings)) == []


def test_a_syntax_error_names_file_line_and_column(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    edit(settings, HARDWARE, 'schema:name "Tesla T4" ;', 'schema:name "Tesla T4"')
    with pytest.raises(SourceSyntaxError) as caught:
        load_sources(settings)
    expected_line = line_of(settings, HARDWARE, 'schema:name "Tesla T4"') + 1
    assert re.match(rf"data/{HARDWARE}:{expected_line}:\d+ — syntax error — .+ — accepted: ", str(caught.value))


def test_a_negative_price_is_refused_at_its_line(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    edit(settings, ARTICLE, "schema:price 3.88 ;", "schema:price -3.88 ;")
    line = line_of(settings, ARTICLE, "schema:price -3.88")
    assert violations_of(settings) == [
        f"data/{ARTICLE}:{line} — kg:google-one-200gb-price — schema:price — the price is negative "
        "(got -3.88 (xsd:decimal)) — accepted: a price ≥ 0"
    ]


def test_an_unknown_currency_is_refused(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    edit(
        settings,
        ARTICLE,
        'schema:price 75 ; schema:priceCurrency "USD"',
        'schema:price 75 ; schema:priceCurrency "XYZ"',
    )
    [violation] = violations_of(settings)
    line = line_of(settings, ARTICLE, '"XYZ"')
    assert violation.startswith(f"data/{ARTICLE}:{line} — kg:blobcity-gpu-price — schema:priceCurrency — ")
    assert '(got "XYZ")' in violation and "ISO 4217" in violation


def test_a_wrong_datatype_is_refused(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    edit(settings, ARTICLE, "mlc:cpuCoreCount 2 ;", 'mlc:cpuCoreCount "two" ;')
    [violation] = violations_of(settings)
    assert (
        " — kg:colab-free-runtime — mlc:cpuCoreCount — the CPU core count is not a single non-negative integer"
        ' (got "two") — accepted: one xsd:integer ≥ 0' in violation
    )


def test_an_unknown_unit_is_refused(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    edit(
        settings,
        ARTICLE,
        'schema:maxValue 12 ; schema:unitCode "HUR"',
        'schema:maxValue 12 ; schema:unitCode "HOURS"',
    )
    found = violations_of(settings)
    assert any("kg:colab-free-runtime-max-session — schema:unitCode — the unit is not a known unit" in v for v in found)
    assert all(f"data/{ARTICLE}:" in v for v in found)


CONTRADICTIONS = [
    (
        ARTICLE,
        "kg:google-colab mlc:hasFeature mlc:GCPIntegration, mlc:GoogleDriveIntegration .",
        "kg:google-colab mlc:hasFeature mlc:GCPIntegration, mlc:GoogleDriveIntegration ; "
        "mlc:lacksFeature mlc:GCPIntegration .",
        "kg:google-colab — mlc:hasFeature — both has and lacks the same feature",
    ),
    (
        ARTICLE,
        'schema:name "Colab free tier" ;',
        'schema:name "Colab free tier" ; schema:priceSpecification kg:google-one-200gb-price ;',
        "kg:colab-free — schema:priceSpecification — a free-tier plan has a price",
    ),
    (
        ARTICLE,
        'schema:name "Deepnote basic CPU" ;',
        'schema:name "Deepnote basic CPU" ; mlc:gpuModel kg:nvidia-tesla-k80 ;',
        "kg:deepnote-basic-cpu — mlc:gpuModel — a runtime with 0 GPUs names a GPU model",
    ),
    (
        HARDWARE,
        "mlc:hasTensorCores true ;",
        "mlc:hasTensorCores false ;",
        "mlc:hasTensorCores — a GPU model with tensor cores has no tensor-core flag, or the flag is false",
    ),
    (
        ARTICLE,
        'schema:maxValue 12 ; schema:unitCode "HUR"',
        'schema:unitCode "HUR"',
        "kg:colab-free-runtime-max-session — - — the quantity has no number",
    ),
    (
        ARTICLE,
        'schema:maxValue 12 ; schema:unitCode "HUR"',
        'schema:maxValue 12 ; schema:unitCode "HUR", "MIN"',
        "kg:colab-free-runtime-max-session — - — the quantity does not have exactly one unit",
    ),
]

CONTRADICTION_IDS = ["has-and-lacks", "free-with-price", "cpu-with-gpu", "tensor-flag", "no-number", "two-units"]


@pytest.mark.parametrize(
    ("filename", "old", "new", "expected"),
    CONTRADICTIONS,
    ids=CONTRADICTION_IDS,
)
def test_a_contradiction_is_refused(
    project_copy: Callable[[], Settings], filename: str, old: str, new: str, expected: str
) -> None:
    settings = project_copy()
    edit(settings, filename, old, new)
    found = violations_of(settings)
    assert any(expected in v for v in found), found
    assert all(f"data/{filename}:" in v for v in found if expected in v)


def test_a_graph_without_a_source_is_refused(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    edit(
        settings,
        ARTICLE,
        """art:features-cli a mlc:SourcedGraph ;
    prov:wasDerivedFrom src:colab-vs-gradient-2020-12-17 ;""",
        "art:features-cli a mlc:SourcedGraph ;",
    )
    [violation] = violations_of(settings)
    assert "features-cli> — prov:wasDerivedFrom — the graph does not say which source it comes from" in violation


def test_a_graph_without_a_date_is_refused(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    edit(
        settings,
        ARTICLE,
        """    mlc:quote "|CLI|❌|✔️|" ;
    mlc:asOf "2020-12-17"^^xsd:date ;""",
        """    mlc:quote "|CLI|❌|✔️|" ;""",
    )
    [violation] = violations_of(settings)
    assert "features-cli> — - — the graph does not say when its facts held" in violation


def test_a_fact_outside_any_named_graph_is_refused(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    edit(
        settings,
        ARTICLE,
        "kg:machinelearning-sg a schema:Organization ;",
        "kg:google-colab mlc:hasFeature mlc:ModelDeployment .\n\nkg:machinelearning-sg a schema:Organization ;",
    )
    line = line_of(settings, ARTICLE, "kg:google-colab mlc:hasFeature mlc:ModelDeployment .")
    found = violations_of(settings)
    assert (
        f"data/{ARTICLE}:{line} — kg:google-colab — mlc:hasFeature — a fact outside any named graph has no "
        "provenance — accepted: the fact inside the named graph of the passage that states it" in found
    )


def test_a_graph_without_a_description_is_refused(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    path = settings.data_dir / "extra.trig"
    path.write_text(
        "@prefix kg: <https://w3id.org/mlcloudkg/id/> .\n"
        '<https://example.org/g> { kg:google-colab <https://schema.org/name> "Colab" . }\n'
    )
    found = violations_of(settings)
    assert any(v.startswith("data/extra.trig") and "the named graph has no description" in v for v in found)


def test_data_in_plain_turtle_is_refused(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    (settings.data_dir / "facts.ttl").write_text("<https://example.org/a> <https://example.org/b> 1 .\n")
    assert any(v.startswith("data/facts.ttl — ") and "not TriG" in v for v in violations_of(settings))


def test_several_problems_are_all_reported(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    edit(settings, ARTICLE, "schema:price 3.88 ;", "schema:price -3.88 ;")
    edit(
        settings,
        ARTICLE,
        'schema:price 75 ; schema:priceCurrency "USD"',
        'schema:price 75 ; schema:priceCurrency "XYZ"',
    )
    assert len(violations_of(settings)) == 2


def test_a_failed_build_changes_nothing(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    good = build(settings).build
    edit(settings, ARTICLE, "schema:price 3.88 ;", "schema:price -3.88 ;")
    with pytest.raises(ValidationFailed):
        build(settings)
    assert current_build(settings).directory == good.directory
    assert not any(p.name.startswith(".staging") for p in (settings.build_dir / "builds").iterdir())


# Breaks that shapes see only by looking backwards or across nodes, beside the contradictions above.
LOOKING_ACROSS = [
    (
        ARTICLE,
        "    kg:paperspace-gradient mlc:offersPlan kg:gradient-paid-monthly .\n",
        "",
        "kg:gradient-paid-monthly — - — no service offers this plan",
    ),
    (
        ARTICLE,
        "kg:google-colab mlc:hasFeature mlc:Showcase ;\n        mlc:featureImplementation kg:colab-showcase .",
        "kg:google-colab mlc:featureImplementation kg:colab-showcase .",
        "the service has an implementation of a feature it does not have",
    ),
    (ARTICLE, "schema:price 3.88 ;", "schema:price -3.88 ;", "the price is negative"),
]
# Parts this small, and a hub every node that more than 3 triples point to, put every kind of node of the article
# data (services, plans, GPU models, sources) in the context or in a component, and split plans from services.
SMALL_PARTS = {"part_triples": 200, "hub_links": 3}


@pytest.mark.parametrize(
    ("filename", "old", "new", "expected"),
    [*CONTRADICTIONS, *LOOKING_ACROSS],
    ids=[*CONTRADICTION_IDS, "plan-of-no-service", "implementation-without-feature", "negative-price"],
)
def test_validating_in_parts_finds_what_the_whole_graph_shows(
    project_copy: Callable[[], Settings], filename: str, old: str, new: str, expected: str
) -> None:
    settings = project_copy()
    edit(settings, filename, old, new)
    sources = load_sources(settings)
    whole = [str(v) for v in validate(sources, part_triples=10**9)]
    assert any(expected in v for v in whole), whole
    assert [str(v) for v in validate(sources, **SMALL_PARTS, workers=1)] == whole


def test_parts_checked_by_worker_processes_find_what_one_process_finds(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    edit(settings, ARTICLE, "schema:price 3.88 ;", "schema:price -3.88 ;")
    edit(settings, HARDWARE, "mlc:hasTensorCores true ;", "mlc:hasTensorCores false ;")
    sources = load_sources(settings)
    in_process = validate(sources, **SMALL_PARTS, workers=1)
    assert len(in_process) == 2
    assert validate(sources, **SMALL_PARTS, workers=2) == in_process


def test_small_parts_split_the_article_data_into_context_and_components(settings: Settings) -> None:
    sources = load_sources(settings)
    triples = [q.triple for f in sources.data for q in f.quads]
    ontology = [q.triple for q in sources.ontology.quads]
    shapes = [q.triple for q in sources.shapes.quads]
    *components, context = split(ontology, triples, shapes, **SMALL_PARTS)
    assert len(components) >= 4
    assert ox.NamedNode(KG + "nvidia-tesla-t4") in context.owned  # a hub: many runtimes name the GPU model
    assert ox.NamedNode(KG + "nvidia-tesla-t4-memory") in context.owned  # reached from the hub
    owners = [part for part in components if ox.NamedNode(KG + "deepnote-basic-cpu") in part.owned]
    assert len(owners) == 1, "a node is reported on by exactly one part"
    assert all(part.owned.isdisjoint(context.owned) for part in components)
    assert {t.subject for t in triples} <= set().union(context.owned, *(part.owned for part in components))
