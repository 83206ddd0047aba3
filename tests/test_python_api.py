"""The Python API: `from mlcloudkg import KnowledgeGraph`, embedded or over a remote SPARQL endpoint (our own live
server on loopback), gives the same answers either way: named queries, explanations, capabilities, the comparison
and the finder."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

import mlcloudkg
from mlcloudkg import api, finder, finder_index
from mlcloudkg.api import KnowledgeGraph, UnknownName, UnknownQuery
from mlcloudkg.build import current_build
from mlcloudkg.config import Settings
from mlcloudkg.errors import InvalidParameter, StoreTimeout
from mlcloudkg.finder import RequirementError
from mlcloudkg.queries import ParameterError
from mlcloudkg.remote_store import RemoteStore
from mlcloudkg.served_build import build_to_serve

from .conftest import LiveServer

KG = "https://w3id.org/mlcloudkg/id/"
MLC = "https://w3id.org/mlcloudkg/ontology#"
# Values for the parameters a query requires (the others run with their defaults).
REQUIRED = {"fact-provenance": {"subject": KG + "colab-free-runtime"}}


@pytest.fixture(scope="module")
def remote(server: LiveServer, settings: Settings) -> KnowledgeGraph:
    return KnowledgeGraph.remote(server.url + "/sparql", settings, timeout=10)


def test_the_package_exports_the_knowledge_graph() -> None:
    namespace: dict[str, object] = {}
    exec("from mlcloudkg import KnowledgeGraph", namespace)
    assert namespace["KnowledgeGraph"] is KnowledgeGraph is mlcloudkg.KnowledgeGraph


def test_a_remote_graph_reads_through_a_remote_store(remote: KnowledgeGraph) -> None:
    assert isinstance(remote.store, RemoteStore)


def test_remote_rules_compiled_from_the_ontology_are_the_builds_rules(
    kg: KnowledgeGraph, remote: KnowledgeGraph
) -> None:
    assert remote.rules == kg.rules


def test_every_named_query_answers_the_same_over_a_remote_store(kg: KnowledgeGraph, remote: KnowledgeGraph) -> None:
    for name in kg.catalog:
        rows = kg.named(name, **REQUIRED.get(name, {}))
        assert rows, name
        assert remote.named(name, **REQUIRED.get(name, {})) == rows, name


@pytest.mark.parametrize("value", [16, 16.0, Decimal("16"), "16"])
def test_parameters_may_be_python_values(article_kg: KnowledgeGraph, value: object) -> None:
    rows = article_kg.named("free-gpus", min_gpu_memory_gb=value)
    assert {r["gpuName"] for r in rows} == {"Tesla T4", "Tesla P100 PCIe 16 GB", "Quadro P5000"}


def test_values_come_back_as_python_values(kg: KnowledgeGraph) -> None:
    [row] = kg.named("fact-provenance", subject=KG + "colab-free-runtime", property=MLC + "maxSessionDuration")
    assert row["asOf"] == dt.date(2020, 12, 17)
    cheapest = kg.named("cheapest-gpu-hour")[0]
    assert cheapest["pricePerHour"] == Decimal("0.2")


def test_an_unknown_named_query_lists_the_known_ones(kg: KnowledgeGraph) -> None:
    with pytest.raises(UnknownQuery, match="no named query 'free-gpu' — accepted: one of alternatives, "):
        kg.named("free-gpu")


@pytest.mark.parametrize(
    ("resource", "capability", "parameters"),
    [
        ("google-colab", "FreePrivateGPUNotebookService", {}),
        ("paperspace-gradient", "FreePrivateGPUNotebookService", {}),
        ("paperspace-gradient", "LongFreeSessionService", {"min_session_hours": 5}),
    ],
)
def test_explanations_are_the_same_over_a_remote_store(
    kg: KnowledgeGraph, remote: KnowledgeGraph, resource: str, capability: str, parameters: dict[str, object]
) -> None:
    assert remote.explain(resource, capability, **parameters).to_dict() == (
        kg.explain(resource, capability, **parameters).to_dict()
    )


def test_a_threshold_changes_the_answer(kg: KnowledgeGraph) -> None:
    assert not kg.explain("paperspace-gradient", "LongFreeSessionService").holds
    assert kg.explain("paperspace-gradient", "LongFreeSessionService", min_session_hours=5).holds


def test_a_threshold_equal_to_its_default_gives_the_builds_explanation(kg: KnowledgeGraph) -> None:
    given = kg.explain("google-colab", "LongFreeSessionService", min_session_hours="12.0").to_dict()
    assert given == kg.explain("google-colab", "LongFreeSessionService").to_dict()


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"min_session_hour": 5}, "'min_session_hour': is not a parameter of any rule — accepted: parameters: "),
        ({"min_session_hours": "long"}, "'min_session_hours': 'long' is not a number"),
    ],
)
def test_a_bad_threshold_is_refused(kg: KnowledgeGraph, parameters: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        kg.explain("google-colab", "LongFreeSessionService", **parameters)


def test_rule_parameters_have_types_and_defaults(kg: KnowledgeGraph) -> None:
    parameters = kg.rule_parameters()
    assert parameters["min_session_hours"].type == "decimal"
    assert parameters["min_session_hours"].default == "12"
    assert parameters["min_gpu_memory_gb"].default == "16"


def test_only_a_few_recomputed_closures_are_kept(settings: Settings) -> None:
    kg = KnowledgeGraph.embedded(settings, rebuild=False)
    for hours in range(1, 11):
        kg.explain("google-colab", "LongFreeSessionService", min_session_hours=hours)
    assert len(kg._hypotheticals) == 8


@pytest.mark.usefixtures("kg")  # built
def test_the_finder_reads_each_check_once_however_many_threads_ask(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    kg = KnowledgeGraph.embedded(settings, rebuild=False)  # its own index: the session's has read its checks
    monkeypatch.setattr(finder, "_kept_index", lambda *_: None)  # read from the graph, not a saved index
    real_read = finder_index._read_check
    read: list[str] = []
    first_started = threading.Event()

    def slow_read(select: object, check: finder_index.Check, units_of: object) -> object:
        read.append(check.pattern)
        first_started.set()
        time.sleep(0.3)  # long enough for every other thread to ask meanwhile
        return real_read(select, check, units_of)  # type: ignore[arg-type]

    monkeypatch.setattr(finder_index, "_read_check", slow_read)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: kg.find(free=True, min_gpu_memory_gb=16).to_dict(), range(8)))
    assert first_started.is_set()
    asked = [finder.CHECKS[name].pattern for name in ("free", "gpu", "min_gpu_memory_gb")]
    assert sorted(read) == sorted(asked)  # each once, and no other check
    assert all(answer == answers[0] for answer in answers)
    assert [m["name"] for m in answers[0]["matches"]] == ["Google Colab", "Paperspace Gradient"]


@pytest.mark.usefixtures("kg")  # built
def test_a_check_that_failed_to_read_is_read_again(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    kg = KnowledgeGraph.embedded(settings, rebuild=False)
    monkeypatch.setattr(finder, "_kept_index", lambda *_: None)
    real_read = finder_index._read_check
    failing = [True]

    def read_once_failing(*arguments: object) -> object:
        if failing.pop() if failing else False:
            raise StoreTimeout("the store stopped the query", "a cheaper query")
        return real_read(*arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(finder_index, "_read_check", read_once_failing)
    with pytest.raises(StoreTimeout):
        kg.find(free=True)
    assert kg.find(free=True).match_count == kg.find(free=True).match_count > 0  # asked again, and answered


QUESTIONS = [
    {},
    {"free": True},
    {"free": True, "min_gpu_memory_gb": 16, "private_notebooks": True},
    {"min_session_hours": 12, "persistent_storage": True},
    {"max_price_per_gpu_hour": "0.5", "tensor_cores": True},
    {"cli": True, "experiment_tracking": True},
]


@pytest.mark.usefixtures("kg")  # built
def test_the_finder_index_is_kept_beside_the_build_and_loaded_by_later_graphs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A file of this test's own: the session's server may save the index under the usual name at any time.
    monkeypatch.setattr(finder, "INDEX_FILE", f"finder-index-{uuid.uuid4().hex}.json")
    first = KnowledgeGraph.embedded(settings, rebuild=False)
    kept = first.store.build.directory / finder.INDEX_FILE
    first.find(free=True)
    assert not kept.exists()  # saved only once complete
    first.finder_index().read_ahead()
    assert kept.exists()
    real_read = finder_index._read_check

    def no_read(*arguments: object) -> object:
        raise AssertionError("a check was read from the graph")

    try:
        monkeypatch.setattr(finder_index, "_read_check", no_read)
        loaded = KnowledgeGraph.embedded(settings, rebuild=False)
        # Nor the offers, nor the service list, which the file holds too.
        monkeypatch.setattr(loaded.store, "for_whole_graph_reads", no_read)
        assert loaded.finder_index().services == loaded.services() == first.services()
        for question in QUESTIONS:
            assert loaded.find(**question).to_dict() == first.find(**question).to_dict(), question
        # Another set of checks (a new release of the finder) does not use it.
        assert finder_index.FinderIndex.load(kept, list(finder.CHECKS.values())[:-1]) is None
        # A broken file is read past, and the index read from the graph again.
        kept.write_text('{"format": 1, "checks": "')
        monkeypatch.setattr(finder_index, "_read_check", real_read)
        again = KnowledgeGraph.embedded(settings, rebuild=False)
        assert again.find(free=True).to_dict() == first.find(free=True).to_dict()
        assert f"{kept} holds no finder index (JSONDecodeError" in caplog.text
    finally:
        kept.unlink(missing_ok=True)


def test_a_build_to_serve_keeps_the_finder_index_first_and_stands_without_it(
    project_copy: Callable[[], Settings],
    kg: KnowledgeGraph,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = project_copy()
    built = build_to_serve(settings).build
    kept = built.directory / finder.INDEX_FILE
    assert finder_index.FinderIndex.load(kept, list(finder.CHECKS.values())) is not None
    real_read = finder_index._read_check

    def no_read(*arguments: object) -> object:
        raise RuntimeError("the graph was read")

    monkeypatch.setattr(finder_index, "_read_check", no_read)
    served = KnowledgeGraph.embedded(settings)  # up to date: opens the build, and loads its index
    monkeypatch.setattr(served.store, "for_whole_graph_reads", no_read)
    for question in QUESTIONS:
        assert served.find(**question).to_dict() == kg.find(**question).to_dict(), question
    # An index that cannot be read does not fail the build: it is served, and its processes read their own.
    rebuilt = build_to_serve(settings, force=True).build
    assert current_build(settings).directory == rebuilt.directory
    assert not (rebuilt.directory / finder.INDEX_FILE).exists()
    assert f"the finder's index of build {rebuilt.digest} was not kept" in caplog.text
    assert "RuntimeError: the graph was read" in caplog.text
    monkeypatch.setattr(finder_index, "_read_check", real_read)
    assert KnowledgeGraph.embedded(settings).find(free=True).to_dict() == kg.find(free=True).to_dict()


@pytest.mark.usefixtures("kg")  # built
def test_dated_views_of_one_state_share_a_finder_index_and_few_are_kept(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "KEEP_DATED_FINDER_INDEXES", 1)
    kg = KnowledgeGraph.embedded(settings, rebuild=False)
    current = kg.finder_index()
    article, day_after, later = kg.as_of("2020-12-17"), kg.as_of("2020-12-18"), kg.as_of("2023-01-01")
    assert article.state_date == day_after.state_date != later.state_date  # no change on the day after
    first = article.finder_index()
    assert day_after.finder_index() is first  # one state, one index
    assert later.finder_index() is not first
    assert article.finder_index() is not first  # only one dated index kept: read again
    assert kg.finder_index() is current  # the current view keeps its own
    # Each index is of its own state: FloydHub offered GPUs when the article was written, and has closed since.
    assert "FloydHub" in [c.name for c in article.find(gpu=True).matches]
    assert "FloydHub" not in [c.name for c in kg.find(gpu=True).matches]


def test_capabilities_are_the_same_over_a_remote_store(kg: KnowledgeGraph, remote: KnowledgeGraph) -> None:
    assert MLC + "FreePrivateGPUNotebookService" in kg.capabilities("google-colab")
    assert remote.capabilities("google-colab") == kg.capabilities("google-colab")
    assert remote.capabilities_known() == kg.capabilities_known()
    assert len(kg.capabilities_known()) == 19


def test_capabilities_of_an_unknown_resource_are_refused(kg: KnowledgeGraph) -> None:
    with pytest.raises(UnknownName, match="'google-collab' is not a resource of the graph"):
        kg.capabilities("google-collab")


def test_the_comparison_is_the_same_over_a_remote_store(kg: KnowledgeGraph, remote: KnowledgeGraph) -> None:
    comparison = kg.compare("google-colab", "kg:paperspace-gradient")
    assert [name for _, name in comparison.services] == ["Google Colab", "Paperspace Gradient"]
    assert remote.compare("google-colab", "kg:paperspace-gradient").to_dict() == comparison.to_dict()


def test_comparing_an_unknown_service_lists_the_known_ones(kg: KnowledgeGraph) -> None:
    with pytest.raises(UnknownName, match="'colab' is not a service of the graph — accepted: kg:blobcity, "):
        kg.compare("colab")


def test_the_finder_is_the_same_over_a_remote_store(kg: KnowledgeGraph, remote: KnowledgeGraph) -> None:
    found = kg.find(free=True, min_gpu_memory_gb=16, private_notebooks=True)
    assert [c.name for c in found.matches] == ["Google Colab"]
    gradient = next(c for c in found.others if c.name == "Paperspace Gradient")
    assert gradient.failed == ["no single plan meets all of them together"]  # its private plans are paid
    assert remote.find(free=True, min_gpu_memory_gb=16, private_notebooks=True).to_dict() == found.to_dict()


def test_the_finder_as_data(kg: KnowledgeGraph) -> None:
    data = kg.find(free=True, min_gpu_memory_gb=16).to_dict()
    assert data["requirements"] == {"free": True, "min_gpu_memory_gb": 16.0}
    assert data["described"] == ["on the free tier", "with a GPU", "a GPU with at least 16 GB"]
    assert {m["name"] for m in data["matches"]} == {"Google Colab", "Paperspace Gradient"}
    assert data["query"].count("SELECT") == 1


@pytest.mark.parametrize(
    ("budget", "q_blocks_fits", "gradient_fits"),
    # Q Blocks sells ~100 GPU hours for $20; Gradient's private notebooks come with its paid $0.45/hour instance.
    [(0.19, False, False), (0.2, True, False), (0.44, True, False), (0.45, True, True)],
)
def test_the_budget_per_gpu_hour(kg: KnowledgeGraph, budget: float, q_blocks_fits: bool, gradient_fits: bool) -> None:
    q_blocks = kg.find(max_price_per_gpu_hour=budget)
    assert ("Q Blocks" in [c.name for c in q_blocks.matches]) is q_blocks_fits
    gradient = kg.find(max_price_per_gpu_hour=budget, private_notebooks=True)
    assert ("Paperspace Gradient" in [c.name for c in gradient.matches]) is gradient_fits
    assert "Google Colab" in [c.name for c in gradient.matches]  # free and private: counts as $0


def test_the_finder_pages_through_both_lists(kg: KnowledgeGraph) -> None:
    asked = {"free": True, "min_gpu_memory_gb": 16, "private_notebooks": True}
    whole = kg.find(**asked, limit=1000)
    assert (whole.match_count, whole.other_count) == (1, 5)
    names = [c.name for c in whole.others]
    assert names == sorted(names, key=str.lower)
    pages = [kg.find(**asked, limit=2, others_offset=skipped) for skipped in (0, 2, 4)]
    assert [[c.name for c in page.others] for page in pages] == [names[0:2], names[2:4], names[4:]]
    assert [c.failed for page in pages for c in page.others] == [c.failed for c in whole.others]
    assert all((page.match_count, page.other_count) == (1, 5) for page in pages)
    # The age of the facts is asked for the services shown only.
    shown = {c.service for c in pages[1].others} | {c.service for c in pages[1].matches}
    assert set(pages[1].freshness.observed) == shown
    past_the_end = kg.find(**asked, offset=1, others_offset=5)
    assert (past_the_end.matches, past_the_end.others, past_the_end.match_count) == ([], [], 1)
    assert past_the_end.to_dict()["page"] == {"limit": 50, "offset": 1, "others_offset": 5}


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ({"limit": 0}, "parameter 'limit': 0 is out of range — accepted: a whole number from 1 to 1000"),
        ({"limit": 1001}, "parameter 'limit': 1001 is out of range"),
        ({"offset": -1}, "parameter 'offset': '-1' is not a whole number — accepted: a whole number from 0 to"),
        ({"others_offset": "2.5"}, "parameter 'others_offset': '2.5' is not a whole number"),
    ],
)
def test_a_bad_page_is_refused(kg: KnowledgeGraph, page: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        kg.find(free=True, **page)


@pytest.mark.parametrize(
    ("requirements", "message"),
    [
        ({"fre": True}, "requirement 'fre': is not a requirement — accepted: requirements: free, gpu, "),
        ({"min_gpu_memory_gb": "lots"}, "requirement 'min_gpu_memory_gb': 'lots' is not a number"),
        ({"min_gpu_memory_gb": -1}, "-1 is out of range — accepted: a number from 0 to 1000000"),
        ({"free": "maybe"}, "requirement 'free': 'maybe' is not true or false"),
    ],
)
def test_a_bad_requirement_is_refused(kg: KnowledgeGraph, requirements: dict[str, object], message: str) -> None:
    with pytest.raises(RequirementError, match=message) as refused:
        kg.find(**requirements)
    assert isinstance(refused.value, ValueError)
