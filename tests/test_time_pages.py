"""Time in the web UI: pages answer as of a date (?as_of=), the changes view, each resource's history, and every
answer saying how old its facts are. Expectations come from the article and shared/research/timeline.md."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from flask.testing import FlaskClient

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.config import Settings
from mlcloudkg.web import create_app

from .conftest import ARTICLE_DATE

KG = "https://w3id.org/mlcloudkg/id/"
MLC = "https://w3id.org/mlcloudkg/ontology#"
JSON = {"Accept": "application/json"}
BROWSER = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def client(settings: Settings, kg: KnowledgeGraph) -> Iterator[FlaskClient]:
    app = create_app(settings)
    yield app.test_client()
    app.extensions["mlcloudkg"].close()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def plan_cell(body: dict, service: str) -> str:  # type: ignore[type-arg]
    plans = next(s for s in body["sections"] if s["title"] == "Plans")
    cell = next(r for r in plans["rows"] if r["label"] == "Plans and prices")["cells"][KG + service]
    return cell["text"] if cell else ""


def test_the_comparison_as_of_the_article_and_now(client: FlaskClient) -> None:
    then = client.get(f"/compare?providers=floydhub,google-colab&as_of={ARTICLE_DATE}", headers=JSON).get_json()
    now = client.get("/compare?providers=floydhub,google-colab", headers=JSON).get_json()
    assert "FloydHub free tier" in plan_cell(then, "floydhub")
    assert "FloydHub" not in plan_cell(now, "floydhub")  # shut down in 2021: it offers nothing
    assert "pay as you go" not in plan_cell(then, "google-colab").lower()
    assert "Colab pay as you go" in plan_cell(now, "google-colab")
    assert then["facts"]["state_as_of"] == ARTICLE_DATE
    assert now["facts"]["state_as_of"] == now["facts"]["latest_state"] == "2026-03-01"
    # the cells of the article's state cite only what held then
    sources = [s["as_of"] for s in plan_cell_sources(then, "google-colab")]
    assert sources and all(d <= ARTICLE_DATE for d in sources)


def plan_cell_sources(body: dict, service: str) -> list[dict]:  # type: ignore[type-arg]
    plans = next(s for s in body["sections"] if s["title"] == "Plans")
    return next(r for r in plans["rows"] if r["label"] == "Plans and prices")["cells"][KG + service]["sources"]


def test_pages_say_which_state_they_show_and_how_old_it_is(client: FlaskClient) -> None:
    html = client.get(f"/compare?providers=floydhub&as_of={ARTICLE_DATE}", headers=BROWSER).get_data(as_text=True)
    shown = text_of(html)
    assert f"Facts as of {ARTICLE_DATE} : the state on {ARTICLE_DATE}" in shown
    assert "Possibly outdated: FloydHub (last observed 2020-12-17)" in shown
    # the form keeps the services chosen when another date is picked
    assert '<input type="hidden" name="providers" value="floydhub">' in html
    now = text_of(client.get("/compare?providers=floydhub", headers=BROWSER).get_data(as_text=True))
    assert "Facts as of 2026-03-01 , the latest known state." in now


def test_the_finder_and_explanations_take_a_date(client: FlaskClient) -> None:
    asked = "resource=paperspace-gradient&capability=FreeHighMemoryGPUService"
    then = client.get(f"/explain?{asked}&as_of={ARTICLE_DATE}", headers=JSON).get_json()
    assert then["holds"] and then["facts"]["state_as_of"] == ARTICLE_DATE  # a P5000 (16 GB) in 2020
    colab = "resource=google-colab&capability=GuaranteedFreeHighMemoryGPUService"
    assert not client.get(f"/explain?{colab}&as_of={ARTICLE_DATE}", headers=JSON).get_json()["holds"]
    assert client.get(f"/explain?{colab}", headers=JSON).get_json()["holds"]  # always a T4 now
    found = client.get(f"/find?gpu=on&as_of={ARTICLE_DATE}", headers=JSON).get_json()
    assert "FloydHub" in [m["name"] for m in found["matches"]]
    assert "FloydHub" not in [m["name"] for m in client.get("/find?gpu=on", headers=JSON).get_json()["matches"]]
    html = client.get(f"/find?gpu=on&as_of={ARTICLE_DATE}", headers=BROWSER).get_data(as_text=True)
    assert f"default-graph-uri=https://w3id.org/mlcloudkg/graph/as-of/{ARTICLE_DATE}" in html


def test_the_changes_view_lists_what_the_timeline_says(client: FlaskClient, kg: KnowledgeGraph) -> None:
    body = client.get(f"/changes?from={ARTICLE_DATE}&to=now", headers=JSON).get_json()
    assert (body["from"], body["to"]) == (ARTICLE_DATE, "2026-03-01")
    expected = kg.changes(ARTICLE_DATE, "now")
    assert body["changes"] == {owner: [vars(c) for c in items] for owner, items in expected.items()}
    floydhub = body["changes"][KG + "floydhub"]
    assert {(c["kind"], c["subject"].removeprefix(KG)) for c in floydhub} >= {
        ("new", "floydhub-shutdown"),
        ("removed", "floydhub"),
    }
    html = client.get(f"/changes?from={ARTICLE_DATE}&to=now", headers=BROWSER).get_data(as_text=True)
    shown = text_of(html)
    assert "What changed from 2020-12-17 to 2026-03-01" in shown
    assert "FloydHub : offers plan FloydHub free tier , FloydHub GPU" in shown
    assert "Colab pay as you go" in shown


def test_the_changes_view_starts_at_the_main_survey(client: FlaskClient) -> None:
    body = client.get("/changes", headers=JSON).get_json()
    assert body["from"] == ARTICLE_DATE  # the date most passages were observed on: the article's


def test_no_change_between_a_date_and_itself(client: FlaskClient) -> None:
    assert client.get(f"/changes?from={ARTICLE_DATE}&to={ARTICLE_DATE}", headers=JSON).get_json()["changes"] == {}
    html = client.get(f"/changes?from={ARTICLE_DATE}&to={ARTICLE_DATE}", headers=BROWSER).get_data(as_text=True)
    assert "Nothing changed between 2020-12-17 and 2020-12-17" in html


def test_a_resource_page_shows_its_history(client: FlaskClient) -> None:
    html = client.get("/id/floydhub", headers=BROWSER).get_data(as_text=True)
    properties = html[html.index('id="properties-title"') : html.index('id="history-title"')]
    assert "offers plan" not in text_of(properties)  # no plan holds now: it shut down
    history = text_of(html[html.index('id="history-title"') :])
    assert re.search(r"2020-12-17 — item 3 .*offers plan : FloydHub (GPU|free tier) no longer holds", history)
    assert "2021-08 — row '2021-08'" in history.replace("&#39;", "'")
    assert history.index("2020-12-17") < history.index("2021-08")  # oldest first
    assert "possibly outdated" in text_of(html)


def test_staleness_counts_from_today(client: FlaskClient, kg: KnowledgeGraph) -> None:
    body = client.get("/compare?providers=google-colab", headers=JSON).get_json()
    observed = kg.freshness([KG + "google-colab"]).observed[KG + "google-colab"]
    stale = (date.today() - observed).days > kg.settings.stale_after_days
    assert (KG + "google-colab" in body["facts"]["possibly_outdated"]) == stale


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("/compare?as_of=2020-13-45", "as of '2020-13-45': not a date"),
        ("/find?gpu=on&as_of=yesterday", "as of 'yesterday': not a date"),
        ("/changes?from=last+year", "from 'last year': not a date"),
        ("/changes?from=2020-12-17&to=soon", "to 'soon': not a date"),
    ],
)
def test_a_bad_date_is_a_clear_400(client: FlaskClient, url: str, says: str) -> None:
    response = client.get(url, headers={"Accept": "text/plain"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert says in body and "accepted: YYYY-MM-DD" in body
