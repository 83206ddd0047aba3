"""All settings in one place: defaults, overridden by environment variables, overridden by CLI flags.

Every setting is documented in the README ("Limits and settings", under "Serving: reliability and security"); keep
the two in step.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from mlcloudkg.errors import ConfigurationError

ENV_PREFIX = "MLCLOUDKG_"
# How many graphs `publish` sends at once (each PUT is a transaction of the store, see publish.py).
PUBLISH_JOBS = 4
MAX_PUBLISH_JOBS = 64
# How long `publish` waits for the store to answer one request: it answers once it has committed what it was sent,
# which for a large part on a busy store takes minutes.
PUBLISH_TIMEOUT_SECONDS = 3600.0
# The most statements `publish` sends in one request: a store holds a request's transaction in memory (Oxigraph's
# server took over 15 GB for a graph of the 10M build, and was killed), so larger graphs go in parts.
PUBLISH_PART_STATEMENTS = 250_000


def _find_project_root() -> Path:
    """Where ontology/, data/ and queries/ live: a checkout (editable install) or the files packed in the wheel."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir.parents[1], package_dir / "resources", Path.cwd()):
        if (candidate / "ontology" / "mlcloud.ttl").is_file():
            return candidate
    return package_dir.parents[1]


def _default_build_dir(root: Path) -> Path:
    if os.access(root, os.W_OK) and (root / "pyproject.toml").is_file():
        return root / "build"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mlcloudkg" / "build"


@dataclass(frozen=True)
class Settings:
    """Settings of one run of the service or a command. Field names map to MLCLOUDKG_<NAME> variables."""

    root: Path = field(default_factory=_find_project_root)
    # Empty means the default: build/ in a checkout, else a per-user cache directory.
    build_dir: Path = Path()
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 2  # web worker processes
    # Request threads per web worker. Cheap (they mostly wait on sockets and pipes), and plenty of them keep pages,
    # downloads and cached answers flowing while up to evaluators + max_waiting_queries of them wait on queries.
    threads: int = 32
    evaluators: int = 2  # query evaluation processes per web worker
    max_waiting_queries: int = 4  # queries per web worker that may wait for a busy evaluator; more get 503 at once
    query_timeout: float = 10.0  # seconds; a query still running is stopped and answered 503
    client_timeout: float = 10.0  # seconds a client may stay silent mid-request (or not read) before it is dropped
    max_query_bytes: int = 100_000
    max_nesting: int = 64  # brackets in a query
    max_result_bytes: int = 50_000_000  # a larger result is refused with 422
    max_query_memory_bytes: int = 1_000_000_000  # memory one query evaluation may use; more is refused with 422
    cache_bytes: int = 64_000_000  # result cache per web worker
    reload_seconds: float = 2.0  # how often the service looks for a new build (or a new publish in its store)
    watch: bool = True  # `serve` rebuilds the graph when its sources change
    public_url: str = ""  # the service's public base URL; empty: taken from each request
    stale_after_days: int = 730  # a fact older than this is flagged as possibly outdated
    # A SPARQL endpoint to serve from instead of the local build: a store `mlcloudkg publish` loaded.
    store: str = ""
    # Credentials for it: USER:PASSWORD (HTTP Basic) or "Bearer TOKEN"; empty for none.
    store_auth: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        object.__setattr__(self, "build_dir", Path(self.build_dir))
        if self.build_dir == Path():
            object.__setattr__(self, "build_dir", _default_build_dir(self.root))

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then MLCLOUDKG_* environment variables, then the given overrides (None means not given)."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _convert(f.name, raw, f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**{k: v for k, v in values.items() if k in {"root", "build_dir"}})
        return replace(settings, **{k: v for k, v in values.items() if k not in {"root", "build_dir"}})


def _convert(name: str, raw: str, annotation: object) -> object:
    text = str(annotation)
    try:
        if "Path" in text:
            return Path(raw).expanduser()
        if text == "int":
            return int(raw)
        if text == "float":
            return float(raw)
        if text == "bool":
            return raw.strip().lower() in {"1", "true", "yes", "on"}
    except ValueError as error:
        raise ConfigurationError(
            f"environment variable {ENV_PREFIX}{name.upper()}={raw!r} is not a valid {text}: {error}"
        ) from error
    return raw


def authorization_header(credentials: str, setting: str) -> str:
    """The HTTP Authorization header for USER:PASSWORD (Basic) or "Bearer TOKEN"; "" for no credentials."""
    if not credentials:
        return ""
    if credentials.startswith("Bearer ") and credentials[len("Bearer ") :].strip():
        return credentials
    user, colon, password = credentials.partition(":")
    if not colon or not user:
        raise ConfigurationError(
            f"{setting} is neither USER:PASSWORD nor Bearer TOKEN — accepted: USER:PASSWORD (HTTP Basic) or "
            "'Bearer TOKEN'"
        )
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
