"""The Python API: `KnowledgeGraph`, the one object programs (and our CLI and web layer) use to ask the graph."""

from __future__ import annotations

from typing import Any

from mlcloudkg.build import build, current_build
from mlcloudkg.config import Settings
from mlcloudkg.errors import MlcloudkgError
from mlcloudkg.queries import NamedQuery, load_catalog
from mlcloudkg.store import GraphStore, Row


class UnknownQuery(MlcloudkgError):
    exit_code = 2


class KnowledgeGraph:
    """The knowledge graph, ready to query.

    >>> kg = KnowledgeGraph.embedded()          # builds the dataset first if the sources changed
    >>> rows = kg.named("free-gpus", min_gpu_memory_gb="16")
    """

    def __init__(self, store: GraphStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.catalog, self.catalog_problems = load_catalog(settings.queries_dir)

    @classmethod
    def embedded(cls, settings: Settings | None = None, *, rebuild: bool = True) -> KnowledgeGraph:
        """Open the built dataset, building it first (a no-op when the sources are unchanged) unless told not to."""
        settings = settings or Settings.from_env()
        found = build(settings).build if rebuild else current_build(settings)
        return cls(GraphStore(found), settings)

    @property
    def version(self) -> str:
        return self.store.version

    def query(self, sparql: str) -> list[Row]:
        """Run a SELECT query; rows map variable names to Python values."""
        return self.store.select(sparql)

    def named_query(self, name: str) -> NamedQuery:
        try:
            return self.catalog[name]
        except KeyError:
            known = ", ".join(sorted(self.catalog))
            raise UnknownQuery(f"no named query {name!r} — accepted: one of {known}") from None

    def named(self, name: str, **parameters: Any) -> list[Row]:
        """Run a query of queries/ by name, with its parameters as keyword arguments."""
        query = self.named_query(name)
        text = query.bind(
            {
                key: str(value).lower() if isinstance(value, bool) else str(value)
                for key, value in parameters.items()
                if value is not None
            }
        )
        return self.store.select(text)
