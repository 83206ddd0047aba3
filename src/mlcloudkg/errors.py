"""Errors a user can act on. Each says what was wrong, where, and what is accepted.

They are turned into exit codes in `cli` and into HTTP responses in `web.errors`, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class MlcloudkgError(Exception):
    """Base class of the errors we report to users instead of a traceback."""

    exit_code = 1


class ConfigurationError(MlcloudkgError):
    """A setting (flag or MLCLOUDKG_* variable) has a value we cannot use."""

    exit_code = 2


class SourceSyntaxError(MlcloudkgError):
    """An ontology or data file is not valid Turtle/TriG."""

    exit_code = 2

    def __init__(self, path: Path, line: int | None, column: int | None, message: str) -> None:
        self.path, self.line, self.column = path, line, column
        where = f"{path}:{line}" + (f":{column}" if column else "") if line else str(path)
        super().__init__(
            f"{where} — syntax error — {message} — accepted: Turtle (ontology/*.ttl) or TriG (data/*.trig), "
            "see https://www.w3.org/TR/trig/"
        )


@dataclass(frozen=True)
class Violation:
    """One way in which the data breaks a rule: shown as file:line — resource — property — problem — accepted."""

    path: str | None
    line: int | None
    resource: str
    property: str | None
    problem: str
    accepted: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.path and self.line else (self.path or "(no file)")
        return " — ".join([where, self.resource, self.property or "-", self.problem, f"accepted: {self.accepted}"])


class ValidationFailed(MlcloudkgError):
    """The data does not pass validation; nothing is built or served from it."""

    exit_code = 3

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        lines = "\n".join(str(v) for v in violations)
        super().__init__(f"{len(violations)} violation(s):\n{lines}")


class InvalidParameter(MlcloudkgError):
    """A named input (a query parameter, a finder requirement, a rule threshold) that is unknown, missing or has a
    value of the wrong kind. Over HTTP: 400, naming the parameter."""

    exit_code = 2
    kind = "parameter"

    def __init__(self, parameter: str, problem: str, accepted: str) -> None:
        self.parameter, self.problem, self.accepted = parameter, problem, accepted
        super().__init__(f"{self.kind} {parameter!r}: {problem} — accepted: {accepted}")


class BuildNotFound(MlcloudkgError):
    """The service or a command needs a built dataset and there is none."""

    exit_code = 4


class NotPublished(MlcloudkgError):
    """A store to serve from holds no dataset `mlcloudkg publish` wrote, or not all of one."""

    exit_code = 4


class PublishFailed(MlcloudkgError):
    """A store refused the dataset, or could not be reached, while publishing."""

    exit_code = 5

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status  # the store's HTTP status, when it answered
        super().__init__(message)


class RequestError(MlcloudkgError):
    """A request the service refuses or cannot answer: its HTTP status, what was wrong and what is accepted."""

    status = 400
    title = "Bad Request"

    def __init__(
        self, problem: str, accepted: str = "", *, status: int | None = None, title: str | None = None
    ) -> None:
        self.problem, self.accepted = problem, accepted
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        super().__init__(problem + (f" — accepted: {accepted}" if accepted else ""))


class QueryRejected(RequestError):
    """The query is not one this read-only endpoint runs (an update, SERVICE, a foreign graph, too big...)."""

    exit_code = 2


class NotAcceptable(RequestError):
    status = 406
    title = "Not Acceptable"


class QueryTimeout(RequestError):
    status = 503
    title = "Query Timeout"
    exit_code = 5


class ResultTooLarge(RequestError):
    status = 422
    title = "Result Too Large"
    exit_code = 2


class QueryOutOfMemory(RequestError):
    """The query needed more memory than a query may use; repeating it will not help, so not a 503."""

    status = 422
    title = "Query Needs Too Much Memory"


class EngineBusy(RequestError):
    status = 503
    title = "Busy"


class EvaluationFailed(RequestError):
    status = 500
    title = "Evaluation Failed"


class StoreUnavailable(RequestError):
    """A remote SPARQL store could not be reached, or answered with an error that is not about the query."""

    status = 502
    title = "Bad Gateway"
    exit_code = 5


class StoreTimeout(RequestError):
    """A remote SPARQL store did not answer in time."""

    status = 504
    title = "Gateway Timeout"
    exit_code = 5
