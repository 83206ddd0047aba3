"""The README's examples ("Use it from Python, the shell or HTTP") run as written: the Python ones as doctests, the
shell and HTTP ones in bash, each output compared with the one shown (`...` stands for any text)."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.config import Settings

from .conftest import PROJECT, LiveServer

SECTION = "## Use it from Python, the shell or HTTP"
DOCUMENTED_URL = "http://127.0.0.1:5000"
BLOCK = re.compile(r"^```(?P<language>pycon|console)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
CHECKER = doctest.OutputChecker()


def examples(language: str) -> list[str]:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    return [m.group("body") for m in BLOCK.finditer(section) if m.group("language") == language]


def commands(block: str) -> list[tuple[str, str]]:
    """(command, expected output) pairs of a console block: `$ ` starts a command, `> ` continues it."""
    pairs: list[tuple[str, str]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], ""))
        elif line.startswith("> ") and pairs[-1][0].endswith("\\"):
            pairs[-1] = (pairs[-1][0] + "\n" + line[2:], "")
        else:
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + line + "\n")
    return pairs


def test_the_readme_has_examples_for_python_the_shell_and_http() -> None:
    assert len(examples("pycon")) >= 1
    shell = [command for block in examples("console") for command, _ in commands(block)]
    assert any(c.startswith("mlcloudkg query --endpoint") for c in shell)
    assert any(c.startswith("curl") for c in shell)


def test_the_python_examples(
    settings: Settings, kg: KnowledgeGraph, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLCLOUDKG_ROOT", str(settings.root))
    monkeypatch.setenv("MLCLOUDKG_BUILD_DIR", str(settings.build_dir))
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for number, block in enumerate(examples("pycon")):
        test = parser.get_doctest(block.replace(DOCUMENTED_URL, server.url), {}, f"README pycon {number}", None, 0)
        assert test.examples
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


@pytest.mark.parametrize("block", range(len(examples("console"))))
def test_the_shell_and_http_examples(
    settings: Settings, kg: KnowledgeGraph, server: LiveServer, tmp_path: Path, block: int
) -> None:
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MLCLOUDKG_ROOT": str(settings.root),
        "MLCLOUDKG_BUILD_DIR": str(settings.build_dir),
    }
    for command, expected in commands(examples("console")[block]):
        result = subprocess.run(
            ["bash", "-c", command.replace(DOCUMENTED_URL, server.url)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=environment,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, (command, result.stderr)
        got = (result.stdout + result.stderr).rstrip("\n") + "\n"  # curl ends without a newline; the README can't
        assert CHECKER.check_output(expected, got, doctest.ELLIPSIS), f"$ {command}\nexpected:\n{expected}\ngot:\n{got}"
