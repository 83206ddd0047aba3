"""Time: the graph answers as of any date, knows what changed, and says how old its facts are. Expectations are
written from shared/research/timeline.md and the article."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest
import requests

from mlcloudkg.api import KnowledgeGraph, UnknownName
from mlcloudkg.config import Settings
from mlcloudkg.history import changes
from mlcloudkg.sources import load_sources
from mlcloudkg.validate import validate

from .conftest import ARTICLE_DATE, LiveServer, run_cli

KG = "https://w3id.org/mlcloudkg/id/"
MLC = "https://w3id.org/mlcloudkg/ontology#"


def plans(kg: KnowledgeGraph, service: str) -> set[str]:
    return {
        row["plan"].removeprefix(KG)
        for row in kg.query(f"SELECT ?plan WHERE {{ <{KG}{service}> <{MLC}offersPlan> ?plan }}")
    }


def test_the_latest_state_is_dated(kg: KnowledgeGraph) -> None:
    assert kg.state_date == date(2026, 3, 1)  # mccormickml.com, updated March 2026: the newest source


def test_floydhub_was_offered_then_and_is_shut_down_now(kg: KnowledgeGraph, article_kg: KnowledgeGraph) -> None:
    assert plans(article_kg, "floydhub") == {"floydhub-free", "floydhub-gpu"}
    assert plans(kg, "floydhub") == set()
    status = kg.query(f"SELECT ?status WHERE {{ <{KG}floydhub> <{MLC}operatingStatus> ?status }}")
    assert [row["status"] for row in status] == [MLC + "ShutDown"]
    assert not article_kg.query(f"SELECT ?status WHERE {{ <{KG}floydhub> <{MLC}operatingStatus> ?status }}")
    assert kg.capabilities("floydhub") == []
    assert MLC + "PaidHourlyGPUService" in article_kg.capabilities("floydhub")


def test_colab_pay_as_you_go_is_new_since_the_article(kg: KnowledgeGraph, article_kg: KnowledgeGraph) -> None:
    assert "colab-pay-as-you-go" not in plans(article_kg, "google-colab")
    assert {"colab-pay-as-you-go", "colab-pro-plus", "colab-pro", "colab-free"} == plans(kg, "google-colab")
    assert "colab-pay-as-you-go" in plans(kg.as_of("2022-09-29"), "google-colab")
    assert "colab-pay-as-you-go" not in plans(kg.as_of("2022-09-28"), "google-colab")


def test_a_complete_observation_supersedes_older_values(kg: KnowledgeGraph, article_kg: KnowledgeGraph) -> None:
    def free_gpus(graph: KnowledgeGraph) -> set[str]:
        return {r["gpuName"] for r in graph.named("free-gpus") if r["serviceName"] == "Google Colab"}

    assert free_gpus(article_kg) == {"Tesla K80", "Tesla T4", "Tesla P4", "Tesla P100 PCIe 16 GB"}
    assert free_gpus(kg) == {"Tesla T4"}  # "free tier still a T4": K80, P4 and P100 are no longer there

    def regions(graph: KnowledgeGraph) -> set[str]:
        rows = graph.query(
            f"SELECT ?c WHERE {{ <{KG}colab-pro> <https://schema.org/eligibleRegion>/"
            "<https://schema.org/identifier> ?c }"
        )
        return {row["c"] for row in rows}

    assert regions(kg.as_of("2020-06-01")) == {"US"}  # launched US only (issue 1039, 2020-03-03)
    assert regions(article_kg) == {"US", "CA"}


def test_derived_capabilities_follow_the_date(kg: KnowledgeGraph, article_kg: KnowledgeGraph) -> None:
    """In 2020 Gradient's free tier gave a P5000; Colab's free GPU could be a 12 GB K80, now it is always a T4."""
    assert article_kg.explain("paperspace-gradient", "FreeHighMemoryGPUService").holds
    assert not article_kg.explain("google-colab", "GuaranteedFreeHighMemoryGPUService").holds
    assert kg.explain("google-colab", "GuaranteedFreeHighMemoryGPUService").holds


def test_a_bounded_fact_holds_inside_its_interval_only(kg: KnowledgeGraph) -> None:
    query = f"ASK {{ <{KG}blobcity-autoai> <https://schema.org/maintainer> <{KG}blobcity> }}"
    assert kg.as_of("2023-01-01").store.ask(query)
    assert not kg.as_of("2021-01-01").store.ask(query)
    assert not kg.store.ask(query)  # maintained until 2025-03-25


def test_before_any_source_nothing_is_known(kg: KnowledgeGraph) -> None:
    services = kg.as_of("2019-01-01").query(f"SELECT ?s WHERE {{ ?s a <{MLC}NotebookService> }}")
    assert services == []


def test_a_bad_date_is_refused(kg: KnowledgeGraph) -> None:
    with pytest.raises(UnknownName, match="accepted: YYYY-MM-DD"):
        kg.as_of("last year")


# Every sourced row of the timeline that falls between the article and now, as (service, kind, resource).
EXPECTED_CHANGES = {
    (KG + "google-colab", "new", KG + "colab-pro-plus"),
    (KG + "google-colab", "new", KG + "colab-pay-as-you-go"),
    (KG + "google-colab", "new", KG + "colab-paid-runtime"),
    (KG + "google-colab", "new", KG + "colab-pay-as-you-go-launch"),
    (KG + "google-colab", "removed", KG + "colab-free-runtime"),
    (KG + "paperspace-gradient", "new", KG + "paperspace-acquisition"),
    (KG + "paperspace-gradient", "new", KG + "gradient-legacy-api-deprecation"),
    (KG + "paperspace-gradient", "new", KG + "paperspace-core-api-removal"),
    (KG + "floydhub", "new", KG + "floydhub-shutdown"),
    (KG + "floydhub", "new", KG + "floydhub-founding"),
    (KG + "floydhub", "removed", KG + "floydhub"),
    (KG + "q-blocks", "new", KG + "q-blocks-monsterapi-pivot"),
    (KG + "deepnote", "added", KG + "deepnote-basic-cpu"),
}


def test_the_change_list_matches_the_timeline(kg: KnowledgeGraph) -> None:
    found = changes(kg.timeline(), date.fromisoformat(ARTICLE_DATE), kg.state_date)
    listed = {(owner, c.kind, c.subject) for owner, items in found.items() for c in items}
    assert listed >= EXPECTED_CHANGES
    removed = next(c for c in found[KG + "google-colab"] if c.kind == "removed")
    assert removed.before == [f"<{KG}nvidia-tesla-{m}>" for m in ("k80", "p100", "p4")]
    assert [s.rsplit("/", 1)[-1] for s in removed.sources] == ["colab-2026"]  # "the free tier is still a T4"
    floydhub_plans = next(c for c in found[KG + "floydhub"] if c.predicate == MLC + "offersPlan")
    assert floydhub_plans.kind == "removed"
    assert [s.rsplit("/", 1)[-1] for s in floydhub_plans.sources] == ["floydhub-shut-down"]  # says it shut down
    assert KG + "blobcity" not in found  # its library was maintained only between these dates


def test_changes_from_the_command_line(settings: Settings, kg: KnowledgeGraph) -> None:
    result = run_cli(settings, "changes", ARTICLE_DATE, "now", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {c["subject"] for c in data[KG + "floydhub"]} >= {KG + "floydhub-shutdown"}


def test_snapshots_answer_sparql_as_of_a_date(server: LiveServer, kg: KnowledgeGraph) -> None:
    """The documented SPARQL pattern: default-graph-uri = the snapshot of the date."""
    query = f"SELECT ?gpu WHERE {{ <{KG}colab-free-runtime> <{MLC}gpuModel> ?gpu }}"
    then = requests.get(
        server.url + "/sparql",
        timeout=10,
        params={"query": query, "default-graph-uri": "https://w3id.org/mlcloudkg/graph/as-of/2020-12-17"},
    ).json()
    now = requests.get(server.url + "/sparql", timeout=10, params={"query": query}).json()
    assert len(then["results"]["bindings"]) == 4
    assert [b["gpu"]["value"] for b in now["results"]["bindings"]] == [KG + "nvidia-tesla-t4"]


def test_facts_say_how_old_they_are(kg: KnowledgeGraph) -> None:
    freshness = kg.freshness([KG + "paperspace-gradient", KG + "google-colab"])
    assert freshness.observed[KG + "paperspace-gradient"] == date(2020, 12, 17)
    assert freshness.observed[KG + "google-colab"] == date(2022, 9, 29)
    assert freshness.possibly_outdated(date(2026, 11, 26)) == [KG + "google-colab", KG + "paperspace-gradient"]
    assert freshness.possibly_outdated(date(2021, 6, 1)) == []


def test_each_resources_age_is_asked_once_per_view_and_only_resources_are_kept(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    kg = KnowledgeGraph.embedded(settings, rebuild=False)  # its own memory of what it was asked
    asked: list[str] = []
    real_query = kg.query
    monkeypatch.setattr(kg, "query", lambda sparql: asked.append(sparql) or real_query(sparql))
    colab, gradient, made_up = KG + "google-colab", KG + "paperspace-gradient", KG + "no-such-service"
    first = kg.freshness([colab, gradient])
    assert first.observed == {colab: date(2022, 9, 29), gradient: date(2020, 12, 17)}
    assert kg.freshness([gradient]).observed == {gradient: date(2020, 12, 17)} and len(asked) == 1
    assert kg.freshness([colab, made_up]).observed == {colab: date(2022, 9, 29)}
    assert len(asked) == 2 and f"<{made_up}>" in asked[1] and f"<{colab}>" not in asked[1]  # only what was new
    kg.freshness([made_up])
    assert len(asked) == 3  # a made-up IRI is asked again, not kept: requests may name any IRI
    then = kg.as_of("2021-06-01")
    assert then.freshness([colab]).observed == {colab: date(2020, 12, 17)}  # another view, its own answer


def test_a_fact_that_ends_before_it_starts_is_refused(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    path = settings.data_dir / "timeline.trig"
    text = path.read_text().replace('mlc:validUntil "2025-03-25"^^xsd:date', 'mlc:validUntil "2020-03-25"^^xsd:date')
    path.write_text(text)
    found = [str(v) for v in validate(load_sources(settings))]
    assert any("the graph stops holding before it starts" in v and "data/timeline.trig:" in v for v in found)


def test_completeness_must_name_a_stated_property(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    path = settings.data_dir / "timeline.trig"
    path.write_text(path.read_text().replace("mlc:completeFor mlc:gpuModel .", "mlc:completeFor mlc:memory ."))
    found = [str(v) for v in validate(load_sources(settings))]
    assert any("complete for mlc:memory but states no mlc:memory" in v for v in found)
