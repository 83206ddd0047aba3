"""Time: which facts held on a date, and what changed between two dates.

Rules (also in the ontology, section "Time"):
- a passage's facts hold from its mlc:validFrom, or else its mlc:asOf, until its mlc:validUntil if it has one;
- a passage complete for a property (mlc:completeFor) supersedes the older values of that property for its
  subjects: a newer complete observation says what the values were then;
- a service with mlc:operatingStatus mlc:ShutDown offers no plan any more.
Partial dates count from the first day of their period and end on its last day ("2021-08" starts 2021-08-01).
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pyoxigraph as ox

from mlcloudkg.dataset import PROVENANCE
from mlcloudkg.namespaces import KG, MLC, RDF_TYPE

OFFERS_PLAN = ox.NamedNode(str(MLC.offersPlan))
OPERATING_STATUS = ox.NamedNode(str(MLC.operatingStatus))
SHUT_DOWN = ox.NamedNode(str(MLC.ShutDown))


def period(text: str) -> tuple[date, date]:
    """The first and last day of an xsd:date, xsd:gYearMonth or xsd:gYear lexical form."""
    parts = text[:10].split("-")
    year = int(parts[0])
    if len(parts) == 1:
        return date(year, 1, 1), date(year, 12, 31)
    month = int(parts[1])
    if len(parts) == 2:
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    day = date(year, month, int(parts[2]))
    return day, day


@dataclass(frozen=True)
class Passage:
    """A source passage's graph and when its facts held."""

    graph: ox.NamedNode
    start: date
    end: date | None  # last day its facts held, if a source says
    complete_for: frozenset[ox.NamedNode]

    def holds_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or self.end >= day)


# Rows of RDF terms for a SELECT query, unbound variables left out (SparqlStore.select_terms, or `rows_of`).
SelectTerms = Callable[[str], list[dict[str, Any]]]

PASSAGES = f"""PREFIX mlc: <{MLC}>
    SELECT ?graph ?asOf ?validFrom ?validUntil ?complete WHERE {{
      GRAPH <{PROVENANCE.value}> {{
        %s
        ?graph a mlc:SourcedGraph .
        OPTIONAL {{ ?graph mlc:asOf ?asOf }} OPTIONAL {{ ?graph mlc:validFrom ?validFrom }}
        OPTIONAL {{ ?graph mlc:validUntil ?validUntil }} OPTIONAL {{ ?graph mlc:completeFor ?complete }} }}
    }}"""
PASSAGE_FACTS = f"""PREFIX mlc: <{MLC}>
    SELECT ?graph ?s ?p ?o WHERE {{
      GRAPH <{PROVENANCE.value}> {{ ?graph a mlc:SourcedGraph }} GRAPH ?graph {{ ?s ?p ?o }} }}"""


def rows_of(store: ox.Store) -> SelectTerms:
    """`select_terms` for a pyoxigraph store in this process."""

    def select(query: str) -> list[dict[str, Any]]:
        results = store.query(query)
        assert isinstance(results, ox.QuerySolutions)
        names = [variable.value for variable in results.variables]
        return [{n: t for n, t in zip(names, row, strict=True) if t is not None} for row in results]

    return select


def passages(select_terms: SelectTerms, among: Iterable[str] | None = None) -> list[Passage]:
    """Every source passage of the dataset with its dates and completeness claims (not its facts); only those of
    the graphs `among`, when given."""
    dates: dict[ox.NamedNode, tuple[date, date | None]] = {}
    complete: dict[ox.NamedNode, set[ox.NamedNode]] = defaultdict(set)
    # Inside the GRAPH block: outside it, Oxigraph read every passage first (2 s at 10M triples).
    restriction = "" if among is None else f"VALUES ?graph {{ {' '.join(f'<{g}>' for g in sorted(among))} }}"
    for row in select_terms(PASSAGES % restriction):
        graph = row["graph"]
        start = period((row.get("validFrom") or row["asOf"]).value)[0]
        end = period(row["validUntil"].value)[1] if row.get("validUntil") else None
        dates[graph] = (start, end)
        if row.get("complete") is not None:
            complete[graph].add(row["complete"])
    return [
        Passage(graph, start, end, frozenset(complete[graph]))
        for graph, (start, end) in sorted(dates.items(), key=lambda item: item[0].value)
    ]


def change_dates(every: list[Passage]) -> list[date]:
    """The dates on which the state changes: a passage starts holding, or stops (the day after its end)."""
    days = {p.start for p in every}
    days |= {p.end + timedelta(days=1) for p in every if p.end is not None}
    return sorted(days)


@dataclass
class Timeline:
    """Every passage with its dates, and its facts: enough to compute the state on any date."""

    passages: list[Passage]
    facts: dict[ox.NamedNode, list[ox.Triple]] = field(default_factory=dict)

    @classmethod
    def from_store(cls, store: ox.Store) -> Timeline:
        """Read from a pyoxigraph store in this process (index look-ups: the fast way, for builds)."""
        every = passages(rows_of(store))
        facts = {p.graph: [q.triple for q in store.quads_for_pattern(None, None, None, p.graph)] for p in every}
        return cls(every, facts)

    @classmethod
    def read(cls, select_terms: SelectTerms) -> Timeline:
        """Read through SPARQL, from any store (a remote one too)."""
        every = passages(select_terms)
        facts: dict[ox.NamedNode, list[ox.Triple]] = {p.graph: [] for p in every}
        for row in select_terms(PASSAGE_FACTS):
            if row["graph"] in facts:
                facts[row["graph"]].append(ox.Triple(row["s"], row["p"], row["o"]))
        return cls(every, facts)

    def change_dates(self) -> list[date]:
        return change_dates(self.passages)

    def now(self) -> date:
        """The date of the latest known state."""
        return max(self.change_dates())

    def main_survey(self) -> date:
        """The date most passages were observed on (the article's, here): where a history view starts by default."""
        starts = Counter(p.start for p in self.passages)
        return max(starts, key=lambda day: (starts[day], day))

    def facts_on(self, day: date) -> set[ox.Triple]:
        """The facts that held on `day`."""
        active = [p for p in self.passages if p.holds_on(day)]
        newest_complete: dict[tuple[ox.NamedNode | ox.BlankNode, ox.NamedNode], date] = {}
        for passage in active:
            for triple in self.facts[passage.graph]:
                if triple.predicate in passage.complete_for:
                    key = (triple.subject, triple.predicate)
                    newest_complete[key] = max(newest_complete.get(key, passage.start), passage.start)
        held = {
            triple
            for passage in active
            for triple in self.facts[passage.graph]
            if passage.start >= newest_complete.get((triple.subject, triple.predicate), passage.start)
        }
        closed = {t.subject for t in held if t.predicate == OPERATING_STATUS and t.object == SHUT_DOWN}
        return {t for t in held if not (t.predicate == OFFERS_PLAN and t.subject in closed)}

    def superseding(
        self, since: date, day: date, subject: ox.NamedNode | ox.BlankNode, predicate: ox.NamedNode
    ) -> list[ox.NamedNode]:
        """The passages that started after `since`, hold on `day` and end older values of a property: those
        complete for it that state the subject's values, or, for a shut-down service's plans, those that say it
        shut down."""
        newer = [p for p in self.passages if p.holds_on(day) and p.start > since]
        if predicate == OFFERS_PLAN:
            closing = ox.Triple(subject, OPERATING_STATUS, SHUT_DOWN)
            found = [p.graph for p in newer if closing in self.facts[p.graph]]
            if found:
                return found
        return [
            p.graph
            for p in newer
            if predicate in p.complete_for
            and any(t.subject == subject and t.predicate == predicate for t in self.facts[p.graph])
        ]

    def sources_on(self, day: date, triple: ox.Triple) -> list[ox.NamedNode]:
        """The passages active on `day` that state `triple`."""
        return [p.graph for p in self.passages if p.holds_on(day) and triple in self.facts[p.graph]]


@dataclass
class Change:
    """One change between two dates: a resource that appeared or went (with its type and name), or a property
    of a resource whose values changed."""

    kind: str  # "new", "gone", "added", "removed" or "changed"
    subject: str  # an IRI
    predicate: str | None  # None for a whole resource
    before: list[str]  # values on the first date (N-Triples terms); for a resource, its types
    after: list[str]
    name: str | None  # the resource's schema:name, if it has one
    sources: list[str]  # passages stating the newer state, or that ended the old one (else the old one's)


def changes(timeline: Timeline, first: date, second: date) -> dict[str, list[Change]]:
    """What changed from `first` to `second`, per service (its plans, runtimes, prices, provider and events belong
    to it); changes about nothing service-specific (GPU models, other organisations) are under "other"."""
    before, after = timeline.facts_on(first), timeline.facts_on(second)
    owner = _owners(before | after)
    subjects_before = {t.subject for t in before}
    subjects_after = {t.subject for t in after}
    names = {
        t.subject: t.object.value
        for t in before | after
        if t.predicate.value == "https://schema.org/name" and isinstance(t.object, ox.Literal)
    }
    slots: dict[tuple[object, object], tuple[set[ox.Triple], set[ox.Triple]]] = defaultdict(lambda: (set(), set()))
    for triple in before - after:
        slots[(triple.subject, triple.predicate)][0].add(triple)
    for triple in after - before:
        slots[(triple.subject, triple.predicate)][1].add(triple)
    grouped: dict[str, list[Change]] = defaultdict(list)
    whole: set[object] = set()
    for subject in sorted(subjects_after - subjects_before, key=str):
        whole.add(subject)
        grouped[owner.get(subject, "other")].append(
            _resource_change("new", subject, after, timeline=timeline, day=second, names=names)
        )
    for subject in sorted(subjects_before - subjects_after, key=str):
        whole.add(subject)
        grouped[owner.get(subject, "other")].append(
            _resource_change("gone", subject, before, timeline=timeline, day=first, names=names)
        )
    for (subject, predicate), (removed, added) in sorted(slots.items(), key=lambda item: str(item[0])):
        if subject in whole:
            continue
        kind = "changed" if removed and added else ("added" if added else "removed")
        graphs = (
            {g.value for t in added for g in timeline.sources_on(second, t)}
            or {g.value for g in timeline.superseding(first, second, subject, predicate)}  # type: ignore[arg-type]
            or {g.value for t in removed for g in timeline.sources_on(first, t)}
        )
        grouped[owner.get(subject, "other")].append(
            Change(
                kind,
                _name(subject),
                predicate.value,  # type: ignore[attr-defined]
                sorted(str(t.object) for t in removed),
                sorted(str(t.object) for t in added),
                names.get(subject),
                sorted(graphs),
            )
        )
    return dict(grouped)


def _resource_change(
    kind: str, subject: object, facts: set[ox.Triple], *, timeline: Timeline, day: date, names: dict[object, str]
) -> Change:
    about = [t for t in facts if t.subject == subject]
    types = sorted(str(t.object) for t in about if t.predicate.value == RDF_TYPE)
    graphs = sorted({g.value for t in about for g in timeline.sources_on(day, t)})
    return Change(
        kind,
        _name(subject),
        None,
        types if kind == "gone" else [],
        types if kind == "new" else [],
        names.get(subject),
        graphs,
    )


def _owners(facts: Iterable[ox.Triple]) -> dict[object, str]:
    """Which service each resource belongs to: the service itself, what it offers and what that is made of."""
    by_subject: dict[object, list[ox.Triple]] = defaultdict(list)
    events = []
    for triple in facts:
        by_subject[triple.subject].append(triple)
        if triple.predicate.value == str(MLC.eventOf):
            events.append(triple)
    services = {t.subject for t in facts if t.predicate.value == str(MLC.offersPlan)}
    services |= {t.subject for t in facts if t.object == ox.NamedNode(str(MLC.NotebookService))}
    owner: dict[object, str] = {}
    for service in services:
        frontier = [service]
        while frontier:
            node = frontier.pop()
            if node in owner:
                continue
            owner[node] = service.value  # type: ignore[attr-defined]
            for triple in by_subject.get(node, []):
                target = triple.object
                own = isinstance(target, ox.BlankNode) or (
                    isinstance(target, ox.NamedNode)
                    and target.value.startswith(str(KG))
                    and triple.predicate.value in _OWNING
                )
                if own:
                    frontier.append(target)
    for event in events:
        if event.object in owner:
            owner[event.subject] = owner[event.object]
        elif isinstance(event.object, ox.NamedNode):
            owner[event.subject] = "other"
    return owner


# Properties whose value is part of the subject (a plan of a service, the runtime of a plan, its quantities).
_OWNING = {
    str(p)
    for p in (
        MLC.offersPlan,
        MLC.providesRuntime,
        MLC.memory,
        MLC.diskStorage,
        MLC.gpuMemory,
        MLC.maxSessionDuration,
        MLC.idleTimeout,
        MLC.cpuClockSpeed,
        MLC.storageUpgrade,
        MLC.storageCapacity,
        MLC.featureImplementation,
        MLC.referralProgram,
        MLC.refereeCredit,
        MLC.referrerCredit,
        MLC.externalRuntimeOption,
    )
}
_OWNING |= {
    "https://schema.org/priceSpecification",
    "https://schema.org/priceComponent",
    "https://schema.org/referenceQuantity",
    "https://schema.org/provider",
}


@dataclass(frozen=True)
class Freshness:
    """How old the facts behind an answer are: for each resource, the date of the latest passage about it."""

    state_date: date  # the date whose state the answer describes
    observed: dict[str, date]  # resource IRI -> latest date a source observed it (up to state_date)
    stale_after_days: int
    latest_state: date  # the date of the latest state the data knows (state_date unless asked as of a date)

    @property
    def oldest(self) -> date | None:
        return min(self.observed.values(), default=None)

    @property
    def newest(self) -> date | None:
        return max(self.observed.values(), default=None)

    def possibly_outdated(self, today: date) -> list[str]:
        """Resources whose latest observation is older than the threshold, counted back from `today`."""
        limit = today - timedelta(days=self.stale_after_days)
        return sorted(iri for iri, seen in self.observed.items() if seen < limit)

    def to_dict(self, today: date) -> dict[str, object]:
        return {
            "state_as_of": self.state_date.isoformat(),
            "latest_state": self.latest_state.isoformat(),
            "oldest_fact": self.oldest.isoformat() if self.oldest else None,
            "newest_fact": self.newest.isoformat() if self.newest else None,
            "stale_after_days": self.stale_after_days,
            "possibly_outdated": self.possibly_outdated(today),
        }


def latest_observations(
    select: Callable[[str], list[dict[str, object]]], iris: Iterable[str], state_date: date
) -> dict[str, date]:
    """When each of `iris` was last observed by a source, up to `state_date` (a view's date); those never observed
    are left out."""
    wanted = sorted({iri for iri in iris if iri.startswith(str(KG))})
    if not wanted:
        return {}
    values = " ".join(f"<{iri}>" for iri in wanted)
    # The graphs first, each once: a resource has many statements in few graphs (100 services of the 1M-triple
    # benchmark data: 5,043 statements in 599 (resource, graph) pairs; 61 ms joined statement by statement, 34 ms).
    rows = select(f"""PREFIX mlc: <{MLC}>
        SELECT ?resource (MAX(STR(COALESCE(?validFrom, ?asOf))) AS ?latest) WHERE {{
          {{ SELECT DISTINCT ?resource ?graph WHERE {{
               VALUES ?resource {{ {values} }} GRAPH ?graph {{ ?resource ?property ?value }} }} }}
          ?graph a mlc:SourcedGraph .
          OPTIONAL {{ ?graph mlc:asOf ?asOf }} OPTIONAL {{ ?graph mlc:validFrom ?validFrom }}
          FILTER(STR(COALESCE(?validFrom, ?asOf)) <= "{state_date.isoformat()}")
        }} GROUP BY ?resource""")
    return {str(row["resource"]): period(str(row["latest"]))[0] for row in rows if row.get("latest")}


def _name(term: object) -> str:
    """An IRI as itself, a blank node as _:id."""
    return term.value if isinstance(term, ox.NamedNode) else str(term)
