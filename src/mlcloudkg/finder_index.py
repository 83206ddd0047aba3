"""The finder's index: which services, plans and runtimes meet each check, read from the graph once per view.

The finder's question joins every plan and runtime of every service with each requirement: 230 ms in Oxigraph at
1M triples, 3.8 s at 10M, whatever page is shown. A view's graph never changes, so each check's pattern is asked
once, on its own, for the whole graph (which subjects meet it, and for a threshold the best value each has), and a
finder question becomes set intersections over those answers. The query the finder shows states the same thing in
SPARQL; tests hold the two to the same answers.
"""

from __future__ import annotations

import bisect
import functools
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from mlcloudkg.namespaces import sparql_prologue
from mlcloudkg.recent import Recent
from mlcloudkg.store import Row

Subject = Literal["service", "plan", "runtime"]
Number = Decimal | int | float


@dataclass(frozen=True)
class Check:
    """A requirement as a graph pattern about one subject: ?service, or ?plan or ?runtime of one of its plans. A
    threshold's pattern binds `measure`, which the threshold bounds from below (`at_least`) or from above."""

    subject: Subject
    pattern: str
    measure: str | None = None
    at_least: bool = True

    def stated(self, threshold: Decimal | None = None) -> str:
        """The pattern as the finder's query states it, the threshold's FILTER last."""
        if self.measure is None:
            return self.pattern
        if threshold is None:
            raise ValueError(f"the check on ?{self.measure} needs a threshold")
        return f"{self.pattern} FILTER(?{self.measure} {'>=' if self.at_least else '<='} {threshold})"


# One condition of a finder question: a check, with its threshold if it has one.
Condition = tuple[Check, Decimal | None]


@dataclass(frozen=True)
class _Met:
    """The units (services, or offers: a plan with one of its runtimes) meeting one check: for a yes/no check, the
    units; for a threshold, the best value of each unit having one, in order."""

    units: frozenset[int] = frozenset()  # for a yes/no check
    values: tuple[Number, ...] = ()  # ascending, for a threshold
    ordered_units: tuple[int, ...] = ()  # the unit of each value

    def meeting(self, check: Check, threshold: Decimal | None) -> frozenset[int]:
        if check.measure is None:
            return self.units
        if check.at_least:
            return frozenset(self.ordered_units[bisect.bisect_left(self.values, threshold) :])
        return frozenset(self.ordered_units[: bisect.bisect_right(self.values, threshold)])


@dataclass(frozen=True)
class Answer:
    """The services (positions in the index's `services`) meeting every condition of a question, and what the
    others fail."""

    services: frozenset[int]
    met: tuple[tuple[bool, frozenset[int]], ...]  # per condition: whether its units are offers, and those meeting it
    offers_of: Sequence[Sequence[int]]  # per service, its offers

    def failed(self, service: int) -> list[int]:
        """The conditions (positions in the question) `service` does not meet even alone: on none of its offers,
        for a plan-level one."""
        return [
            position
            for position, (per_offer, units) in enumerate(self.met)
            if not (any(offer in units for offer in self.offers_of[service]) if per_offer else service in units)
        ]


class FinderIndex:
    """For each check, which services meet it, or which offers of a service (one plan with one runtime it
    provides) do: the plan-level checks of a question must hold on one offer, as the finder's query says. Each
    check is read on first use (`read_ahead` reads them all), once however many threads ask for it."""

    def __init__(
        self, select: Callable[[str], list[Row]], services: Sequence[tuple[str, str]], checks: Sequence[Check]
    ) -> None:
        """Read every offer of `services` ((IRI, name), in the order the finder lists them) through `select`;
        `checks` are those the index will be asked about."""
        self.services = services
        self.checks = checks
        self._select = select
        position = {iri: index for index, (iri, _) in enumerate(services)}
        rows = select(
            f"{sparql_prologue()}SELECT ?service ?plan ?runtime WHERE {{ "
            "?service mlc:offersPlan ?plan . ?plan mlc:providesRuntime ?runtime }"
        )
        # Units of service checks are positions in `services`; of plan and runtime checks, offers (rows here).
        offers = {(position[row["service"]], row["plan"], row["runtime"]) for row in rows if row["service"] in position}
        self._offer_service: list[int] = []
        self._offers_of: list[list[int]] = [[] for _ in services]
        self._units_of: dict[Subject, dict[str, list[int]]] = {"service": {}, "plan": {}, "runtime": {}}
        for iri, index in position.items():
            self._units_of["service"][iri] = [index]
        for unit, (service, plan, runtime) in enumerate(offers):
            self._offer_service.append(service)
            self._offers_of[service].append(unit)
            self._units_of["plan"].setdefault(plan, []).append(unit)
            self._units_of["runtime"].setdefault(runtime, []).append(unit)
        self._met: Recent[Check, _Met] = Recent(len(checks))

    def read_ahead(self) -> None:
        """Read every check now, so that no question waits for one."""
        for check in self.checks:
            self._met_by(check)

    def ask(self, conditions: Sequence[Condition]) -> Answer:
        """Which services meet every condition, the plan-level ones on one offer."""
        met = tuple((check.subject != "service", self._met_by(check).meeting(check, t)) for check, t in conditions)
        on_one_offer = sorted((units for per_offer, units in met if per_offer), key=len)
        if on_one_offer:
            offers = functools.reduce(operator.and_, on_one_offer)  # the smallest first: each & walks the smaller
            found = frozenset(self._offer_service[offer] for offer in offers)
        else:
            found = frozenset(range(len(self.services)))
        for per_offer, units in met:
            if not per_offer:
                found &= units
        return Answer(found, met, self._offers_of)

    def _met_by(self, check: Check) -> _Met:
        if check not in self.checks:
            raise ValueError(f"the index was not made for the check {check.pattern!r}")
        met = self._met.get(check, lambda: _read_check(self._select, check, self._units_of[check.subject]))
        if len(self._met) == len(self.checks):  # every check read: the IRIs are no longer needed (~100 MB at 10M)
            for units_of in self._units_of.values():
                units_of.clear()
        return met


def _read_check(select: Callable[[str], list[Row]], check: Check, units_of: dict[str, list[int]]) -> _Met:
    """What meets `check` in the whole graph: the units of each subject meeting it, and for a threshold the best
    value each unit has (a subject meets "at least t" when its largest value does, "at most t" its smallest)."""
    subject = f"?{check.subject}"
    if check.measure is None:
        rows = select(f"{sparql_prologue()}SELECT DISTINCT {subject} WHERE {{ {check.pattern} }}")
        return _Met(frozenset(unit for row in rows for unit in units_of.get(row[check.subject], ())))
    rows = select(f"{sparql_prologue()}SELECT {subject} ?{check.measure} WHERE {{ {check.pattern} }}")
    best: dict[int, Number] = {}
    pick = max if check.at_least else min
    for row in rows:
        value = row.get(check.measure)
        if not _is_number(value):
            continue  # unbound, or not a number: the query's FILTER does not hold for it either
        for unit in units_of.get(row[check.subject], ()):
            best[unit] = pick(best[unit], value) if unit in best else value
    ordered = sorted(best.items(), key=lambda item: item[1])
    return _Met(values=tuple(value for _, value in ordered), ordered_units=tuple(unit for unit, _ in ordered))


def _is_number(value: object) -> bool:
    """A number a threshold can be compared with (xsd:double's NaN compares false with every number)."""
    if isinstance(value, float):
        return not math.isnan(value)
    return isinstance(value, Decimal | int) and not isinstance(value, bool)
