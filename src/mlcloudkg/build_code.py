"""The code a build runs, for the sources digest: a release that changes only how the service serves (pages, API,
endpoint) keeps the builds it finds (a 10M-triple build takes well over an hour), and one that changes how it
builds, or upgrades a library the build uses (Oxigraph's store format, the reasoner), builds again.

The modules are found by reading import statements, from build.py on, those inside functions included (a module
imported only when needed runs all the same), with the __init__.py of each subpackage they are in (importing a
module runs it first). The package's own __init__.py is left out: it holds the version and the re-export of the
Python API, nothing a build runs (a version bump alone must not rebuild).
"""

from __future__ import annotations

import ast
import functools
import sys
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).parent
ENTRY = "build.py"  # the module `build` runs


@functools.cache
def build_modules(package: Path = PACKAGE) -> tuple[Path, ...]:
    """The package's modules a build runs, sorted."""
    found: set[Path] = set()
    wanted = [package / ENTRY]
    while wanted:
        path = wanted.pop()
        if path not in found:
            found.add(path)
            wanted += filter(None, (_module_file(name, package) for name in _imported_names(path)))
            wanted += [
                parent / "__init__.py"
                for parent in path.parents
                if parent.is_relative_to(package) and parent != package and (parent / "__init__.py").is_file()
            ]
    return tuple(sorted(found))


@functools.cache
def build_libraries(package: Path = PACKAGE) -> tuple[tuple[str, str], ...]:
    """The installed distributions (name, version) whose modules the build's modules import, sorted."""
    imported = {name.split(".")[0] for path in build_modules(package) for name in _imported_names(path)}
    return tuple(sorted(_distribution(module) for module in imported - set(sys.stdlib_module_names) - {package.name}))


def _distribution(module: str) -> tuple[str, str]:
    try:
        return module, metadata.version(module)
    except metadata.PackageNotFoundError:  # an import name unlike its distribution's (yaml: PyYAML); slow to ask
        (name, *_) = metadata.packages_distributions()[module]
        return name, metadata.version(name)


@functools.cache
def _imported_names(path: Path) -> tuple[str, ...]:
    """Every dotted name an `import` or absolute `from ... import` in the file names (with `from a import b`, both
    `a` and `a.b`: b may be a module)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return tuple(names)


def _module_file(name: str, package: Path) -> Path | None:
    """The package's module file of a dotted name; None for other packages, subpackages and names in modules."""
    first, *rest = name.split(".")
    path = package.joinpath(*rest).with_suffix(".py") if first == package.name and rest else None
    return path if path is not None and path.is_file() else None
