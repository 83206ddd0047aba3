"""The finder: requirements in, the matching services out, and for every other service the requirements it fails.

Requirements about a plan (free, private notebooks, GPU memory, session length, persistent storage, price) must all
hold on the same plan: a public free GPU plan and a private paid CPU plan do not make "a free private GPU". The
query the finder runs is returned too, so users can see it and take it to the query page.

An answer shows a page of each list (`Page`): which services match is one query whatever their number, but what
each other service fails, and how old the facts about a service are, are asked only for the services shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import Field, dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mlcloudkg.errors import InvalidParameter
from mlcloudkg.history import Freshness
from mlcloudkg.namespaces import sparql_prologue

if TYPE_CHECKING:
    from mlcloudkg.api import KnowledgeGraph

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
        return [words for _, words in _checks(self)]


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


def _checks(r: Requirements) -> list[tuple[str, str]]:
    """(SPARQL pattern, words) for each requirement; plan-level patterns use ?plan and ?runtime."""
    checks: list[tuple[str, str]] = []
    if r.free:
        checks.append(("?plan mlc:pricingModel mlc:FreeTier .", "on the free tier"))
    if r.needs_gpu:
        checks.append(("?runtime a mlc:GPURuntime .", "with a GPU"))
    if r.min_gpu_memory_gb is not None:
        checks.append(
            (
                f"?runtime mlc:gpuModel ?gpu . ?gpu mlc:gpuMemory/schema:value ?gpuMemory . "
                f"FILTER(isNumeric(?gpuMemory) && ?gpuMemory >= {r.min_gpu_memory_gb})",
                f"a GPU with at least {r.min_gpu_memory_gb} GB",
            )
        )
    if r.tensor_cores:
        checks.append(
            ("?runtime mlc:gpuModel ?tensorGpu . ?tensorGpu mlc:hasTensorCores true .", "a GPU with tensor cores")
        )
    if r.gpu_choice:
        checks.append(("?runtime mlc:gpuAssignment mlc:UserChoice .", "you pick the GPU"))
    if r.private_notebooks:
        checks.append(("?plan mlc:allowsSharingMode mlc:PrivateNotebooks .", "private notebooks"))
    if r.min_session_hours is not None:
        checks.append(
            (
                "?runtime mlc:maxSessionDuration ?limit . ?limit schema:unitCode ?sessionUnit . "
                "OPTIONAL { ?limit schema:maxValue ?sessionMax } OPTIONAL { ?limit schema:value ?sessionValue } "
                'VALUES (?sessionUnit ?perHour) { ("MIN" 60) ("HUR" 1) ("SEC" 3600) } '
                f"FILTER(xsd:decimal(COALESCE(?sessionMax, ?sessionValue)) / ?perHour >= {r.min_session_hours})",
                f"sessions of at least {r.min_session_hours} hours",
            )
        )
    if r.persistent_storage:
        checks.append(("?runtime mlc:storagePersistent true .", "persistent storage"))
    if r.max_price_per_gpu_hour is not None:
        # The unit price is the specification or each of its components. Written for engines that order patterns
        # without statistics (Oxigraph, see queries/plans.rq): a zero-length path or a constant class here made
        # them match every price of the store first (1M triples: 39 s for 50 services, now 7 ms).
        checks.append(
            (
                "{ ?plan mlc:pricingModel mlc:FreeTier } UNION "
                "{ ?plan schema:priceSpecification ?spec . OPTIONAL { ?spec schema:priceComponent ?component } "
                "BIND(COALESCE(?component, ?spec) AS ?hourly) "
                "?hourly schema:price ?amount ; schema:priceCurrency ?currency ; a ?priceType . "
                'FILTER(?priceType = mlc:HourlyPrice && ?currency = "USD") '
                "OPTIONAL { ?hourly schema:referenceQuantity/schema:value ?hours } "
                f"FILTER(xsd:decimal(?amount) / COALESCE(?hours, 1) <= {r.max_price_per_gpu_hour}) }}",
                f"at most ${r.max_price_per_gpu_hour} per GPU hour (free counts as 0)",
            )
        )
    if r.cli:
        checks.append(("?service mlc:hasFeature mlc:CommandLineInterface .", "a command line tool"))
    if r.mlops:
        checks.append(("?service a mlc:MLOpsService .", "model repository, deployment and metrics logging"))
    if r.experiment_tracking:
        checks.append(("?service mlc:hasFeature mlc:ExperimentTracking .", "experiment tracking"))
    return checks


def _plan_level(pattern: str) -> bool:
    return "?plan" in pattern or "?runtime" in pattern


def finder_query(
    requirements: Requirements,
    checks: list[tuple[str, str]] | None = None,
    among: Sequence[str] = (),
    *,
    ordered: bool = True,
) -> str:
    """The SELECT that lists the services meeting `checks` (by default: all the requirements) on one plan, of
    those in `among` when given, by name unless not `ordered` (the finder sorts in Python: an engine's ORDER BY
    cost Oxigraph 0.35 s of 0.43 s for the 8,006 services of the 1M-triple benchmark data)."""
    checks = _checks(requirements) if checks is None else checks
    patterns = [pattern for pattern, _ in checks]
    plan_patterns = [p for p in patterns if _plan_level(p)]
    body = [f"  VALUES ?service {{ {' '.join(f'<{iri}>' for iri in among)} }}"] if among else []
    body += ["  ?service a mlc:NotebookService ;", "           schema:name ?name ."]
    if plan_patterns:
        body += ["  ?service mlc:offersPlan ?plan .", "  ?plan mlc:providesRuntime ?runtime ."]
    body += [f"  {p}" for p in patterns]
    order = "\nORDER BY ?name" if ordered else ""
    return sparql_prologue() + "SELECT DISTINCT ?service ?name\nWHERE {\n" + "\n".join(body) + "\n}" + order


def find(kg: KnowledgeGraph, requirements: Requirements, page: Page | None = None) -> FinderResult:
    """The services that meet every requirement, and for each other service the requirements it does not meet: the
    `page` of each list (by default the first DEFAULT_PAGE_SIZE)."""
    page = page or Page()
    query = finder_query(requirements)
    matching = {row["service"] for row in kg.query(finder_query(requirements, ordered=False))}
    in_order = [Candidate(service, name) for service, name in kg.services()]
    matches = [c for c in in_order if c.service in matching]
    others = [c for c in in_order if c.service not in matching]
    shown_matches = matches[page.offset : page.offset + page.limit]
    shown_others = others[page.others_offset : page.others_offset + page.limit]
    _explain_failures(kg, requirements, shown_others)
    freshness = kg.freshness(c.service for c in [*shown_matches, *shown_others])
    return FinderResult(requirements, query, shown_matches, shown_others, len(matches), len(others), page, freshness)


def _explain_failures(kg: KnowledgeGraph, requirements: Requirements, others: list[Candidate]) -> None:
    """Fill in the requirements each of `others` fails: one query per requirement, asked of these services only."""
    if not others:
        return
    among = [c.service for c in others]
    for pattern, words in _checks(requirements):
        check = finder_query(requirements, [(pattern, words)], among, ordered=False)
        meeting = {row["service"] for row in kg.query(check)}
        for candidate in others:
            if candidate.service not in meeting:
                candidate.failed.append(words)
    for candidate in others:
        candidate.failed = candidate.failed or ["no single plan meets all of them together"]
