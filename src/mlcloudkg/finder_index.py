"""The finder's index: which services, plans and runtimes meet each check, read from the graph once per view.

The finder's question joins every plan and runtime of every service with each requirement: 230 ms in Oxigraph at
1M triples, 3.8 s at 10M, whatever page is shown. A view's graph never changes, so each check's pattern is asked
once, on its own, for the whole graph (which subjects meet it, and for a threshold the best value each has), and a
finder question becomes set intersections over those answers. The query the finder shows states the same thing in
SPARQL; tests hold the two to the same answers.
"""

from __future__ import annotations

import bisect
import math
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
    """The units (services, or offers: a plan with one of its runtimes) meeting one check: for a threshold, the best
    value of each, in order."""

    units: frozenset[int]
    values: tuple[Number, ...] = ()  # ascending, for a threshold
    ordered_units: tuple[int, ...] = ()  # the unit of each value

    def meeting(self, check: Check, threshold: Decimal | None) -> set[int] | frozenset[int]:
        if check.measure is None:
            return self.units
        if check.at_least:
            return set(self.ordered_units[bisect.bisect_left(self.values, threshold) :])
        return set(self.ordered_units[: bisect.bisect_right(self.values, threshold)])


class FinderIndex:
    """For each check, which services meet it, or which offers of a service (one plan with one runtime it
    provides) do: the plan-level checks of a question must hold on one offer, as the finder's query says. Each
    check is read on first use (`read_ahead` reads them all), once however many threads ask for it."""

    def __init__(self, select: Callable[[str], list[Row]], services: Sequence[str], checks: Sequence[Check]) -> None:
        """Read every offer of `services` (IRIs, in the order the finder lists them) through `select`; `checks` are
        those the index will be asked about."""
        self.services = services
        self.checks = checks
        self._select = select
        position = {iri: index for index, iri in enumerate(services)}
        rows = select(
            f"{sparql_prologue()}SELECT ?service ?plan ?runtime WHERE {{ "
            "?service mlc:offersPlan ?plan . ?plan mlc:providesRuntime ?runtime }"
        )
        # Units of service checks are positions in `services`; of plan and runtime checks, offers (rows here).
        offers = {(position[row["service"]], row["plan"], row["runtime"]) for row in rows if row["service"] in position}
        self._offer_service: list[int] = []
        self._units_of: dict[Subject, dict[str, list[int]]] = {"service": {}, "plan": {}, "runtime": {}}
        for iri, index in position.items():
            self._units_of["service"][iri] = [index]
        for unit, (service, plan, runtime) in enumerate(sorted(offers)):
            self._offer_service.append(service)
            self._units_of["plan"].setdefault(plan, []).append(unit)
            self._units_of["runtime"].setdefault(runtime, []).append(unit)
        self._met: Recent[Check, _Met] = Recent(len(checks))

    def read_ahead(self) -> None:
        """Read every check now, so that no question waits for one."""
        for check in self.checks:
            self._met_by(check)

    def matching(self, conditions: Sequence[Condition]) -> set[int]:
        """The services (positions in `services`) meeting every condition, the plan-level ones on one offer."""
        offer_level = [self._meeting(c) for c in conditions if c[0].subject != "service"]
        if offer_level:
            offers = set.intersection(*sorted(map(set, offer_level), key=len))
            found = {self._offer_service[offer] for offer in offers}
        else:
            found = set(range(len(self.services)))
        for condition in conditions:
            if condition[0].subject == "service":
                found &= self._meeting(condition)
        return found

    def meeting_alone(self, condition: Condition) -> set[int]:
        """The services meeting this one condition (on any of their offers, for a plan-level one)."""
        met = self._meeting(condition)
        return set(met) if condition[0].subject == "service" else {self._offer_service[offer] for offer in met}

    def _meeting(self, condition: Condition) -> set[int] | frozenset[int]:
        check, threshold = condition
        return self._met_by(check).meeting(check, threshold)

    def _met_by(self, check: Check) -> _Met:
        if check not in self.checks:
            raise ValueError(f"the index was not made for the check {check.pattern!r}")
        return self._met.get(check, lambda: _read_check(self._select, check, self._units_of[check.subject]))


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
    return _Met(frozenset(best), tuple(value for _, value in ordered), tuple(unit for unit, _ in ordered))


def _is_number(value: object) -> bool:
    """A number a threshold can be compared with (xsd:double's NaN compares false with every number)."""
    if isinstance(value, float):
        return not math.isnan(value)
    return isinstance(value, Decimal | int) and not isinstance(value, bool)
