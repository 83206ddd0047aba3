"""The command line as a user runs it: a subprocess, messages on stderr, exit codes."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import pytest
import rdflib
import rdflib.compare
import requests

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.config import Settings
from mlcloudkg.finder import CHECKS
from mlcloudkg.finder_index import FinderIndex
from mlcloudkg.terminal import display_width

from .conftest import PROJECT, LiveServer, free_port, run_cli


def run(*args: str, settings: Settings | None = None) -> subprocess.CompletedProcess[str]:
    options = ["--root", str(settings.root), "--build-dir", str(settings.build_dir)] if settings else []
    return subprocess.run(
        [sys.executable, "-m", "mlcloudkg", *options, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT,
        check=False,
    )


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("build", "validate", "tables"):
        assert command in result.stdout


def test_validate_passes_on_the_real_data(settings: Settings) -> None:
    result = run("validate", settings=settings)
    assert result.returncode == 0, result.stderr
    assert re.match(r"valid: \d+ data files, \d+ facts, all with provenance", result.stdout)


def test_validate_fails_on_broken_data_with_a_message_per_problem(
    project_copy: Callable[[], Settings],
) -> None:
    settings = project_copy()
    path = settings.data_dir / "article-colab-vs-gradient-2020-12-17.trig"
    path.write_text(path.read_text().replace("schema:price 3.88 ;", "schema:price -3.88 ;"))
    result = run("validate", settings=settings)
    assert result.returncode == 3
    assert result.stdout == ""
    assert "1 violation(s):" in result.stderr
    assert "data/article-colab-vs-gradient-2020-12-17.trig:" in result.stderr
    assert "the price is negative" in result.stderr


def test_a_syntax_error_exits_with_its_location(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    path = settings.data_dir / "gpu-hardware.trig"
    path.write_text(path.read_text() + "\nthis is not turtle\n")
    result = run("build", settings=settings)
    assert result.returncode == 2
    assert result.stderr.startswith("error: data/gpu-hardware.trig:")
    assert "syntax error" in result.stderr


def test_build_keeps_the_finders_index_and_makes_it_again_if_it_is_gone(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    result = run("build", settings=settings)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("built: ") and "  the finder's index: finder-index.json\n" in result.stdout
    kept = settings.build_dir / "current" / "finder-index.json"
    assert FinderIndex.load(kept, list(CHECKS.values())) is not None
    kept.unlink()  # or made by another release's finder
    again = run("build", settings=settings)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("up to date: ") and "the finder's index" in again.stdout
    assert FinderIndex.load(kept, list(CHECKS.values())) is not None


def test_tables_prints_the_article_tables(settings: Settings) -> None:
    result = run("tables", settings=settings)
    assert result.returncode == 0, result.stderr
    assert "|Runtime|Up to 12 hours|Up to 6 hours|" in result.stdout
    assert "4. [Q Blocks](https://www.qblocks.cloud/) - P2P, $20 package for ~100 GPU hours" in result.stdout


# -- every command ----------------------------------------------------------------------------------------------

COMMANDS = ("build", "validate", "serve", "query", "compare", "find", "explain", "capabilities", "tables", "export")
SERVICES_QUERY = (
    "PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#> PREFIX schema: <https://schema.org/> "
    "SELECT ?service ?name WHERE { ?service a mlc:NotebookService ; schema:name ?name } ORDER BY ?name"
)
SIX = ["BlobCity", "Deepnote", "FloydHub", "Google Colab", "Paperspace Gradient", "Q Blocks"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: python -m mlcloudkg {command} [OPTIONS]")
    assert command in run("--help").stdout


def test_build_counts_the_named_queries(settings: Settings, kg: KnowledgeGraph) -> None:
    result = run_cli(settings, "build")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("up to date: ")
    assert "  11 named queries" in result.stdout
    assert result.stderr == ""


def test_a_malformed_query_file_is_a_warning_at_build_and_an_error_at_validate(
    project_copy: Callable[[], Settings],
) -> None:
    settings = project_copy()
    (settings.queries_dir / "broken.rq").write_text(
        "# title: Broken\n# description: d\n# param: limit number -- How many\nSELECT * WHERE { ?s ?p ?limit }\n"
    )
    built = run_cli(settings, "build")
    assert built.returncode == 0, built.stderr
    assert "  11 named queries" in built.stdout
    assert built.stderr == (
        f"warning: named query left out: {settings.queries_dir / 'broken.rq'}:3 — unknown parameter type 'number' "
        "— accepted: string, integer, decimal, boolean, date, iri\n"
    )
    checked = run_cli(settings, "validate")
    assert checked.returncode == 2
    assert checked.stderr.startswith("error: 1 malformed query file(s):\n")
    assert "broken.rq:3 — unknown parameter type 'number'" in checked.stderr
    served = run_cli(settings, "query", "--named", "services", "--format", "json")
    assert served.returncode == 0  # the other queries still work, with the problem said on stderr
    assert "named query left out" in served.stderr


# -- query ------------------------------------------------------------------------------------------------------


def test_query_inline_prints_a_table(settings: Settings) -> None:
    result = run_cli(settings, "query", SERVICES_QUERY, columns=100)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["service", "name"]
    assert lines[2].split(maxsplit=1) == ["kg:blobcity", "BlobCity"]
    assert lines[-1] == "(6 rows)"


def test_query_from_a_file_as_csv(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "services.rq"
    path.write_text(SERVICES_QUERY)
    result = run_cli(settings, "query", "--file", str(path), "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["name"] for r in rows] == SIX
    assert rows[0]["service"] == "https://w3id.org/mlcloudkg/id/blobcity"


def test_a_named_query_with_parameters_as_json(settings: Settings, kg: KnowledgeGraph) -> None:
    asked = ("query", "--named", "free-gpus", "--param", "min_gpu_memory_gb=16", "--format", "json")
    result = run_cli(settings, *asked, "--as-of", "2020-12-17")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {(r["serviceName"], r["gpuName"], r["gpuMemoryGB"]) for r in rows} == {
        ("Google Colab", "Tesla T4", 16),
        ("Google Colab", "Tesla P100 PCIe 16 GB", 16),
        ("Paperspace Gradient", "Quadro P5000", 16),
    }
    now = json.loads(run_cli(settings, *asked).stdout)  # Colab's free tier is a T4 only by 2026
    assert {(r["serviceName"], r["gpuName"]) for r in now} == {
        ("Google Colab", "Tesla T4"),
        ("Paperspace Gradient", "Quadro P5000"),
    }
    assert len(now) == len(kg.named("free-gpus", min_gpu_memory_gb=16))


def test_query_as_tsv(settings: Settings) -> None:
    result = run_cli(settings, "query", SERVICES_QUERY, "--format", "tsv")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "?service\t?name"
    assert lines[1] == '<https://w3id.org/mlcloudkg/id/blobcity>\t"BlobCity"'


def test_construct_prints_turtle(settings: Settings) -> None:
    construct = (
        "PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#> "
        "CONSTRUCT { ?s mlc:offersGPU ?gpu } WHERE { ?s mlc:offersGPU ?gpu }"
    )
    result = run_cli(settings, "query", construct)
    assert result.returncode == 0, result.stderr
    graph = rdflib.Graph().parse(data=result.stdout, format="turtle")
    assert len(graph) >= 6
    assert "@prefix kg: <https://w3id.org/mlcloudkg/id/> ." in result.stdout
    refused = run_cli(settings, "query", construct, "--format", "csv")
    assert refused.returncode == 2
    assert "--format csv is not a format for a CONSTRUCT/DESCRIBE answer — accepted: turtle" in refused.stderr


def test_ask_prints_true_or_false(settings: Settings) -> None:
    ask = "ASK { <https://w3id.org/mlcloudkg/id/google-colab> a <https://w3id.org/mlcloudkg/ontology#FreeGPUService> }"
    result = run_cli(settings, "query", ask)
    assert (result.returncode, result.stdout) == (0, "true\n")


def test_query_lists_the_named_queries(settings: Settings) -> None:
    result = run_cli(settings, "query", "--list")
    assert result.returncode == 0, result.stderr
    assert "free-gpus: Free GPUs per service" in result.stdout
    assert "    subject iri (required) — The resource, e.g." in result.stdout
    assert "    currency string = USD — Only prices in this ISO 4217 currency" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((), 2, "Error: give one query: as an argument, with --file, or with --named (see --list)"),
        (("SELECT * {}", "--named", "services"), 2, "Error: give one query"),
        (("SELECT * {}", "--param", "a=1"), 2, "Error: --param is for a named query (--named NAME)"),
        (("--named", "free-gpus", "--param", "min_gpu_memory_gb"), 2, "'min_gpu_memory_gb' is not NAME=VALUE"),
        (
            ("--named", "free-gpus", "--param", "min_gpu_memory_gb=lots"),
            2,
            "error: parameter 'min_gpu_memory_gb': 'lots' is not a number — accepted: a number, e.g. 16 or 2.5",
        ),
        (("--named", "free-gpu"), 2, "error: no named query 'free-gpu' — accepted: one of alternatives,"),
        (("SELECT * WHERE { ?s ?p }",), 2, "error: SPARQL syntax error: error at 1:"),
        (("SELECT * {}", "--format", "xml"), 2, "Invalid value for '--format': 'xml' is not one of"),
    ],
)
def test_query_refuses_bad_input(settings: Settings, args: tuple[str, ...], code: int, message: str) -> None:
    result = run_cli(settings, "query", *args)
    assert result.returncode == code
    assert result.stdout == ""
    assert message in result.stderr


# -- query --endpoint: any SPARQL endpoint, here our own live server ---------------------------------------------------


def test_query_an_endpoint(settings: Settings, server: LiveServer) -> None:
    endpoint = server.url + "/sparql"
    local = run_cli(settings, "query", "--named", "cheapest-gpu-hour", "--format", "json")
    remote = run_cli(settings, "query", "--endpoint", endpoint, "--named", "cheapest-gpu-hour", "--format", "json")
    assert remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout) == json.loads(local.stdout)
    assert json.loads(remote.stdout)[0]["serviceName"] == "Q Blocks"
    table = run_cli(settings, "query", "--endpoint", endpoint, SERVICES_QUERY, columns=100)
    assert table.stdout == run_cli(settings, "query", SERVICES_QUERY, columns=100).stdout


def test_construct_from_an_endpoint(settings: Settings, server: LiveServer) -> None:
    describe = "DESCRIBE <https://w3id.org/mlcloudkg/id/nvidia-tesla-t4>"
    remote = run_cli(settings, "query", "--endpoint", server.url + "/sparql", describe)
    assert remote.returncode == 0, remote.stderr
    local = run_cli(settings, "query", describe)
    assert rdflib.compare.isomorphic(
        rdflib.Graph().parse(data=remote.stdout, format="turtle"),
        rdflib.Graph().parse(data=local.stdout, format="turtle"),
    )


def test_an_endpoints_refusal_is_an_error(settings: Settings, server: LiveServer) -> None:
    result = run_cli(settings, "query", "--endpoint", server.url + "/sparql", "SELECT * WHERE { ?s ?p }")
    assert result.returncode == 2
    assert result.stderr.startswith("error: the SPARQL endpoint refused the query (400): SPARQL syntax error")


def test_an_unreachable_endpoint_exits_5(settings: Settings) -> None:
    result = run_cli(settings, "query", "--endpoint", f"http://127.0.0.1:{free_port()}/sparql", SERVICES_QUERY)
    assert result.returncode == 5
    assert result.stderr.startswith("error: cannot reach the SPARQL endpoint http://127.0.0.1:")


# -- compare, find, explain, capabilities ------------------------------------------------------------------------


@pytest.mark.parametrize("columns", [60, 100, 160])
def test_compare_fits_the_terminal(settings: Settings, columns: int) -> None:
    result = run_cli(settings, "compare", "google-colab", "paperspace-gradient", "deepnote", columns=columns)
    assert result.returncode == 0, result.stderr
    for title in ("What it is", "Free GPU tier", "Plans", "Features", "Capabilities (derived by the reasoner)"):
        assert f"{title}\n" in result.stdout
    assert max(display_width(line) for line in result.stdout.splitlines()) <= columns
    words = " ".join(result.stdout.split())
    for text in ("Up to 12 hours", "Only Public", "$0.45/hour", "Private/Public"):
        assert text in words  # wrapped, never cut


def test_compare_as_json(settings: Settings, kg: KnowledgeGraph) -> None:
    result = run_cli(settings, "compare", "q-blocks", "floydhub", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == kg.compare("q-blocks", "floydhub").to_dict()


def test_compare_needs_known_services(settings: Settings) -> None:
    none = run_cli(settings, "compare")
    assert none.returncode == 2
    assert "name one to 10 services to compare — accepted: blobcity, deepnote, floydhub, " in none.stderr
    unknown = run_cli(settings, "compare", "colab")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: 'colab' is not a service of the graph — accepted: kg:blobcity")


def test_compare_over_an_endpoint(settings: Settings, server: LiveServer) -> None:
    local = run_cli(settings, "compare", "google-colab", "paperspace-gradient", columns=120)
    remote = run_cli(
        settings, "compare", "google-colab", "paperspace-gradient", "--endpoint", server.url + "/sparql", columns=120
    )
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout


def test_find(settings: Settings) -> None:
    result = run_cli(settings, "find", "--free", "--private-notebooks", "--min-gpu-memory-gb", "16", "--show-query")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "Requirements: on the free tier; with a GPU; a GPU with at least 16 GB; private notebooks\n\n"
        "Meet every requirement (1):\n  Google Colab\n"
    )
    assert "  Deepnote: with a GPU; a GPU with at least 16 GB" in result.stdout
    assert "SELECT DISTINCT ?service ?name" in result.stdout


def test_find_shows_a_page_of_each_list(settings: Settings) -> None:
    asked = ("find", "--free", "--private-notebooks", "--min-gpu-memory-gb", "16")
    result = run_cli(settings, *asked, "--limit", "2", "--others-offset", "2")
    assert result.returncode == 0, result.stderr
    assert "Meet every requirement (1):\n  Google Colab\n" in result.stdout
    assert "The others, and what they do not meet (5, 3 to 4 shown):\n" in result.stdout
    assert len(result.stdout.split("do not meet")[1].strip().splitlines()) == 3  # the heading's end and two others
    refused = run_cli(settings, *asked, "--limit", "0")
    assert refused.returncode == 2
    assert "Invalid value for --limit: 0 is out of range — accepted: a whole number from 1 to 1000" in refused.stderr


def test_find_as_json(settings: Settings, kg: KnowledgeGraph) -> None:
    result = run_cli(settings, "find", "--cli", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == kg.find(cli=True).to_dict()


def test_find_refuses_a_bad_number(settings: Settings) -> None:
    result = run_cli(settings, "find", "--min-session-hours", "long")
    assert result.returncode == 2
    assert (
        "Invalid value for --min-session-hours: 'long' is not a number — accepted: a number from 0 to 1000000"
        in result.stderr
    )


def test_find_lists_every_requirement_in_its_help(settings: Settings) -> None:
    from mlcloudkg.finder import Requirements

    text = " ".join(run("find", "--help").stdout.split())
    for requirement in fields(Requirements):
        assert "--" + requirement.name.replace("_", "-") in text
        assert " ".join(requirement.metadata["help"].split()) in text


def test_explain_over_an_endpoint(settings: Settings, server: LiveServer) -> None:
    local = run_cli(
        settings, "explain", "paperspace-gradient", "LongFreeSessionService", "--param", "min_session_hours=5"
    )
    remote = run_cli(
        settings,
        "explain",
        "paperspace-gradient",
        "LongFreeSessionService",
        "--param",
        "min_session_hours=5",
        "--endpoint",
        server.url + "/sparql",
    )
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout
    assert remote.stdout.startswith("kg:paperspace-gradient is mlc:LongFreeSessionService")


def test_capabilities(settings: Settings) -> None:
    every = run_cli(settings, "capabilities")
    assert every.returncode == 0, every.stderr
    assert len(every.stdout.splitlines()) == 19
    colab = run_cli(settings, "capabilities", "google-colab")
    assert "mlc:FreePrivateGPUNotebookService" in colab.stdout
    unknown = run_cli(settings, "capabilities", "nobody")
    assert (unknown.returncode, unknown.stderr) == (
        2,
        "error: 'nobody' is not a resource of the graph (https://w3id.org/mlcloudkg/id/nobody)\n",
    )


# -- export -----------------------------------------------------------------------------------------------------


def test_export_writes_the_downloads(settings: Settings, server: LiveServer, tmp_path: Path) -> None:
    for args, filename in [
        ((), "mlcloudkg.ttl"),
        (("--graphs", "asserted"), "mlcloudkg-asserted.ttl"),
        (("--format", "ntriples"), "mlcloudkg.nt"),
        (("--format", "jsonld"), "mlcloudkg.jsonld"),
        (("--format", "trig"), "mlcloudkg.trig"),
        (("--format", "nquads"), "mlcloudkg.nq"),
        (("--graphs", "ontology"), "ontology.ttl"),
    ]:
        output = tmp_path / filename
        result = run_cli(settings, "export", *args, "-o", str(output))
        assert result.returncode == 0, result.stderr
        assert result.stderr.startswith(f"wrote {output} (")
        served = requests.get(f"{server.url}/download/{filename}", timeout=30, headers={"Accept-Encoding": "identity"})
        assert output.read_bytes() == served.content, filename


def test_export_inferred_facts_to_standard_output(settings: Settings) -> None:
    result = run_cli(settings, "export", "--graphs", "inferred", "--format", "ntriples")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((settings.build_dir / "current" / "manifest.json").read_text())
    assert len(result.stdout.splitlines()) == manifest["graphs"]["https://w3id.org/mlcloudkg/graph/inferred"]


def test_export_the_dataset_description(settings: Settings) -> None:
    result = run_cli(settings, "export", "--description", "--base-url", "https://kg.example.org")
    assert result.returncode == 0, result.stderr
    graph = rdflib.Graph().parse(data=result.stdout, format="turtle")
    dataset = rdflib.URIRef("https://w3id.org/mlcloudkg/dataset")
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    assert (dataset, rdflib.RDF.type, dcat.Dataset) in graph
    assert (
        dataset,
        rdflib.URIRef("http://rdfs.org/ns/void#sparqlEndpoint"),
        rdflib.URIRef("https://kg.example.org/sparql"),
    ) in graph
    assert len(list(graph.objects(dataset, dcat.distribution))) == 8
    refused = run_cli(settings, "export", "--description", "--format", "nquads")
    assert refused.returncode == 2
    assert (
        "--format nquads is not a format for the description — accepted: turtle, ntriples, jsonld, trig"
        in refused.stderr
    )


def test_a_local_query_is_stopped_at_the_time_limit(settings: Settings) -> None:
    endless = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    started = time.monotonic()
    result = run_cli(settings, "query", endless, "--timeout", "1")
    assert time.monotonic() - started < 60
    assert result.returncode == 5
    assert result.stderr == (
        "error: the query ran longer than 1 s and was stopped — accepted: queries that finish within the time "
        "limit: add LIMIT, or narrow the patterns\n"
    )
