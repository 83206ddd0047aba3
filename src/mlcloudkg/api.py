"""The Python API: `KnowledgeGraph`, the one object programs (and our CLI and web layer) use to ask the graph."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

import pyoxigraph as ox

from mlcloudkg.build import build, current_build
from mlcloudkg.config import Settings
from mlcloudkg.errors import MlcloudkgError
from mlcloudkg.history import Change, Freshness, Timeline, changes, freshness
from mlcloudkg.namespaces import GRAPH_ONTOLOGY, KG, MLC, PREFIXES, compact
from mlcloudkg.queries import NamedQuery, load_catalog
from mlcloudkg.reasoning.explain import Explainer, Explanation, Proof
from mlcloudkg.reasoning.rules import RuleSet
from mlcloudkg.store import GraphStore, Row


class UnknownQuery(MlcloudkgError):
    exit_code = 2


class UnknownName(MlcloudkgError):
    """A resource, class or prefix that the graph does not know."""

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
        self.rules = RuleSet.from_json(store.build.rules_path.read_text())
        self.explainer = Explainer(
            self.rules, store.select_terms, store.inferred_graph.value, lambda: store.passages_in_effect
        )
        self._hypotheticals: dict[tuple[tuple[str, str], ...], GraphStore] = {}

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

    def resolve(self, name: str, default_namespace: str) -> str:
        """An IRI from an IRI, a prefixed name (kg:google-colab) or a bare local name (google-colab).

        Raises UnknownName for anything that does not make a valid IRI: callers put the result in SPARQL."""
        if re.match(r"^[a-z][a-z0-9+.-]*://", name):
            iri = name
        else:
            prefix, colon, local = name.partition(":")
            if colon and prefix not in PREFIXES:
                raise UnknownName(
                    f"unknown prefix {prefix!r} in {name!r} — accepted: an IRI, a prefixed name with "
                    f"one of {', '.join(PREFIXES)}, or a bare name"
                )
            iri = PREFIXES[prefix] + local if colon else default_namespace + name
        try:
            ox.NamedNode(iri)
        except ValueError:
            raise UnknownName(
                f"{name!r} is not a valid IRI or name — accepted: an absolute IRI, a prefixed name or a bare name "
                "without spaces, quotes or angle brackets"
            ) from None
        return iri

    def explain(self, resource: str, capability: str, **parameters: Any) -> Explanation:
        """Whether `resource` has `capability`, with the proof down to its sources or the condition that fails.

        Names may be IRIs, prefixed names or bare names (kg: for resources, mlc: for capabilities)."""
        resource_iri = self.resolve(resource, str(KG))
        capability_iri = self.resolve(capability, str(MLC))
        if capability_iri not in self.rules.labels:
            known = ", ".join(sorted(compact(c) for c in self.capabilities_known()))
            raise UnknownName(f"{capability!r} is not a class of the ontology — accepted: {known}")
        if not self.store.ask(f"ASK {{ <{resource_iri}> ?p ?o }}"):
            raise UnknownName(f"{resource!r} is not a resource of the graph ({resource_iri})")
        given = {k: str(v) for k, v in parameters.items() if v is not None}
        if given:
            hypothetical = self._hypothetical(given)
            explainer = Explainer(
                self.rules,
                hypothetical.select_terms,
                hypothetical.inferred_graph.value,
                lambda: hypothetical.passages_in_effect,
            )
        else:
            explainer = self.explainer
        return explainer.explain(resource_iri, capability_iri, given)

    def explain_statement(self, subject: str, predicate: str, object_: ox.NamedNode | ox.Literal) -> Proof:
        """Why the statement holds: asserted (with its sources), an ontology axiom, or the rule and its premises.

        Subject and predicate may be IRIs, prefixed or bare names (kg: for the subject, mlc: for the predicate)."""
        subject_term = ox.NamedNode(self.resolve(subject, str(KG)))
        predicate_term = ox.NamedNode(self.resolve(predicate, str(MLC)))
        triple = (str(subject_term), str(predicate_term), str(object_))
        if not self.store.ask(f"ASK {{ {' '.join(triple)} }}"):
            raise UnknownName(f"the graph does not hold the statement {' '.join(triple)}")
        return self.explainer.prove(triple)

    def _hypothetical(self, parameters: dict[str, str]) -> GraphStore:
        """The closure the rules give with other thresholds than the build's (e.g. sessions of 24 hours)."""
        key = tuple(sorted(parameters.items()))
        if key not in self._hypotheticals:
            self._hypotheticals[key] = self.store.rematerialized(self.rules, parameters)
        return self._hypotheticals[key]

    def as_of(self, day: date | str) -> KnowledgeGraph:
        """The graph as it was on `day` (a date or YYYY-MM-DD): facts, capabilities and answers of that date."""
        return KnowledgeGraph(self.store.as_of(self.resolve_date(day, "as of"), self.rules), self.settings)

    def changes(self, first: date | str, second: date | str = "now") -> dict[str, list[Change]]:
        """What changed from `first` to `second` (dates, YYYY-MM-DD or "now"): added, removed and changed facts
        grouped by the service they are about ("other" for the rest), each with the passages that say so."""
        return changes(self.timeline(), self.resolve_date(first, "from"), self.resolve_date(second, "to"))

    def resolve_date(self, day: date | str, role: str = "date") -> date:
        """A date given as YYYY-MM-DD or "now" (the date of the latest known state)."""
        if isinstance(day, date):
            return day
        if day.strip() == "now":
            return self.state_date
        try:
            return date.fromisoformat(day.strip())
        except ValueError:
            raise UnknownName(f"{role} {day!r}: not a date — accepted: YYYY-MM-DD, e.g. 2020-12-17, or now") from None

    def freshness(self, iris: Iterable[str]) -> Freshness:
        """How old the facts about `iris` are, in the state this graph answers for."""
        return freshness(self.query, iris, self.state_date, self.settings.stale_after_days)

    def timeline(self) -> Timeline:
        """Every dated passage, to compute the state on any date or what changed between two."""
        return self.store.timeline

    @property
    def state_date(self) -> date:
        """The date whose state this graph answers for (the latest known state unless asked as of a date)."""
        return self.store.state_date

    def capabilities_known(self) -> list[str]:
        """The capability classes of the ontology (those with an mlc:capabilityGroup)."""
        rows = self.store.select(
            f"SELECT ?class WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> "
            f"{{ ?class <{MLC.capabilityGroup}> ?group }} }} ORDER BY ?class"
        )
        return [row["class"] for row in rows]

    def capabilities(self, resource: str) -> list[str]:
        """The capability classes `resource` belongs to."""
        iri = self.resolve(resource, str(KG))
        rows = self.store.select(
            f"SELECT ?class WHERE {{ <{iri}> a ?class . GRAPH <{GRAPH_ONTOLOGY}> "
            f"{{ ?class <{MLC.capabilityGroup}> ?group }} }} ORDER BY ?class"
        )
        return [row["class"] for row in rows]

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
