"""The web UI in a real browser: the query page runs examples in YASGUI, charts and downloads results, the finder and
the comparison answer, links lead to resource pages and explanations; no request ever leaves 127.0.0.1."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import urlencode

import pytest
import rdflib
from playwright.sync_api import Page, expect

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.finder import Requirements, find

from .conftest import ARTIFACTS, Browsing

pytestmark = pytest.mark.browser

VISIBLE_ROWS = ".yasr:visible .dataTable tbody tr"


def run_current_tab(page: Page) -> None:
    # Waiting for the request first tells a click that went astray (no query sent) from a slow answer.
    with page.expect_request(lambda request: request.url.endswith("/sparql") and request.method == "POST"):
        page.locator(".yasqe_queryButton:visible").click()
    page.wait_for_selector(VISIBLE_ROWS)


def open_example(page: Page, title: str) -> None:
    page.get_by_role("link", name=title, exact=True).click()
    expect(page.locator(".tabsList .tab.active")).to_contain_text(title)


# -- the query page -------------------------------------------------------------------------------------------------


def test_every_named_query_is_an_example_tab_with_its_description(browsing: Browsing, kg: KnowledgeGraph) -> None:
    page = browsing.open("/")
    page.wait_for_selector(".tabsList .tab")
    tabs = page.locator(".tabsList .tab").all_inner_texts()
    titles = {query.title for query in kg.catalog.values()}
    assert titles <= {tab.strip(" \n✖") for tab in tabs}
    open_example(page, "Cheapest GPU hour")
    described = page.locator("#example-description")
    expect(described).to_contain_text(kg.catalog["cheapest-gpu-hour"].answers)
    expect(described).to_contain_text(kg.catalog["cheapest-gpu-hour"].description)
    browsing.screenshot("query-page")


def test_an_example_query_runs_and_shows_its_rows(browsing: Browsing, kg: KnowledgeGraph) -> None:
    page = browsing.open("/")
    open_example(page, "Free GPUs per service")
    run_current_tab(page)
    rows = page.locator(VISIBLE_ROWS)
    expected = kg.named("free-gpus")
    assert rows.count() == len(expected)
    shown = page.locator(".yasr:visible .dataTable tbody").inner_text()
    assert all(row["gpuName"] in shown for row in expected)
    assert any(url.startswith(browsing.base + "/sparql") for url in browsing.requests)
    browsing.screenshot("query-results")


def test_numeric_results_can_be_charted(browsing: Browsing, kg: KnowledgeGraph) -> None:
    page = browsing.open("/")
    open_example(page, "GPU specifications")
    run_current_tab(page)
    page.locator(".select_chart:visible").click()
    canvas = page.locator(".mlcloudkg-chart canvas:visible")
    expect(canvas).to_be_visible()
    drawn = canvas.evaluate("canvas => { const c = Chart.getChart(canvas); return [c.data.labels, c.data.datasets] }")
    labels, datasets = drawn
    # GPUs named by later sources without a datasheet row have no memory figure: a gap in the chart
    expected = {
        row["gpuName"]: float(row["gpuMemoryGB"]) if "gpuMemoryGB" in row else None for row in kg.named("gpu-specs")
    }
    assert datasets[0]["label"] == "?gpuMemoryGB"
    assert dict(zip(labels, datasets[0]["data"], strict=True)) == expected
    page.get_by_label("Values").select_option("fp32Tflops")
    expect(page.locator(".mlcloudkg-chart canvas:visible")).to_have_attribute(
        "aria-label", "Chart of ?fp32Tflops by ?gpuName"
    )
    browsing.screenshot("query-chart")


def test_select_results_download_in_every_format_the_endpoint_offers(browsing: Browsing, kg: KnowledgeGraph) -> None:
    page = browsing.open("/")
    open_example(page, "Notebook services")
    run_current_tab(page)
    services = {row["service"] for row in kg.named("services")}
    downloaded = {}
    for label in ("JSON", "XML", "CSV", "TSV"):
        with page.expect_download() as download:
            page.get_by_role("button", name=f"Download the results as {label}").click()
        downloaded[label] = (download.value.suggested_filename, download.value.path().read_text())
    assert downloaded["JSON"][0] == "notebook-services.srj"
    bindings = json.loads(downloaded["JSON"][1])["results"]["bindings"]
    assert {b["service"]["value"] for b in bindings} == services
    assert {row["service"] for row in csv.DictReader(io.StringIO(downloaded["CSV"][1]))} == services
    assert "<sparql" in downloaded["XML"][1] and downloaded["TSV"][1].startswith("?service\t")


def test_graph_results_download_as_rdf(browsing: Browsing) -> None:
    page = browsing.open("/")
    page.wait_for_selector(".tabsList .tab")
    page.evaluate(
        "mlcloudkgYasgui.getTab().getYasqe().setValue('DESCRIBE <https://w3id.org/mlcloudkg/id/google-colab>')"
    )
    page.locator(".yasqe_queryButton:visible").click()
    buttons = page.locator("#result-downloads button")
    expect(buttons.first).to_have_text("Turtle")
    assert buttons.all_inner_texts() == ["Turtle", "N-Triples", "JSON-LD", "RDF/XML", "TriG", "N-Quads"]
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the results as Turtle").click()
    graph = rdflib.Graph().parse(download.value.path(), format="turtle")
    colab = rdflib.URIRef("https://w3id.org/mlcloudkg/id/google-colab")
    assert (colab, rdflib.URIRef("https://schema.org/name"), rdflib.Literal("Google Colab")) in graph


def test_completion_offers_our_classes_without_asking_anyone_else(browsing: Browsing) -> None:
    page = browsing.open("/")
    page.wait_for_selector(".tabsList .tab")
    page.evaluate(
        "mlcloudkgYasgui.getTab().getYasqe().setValue("
        "'PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#>\\nSELECT * WHERE { ?s a mlc:FreeG')"
    )
    page.evaluate(
        "(() => { const y = mlcloudkgYasgui.getTab().getYasqe(); y.focus(); y.setCursor(y.lineCount(), 0);"
        " y.execCommand('goDocEnd'); })()"
    )
    page.keyboard.press("Control+Space")
    hints = page.locator(".CodeMirror-hints li")
    expect(hints.first).to_be_visible()
    assert "mlc:FreeGPUService" in hints.all_inner_texts()
    configured = page.evaluate("mlcloudkgYasgui.getTab().getYasqe().config.autocompleters")
    assert not {"class", "property"} & set(configured)


def test_a_link_cannot_point_the_page_at_another_endpoint(browsing: Browsing) -> None:
    query = "SELECT ?name WHERE { ?s <https://schema.org/name> ?name } LIMIT 3"
    page = browsing.open("/?" + urlencode({"query": query, "endpoint": "http://example.org/sparql", "x": "1"}))
    page.wait_for_selector(VISIBLE_ROWS)
    assert page.locator(VISIBLE_ROWS).count() == 3
    # (the fixture checks that no request went to example.org)


def test_result_links_lead_to_resource_pages_and_their_explanations(browsing: Browsing) -> None:
    page = browsing.open("/")
    open_example(page, "Notebook services")
    run_current_tab(page)
    page.locator(".yasr:visible a", has_text="kg:google-colab").first.click()
    expect(page.locator("h1")).to_have_text("Google Colab")
    assert page.url.endswith("/id/google-colab")
    derived = page.locator(".types .type.inferred", has_text="offers a free GPU")
    derived.get_by_role("link", name="Why is Google Colab offers a free GPU?").click()
    expect(page.locator(".verdict")).to_contain_text("Yes.")
    expect(page.locator(".proof blockquote").first).to_be_visible()
    browsing.screenshot("explanation")


# -- the other pages ------------------------------------------------------------------------------------------------


def test_comparison_cells_link_to_resources_sources_and_explanations(browsing: Browsing) -> None:
    page = browsing.open("/compare?providers=google-colab,paperspace-gradient")
    headers = page.locator("table.comparison").first.locator("thead th").all_inner_texts()
    assert headers[1:] == ["Google Colab", "Paperspace Gradient"]
    gpu_row = page.locator("section", has=page.locator("h2", has_text="Free GPU tier")).locator(
        "tr", has_text="GPU RAM"
    )
    colab_cell = gpu_row.locator("td").first
    expect(colab_cell.locator(".sources")).to_contain_text("as of 2020-12-17")
    page.set_viewport_size({"width": 1100, "height": 760})
    ARTIFACTS.mkdir(exist_ok=True)
    free_tier = page.locator("section", has=page.locator("h2", has_text="Free GPU tier"))
    free_tier.screenshot(path=ARTIFACTS / "readme-compare.jpg", type="jpeg", quality=70)
    browsing.screenshot("compare")
    colab_cell.locator(".sources a").first.click()
    expect(page.locator("#passage-title")).to_have_text("A passage of a source")
    expect(page.locator(".passage blockquote")).to_contain_text("GPU RAM")
    page.go_back()
    capability = page.locator("tr", has_text="Offers a free GPU").locator("td").first
    expect(capability.locator(".derived")).to_have_text("derived")
    capability.get_by_role("link", name="why?").click()
    expect(page.locator(".verdict")).to_contain_text("Yes.")


def test_the_finder_lists_matches_reasons_and_opens_its_query(browsing: Browsing, kg: KnowledgeGraph) -> None:
    page = browsing.open("/find")
    page.get_by_label("On the free tier").check()
    page.get_by_label("GPU memory at least").fill("16")
    page.get_by_label("Private notebooks").check()
    page.get_by_role("button", name="Find").click()
    expected = find(kg, Requirements(free=True, min_gpu_memory_gb=16, private_notebooks=True))
    assert page.locator("ul.matches li").all_inner_texts() == [c.name for c in expected.matches]
    others = page.locator("ul.others > li")
    assert others.count() == len(expected.others)
    for other in expected.others:
        reasons = others.filter(has_text=other.name).locator(".fails li").all_inner_texts()
        assert reasons == other.failed
    assert any("private notebooks" in other.failed for other in expected.others)
    browsing.screenshot("finder")
    page.get_by_role("link", name="Open it in the query page").click()
    page.wait_for_selector(VISIBLE_ROWS)
    expect(page.locator(".tabsList .tab.active")).to_contain_text("Finder")
    assert page.locator(VISIBLE_ROWS).count() == len(expected.matches)


def test_the_finder_pages_through_the_others(browsing: Browsing, kg: KnowledgeGraph) -> None:
    page = browsing.open("/find?free=on&min_gpu_memory_gb=16&private_notebooks=on&limit=2")
    names = [c.name for c in find(kg, Requirements(free=True, min_gpu_memory_gb=16, private_notebooks=True)).others]
    pager = page.get_by_role("navigation", name="Pages of the others")
    expect(pager).to_contain_text("1 to 2 of 5")
    shown = page.locator("ul.others > li > a")
    assert shown.all_inner_texts() == names[:2]
    pager.get_by_role("link", name="Next 2").click()
    expect(pager).to_contain_text("3 to 4 of 5")
    assert shown.all_inner_texts() == names[2:4]
    pager.get_by_role("link", name="Previous 2").click()
    expect(pager).to_contain_text("1 to 2 of 5")
    assert page.locator("ul.matches li").all_inner_texts() == ["Google Colab"]


def test_every_page_opens_with_a_heading_and_labelled_controls(browsing: Browsing) -> None:
    pages = {
        "home": "/",
        "ontology": "/ontology",
        "resource-runtime": "/id/colab-free-runtime",
        "passage": "/source/colab-vs-gradient-2020-12-17/free-runtimes-gpu",
        "graph": "/graph/inferred",
        "explain-why-not": "/explain?resource=paperspace-gradient&capability=FreePrivateGPUNotebookService",
        "find": "/find",
        "compare-all": "/compare",
        "error": "/compare?providers=nobody",
    }
    # Our own controls (YASGUI's editor has its own markup, outside what we write).
    unlabelled = (
        "[...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea')]"
        ".filter(e => !e.closest('.yasgui') && (!e.labels || e.labels.length === 0)).map(e => e.id || e.name)"
    )
    for name, path in pages.items():
        page = browsing.open(path)
        expect(page.locator("main h1")).to_be_visible()
        assert page.locator("header nav[aria-label=Site]").count() == 1
        assert page.evaluate(unlabelled) == [], name
        browsing.screenshot(name)
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to the content")


def test_the_ontology_page_has_an_anchor_for_each_term(browsing: Browsing, kg: KnowledgeGraph) -> None:
    page = browsing.open("/ontology#FreePrivateGPUNotebookService")
    term = page.locator("#FreePrivateGPUNotebookService")
    expect(term).to_be_in_viewport()
    expect(term).to_contain_text("cloud notebook service and offers plan some free private GPU plan")
    expect(term.get_by_role("link", name="Google Colab")).to_be_visible()
