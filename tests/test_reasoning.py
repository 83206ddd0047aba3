"""The reasoner: the capability truth table written from the article, agreement with owlrl (the reasoner of
record) on the real and on synthetic data, and a clean published inferred graph."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pyoxigraph as ox
import pytest
from bench.synthetic import write as write_synthetic

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.build import build, current_build
from mlcloudkg.config import Settings
from mlcloudkg.dataset import CURRENT, INFERRED
from mlcloudkg.errors import MlcloudkgError
from mlcloudkg.reasoning.oracle import our_inferred, owlrl_inferred, rule_outputs

KG = "https://w3id.org/mlcloudkg/id/"
MLC = "https://w3id.org/mlcloudkg/ontology#"
SERVICES = ["google-colab", "paperspace-gradient", "deepnote", "blobcity", "floydhub", "q-blocks"]

# Written from the article (and the sourced GPU and Paperspace facts), not from the reasoner's output.
# colab: free K80/T4/P4/P100 at random, private and public, 12 h, 40 GB not persistent, Colab Pro US/CA only.
# gradient: free M4000/P5000 (you choose), public only, 6 h, 5 GB persistent, CLI, model repository, deployment,
#   metrics, experiment tracking; paid hourly instances ($0.45, $0.78/h) whose notebooks may be private (implied).
# deepnote: CPU only, free basic CPU. blobcity: $75/month GPU, free public CPU. floydhub: $9/month + $1.20/h GPU,
# free public CPU. q-blocks: $20 for ~100 GPU hours, no free tier.
TRUTH: dict[str, set[str]] = {
    "FreeGPUService": {"google-colab", "paperspace-gradient"},
    "PrivateGPUNotebookService": {"google-colab", "paperspace-gradient"},
    "FreePrivateGPUNotebookService": {"google-colab"},
    "FreeHighMemoryGPUService": {"google-colab", "paperspace-gradient"},
    "GuaranteedFreeHighMemoryGPUService": {"paperspace-gradient"},
    "FreeTensorCoreGPUService": {"google-colab"},
    "FreePersistentStorageService": {"paperspace-gradient"},
    "LongFreeSessionService": {"google-colab"},
    "HighRAMFreeTierService": set(),
    "MultiGPUFreeTierService": set(),
    "CPUOnlyFreeTierService": {"deepnote", "blobcity", "floydhub"},
    "CPUOnlyService": {"deepnote"},
    "PaidHourlyGPUService": {"paperspace-gradient", "floydhub", "q-blocks"},
    "GPUChoiceService": {"paperspace-gradient"},
    "RandomGPUService": {"google-colab"},
    "MLOpsService": {"paperspace-gradient"},
    "CLIWorkflowService": {"paperspace-gradient"},
    "ExperimentTrackingService": {"paperspace-gradient"},
    "RegionRestrictedService": {"google-colab"},
}


# What changed since, by the timeline: Colab's free tier is a T4 only (so every free GPU has 16 GB), FloydHub shut
# down (so it has no plan and no capability left).
NOW_DIFFERS: dict[str, set[str]] = {
    **TRUTH,
    "GuaranteedFreeHighMemoryGPUService": {"paperspace-gradient", "google-colab"},
    "CPUOnlyFreeTierService": {"deepnote", "blobcity"},
    "PaidHourlyGPUService": {"paperspace-gradient", "q-blocks"},
}


def members(kg: KnowledgeGraph, capability: str) -> set[str]:
    rows = kg.query(f"SELECT ?s WHERE {{ ?s a <{MLC}{capability}> }}")
    return {row["s"].removeprefix(KG) for row in rows}


def test_the_truth_table_covers_every_capability(kg: KnowledgeGraph) -> None:
    assert {c.removeprefix(MLC) for c in kg.capabilities_known()} == set(TRUTH)


@pytest.mark.parametrize("capability", sorted(TRUTH))
def test_capability_truth_table(article_kg: KnowledgeGraph, capability: str) -> None:
    """Every cell of the table as of the article: who has it, and (by equality) who has not."""
    assert members(article_kg, capability) & set(SERVICES) == TRUTH[capability]


@pytest.mark.parametrize("capability", sorted(NOW_DIFFERS))
def test_capability_truth_table_now(kg: KnowledgeGraph, capability: str) -> None:
    assert members(kg, capability) & set(SERVICES) == NOW_DIFFERS[capability]


@pytest.mark.parametrize(
    ("capability", "expected"),
    [
        ("HighMemoryGPU", {"nvidia-tesla-t4", "nvidia-tesla-p100", "nvidia-quadro-p5000"}),
        ("TensorCoreGPU", {"nvidia-tesla-t4"}),
        ("CheapestGPUHourPlan", {"q-blocks-gpu-package"}),
        ("PrivateGPUPlan", {"colab-free", "gradient-gpu-plus-hourly", "gradient-p5000-hourly"}),
    ],
)
def test_intermediate_classes(article_kg: KnowledgeGraph, capability: str, expected: set[str]) -> None:
    assert members(article_kg, capability) == expected


def test_the_same_plan_must_give_the_gpu_and_the_privacy(project_copy: Callable[[], Settings]) -> None:
    """A service whose GPU plan is public and whose private plan has no GPU does not support private GPU notebooks."""
    settings = project_copy()
    (settings.data_dir / "split.trig").write_text(SPLIT_SERVICE)
    kg = KnowledgeGraph.embedded(settings)
    assert "split-co" not in members(kg, "PrivateGPUNotebookService")
    assert "split-co" in members(kg, "FreeGPUService")


SPLIT_SERVICE = """
@prefix mlc: <https://w3id.org/mlcloudkg/ontology#> . @prefix kg: <https://w3id.org/mlcloudkg/id/> .
@prefix schema: <https://schema.org/> . @prefix prov: <http://www.w3.org/ns/prov#> .
@prefix dcterms: <http://purl.org/dc/terms/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://example.org/split> a schema:WebPage, prov:Entity ; dcterms:title "Split" ; schema:url <https://example.org/> .
<https://example.org/split#g> a mlc:SourcedGraph ; prov:wasDerivedFrom <https://example.org/split> ;
    mlc:sourceLocator "all" ; mlc:quote "test" ; mlc:asOf "2026-01-01"^^xsd:date ; mlc:epistemicStatus mlc:Stated .
<https://example.org/split#g> {
  kg:split-co a mlc:NotebookService ; schema:name "SplitCo" ; mlc:offersPlan kg:split-gpu, kg:split-cpu .
  kg:split-gpu a mlc:Plan ; schema:name "GPU" ; mlc:pricingModel mlc:FreeTier ;
      mlc:allowsSharingMode mlc:PublicNotebooks ; mlc:providesRuntime kg:split-gpu-rt .
  kg:split-gpu-rt a mlc:Runtime ; schema:name "GPU runtime" ; mlc:gpuModel kg:nvidia-tesla-t4 .
  kg:split-cpu a mlc:Plan ; schema:name "CPU" ; mlc:pricingModel mlc:FreeTier ;
      mlc:allowsSharingMode mlc:PrivateNotebooks ; mlc:providesRuntime kg:split-cpu-rt .
  kg:split-cpu-rt a mlc:Runtime ; schema:name "CPU runtime" ; mlc:gpuCount 0 .
}
"""


def test_numeric_rules_check_values_not_text(project_copy: Callable[[], Settings]) -> None:
    """A GPU memory written as text ("sixteen") is refused by validation, not silently compared."""
    settings = project_copy()
    path = settings.data_dir / "gpu-hardware.trig"
    path.write_text(
        path.read_text().replace(
            "kg:nvidia-tesla-p4-memory a schema:QuantitativeValue ; schema:value 8 ;",
            'kg:nvidia-tesla-p4-memory a schema:QuantitativeValue ; schema:value "sixteen" ;',
        )
    )
    with pytest.raises(MlcloudkgError, match="nvidia-tesla-p4-memory — schema:value"):
        build(settings)


def test_rules_agree_with_owlrl_on_the_real_data(settings: Settings, kg: KnowledgeGraph) -> None:
    store = ox.Store.read_only(str(current_build(settings).store_path))
    ours = our_inferred(store)
    given_to_owlrl = {q.triple for q in rule_outputs(store)}
    assert given_to_owlrl, "the rule-only classes have members"
    assert ours == owlrl_inferred(store) | given_to_owlrl


def test_rules_agree_with_owlrl_on_synthetic_data(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    shutil.rmtree(settings.data_dir)
    settings.data_dir.mkdir()
    write_synthetic(1500, settings.data_dir / "synthetic.trig", seed=11)
    store = ox.Store.read_only(str(build(settings).build.store_path))
    ours = our_inferred(store)
    assert len(ours) > 300
    assert ours == owlrl_inferred(store) | {q.triple for q in rule_outputs(store)}


def test_the_inferred_graph_has_no_junk(settings: Settings, kg: KnowledgeGraph) -> None:
    store = ox.Store.read_only(str(current_build(settings).store_path))
    inferred = list(store.quads_for_pattern(None, None, None, INFERRED))
    assert len(inferred) > 100
    junk = {
        "owl:sameAs": [q for q in inferred if q.predicate.value.endswith("#sameAs")],
        "literal or blank subject": [q for q in inferred if not isinstance(q.subject, ox.NamedNode)],
        "blank object": [q for q in inferred if isinstance(q.object, ox.BlankNode)],
        "about vocabulary terms": [
            q
            for q in inferred
            if not q.subject.value.startswith("https://w3id.org/mlcloudkg/id/")
            and not q.subject.value.startswith("https://w3id.org/mlcloudkg/source/")
        ],
        "trivial types": [
            q
            for q in inferred
            if q.object.value
            in {"http://www.w3.org/2002/07/owl#Thing", "http://www.w3.org/2000/01/rdf-schema#Resource"}
        ],
        "already asserted": [q for q in inferred if ox.Quad(q.subject, q.predicate, q.object, CURRENT) in store],
    }
    assert {kind: len(found) for kind, found in junk.items()} == dict.fromkeys(junk, 0)


def test_the_inferred_download_round_trips_through_n_triples(settings: Settings, kg: KnowledgeGraph) -> None:
    downloads = current_build(settings).downloads_path
    turtle = list(ox.parse(path=str(downloads / "mlcloudkg-inferred.ttl")))
    text = ox.serialize([q.triple for q in turtle], format=ox.RdfFormat.N_TRIPLES)
    assert {q.triple for q in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)} == {q.triple for q in turtle}
    assert len(turtle) == current_build(settings).manifest["graphs"][INFERRED.value]


def test_an_unsupported_owl_axiom_is_refused(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    ontology = settings.ontology_dir / "mlcloud.ttl"
    ontology.write_text(ontology.read_text() + "\nmlc:offersPlan owl:inverseOf mlc:planOf .\n")
    with pytest.raises(MlcloudkgError, match="mlc:offersPlan uses owl:inverseOf, which the reasoner does not"):
        build(settings)


def test_a_rule_change_invalidates_the_build(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    first = build(settings).build
    rule = settings.ontology_dir / "rules" / "10-high-memory-gpu.rq"
    rule.write_text(rule.read_text().replace("min_gpu_memory_gb decimal = 16", "min_gpu_memory_gb decimal = 12"))
    second = build(settings).build
    assert second.digest != first.digest
    kg = KnowledgeGraph.embedded(settings)
    assert "nvidia-tesla-k80" in members(kg, "HighMemoryGPU")


def test_reasoning_report_is_in_the_manifest(settings: Settings, kg: KnowledgeGraph) -> None:
    reasoning = current_build(settings).manifest["reasoning"]
    assert reasoning["inferred"][MLC + "HighMemoryGPU"] == 3
    assert set(reasoning["rounds"]) == {"10", "20", "30"}
