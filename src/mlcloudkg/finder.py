"""The finder: requirements in, the matching services out, and for every other service the requirements it fails.

Requirements about a plan (free, private notebooks, GPU memory, session length, persistent storage, price) must all
hold on the same plan: a public free GPU plan and a private paid CPU plan do not make "a free private GPU". Each
requirement is a check, a graph pattern (`CHECKS`); the finder answers from the view's index of what meets each
(finder_index.py), and returns the SPARQL query that selects the same services, so users can see it and take it to
the query page.

An answer shows a page of each list (`Page`), both in name order; how old the facts about a service are is asked
only for the services shown.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import Field, dataclass, field, fields
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcloudkg.errors import InvalidParameter
from mlcloudkg.finder_index import Check, Condition, FinderIndex, read_services
from mlcloudkg.history import Freshness
from mlcloudkg.namespaces import sparql_prologue
from mlcloudkg.remote_store import RemoteStore
from mlcloudkg.store import GraphStore, SparqlStore

if TYPE_CHECKING:
    from mlcloudkg.api import KnowledgeGraph
    from mlcloudkg.build import Build

log = logging.getLogger(__name__)
INDEX_FILE = "finder-index.json"  # in a build's directory
STORE_INDEXES = "store-finder-indexes"  # in the build directory: the indexes of remote stores' published versions
KEEP_STORE_INDEXES = 3
TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off"}
MAX_NUMBER = Decimal(10**6)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_OFFSET = 10**9


class RequirementError(InvalidParameter, ValueError):
    """A requirement that is unknown or has a value of the wrong kind (a ValueError too, as it used to be)."""

    kind = "requirement"


@dataclass(frozen=True)
class Requirements:
    """What a user needs. Unset fields are not required; each field's help is shown by the CLI and the API docs."""

    free: bool = field(default=False, metadata={"help": "On the free tier."})
    gpu: bool = field(default=False, metadata={"help": "With a GPU."})
    min_gpu_memory_gb: Decimal | None = field(
        default=None, metadata={"help": "A GPU with at least this much memory per device, in GB."}
    )
    tensor_cores: bool = field(default=False, metadata={"help": "A GPU with tensor cores."})
    private_notebooks: bool = field(default=False, metadata={"help": "Notebooks that only you can see."})
    min_session_hours: Decimal | None = field(default=None, metadata={"help": "Sessions of at least this many hours."})
    persistent_storage: bool = field(
        default=False, metadata={"help": "The runtime's own storage keeps files between sessions."}
    )
    max_price_per_gpu_hour: Decimal | None = field(
        default=None, metadata={"help": "Paid by the hour, at most this much in USD per GPU hour (free counts as 0)."}
    )
    gpu_choice: bool = field(default=False, metadata={"help": "You pick the GPU."})
    cli: bool = field(default=False, metadata={"help": "A command line tool."})
    mlops: bool = field(default=False, metadata={"help": "Model repository, deployment and metrics logging."})
    experiment_tracking: bool = field(default=False, metadata={"help": "Experiment tracking."})

    @property
    def needs_gpu(self) -> bool:
        return (
            self.gpu
            or self.min_gpu_memory_gb is not None
            or self.tensor_cores
            or self.gpu_choice
            or self.max_price_per_gpu_hour is not None
        )

    @property
    def is_empty(self) -> bool:
        return self == Requirements()

    @classmethod
    def from_strings(cls, values: dict[str, str]) -> Requirements:
        """From form fields, query parameters or flags; raises RequirementError naming the field that is wrong."""
        given: dict[str, Any] = {}
        known = {f.name: f for f in fields(cls)}
        for name, raw in values.items():
            if name not in known:
                accepted = f"requirements: {', '.join(known)}; and which services to show: {', '.join(PAGE_FIELDS)}"
                raise RequirementError(name, "is not a requirement", accepted)
            if raw in ("", None):
                continue
            if is_number(known[name]):
                try:
                    number = Decimal(raw)
                except ArithmeticError:
                    number = None
                if number is None or not number.is_finite():
                    raise RequirementError(name, f"{raw!r} is not a number", f"a number from 0 to {MAX_NUMBER}")
                if not 0 <= number <= MAX_NUMBER:
                    raise RequirementError(name, f"{raw} is out of range", f"a number from 0 to {MAX_NUMBER}")
                given[name] = number
            elif str(raw).lower() in TRUE_VALUES | FALSE_VALUES:
                given[name] = str(raw).lower() in TRUE_VALUES
            else:
                raise RequirementError(
                    name, f"{raw!r} is not true or false", "true or false (also 1/0, yes/no, on/off)"
                )
        return cls(**given)

    def described(self) -> list[str]:
        """Each requirement in words, in the order the finder checks them."""
        return [words for _, words in _conditions(self)]


@dataclass(frozen=True)
class Page:
    """Which services of each list an answer shows, both lists in name order; each field's help is shown by the CLI
    and the API docs."""

    limit: int = field(
        default=DEFAULT_PAGE_SIZE,
        metadata={
            "help": f"How many matches, and how many others, to show (1 to {MAX_PAGE_SIZE}; "
            f"{DEFAULT_PAGE_SIZE} if not given).",
            "range": (1, MAX_PAGE_SIZE),
        },
    )
    offset: int = field(
        default=0, metadata={"help": "How many matches to skip, in name order.", "range": (0, MAX_OFFSET)}
    )
    others_offset: int = field(
        default=0,
        metadata={"help": "How many of the other services to skip, in name order.", "range": (0, MAX_OFFSET)},
    )

    @classmethod
    def from_strings(cls, values: dict[str, str]) -> Page:
        """From form fields, query parameters or flags; raises InvalidParameter naming the field that is wrong."""
        given: dict[str, int] = {}
        for f in fields(cls):
            raw = values.get(f.name)
            if raw in ("", None):
                continue
            lowest, highest = f.metadata["range"]
            accepted = f"a whole number from {lowest} to {highest}"
            if not str(raw).isdecimal():
                raise InvalidParameter(f.name, f"{raw!r} is not a whole number", accepted)
            if not lowest <= int(raw) <= highest:
                raise InvalidParameter(f.name, f"{raw} is out of range", accepted)
            given[f.name] = int(raw)
        return cls(**given)

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


PAGE_FIELDS = tuple(f.name for f in fields(Page))


def parse(values: dict[str, str]) -> tuple[Requirements, Page]:
    """The requirements and the page asked for in form fields, query parameters or flags given as text."""
    page = Page.from_strings({name: value for name, value in values.items() if name in PAGE_FIELDS})
    requirements = {name: value for name, value in values.items() if name not in PAGE_FIELDS}
    return Requirements.from_strings(requirements), page


@dataclass
class Candidate:
    service: str
    name: str
    failed: list[str] = field(default_factory=list)


@dataclass
class FinderResult:
    requirements: Requirements
    query: str
    matches: list[Candidate]  # the page of them asked for
    others: list[Candidate]  # the page of them asked for, each with the requirements it fails
    match_count: int  # all of them
    other_count: int
    page: Page
    freshness: Freshness  # how old the facts about the services shown are

    def to_dict(self) -> dict[str, Any]:
        """As data: the requirements given and in words, the page of matches and of the others with what they fail,
        how many there are in all, the query."""
        given = {
            f.name: float(value) if isinstance(value, Decimal) else value
            for f in fields(self.requirements)
            if (value := getattr(self.requirements, f.name)) not in (None, False)
        }
        return {
            "requirements": given,
            "described": self.requirements.described(),
            "matches": [{"service": c.service, "name": c.name} for c in self.matches],
            "others": [{"service": c.service, "name": c.name, "fails": c.failed} for c in self.others],
            "match_count": self.match_count,
            "other_count": self.other_count,
            "page": self.page.to_dict(),
            "query": self.query,
            "facts": self.freshness.to_dict(date.today()),
        }


def is_number(requirement: Field[Any]) -> bool:
    """Whether a requirement is a threshold (a number) rather than a yes/no need."""
    return "Decimal" in str(requirement.type)


# Each requirement's check. Plan-level patterns use ?plan and ?runtime (a runtime the plan provides).
CHECKS: dict[str, Check] = {
    "free": Check("plan", "?plan mlc:pricingModel mlc:FreeTier ."),
    "gpu": Check("runtime", "?runtime a mlc:GPURuntime ."),
    "min_gpu_memory_gb": Check(
        "runtime",
        "?runtime mlc:gpuModel ?gpu . ?gpu mlc:gpuMemory/schema:value ?gpuMemory . FILTER(isNumeric(?gpuMemory))",
        measure="gpuMemory",
    ),
    "tensor_cores": Check("runtime", "?runtime mlc:gpuModel ?tensorGpu . ?tensorGpu mlc:hasTensorCores true ."),
    "gpu_choice": Check("runtime", "?runtime mlc:gpuAssignment mlc:UserChoice ."),
    "private_notebooks": Check("plan", "?plan mlc:allowsSharingMode mlc:PrivateNotebooks ."),
    "min_session_hours": Check(
        "runtime",
        "?runtime mlc:maxSessionDuration ?limit . ?limit schema:unitCode ?sessionUnit . "
        "OPTIONAL { ?limit schema:maxValue ?sessionMax } OPTIONAL { ?limit schema:value ?sessionValue } "
        'VALUES (?sessionUnit ?perHour) { ("MIN" 60) ("HUR" 1) ("SEC" 3600) } '
        "BIND(xsd:decimal(COALESCE(?sessionMax, ?sessionValue)) / ?perHour AS ?sessionHours)",
        measure="sessionHours",
    ),
    "persistent_storage": Check("runtime", "?runtime mlc:storagePersistent true ."),
    # The unit price is the specification or each of its components; free counts as 0. The price's class is a
    # variable, not a constant: engines that order patterns without statistics (Oxigraph, see queries/plans.rq)
    # matched every price of the store first. Bound by VALUES: Virtuoso 7.2 refuses FILTER(?priceType = ...) in
    # this UNION (SP031, an internal error of its compiler).
    "max_price_per_gpu_hour": Check(
        "plan",
        "{ ?plan mlc:pricingModel mlc:FreeTier BIND(0 AS ?gpuHourPrice) } UNION "
        "{ ?plan schema:priceSpecification ?spec . OPTIONAL { ?spec schema:priceComponent ?component } "
        "BIND(COALESCE(?component, ?spec) AS ?hourly) "
        "?hourly schema:price ?amount ; schema:priceCurrency ?currency ; a ?priceType . "
        'VALUES (?priceType ?currency) { (mlc:HourlyPrice "USD") } '
        "OPTIONAL { ?hourly schema:referenceQuantity/schema:value ?hours } "
        "BIND(xsd:decimal(?amount) / COALESCE(?hours, 1) AS ?gpuHourPrice) }",
        measure="gpuHourPrice",
        at_least=False,
    ),
    "cli": Check("service", "?service mlc:hasFeature mlc:CommandLineInterface ."),
    "mlops": Check("service", "?service a mlc:MLOpsService ."),
    "experiment_tracking": Check("service", "?service mlc:hasFeature mlc:ExperimentTracking ."),
}


def _conditions(r: Requirements) -> list[tuple[Condition, str]]:
    """Each requirement as a condition (its check and threshold) and in words, in the order the finder checks them."""
    wanted: list[tuple[str, Decimal | None, str]] = []
    if r.free:
        wanted.append(("free", None, "on the free tier"))
    if r.needs_gpu:
        wanted.append(("gpu", None, "with a GPU"))
    if r.min_gpu_memory_gb is not None:
        wanted.append(("min_gpu_memory_gb", r.min_gpu_memory_gb, f"a GPU with at least {r.min_gpu_memory_gb} GB"))
    if r.tensor_cores:
        wanted.append(("tensor_cores", None, "a GPU with tensor cores"))
    if r.gpu_choice:
        wanted.append(("gpu_choice", None, "you pick the GPU"))
    if r.private_notebooks:
        wanted.append(("private_notebooks", None, "private notebooks"))
    if r.min_session_hours is not None:
        wanted.append(("min_session_hours", r.min_session_hours, f"sessions of at least {r.min_session_hours} hours"))
    if r.persistent_storage:
        wanted.append(("persistent_storage", None, "persistent storage"))
    if r.max_price_per_gpu_hour is not None:
        words = f"at most ${r.max_price_per_gpu_hour} per GPU hour (free counts as 0)"
        wanted.append(("max_price_per_gpu_hour", r.max_price_per_gpu_hour, words))
    if r.cli:
        wanted.append(("cli", None, "a command line tool"))
    if r.mlops:
        wanted.append(("mlops", None, "model repository, deployment and metrics logging"))
    if r.experiment_tracking:
        wanted.append(("experiment_tracking", None, "experiment tracking"))
    return [((CHECKS[name], threshold), words) for name, threshold, words in wanted]


def finder_query(
    requirements: Requirements,
    conditions: Sequence[Condition] | None = None,
    among: Sequence[str] = (),
    *,
    ordered: bool = True,
) -> str:
    """The SELECT that lists the services meeting `conditions` (by default: all the requirements) on one plan, of
    those in `among` when given, by name unless not `ordered`. The finder answers from its index (finder_index.py);
    this is what it shows, to take to the query page, and what its answers are tested against."""
    if conditions is None:
        conditions = [condition for condition, _ in _conditions(requirements)]
    body = [f"  VALUES ?service {{ {' '.join(f'<{iri}>' for iri in among)} }}"] if among else []
    body += ["  ?service a mlc:NotebookService ;", "           schema:name ?name ."]
    if any(check.subject != "service" for check, _ in conditions):
        body += ["  ?service mlc:offersPlan ?plan .", "  ?plan mlc:providesRuntime ?runtime ."]
    body += [f"  {check.stated(threshold)}" for check, threshold in conditions]
    order = "\nORDER BY ?name" if ordered else ""
    return sparql_prologue() + "SELECT DISTINCT ?service ?name\nWHERE {\n" + "\n".join(body) + "\n}" + order


def read_index(kg: KnowledgeGraph) -> FinderIndex:
    """The finder's index of `kg`'s view: what meets each requirement's check (each a read of the whole graph).
    The index of a local build's current state is read before the build is served (`keep_index_of`) or, failing
    that, by the first process to ask, and saved beside the build once complete; every later process (a web worker,
    a restart, the command line) loads it from there: 54 s to read at 10M triples, 0.5 s to load. So is that of a
    remote store's published version, kept under the build directory (`_kept_index`)."""
    return _index_of(kg.store, kg.services, _kept_index(kg.store, kg.settings.build_dir))


def keep_index_of(built: Build) -> None:
    """Read the finder's index of a finished build and save it beside the build, before the build is served (see
    served_build.py). The build is good without it: a failure is logged, and each process serving the build reads
    its own, as before."""
    started = time.perf_counter()
    try:
        store = GraphStore.open(built)
        services = functools.partial(read_services, store.select)
        _index_of(store, services, built.directory / INDEX_FILE).read_ahead()
    except Exception:  # whatever the reason (a full disk, a bug), the build stands
        log.warning(
            "the finder's index of build %s was not kept: each process serving it reads its own",
            built.digest,
            exc_info=True,
        )
        return
    if (built.directory / INDEX_FILE).is_file():  # else saving it failed, and said why (_keep_index)
        log.info("the finder's index of build %s kept beside it (%.1f s)", built.digest, time.perf_counter() - started)


def _index_of(store: SparqlStore, services: Callable[[], list[tuple[str, str]]], kept: Path | None) -> FinderIndex:
    """The index loaded from `kept`, else read from `store` (and saved to `kept` once complete)."""
    checks = list(CHECKS.values())
    loaded = FinderIndex.load(kept, checks) if kept is not None else None
    if loaded is not None:
        return loaded
    keep = functools.partial(_keep_index, path=kept) if kept is not None else None
    return FinderIndex.read(store.for_whole_graph_reads().select, services(), checks, keep)


def _kept_index(store: SparqlStore, build_dir: Path) -> Path | None:
    """Where the index of `store`'s view is kept, for its current state only (a dated view's is read when first
    asked about): beside a local build; for a remote store whose data a version names (the publish record's, for
    `serve --store`), under `build_dir`, where each replica and restart on this machine finds it. Not for a remote
    store named by its address alone: its data may change under it."""
    if store.default_graph is not None:
        return None
    if isinstance(store, GraphStore) and store.build is not None:
        return store.build.directory / INDEX_FILE
    if isinstance(store, RemoteStore) and store.data_version is not None:
        name = hashlib.sha256(f"{store.endpoint} {store.data_version}".encode()).hexdigest()[:32]
        return build_dir / STORE_INDEXES / f"{name}.json"
    return None


def _keep_index(index: FinderIndex, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        index.save(path)
    except OSError as error:  # a read-only build directory: every process reads its own index, as before
        log.warning("could not save the finder's index to %s: %s", path, error)
        return
    if path.parent.name == STORE_INDEXES:  # one file per version published: the latest few are kept
        for old in sorted(path.parent.glob("*.json"), key=_modified, reverse=True)[KEEP_STORE_INDEXES:]:
            old.unlink(missing_ok=True)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # pruned meanwhile by another process
        return 0.0


def find(kg: KnowledgeGraph, requirements: Requirements, page: Page | None = None) -> FinderResult:
    """The services that meet every requirement, and for each other service the requirements it does not meet: the
    `page` of each list (by default the first DEFAULT_PAGE_SIZE)."""
    page = page or Page()
    conditions = _conditions(requirements)
    index = kg.finder_index()
    answer = index.ask([condition for condition, _ in conditions])
    everyone = index.services
    matches = [position for position in range(len(everyone)) if position in answer.services]
    others = [position for position in range(len(everyone)) if position not in answer.services]
    shown_matches = [Candidate(*everyone[p]) for p in matches[page.offset : page.offset + page.limit]]
    failing = []
    for position in others[page.others_offset : page.others_offset + page.limit]:
        failed = [conditions[at][1] for at in answer.failed(position)]
        failing.append(Candidate(*everyone[position], failed or ["no single plan meets all of them together"]))
    freshness = kg.freshness(c.service for c in [*shown_matches, *failing])
    query = finder_query(requirements)
    return FinderResult(requirements, query, shown_matches, failing, len(matches), len(others), page, freshness)
