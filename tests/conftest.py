"""Shared fixtures: one build of the real data per test session, and throw-away copies of the project."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.config import Settings

PROJECT = Path(__file__).resolve().parents[1]
ARTICLE = PROJECT.parent / "shared" / "source" / "colab-vs-gradient-2020-12-17.md"
# A copy of the article lives in the tests so that they run from any checkout.
ARTICLE_COPY = Path(__file__).parent / "fixtures" / "colab-vs-gradient-2020-12-17.md"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings that build the project's real sources into a private build directory."""
    return Settings.from_env(root=PROJECT, build_dir=tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def kg(settings: Settings) -> KnowledgeGraph:
    return KnowledgeGraph.embedded(settings)


@pytest.fixture
def project_copy(tmp_path: Path) -> Callable[[], Settings]:
    """Make a copy of ontology/, data/ and queries/ to break on purpose; returns settings that point at it."""

    def make() -> Settings:
        root = tmp_path / "project"
        for part in ("ontology", "data", "queries"):
            shutil.copytree(PROJECT / part, root / part)
        return Settings.from_env(root=root, build_dir=tmp_path / "build")

    return make


@pytest.fixture(scope="session")
def article_text() -> str:
    return ARTICLE_COPY.read_text(encoding="utf-8")
