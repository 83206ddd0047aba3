"""The Python API: `KnowledgeGraph`, the one object programs (and our CLI and web layer) use to ask the graph.

It reads through a store (store.py): the local build (`embedded`) or any SPARQL 1.1 endpoint (`remote`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from mlcloudkg.build import current_build
from mlcloudkg.config import Settings
from mlcloudkg.errors import MlcloudkgError
from mlcloudkg.finder_index import FinderIndex, read_services
from mlcloudkg.history import Change, Freshness, Timeline, changes, latest_observations
from mlcloudkg.namespaces import GRAPH_ONTOLOGY, KG, MLC, PREFIXES, compact
from mlcloudkg.queries import NamedQuery, Parameter, ParameterError, load_catalog
from mlcloudkg.reasoning.explain import Explainer, Explanation, Proof
from mlcloudkg.reasoning.rules import RuleSet, compile_rules
from mlcloudkg.recent import Recent
from mlcloudkg.remote_store import RemoteStore
from mlcloudkg.served_build import build_to_serve
from mlcloudkg.sources import load_ontology, to_rdflib
from mlcloudkg.store import GraphStore, Row, SparqlStore

if TYPE_CHECKING:
    from mlcloudkg.compare import Comparison
    from mlcloudkg.finder import FinderResult, Page, Requirements

log = logging.getLogger(__name__)
# Closures re-computed for other rule thresholds, kept for reuse; each is a copy of the data, so only a few.
KEEP_HYPOTHETICAL_CLOSURES = 8
# Finder indexes of dated views kept (the current view keeps its own): each is a set of offers per requirement (28
# MiB at 1M triples, 435 MiB at 10M), and a request may name any date.
KEEP_DATED_FINDER_INDEXES = 2
# Finder indexes by the state of the graph they were read from (see KnowledgeGraph.finder_index).
FinderIndexes = Recent[tuple[object, ...], "FinderIndex"]


class UnknownQuery(MlcloudkgError):
    """A named query that queries/ does not have."""

    exit_code = 2
    status = 404  # over HTTP: the query's URL names no query


class UnknownName(MlcloudkgError):
    """A resource, class or prefix that the graph does not know."""

    exit_code = 2


class KnowledgeGraph:
    """The knowledge graph, ready to query.

    >>> kg = KnowledgeGraph.embedded()          # builds the dataset first if the sources changed
    >>> rows = kg.named("free-gpus", min_gpu_memory_gb=16)
    """

    def __init__(
        self,
        store: SparqlStore,
        settings: Settings,
        rules: RuleSet | None = None,
        *,
        dated_indexes: FinderIndexes | None = None,
    ) -> None:
        """A graph over `store`. `rules` (for explanations) default to those the store's build was reasoned with,
        or, for a store that is not a local build, to the rules compiled from the local ontology. A dated view
        (`as_of`) is given the finder indexes its graph keeps for dated views (`dated_indexes`)."""
        self.store = store
        self.settings = settings
        self.catalog, self.catalog_problems = load_catalog(settings.queries_dir)
        for problem in self.catalog_problems:  # the other queries work: say which one does not, and why
            log.error("named query left out: %s", problem)
        self.rules = rules if rules is not None else _rules_for(store, settings)
        self.explainer = _explainer(self.rules, store)
        self._hypotheticals: Recent[tuple[tuple[str, str], ...], SparqlStore] = Recent(KEEP_HYPOTHETICAL_CLOSURES)
        self._services: list[tuple[str, str]] | None = None
        self._services_lock = threading.Lock()  # concurrent first requests read the services once
        # The finder indexes this view's dated views share (a dated view's are its graph's), and those it reads
        # its own from: a dated view, the shared ones; the current view, its own (never pushed out by dated ones).
        dated = dated_indexes is not None
        self._dated_indexes: FinderIndexes = dated_indexes if dated else Recent(KEEP_DATED_FINDER_INDEXES)
        self._finder_indexes: FinderIndexes = self._dated_indexes if dated else Recent(1)
        # Freshness asked so far, resource -> latest observation: resources of the graph only (callers may pass
        # any IRI a request gave), so it holds at most one date per resource.
        self._observed: dict[str, date] = {}
        self._observed_lock = threading.Lock()

    @classmethod
    def embedded(cls, settings: Settings | None = None, *, rebuild: bool = True) -> KnowledgeGraph:
        """Open the built dataset, building it first (a no-op when the sources are unchanged) unless told not to."""
        settings = settings or Settings.from_env()
        found = build_to_serve(settings).build if rebuild else current_build(settings)
        return cls(GraphStore.open(found), settings)

    @classmethod
    def remote(
        cls,
        endpoint: str,
        settings: Settings | None = None,
        *,
        timeout: float | None = None,
        version: str | None = None,
        default_graph: str | None = None,
    ) -> KnowledgeGraph:
        """The graph served by a SPARQL 1.1 endpoint (ours, or any store the dataset was published to).

        Each query is sent with SPARQLWrapper and given `timeout` seconds (default: the query_timeout setting).
        Explanations use the rules compiled from the local ontology, so the endpoint must serve a dataset built from
        the same ontology (the one of this version of mlcloudkg, or of `settings.root`). `version` names the data
        for caches (see RemoteStore); the finder's index of a version is kept under the build directory.
        `default_graph` is the named graph the dataset's default graph was published to (`mlcloudkg publish
        --default-graph`, for a store whose default graph is the union of its graphs)."""
        settings = settings or Settings.from_env()
        store = RemoteStore(
            endpoint,
            timeout=settings.query_timeout if timeout is None else timeout,
            version=version,
            published_default=ox.NamedNode(default_graph) if default_graph else None,
        )
        return cls(store, settings, local_rules(settings))

    @property
    def version(self) -> str:
        """Identifies the data: the build's digest, or the remote store's version."""
        return self.store.version

    def query(self, sparql: str) -> list[Row]:
        """Run a SELECT query; rows map variable names to Python values (int, Decimal, float, bool, date, str),
        IRIs as str; unbound variables are left out of a row."""
        return self.store.select(sparql)

    def services(self) -> list[tuple[str, str]]:
        """All services of the graph, (IRI, name), by name. Read once: it grows with the graph (80,006 services
        took 2.9 s to read at 10M triples) and every comparison and finder page needs it."""
        with self._services_lock:
            if self._services is None:
                self._services = read_services(self.store.for_whole_graph_reads().select)
            return self._services

    def finder_index(self) -> FinderIndex:
        """What meets each of the finder's checks in this view, each read once (see finder_index.py): at 1M triples
        1.0 s for the offers and 4.4 s for every check, after which a finder question takes milliseconds."""
        from mlcloudkg.finder import read_index

        # Keyed by the state: dated views of dates between two changes show the same graph.
        state = (self.store.state_date, self.store.default_graph, self.store.inferred_graph)
        index = self._finder_indexes.get(state, lambda: read_index(self))
        with self._services_lock:
            if self._services is None:  # an index loaded from its file has the list: 2.9 s to read at 10M
                self._services = list(index.services)
        return index

    def named_query(self, name: str) -> NamedQuery:
        """A query of queries/ by name (the file name without .rq)."""
        try:
            return self.catalog[name]
        except KeyError:
            known = ", ".join(sorted(self.catalog))
            raise UnknownQuery(f"no named query {name!r} — accepted: one of {known}") from None

    def named(self, name: str, **parameters: Any) -> list[Row]:
        """Run a query of queries/ by name, with its parameters as keyword arguments (None: not given).

        Values may be given as Python values (16, 2.5, True, a date) or as text; each is checked against the
        parameter's declared type and bound as a typed RDF term. Raises ParameterError saying what is accepted."""
        text = self.named_query(name).bind(
            {key: _as_text(value) for key, value in parameters.items() if value is not None}
        )
        return self.store.select(text)

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

        Names may be IRIs, prefixed names or bare names (kg: for resources, mlc: for capabilities). Keyword
        arguments give rule thresholds other than the defaults (see `rule_parameters`), e.g. min_session_hours=24:
        the closure is recomputed for them."""
        resource_iri = self.resolve(resource, str(KG))
        capability_iri = self.resolve(capability, str(MLC))
        if capability_iri not in self.rules.labels:
            known = ", ".join(sorted(compact(c) for c in self.capabilities_known()))
            raise UnknownName(f"{capability!r} is not a class of the ontology — accepted: {known}")
        self._check_resource(resource, resource_iri)
        given = self._thresholds(parameters)
        explainer = _explainer(self.rules, self._hypothetical(given)) if given else self.explainer
        explanation = explainer.explain(resource_iri, capability_iri, given)
        explanation.freshness = self.freshness([resource_iri])
        return explanation

    def explain_statement(self, subject: str, predicate: str, object_: ox.NamedNode | ox.Literal) -> Proof:
        """Why the statement holds: asserted (with its sources), an ontology axiom, or the rule and its premises.

        Subject and predicate may be IRIs, prefixed or bare names (kg: for the subject, mlc: for the predicate)."""
        subject_term = ox.NamedNode(self.resolve(subject, str(KG)))
        predicate_term = ox.NamedNode(self.resolve(predicate, str(MLC)))
        triple = (str(subject_term), str(predicate_term), str(object_))
        if not self.store.ask(f"ASK {{ {' '.join(triple)} }}"):
            raise UnknownName(f"the graph does not hold the statement {' '.join(triple)}")
        return self.explainer.prove(triple)

    def rule_parameters(self) -> dict[str, Parameter]:
        """The thresholds of the rules (e.g. min_session_hours), with their types, defaults and descriptions."""
        found: dict[str, Parameter] = {}
        for rule in self.rules.rules:
            for name, spec in rule.parameters.items():
                found.setdefault(name, Parameter(name, spec["type"], spec["description"], default=spec["default"]))
        return dict(sorted(found.items()))

    def _thresholds(self, parameters: dict[str, Any]) -> dict[str, str]:
        """The given thresholds, checked, as lexical forms; those equal to their default are left out."""
        known = self.rule_parameters()
        given: dict[str, str] = {}
        for name, value in parameters.items():
            if value is None:
                continue
            if name not in known:
                raise ParameterError(name, "is not a parameter of any rule", "parameters: " + ", ".join(known))
            parameter = known[name]
            term = parameter.to_term(_as_text(value))
            if parameter.default is None or term != parameter.to_term(parameter.default):
                given[name] = term.value
        return given

    def _hypothetical(self, parameters: dict[str, str]) -> SparqlStore:
        """The closure the rules give with other thresholds than the build's (e.g. sessions of 24 hours)."""
        key = tuple(sorted(parameters.items()))
        return self._hypotheticals.get(key, lambda: self.store.rematerialized(self.rules, parameters))

    def _check_resource(self, given: str, iri: str) -> None:
        if not self.store.ask(f"ASK {{ <{iri}> ?p ?o }}"):
            raise UnknownName(f"{given!r} is not a resource of the graph ({iri})")

    def as_of(self, day: date | str) -> KnowledgeGraph:
        """The graph as it was on `day` (a date or YYYY-MM-DD): facts, capabilities and answers of that date."""
        state = self.store.as_of(self.resolve_date(day, "as of"), self.rules)
        return KnowledgeGraph(state, self.settings, self.rules, dated_indexes=self._dated_indexes)

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
        """How old the facts about `iris` are, in the state this graph answers for. Each resource is asked about
        once per view (its graph never changes): a finder page shows 100 services, 34 ms to ask at 1M triples."""
        wanted = set(iris)
        with self._observed_lock:
            observed = {iri: self._observed[iri] for iri in wanted if iri in self._observed}
        if missing := wanted - observed.keys():
            found = latest_observations(self.query, missing, self.state_date)
            observed.update(found)
            with self._observed_lock:
                self._observed.update(found)
        return Freshness(self.state_date, observed, self.settings.stale_after_days, self.store.latest_state)

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
        """The capability classes `resource` (an IRI, prefixed or bare name) belongs to."""
        iri = self.resolve(resource, str(KG))
        self._check_resource(resource, iri)
        rows = self.store.select(
            f"SELECT ?class WHERE {{ <{iri}> a ?class . GRAPH <{GRAPH_ONTOLOGY}> "
            f"{{ ?class <{MLC.capabilityGroup}> ?group }} }} ORDER BY ?class"
        )
        return [row["class"] for row in rows]

    def compare(self, *services: str) -> Comparison:
        """The article's comparison for these services (IRIs, prefixed or bare names), in this order: every cell
        with the statement it shows and the passages stating it."""
        from mlcloudkg.compare import compare

        return compare(self, list(services))

    def find(self, **requirements: Any) -> FinderResult:
        """The services meeting every requirement (see finder.Requirements: free=True, min_gpu_memory_gb=16, ...),
        and for every other service the requirements it fails. Shows a page of each list, in name order: `limit`
        services (default 50), skipping `offset` matches and `others_offset` others (see finder.Page). Raises
        RequirementError for an unknown requirement, InvalidParameter for a bad page."""
        from mlcloudkg.finder import parse

        given = {name: _as_text(value) for name, value in requirements.items() if value is not None}
        return self.answer_finder(*parse(given))

    def answer_finder(self, requirements: Requirements, page: Page | None = None) -> FinderResult:
        """find() for requirements already parsed."""
        from mlcloudkg.finder import find

        return find(self, requirements, page)


def local_rules(settings: Settings) -> RuleSet:
    """The rules compiled from the ontology and ontology/rules/ of `settings.root`, as a build compiles them."""
    ontology = to_rdflib(load_ontology(settings).quads)
    return compile_rules(ontology, settings.ontology_dir / "rules", settings.root)


def _explainer(rules: RuleSet, store: SparqlStore) -> Explainer:
    """Explanations over `store`'s view: its inferences are in its own graph, and it cites the passages in effect."""
    return Explainer(rules, store.select_terms, store.inferred_graph.value, store.passages_in_effect)


def _rules_for(store: SparqlStore, settings: Settings) -> RuleSet:
    if isinstance(store, GraphStore) and store.build is not None:
        return RuleSet.from_json(store.build.rules_path.read_text())
    return local_rules(settings)


def _as_text(value: Any) -> str:
    """A Python value as the text a parameter parses: booleans as true/false, everything else by str()."""
    return str(value).lower() if isinstance(value, bool) else str(value)
