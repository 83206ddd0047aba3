"""The sources digest covers the code a build runs and the libraries it builds with, not the serving code: a release
that changes only the pages keeps the builds it finds; one that changes the reasoner or upgrades Oxigraph does not."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mlcloudkg import sources
from mlcloudkg.build_code import PACKAGE, build_libraries, build_modules
from mlcloudkg.config import Settings
from mlcloudkg.sources import sources_digest

BUILD_AND_LIST_MODULES = """
import json, sys
from mlcloudkg.build import build
from mlcloudkg.config import Settings
build(Settings.from_env(root=sys.argv[1], build_dir=sys.argv[2]), force=True)
print(json.dumps(sorted(m.__file__ for n, m in list(sys.modules.items()) if n.startswith("mlcloudkg") and m.__file__)))
"""


def test_every_module_a_real_build_loads_is_in_the_digest(project_copy: Callable[[], Settings]) -> None:
    settings = project_copy()
    run = subprocess.run(
        [sys.executable, "-c", BUILD_AND_LIST_MODULES, str(settings.root), str(settings.build_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    loaded = {Path(name) for name in json.loads(run.stdout)} - {PACKAGE / "__init__.py"}  # the version: left out
    assert PACKAGE / "reasoning" / "__init__.py" in loaded
    assert loaded and loaded <= set(build_modules())


def test_serving_code_is_not_build_code() -> None:
    modules = set(build_modules())
    assert {PACKAGE / "build.py", PACKAGE / "reasoning" / "rules.py", PACKAGE / "export.py"} <= modules
    assert not {p for p in modules if p.is_relative_to(PACKAGE / "web") or p.is_relative_to(PACKAGE / "endpoint")}
    assert not {PACKAGE / "serve.py", PACKAGE / "cli.py", PACKAGE / "api.py"} & modules


def test_imports_are_followed_from_build_py_wherever_they_are(tmp_path: Path) -> None:
    package = tmp_path / "toy"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "import toy.unused\n",
        "build.py": "from toy.steps import step\nfrom toy import sub\nimport json\n",
        "steps.py": "def step():\n    from toy.sub import late\n    import toy.later\n",
        "later.py": "from toy.steps import step\n",  # a cycle
        "sub/__init__.py": "import toy.helper\n",  # runs before sub.late: followed
        "helper.py": "",
        "sub/late.py": "import rdflib\n",
        "unused.py": "",
        "web.py": "import toy.build\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    found = {p.relative_to(package).as_posix() for p in build_modules(package)}
    assert found == {"build.py", "steps.py", "later.py", "sub/__init__.py", "sub/late.py", "helper.py"}
    assert [name for name, _ in build_libraries(package)] == ["rdflib"]


def test_a_library_upgrade_changes_the_digest(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    before = sources_digest(settings)
    upgraded = tuple((name, version + ".post1") for name, version in build_libraries())
    monkeypatch.setattr(sources, "build_libraries", lambda: upgraded)
    assert sources_digest(settings) != before
    assert "pyoxigraph" in dict(upgraded)
