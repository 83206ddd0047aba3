"""The finder's index: which services, plans and runtimes meet each check, read from the graph once per view.

The finder's question joins every plan and runtime of every service with each requirement: 230 ms in Oxigraph at
1M triples, 3.8 s at 10M, whatever page is shown. A view's graph never changes, so each check's pattern is asked
once, on its own, for the whole graph (which subjects meet it, and for a threshold the best value each has), and a
finder question becomes set intersections over those answers. The query the finder shows states the same thing in
SPARQL; tests hold the two to the same answers. A complete index can be saved to a file, so that a build's is read
once, not once per process (see finder.read_index).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import logging
import math
import operator
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from mlcloudkg.namespaces import sparql_prologue
from mlcloudkg.recent import Recent
from mlcloudkg.store import Row

log = logging.getLogger(__name__)
Subject = Literal["service", "plan", "runtime"]
FILE_FORMAT = 1  # of a saved index: changes when what the file holds changes
SERVICES = "SELECT ?service ?name WHERE { ?service a mlc:NotebookService ; schema:name ?name }"
# An offer: a plan of a service with one runtime the plan provides (the unit of plan and runtime checks).
OFFERS = "SELECT ?service ?plan ?runtime WHERE { ?service mlc:offersPlan ?plan . ?plan mlc:providesRuntime ?runtime }"
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
    provides) do: the plan-level checks of a question must hold on one offer, as the finder's query says. Made by
    `read` from the graph, each check read on first use (`read_ahead` reads them all), once however many threads
    ask for it; or by `load` from the file a complete index was saved to (reading took 54 s at 10M triples)."""

    def __init__(
        self,
        services: Sequence[tuple[str, str]],
        checks: Sequence[Check],
        offer_service: list[int],
        read_check: Callable[[Check], _Met],
        when_complete: Callable[[FinderIndex], None] | None = None,
    ) -> None:
        """An index of `services` ((IRI, name), in the order the finder lists them) for `checks`, whose offers
        are units 0, 1, ... of the services `offer_service` gives; `read_check` reads what meets a check, and
        `when_complete` is called once every check is read."""
        self.services = services
        self.checks = checks
        self._offer_service = offer_service
        self._offers_of: list[list[int]] = [[] for _ in services]
        for unit, service in enumerate(offer_service):
            self._offers_of[service].append(unit)
        self._read_check = read_check
        self._when_complete = when_complete
        self._completing = threading.Lock()  # called once, by whichever thread read the last check
        self._met: Recent[Check, _Met] = Recent(len(checks))

    @classmethod
    def read(
        cls,
        select: Callable[[str], list[Row]],
        services: Sequence[tuple[str, str]],
        checks: Sequence[Check],
        when_complete: Callable[[FinderIndex], None] | None = None,
    ) -> FinderIndex:
        """Read every offer of `services` through `select` now, and each check when first asked about."""
        position = {iri: index for index, (iri, _) in enumerate(services)}
        rows = select(sparql_prologue() + OFFERS)
        # Units of service checks are positions in `services`; of plan and runtime checks, offers (rows here).
        offers = {(position[row["service"]], row["plan"], row["runtime"]) for row in rows if row["service"] in position}
        offer_service: list[int] = []
        units_of: dict[Subject, dict[str, list[int]]] = {"service": {iri: [i] for iri, i in position.items()}}
        units_of["plan"], units_of["runtime"] = {}, {}
        for unit, (service, plan, runtime) in enumerate(offers):
            offer_service.append(service)
            units_of["plan"].setdefault(plan, []).append(unit)
            units_of["runtime"].setdefault(runtime, []).append(unit)

        def read_check(check: Check) -> _Met:
            return _read_check(select, check, units_of[check.subject])

        def completed(index: FinderIndex) -> None:
            units_of.clear()  # every check read: the IRIs are no longer needed (~100 MB at 10M)
            if when_complete is not None:
                when_complete(index)

        return cls(services, checks, offer_service, read_check, completed)

    @classmethod
    def load(cls, path: Path, checks: Sequence[Check]) -> FinderIndex | None:
        """The index saved in `path` for these `checks`; None if there is none, or it was made for other checks."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if document["format"] != FILE_FORMAT or document["checks"] != _fingerprint(checks):
                return None
            services = [(iri, name) for iri, name in document["services"]]
            index = cls(services, checks, document["offer_service"], _nothing_to_read)
            for check, met in zip(checks, document["met"], strict=True):
                index._met.get(check, lambda met=met: _met_of(met))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, IndexError) as error:  # read again, and saved over it
            log.warning("%s holds no finder index (%s: %s): reading the graph", path, type(error).__name__, error)
            return None
        return index

    def save(self, path: Path) -> None:
        """Write the complete index to `path` (JSON, replaced whole: a reader never sees half a file)."""
        if len(self._met) != len(self.checks):
            raise ValueError("only an index with every check read can be saved")
        document = {
            "format": FILE_FORMAT,
            "checks": _fingerprint(self.checks),
            "services": self.services,
            "offer_service": self._offer_service,
            "met": [_met_document(self._met_by(check)) for check in self.checks],
        }
        staging = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            staging.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
            staging.replace(path)
        finally:
            staging.unlink(missing_ok=True)

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
        met = self._met.get(check, lambda: self._read_check(check))
        if len(self._met) == len(self.checks) and self._when_complete is not None:
            with self._completing:
                when_complete, self._when_complete = self._when_complete, None
            if when_complete is not None:
                when_complete(self)
        return met


def read_services(select: Callable[[str], list[Row]]) -> list[tuple[str, str]]:
    """Every service of the graph, (IRI, name), in the order the finder and the comparison list them: by name."""
    named = {row["service"]: row["name"] for row in select(sparql_prologue() + SERVICES)}
    # Sorted here: Oxigraph's ORDER BY took 0.35 s of 0.43 s for the 8,006 services at 1M triples.
    return sorted(named.items(), key=lambda item: (item[1].lower(), item[0]))


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


def _fingerprint(checks: Sequence[Check]) -> str:
    """Names the queries a saved index was read with (its services, offers and checks): only the same ones use
    it."""
    fields = [SERVICES, OFFERS, *((c.subject, c.pattern, c.measure, c.at_least) for c in checks)]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:16]


def _met_document(met: _Met) -> dict[str, list[int] | list[str | int | float]]:
    if not met.values:
        return {"units": sorted(met.units)}
    # A Decimal as its text, so that it is read back exact; ints and floats are JSON's own.
    return {"values": [str(v) if isinstance(v, Decimal) else v for v in met.values], "units": list(met.ordered_units)}


def _met_of(document: dict[str, list[Any]]) -> _Met:
    if "values" not in document:
        return _Met(frozenset(document["units"]))
    values = tuple(Decimal(v) if isinstance(v, str) else v for v in document["values"])
    return _Met(values=values, ordered_units=tuple(document["units"]))


def _nothing_to_read(check: Check) -> _Met:
    raise AssertionError("a loaded index has every check: it reads none")


def _is_number(value: object) -> bool:
    """A number a threshold can be compared with (xsd:double's NaN compares false with every number)."""
    if isinstance(value, float):
        return not math.isnan(value)
    return isinstance(value, Decimal | int) and not isinstance(value, bool)
