"""Which state of the graph a page answers for, now or as of a date (?as_of=YYYY-MM-DD), and how old its facts are.

Every page that answers a question (comparison, finder, explanation, changes) takes `as_of` and says which state it
shows, and when its sources last observed the services it is about, flagging those older than `stale_after_days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import request

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.describe import labels
from mlcloudkg.history import Freshness
from mlcloudkg.web.rendering import served

AS_OF = "as_of"


@dataclass(frozen=True)
class Outdated:
    iri: str
    name: str
    observed: date


@dataclass(frozen=True)
class State:
    """The state a request asked for and what a page needs to say about it."""

    kg: KnowledgeGraph  # the view: answers for `kg.state_date`
    asked: str  # the as_of the request gave, "" for now
    latest: date  # the date of the latest known state
    snapshots: list[str]  # the dates on which the state changes, to pick from
    kept: list[tuple[str, str]]  # the request's other arguments, kept when another date is picked

    @property
    def date(self) -> date:
        return self.kg.state_date

    @property
    def graph(self) -> str | None:
        """The snapshot graph that is this view's default graph (None for now, or a state computed on demand)."""
        default = self.kg.store.default_graph
        return default.value if default is not None else None


def requested_state() -> State:
    """The view of the served graph this request asks for; a date that is not YYYY-MM-DD is a 400."""
    build = served()
    asked = request.args.get(AS_OF, "").strip()
    return State(
        kg=build.view(asked),
        asked=asked if asked != "now" else "",
        latest=build.kg.state_date,
        snapshots=list(build.release.snapshots),
        kept=[(name, value) for name, value in request.args.items(multi=True) if name != AS_OF],
    )


def outdated(kg: KnowledgeGraph, freshness: Freshness) -> list[Outdated]:
    """The resources whose sources are older than the configured age, counted back from today, with names."""
    stale = freshness.possibly_outdated(date.today())
    names = labels(kg, stale)
    return [Outdated(iri, names.get(iri, iri), freshness.observed[iri]) for iri in stale]
