"""The finder and the comparison on a graph with more services than a page holds: the article's six and 130
synthetic ones (bench/synthetic.py), as a catalogue of cloud GPU offers would have."""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Iterator
from html import unescape

import pytest
from bench.synthetic import TRIPLES_PER_SERVICE
from bench.synthetic import write as write_synthetic
from flask.testing import FlaskClient

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.build import build
from mlcloudkg.compare import MAX_COMPARED
from mlcloudkg.config import Settings
from mlcloudkg.finder import Requirements, _conditions, finder_query, is_number
from mlcloudkg.web import create_app

from .conftest import PROJECT

SYNTHETIC = 130
EVERY = SYNTHETIC + 6
BROWSER = {"Accept": "text/html"}
# Thresholds below, at and above values of the data (GPUs of 8 to 80 GB, sessions of 4 to 24 hours, prices from free
# and $0.05 an hour to $4), and between them.
THRESHOLDS = {
    "min_gpu_memory_gb": ["0", "12", "15.9", "16", "40", "80", "81"],
    "min_session_hours": ["0.5", "4", "6", "8.5", "12", "24", "25"],
    "max_price_per_gpu_hour": ["0", "0.05", "0.1", "0.5", "1.2", "3.99", "4"],
}
FLAGS = sorted(set(Requirements.__dataclass_fields__) - set(THRESHOLDS))


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("many-services")
    for part in ("ontology", "data", "queries"):
        shutil.copytree(PROJECT / part, root / "project" / part)
    write_synthetic(SYNTHETIC * TRIPLES_PER_SERVICE, root / "project" / "data" / "synthetic.trig", seed=5)
    settings = Settings.from_env(root=root / "project", build_dir=root / "build")
    build(settings)
    return settings


@pytest.fixture(scope="module")
def kg(settings: Settings) -> KnowledgeGraph:
    return KnowledgeGraph.embedded(settings, rebuild=False)


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[FlaskClient]:
    app = create_app(settings)
    yield app.test_client()
    app.extensions["mlcloudkg"].close()


def test_the_graph_has_more_services_than_a_page(kg: KnowledgeGraph) -> None:
    names = [name for _, name in kg.services()]
    assert len(names) == EVERY
    assert names == sorted(names, key=str.lower)


def test_the_finder_shows_a_page_of_each_list(kg: KnowledgeGraph) -> None:
    whole = kg.find(gpu=True, limit=1000)
    assert whole.match_count + whole.other_count == EVERY
    assert whole.match_count > 50 and whole.other_count > 0
    first = kg.find(gpu=True)
    assert len(first.matches) == 50 and first.match_count == whole.match_count
    pages = [kg.find(gpu=True, offset=skipped).matches for skipped in range(0, whole.match_count, 50)]
    assert [c.name for page in pages for c in page] == [c.name for c in whole.matches]
    assert [c.failed for c in first.others] == [c.failed for c in whole.others[:50]]
    assert set(first.freshness.observed) == {c.service for c in [*first.matches, *first.others]}


def test_the_finder_page_links_to_the_next_matches(client: FlaskClient, kg: KnowledgeGraph) -> None:
    count = kg.find(gpu=True).match_count
    page = client.get("/find?gpu=on", headers=BROWSER).get_data(as_text=True)
    assert f"{count} services meet every requirement" in page
    assert f"1 to 50 of {count}" in page
    following = re.search(r'<a rel="next" href="([^"]+)">Next 50</a>', page)
    assert following
    assert unescape(following.group(1)) == "/find?gpu=on&offset=50"
    second = client.get(unescape(following.group(1)), headers=BROWSER).get_data(as_text=True)
    assert f"51 to {min(100, count)} of {count}" in second


def test_the_comparison_page_asks_which_services_to_compare(client: FlaskClient) -> None:
    page = client.get("/compare", headers=BROWSER).get_data(as_text=True)
    assert f"{EVERY} services are too many to list here" in page
    assert '<input type="text" id="more-services" name="providers"' in page
    assert "Pick the services to compare above." in page
    assert 'class="comparison"' not in page
    assert page.count('type="checkbox"') == 0


def test_the_comparison_page_compares_the_services_given(client: FlaskClient) -> None:
    # As the form sends them: a ticked checkbox, and ids typed into the text field.
    page = client.get("/compare?providers=google-colab&providers=syn-service-7,+syn-service-8", headers=BROWSER)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    headers = re.findall(r'<th scope="col"><a href="/id/[^"]+">([^<]+)</a></th>', html)
    assert headers[:3] == ["Google Colab", "Synthetic service 7", "Synthetic service 8"]
    assert html.count('type="checkbox"') == 3 and html.count(" checked>") == 3


def test_more_services_than_fit_side_by_side_are_refused(client: FlaskClient) -> None:
    names = ",".join(f"syn-service-{number}" for number in range(MAX_COMPARED + 1))
    answer = client.get(f"/api/compare?providers={names}").get_json()
    assert answer["status"] == 400 and answer["parameter"] == "providers"
    assert answer["detail"] == f"parameter 'providers': names {MAX_COMPARED + 1} services"
    assert answer["accepted"] == f"at most {MAX_COMPARED} services side by side"


def test_an_unknown_service_is_refused_naming_a_few_others(client: FlaskClient) -> None:
    detail = client.get("/api/compare?providers=nobody").get_json()["detail"]
    assert detail.startswith("'nobody' is not a service of the graph — accepted: kg:blobcity, kg:deepnote, ")
    assert detail.endswith(f"and {EVERY - 20} more (the services query lists them)")


def _questions() -> list[dict[str, str]]:
    """No requirement, each on its own, and combinations of up to three flags and two thresholds."""
    assert all(is_number(Requirements.__dataclass_fields__[name]) for name in THRESHOLDS)
    single = [{flag: "true"} for flag in FLAGS] + [{name: t} for name, ts in THRESHOLDS.items() for t in ts]
    rng = random.Random(11)
    combined = []
    for _ in range(60):
        question = dict.fromkeys(rng.sample(FLAGS, rng.randint(1, 3)), "true")
        for name in rng.sample(sorted(THRESHOLDS), rng.randint(0, 2)):
            question[name] = rng.choice(THRESHOLDS[name])
        combined.append(question)
    return [{}, *single, *combined]


def test_the_finder_answers_what_its_query_says(kg: KnowledgeGraph) -> None:
    """The finder answers from its index; the query it shows must select the same services, and each other service
    must fail exactly the requirements whose own query leaves it out."""
    splits: set[str] = set()  # requirements some services meet and others do not: the data tests them
    for question in _questions():
        answer = kg.find(**question, limit=1000)
        requirements = answer.requirements
        selected = {row["service"] for row in kg.query(finder_query(requirements, ordered=False))}
        assert {c.service for c in answer.matches} == selected, question
        assert answer.match_count + answer.other_count == EVERY
        if 0 < answer.match_count < EVERY and len(question) == 1:
            splits.add(next(iter(question)))
        among = [c.service for c in answer.others]
        failed_somewhere = dict.fromkeys(among, False)
        for condition, words in _conditions(requirements) if among else []:
            query = finder_query(requirements, [condition], among, ordered=False)
            meeting = {row["service"] for row in kg.query(query)}
            for other in answer.others:
                assert (words in other.failed) == (other.service not in meeting), (question, other.name, words)
                failed_somewhere[other.service] |= other.service not in meeting
        for other in answer.others:
            together = other.failed == ["no single plan meets all of them together"]
            assert together == (not failed_somewhere[other.service]), (question, other.name)
    assert splits == set(Requirements.__dataclass_fields__)
