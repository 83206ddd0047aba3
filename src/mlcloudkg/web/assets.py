"""The web UI's front-end libraries, served from this machine's node_modules (installed by `make install`, never
committed, never from a CDN). Only the folders listed here are reachable."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_from_directory

blueprint = Blueprint("assets", __name__)

# URL name -> (npm package, folder of the package that holds its browser build)
LIBRARIES = {
    "yasgui": ("@zazuko/yasgui", "build"),
    "chart.js": ("chart.js", "dist"),
}
# The files the query page loads; the page falls back to a plain form when one is missing.
EDITOR_FILES = (("yasgui", "yasgui.min.js"), ("yasgui", "yasgui.min.css"), ("chart.js", "chart.umd.js"))
INSTALL_HINT = "make install (it runs npm ci)"
ONE_YEAR = 365 * 24 * 3600


def node_modules() -> Path:
    return current_app.extensions["mlcloudkg"].settings.root / "node_modules"


def library_dir(name: str) -> Path:
    package, folder = LIBRARIES[name]
    return node_modules() / package / folder


@cache
def _version(package_json: Path) -> str:
    return str(json.loads(package_json.read_text())["version"])


def library_version(name: str) -> str:
    """The installed version of a library: part of its URLs, so that browsers may cache them for good."""
    return _version(node_modules() / LIBRARIES[name][0] / "package.json")


def editor_available() -> bool:
    """Whether YASGUI and Chart.js are installed, so the query page can offer the editor."""
    return all((library_dir(name) / filename).is_file() for name, filename in EDITOR_FILES)


@blueprint.route("/vendor/<name>/<version>/<path:filename>")
def vendor(name: str, version: str, filename: str) -> Response:
    if name not in LIBRARIES:
        abort(404, description=f"no library {name!r} here — accepted: {', '.join(LIBRARIES)}")
    if not library_dir(name).is_dir():
        abort(404, description=f"the library {name} is not installed on this server: run {INSTALL_HINT}")
    if version != library_version(name):
        abort(
            404, description=f"{name} {version} is not installed here; the installed version is {library_version(name)}"
        )
    # send_from_directory refuses paths that leave the folder (.., absolute paths) with a 404.
    response = send_from_directory(library_dir(name), filename, max_age=ONE_YEAR)
    response.cache_control.immutable = True
    return response
