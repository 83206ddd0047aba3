"""`mlcloudkg build`: cached by the sources' hash, atomic, and its downloads hold the graph."""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox
import pytest
import rdflib

from mlcloudkg import sources
from mlcloudkg.build import Build, build, current_build
from mlcloudkg.config import Settings
from mlcloudkg.export import DOWNLOADS
from mlcloudkg.namespaces import GRAPH_CURRENT, GRAPH_PROVENANCE, KG, MLC
from mlcloudkg.sources import sources_digest


def test_an_unchanged_build_is_reused(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    first = build(settings)
    again = build(settings)
    assert not first.reused and again.reused
    assert again.build.directory == first.build.directory
    assert again.seconds < first.seconds / 10


def test_a_build_is_prepared_for_serving_before_it_becomes_the_current_one(
    project_copy: Callable[[], Settings],
) -> None:
    settings = project_copy()
    seen: list[tuple[str, bool]] = []

    def before_serving(built: Build) -> None:
        current = settings.build_dir / "current"
        seen.append((built.digest, current.exists() and current.resolve() == built.directory))
        assert (built.directory / "manifest.json").is_file()  # finished

    first = build(settings, before_serving=before_serving).build
    assert seen == [(first.digest, False)]
    build(settings, before_serving=before_serving)  # the current build already: nothing to prepare
    assert len(seen) == 1
    path = settings.data_dir / "article-colab-vs-gradient-2020-12-17.trig"
    original = path.read_text()
    path.write_text(original.replace('schema:name "Deepnote" ;', 'schema:name "Deepnote Inc." ;'))
    second = build(settings).build
    path.write_text(original)  # back to the first build, which becomes the current one again
    assert build(settings, before_serving=before_serving).reused
    assert seen == [(first.digest, False), (first.digest, False)]
    assert current_build(settings).directory == first.directory != second.directory


def test_the_manifest_counts_the_statements_of_every_graph(settings: Settings) -> None:
    found = build(settings).build
    store = ox.Store.read_only(str(found.store_path))
    counted = {"default": sum(1 for _ in store.quads_for_pattern(None, None, None, ox.DefaultGraph()))}
    for graph in store.named_graphs():
        counted[graph.value] = sum(1 for _ in store.quads_for_pattern(None, None, None, graph))
    assert found.manifest["graphs"] == counted
    assert counted["default"] > 1000 and len(counted) > 50


def test_a_changed_source_makes_a_new_build(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    first = build(settings).build
    path = settings.data_dir / "article-colab-vs-gradient-2020-12-17.trig"
    path.write_text(path.read_text().replace('schema:name "Deepnote" ;', 'schema:name "Deepnote Inc." ;'))
    second = build(settings).build
    assert second.digest != first.digest
    assert current_build(settings).directory == second.directory


def test_the_manifest_says_what_each_step_took(project_copy: Callable[[], Settings]) -> None:
    manifest = build(project_copy(), force=True).build.manifest
    steps = ["load", "validate", "store", "reason", "snapshots", "compact store", "downloads"]
    assert list(manifest["timings_seconds"]) == steps
    assert all(seconds >= 0 for seconds in manifest["timings_seconds"].values())
    assert list(manifest["peak_rss_mib"]) == steps
    peaks = list(manifest["peak_rss_mib"].values())
    # A high-water mark: it never falls, and a Python process with rdflib and Oxigraph loaded holds tens of MiB.
    assert peaks == sorted(peaks) and peaks[0] > 20


def test_the_watched_digest_hashes_again_only_when_a_file_changes(
    project_copy: Callable[[], Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = project_copy()
    hashed: list[str] = []

    def counted(settings: Settings) -> str:
        hashed.append(sources_digest(settings))
        return hashed[-1]

    monkeypatch.setattr(sources, "sources_digest", counted)
    watched = sources.WatchedDigest(settings)
    first = watched.digest()
    assert watched.digest() == first and len(hashed) == 1  # unchanged: no second hash
    path = settings.data_dir / "article-colab-vs-gradient-2020-12-17.trig"
    path.write_text(path.read_text().replace('schema:name "Deepnote" ;', 'schema:name "Deepnote Inc." ;'))
    assert watched.digest() == sources_digest(settings) != first and len(hashed) == 2
    (settings.data_dir / "more.trig").write_text("")
    assert watched.digest() == sources_digest(settings) and len(hashed) == 3


def test_every_download_parses_back(settings: Settings, kg) -> None:
    downloads = current_build(settings).downloads_path
    for download in DOWNLOADS:
        path = downloads / download.filename
        parsed = list(ox.parse(path=str(path), format=download.rdf_format))
        if download.filename == "mlcloudkg-inferred.ttl":
            continue  # its size depends on the reasoner, tested there
        assert parsed, download.filename


def test_the_turtle_download_holds_the_asserted_facts(settings: Settings, kg) -> None:
    downloads = current_build(settings).downloads_path
    graph = rdflib.Graph().parse(downloads / "mlcloudkg-asserted.ttl")
    assert (KG["colab-free-runtime"], MLC.gpuModel, KG["nvidia-tesla-t4"]) in graph
    assert len(graph) == current_build(settings).manifest["graphs"][str(GRAPH_CURRENT)]


def test_the_trig_download_keeps_each_passage_graph(settings: Settings, kg) -> None:
    downloads = current_build(settings).downloads_path
    dataset = rdflib.Dataset()
    dataset.parse(downloads / "mlcloudkg.trig", format="trig")
    runtime_row = rdflib.URIRef("https://w3id.org/mlcloudkg/source/colab-vs-gradient-2020-12-17/free-runtimes-runtime")
    graph = dataset.graph(runtime_row)
    assert (KG["colab-free-runtime"], MLC.maxSessionDuration, KG["colab-free-runtime-max-session"]) in graph
    provenance = dataset.graph(rdflib.URIRef(str(GRAPH_PROVENANCE)))
    assert (runtime_row, MLC.quote, rdflib.Literal("|Runtime|Up to 12 hours|Up to 6 hours|")) in provenance
