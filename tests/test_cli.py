"""The command line as a user runs it: a subprocess, messages on stderr, exit codes."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable

from mlcloudkg.config import Settings

from .conftest import PROJECT


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


def test_tables_prints_the_article_tables(settings: Settings) -> None:
    result = run("tables", settings=settings)
    assert result.returncode == 0, result.stderr
    assert "|Runtime|Up to 12 hours|Up to 6 hours|" in result.stdout
    assert "4. [Q Blocks](https://www.qblocks.cloud/) - P2P, $20 package for ~100 GPU hours" in result.stdout
