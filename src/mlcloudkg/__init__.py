"""mlcloudkg: a knowledge graph of cloud GPU notebook services, served over SPARQL 1.1.

>>> from mlcloudkg import KnowledgeGraph
>>> kg = KnowledgeGraph.embedded()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["KnowledgeGraph", "__version__"]

if TYPE_CHECKING:
    from mlcloudkg.api import KnowledgeGraph


def __getattr__(name: str) -> Any:
    # Imported on first use: the command line and the query workers import this package and need none of it.
    if name == "KnowledgeGraph":
        from mlcloudkg.api import KnowledgeGraph

        return KnowledgeGraph
    raise AttributeError(f"module 'mlcloudkg' has no attribute {name!r}")
