"""Explanations name the right premises, down to the sources, and say which condition fails when one does."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest

from mlcloudkg.api import KnowledgeGraph, UnknownName
from mlcloudkg.config import Settings
from mlcloudkg.namespaces import MLC
from mlcloudkg.queries import ParameterError
from mlcloudkg.reasoning.explain import Proof

from .conftest import run_cli


def walk(proof: Proof) -> list[Proof]:
    return [proof, *(p for premise in proof.premises for p in walk(premise))]


def test_colab_free_private_gpu_proof_reaches_the_sharing_row(kg: KnowledgeGraph) -> None:
    explanation = kg.explain("google-colab", "FreePrivateGPUNotebookService")
    assert explanation.holds
    steps = walk(explanation.proof)
    assert steps[0].by == "definition of mlc:FreePrivateGPUNotebookService"
    sharing = next(p for p in steps if p.triple[1].endswith("#allowsSharingMode>"))
    assert sharing.by == "asserted"
    assert sharing.triple == (
        "<https://w3id.org/mlcloudkg/id/colab-free>",
        "<https://w3id.org/mlcloudkg/ontology#allowsSharingMode>",
        "<https://w3id.org/mlcloudkg/ontology#PrivateNotebooks>",
    )
    [source] = sharing.sources
    assert source.locator == "free-runtime table, row 'Sharing'"
    assert source.quote == "|Sharing|Private/Public|Only Public|"
    assert source.as_of == "2020-12-17"
    assert all(step.by != "no rule derives it" for step in steps)


def test_every_leaf_of_a_proof_is_sourced(kg: KnowledgeGraph) -> None:
    for service, capability in [
        ("paperspace-gradient", "MLOpsService"),
        ("deepnote", "CPUOnlyFreeTierService"),
        ("q-blocks", "PaidHourlyGPUService"),
        ("google-colab", "LongFreeSessionService"),
    ]:
        proof = kg.explain(service, capability).proof
        leaves = [p for p in walk(proof) if not p.premises]
        assert leaves
        assert all(leaf.by in {"asserted", "ontology"} for leaf in leaves), (service, capability)
        assert all(leaf.sources for leaf in leaves if leaf.by == "asserted")


def test_gradient_is_not_free_private_because_its_free_plan_is_public(kg: KnowledgeGraph) -> None:
    explanation = kg.explain("paperspace-gradient", "FreePrivateGPUNotebookService")
    assert not explanation.holds
    text = explanation.to_text()
    assert "✗ kg:gradient-free: is a free private GPU plan" in text
    assert "✓ is a free plan" in text and "✓ is a GPU plan" in text
    assert "✗ allows sharing mode private — allows sharing mode: public" in text


def test_the_implied_fact_is_marked_implied(kg: KnowledgeGraph) -> None:
    proof = kg.explain("paperspace-gradient", "PrivateGPUNotebookService").proof
    private = next(p for p in walk(proof) if p.triple[2].endswith("#PrivateNotebooks>"))
    assert [s.status for s in private.sources] == ["implied"]


def test_a_threshold_rule_shows_its_values(kg: KnowledgeGraph) -> None:
    explanation = kg.explain("paperspace-gradient", "LongFreeSessionService")
    assert not explanation.holds
    assert "FILTER(isNumeric(?hours (= 6)) && ?hours (= 6) >= ?min_session_hours (= 12))" in explanation.to_text()


@pytest.mark.parametrize(("hours", "colab", "gradient"), [(6, True, True), (12, True, False), (13, False, False)])
def test_free_session_of_at_least_n_hours(kg: KnowledgeGraph, hours: int, colab: bool, gradient: bool) -> None:
    assert kg.explain("google-colab", "LongFreeSessionService", min_session_hours=hours).holds is colab
    assert kg.explain("paperspace-gradient", "LongFreeSessionService", min_session_hours=hours).holds is gradient


def test_an_unknown_parameter_is_refused(kg: KnowledgeGraph) -> None:
    with pytest.raises(ParameterError, match="'min_hours': is not a parameter of any rule"):
        kg.explain("google-colab", "LongFreeSessionService", min_hours=3)


def test_unknown_names_are_refused(kg: KnowledgeGraph) -> None:
    with pytest.raises(UnknownName, match="is not a resource of the graph"):
        kg.explain("no-such-service", "FreeGPUService")
    with pytest.raises(UnknownName, match="is not a class of the ontology — accepted: mlc:CLIWorkflowService"):
        kg.explain("google-colab", "NoSuchCapability")


def test_explain_from_the_command_line_as_json(settings: Settings, kg: KnowledgeGraph) -> None:
    result = run_cli(settings, "explain", "kg:paperspace-gradient", "mlc:CLIWorkflowService", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["holds"] is True
    assert data["proof"]["by"] == "definition of mlc:CLIWorkflowService"
    cli_fact = next(p for p in data["proof"]["premises"] if "hasFeature" in p["statement"])
    assert {s["locator"] for s in cli_fact["sources"]} >= {"feature table, row 'CLI'"}


def test_a_property_chain_statement_is_explained_down_to_its_sources(kg: KnowledgeGraph) -> None:
    proof = kg.explain_statement(
        "google-colab", "offersGPU", ox.NamedNode("https://w3id.org/mlcloudkg/id/nvidia-tesla-t4")
    )
    assert proof.by == "property chain of mlc:offersGPU"
    assert [p.triple[1] for p in proof.premises] == [
        "<https://w3id.org/mlcloudkg/ontology#offersPlan>",
        "<https://w3id.org/mlcloudkg/ontology#providesRuntime>",
        "<https://w3id.org/mlcloudkg/ontology#gpuModel>",
    ]
    assert all(p.by == "asserted" and p.sources for p in proof.premises)


def test_an_asserted_statement_is_explained_by_its_passages(kg: KnowledgeGraph) -> None:
    proof = kg.explain_statement("colab-free", "allowsSharingMode", ox.NamedNode(str(MLC.PrivateNotebooks)))
    assert proof.by == "asserted"
    assert [s.locator for s in proof.sources] == ["free-runtime table, row 'Sharing'"]


def test_a_statement_the_graph_does_not_hold_is_refused(kg: KnowledgeGraph) -> None:
    with pytest.raises(UnknownName, match="does not hold"):
        kg.explain_statement("paperspace-gradient", "offersGPU", ox.NamedNode(str(MLC.PrivateNotebooks)))


@pytest.mark.parametrize("name", ["google colab", "kg:x>y", 'https://example.org/a"b', "kg:{x}"])
def test_names_that_are_not_iris_are_refused_before_any_query(kg: KnowledgeGraph, name: str) -> None:
    with pytest.raises(UnknownName, match="not a valid IRI"):
        kg.explain(name, "FreeGPUService")
