"""The finder: requirements in, the matching services out, and for every other service the requirements it fails.

Requirements about a plan (free, private notebooks, GPU memory, session length, persistent storage, price) must all
hold on the same plan: a public free GPU plan and a private paid CPU plan do not make "a free private GPU". The
query the finder runs is returned too, so users can see it and take it to the query page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from mlcloudkg.api import KnowledgeGraph
from mlcloudkg.namespaces import sparql_prologue

TRUE_VALUES = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Requirements:
    """What a user needs. Unset fields are not required."""

    free: bool = False  # on the free tier
    gpu: bool = False  # a GPU
    min_gpu_memory_gb: Decimal | None = None  # a GPU with at least this much memory per device (implies gpu)
    tensor_cores: bool = False  # a GPU with tensor cores (implies gpu)
    private_notebooks: bool = False
    min_session_hours: Decimal | None = None
    persistent_storage: bool = False  # the runtime's own storage keeps files between sessions
    max_price_per_gpu_hour: Decimal | None = None  # paid by the hour, at most this much (USD); free counts as 0
    gpu_choice: bool = False  # the user picks the GPU
    cli: bool = False
    mlops: bool = False  # model repository, deployment and metrics logging
    experiment_tracking: bool = False

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
        """From form fields or query parameters; raises ValueError naming the field that is wrong."""
        given: dict[str, Any] = {}
        known = {f.name: f for f in fields(cls)}
        for name, raw in values.items():
            if name not in known:
                raise ValueError(f"unknown requirement {name!r}; accepted: {', '.join(known)}")
            if raw in ("", None):
                continue
            if "Decimal" in str(known[name].type):
                try:
                    number = Decimal(raw)
                except ArithmeticError:
                    raise ValueError(f"{name}={raw!r} is not a number") from None
                if not number.is_finite() or number < 0 or number > 10**6:
                    raise ValueError(f"{name}={raw!r} is not a number between 0 and 1000000")
                given[name] = number
            else:
                given[name] = str(raw).lower() in TRUE_VALUES
        return cls(**given)

    def described(self) -> list[str]:
        """Each requirement in words, in the order the finder checks them."""
        return [words for _, words in _checks(self)]


@dataclass
class Candidate:
    service: str
    name: str
    failed: list[str] = field(default_factory=list)


@dataclass
class FinderResult:
    requirements: Requirements
    query: str
    matches: list[Candidate]
    others: list[Candidate]


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
                f"FILTER(COALESCE(?sessionMax, ?sessionValue) / ?perHour >= {r.min_session_hours})",
                f"sessions of at least {r.min_session_hours} hours",
            )
        )
    if r.persistent_storage:
        checks.append(("?runtime mlc:storagePersistent true .", "persistent storage"))
    if r.max_price_per_gpu_hour is not None:
        checks.append(
            (
                "{ ?plan mlc:pricingModel mlc:FreeTier } UNION "
                "{ ?plan schema:priceSpecification/schema:priceComponent? ?hourly . "
                '?hourly a mlc:HourlyPrice ; schema:price ?amount ; schema:priceCurrency "USD" . '
                "OPTIONAL { ?hourly schema:referenceQuantity/schema:value ?hours } "
                f"FILTER(?amount / COALESCE(?hours, 1) <= {r.max_price_per_gpu_hour}) }}",
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


def finder_query(requirements: Requirements, checks: list[tuple[str, str]] | None = None) -> str:
    """The SELECT that lists the services meeting `checks` (by default: all the requirements) on one plan."""
    checks = _checks(requirements) if checks is None else checks
    patterns = [pattern for pattern, _ in checks]
    plan_patterns = [p for p in patterns if _plan_level(p)]
    body = ["  ?service a mlc:NotebookService ;", "           schema:name ?name ."]
    if plan_patterns:
        body += ["  ?service mlc:offersPlan ?plan .", "  ?plan mlc:providesRuntime ?runtime ."]
    body += [f"  {p}" for p in patterns]
    return sparql_prologue() + "SELECT DISTINCT ?service ?name\nWHERE {\n" + "\n".join(body) + "\n}\nORDER BY ?name"


def find(kg: KnowledgeGraph, requirements: Requirements) -> FinderResult:
    """The services that meet every requirement, and for each other service the requirements it does not meet."""
    query = finder_query(requirements)
    everyone = {row["service"]: row["name"] for row in kg.query(finder_query(requirements, []))}
    matching = {row["service"] for row in kg.query(query)}
    checks = _checks(requirements)
    meets = {
        words: {row["service"] for row in kg.query(finder_query(requirements, [(pattern, words)]))}
        for pattern, words in checks
    }
    matches, others = [], []
    for service, name in sorted(everyone.items(), key=lambda item: item[1].lower()):
        candidate = Candidate(service, name)
        if service in matching:
            matches.append(candidate)
            continue
        candidate.failed = [words for _, words in checks if service not in meets[words]]
        if not candidate.failed:
            candidate.failed = ["no single plan meets all of them together"]
        others.append(candidate)
    return FinderResult(requirements, query, matches, others)
