"""Named queries: the .rq files of queries/, each a documented, parameterised question.

A file starts with a header of comment lines:

    # title: Free GPUs per service
    # description: What the query lists (may continue on lines indented after the '#').
    # answers: The question it answers, in a user's words.
    # param: min_gpu_memory_gb decimal -- Only GPUs with at least this much memory, in GB.
    # param: currency string = USD in USD|SGD -- Prices in this currency.
    # param: subject iri required -- The resource to trace.

A parameter is a variable of the query. Its value is bound as a typed RDF term through an inline VALUES block at
the top of the WHERE clause (so FILTERs see it); a parameter left out stays unbound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox

from mlcloudkg.errors import InvalidParameter, MlcloudkgError
from mlcloudkg.sparql_text import top_level_where_brace

XSD = "http://www.w3.org/2001/XMLSchema#"
PARAMETER_TYPES = ("string", "integer", "decimal", "boolean", "date", "iri")
# `format` chooses the output format wherever a query runs (the API's ?format=, the CLI's --format).
RESERVED_NAMES = frozenset({"format"})
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_KINDS = {
    "string": "text",
    "integer": "a whole number, e.g. 6",
    "decimal": "a number, e.g. 16 or 2.5",
    "boolean": "true or false",
    "date": "a date as YYYY-MM-DD",
    "iri": "an absolute IRI, e.g. https://w3id.org/mlcloudkg/id/google-colab",
}

# The xsd:integer and xsd:decimal lexical forms (no exponents), of a sensible length.
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")
_DECIMAL = re.compile(r"^[+-]?(?:\d{1,18}(?:\.\d{0,18})?|\.\d{1,18})$")
_HEADER = re.compile(r"^#\s*(?P<key>title|description|answers|param)\s*:\s*(?P<value>.*)$")
_CONTINUATION = re.compile(r"^#\s{2,}(?P<value>\S.*)$")
_PARAM = re.compile(
    r"^(?P<name>[a-z_][a-z0-9_]*)\s+(?P<type>[a-z]+)"
    r"(?:\s*=\s*(?P<default>\S+))?"
    r"(?:\s+in\s+(?P<choices>\S+))?"
    r"(?P<required>\s+required)?"
    r"\s+--\s+(?P<description>.+)$"
)


class QueryFileError(MlcloudkgError):
    """A query file is malformed: names the file and line, what is wrong and what is accepted."""

    exit_code = 2

    def __init__(self, path: Path, line: int | None, problem: str, accepted: str = "") -> None:
        self.path, self.line, self.problem, self.accepted = path, line, problem, accepted
        super().__init__(self.located(str(path)))

    def located(self, where: str) -> str:
        """The message with the file shown as `where` (the web shows file names only, never server paths)."""
        position = f"{where}:{self.line}" if self.line else where
        return f"{position} — {self.problem}" + (f" — accepted: {self.accepted}" if self.accepted else "")


class MalformedQueries(MlcloudkgError):
    """`mlcloudkg validate`: some query files are malformed (the service leaves them out and serves the others)."""

    exit_code = 2

    def __init__(self, problems: list[QueryFileError]) -> None:
        self.problems = problems
        listed = "\n".join(str(problem) for problem in problems)
        super().__init__(f"{len(problems)} malformed query file(s):\n{listed}")


class ParameterError(InvalidParameter):
    """A parameter value is missing, unknown or of the wrong type."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    description: str
    default: str | None = None
    choices: tuple[str, ...] = ()
    required: bool = False

    @property
    def kind(self) -> str:
        """What a value of the parameter's type looks like."""
        return _KINDS[self.type]

    @property
    def accepted(self) -> str:
        return "one of " + ", ".join(self.choices) if self.choices else self.kind

    def to_term(self, raw: str) -> ox.NamedNode | ox.Literal:
        """The typed RDF term for a value given as text; raises ParameterError if it is not one (or not one of the
        allowed values, compared as terms: 0.50 is the allowed 0.5)."""
        term = self._typed(raw)
        if self.choices and term not in {self._typed(choice) for choice in self.choices}:
            raise ParameterError(self.name, f"{raw!r} is not an allowed value", self.accepted)
        return term

    def _typed(self, raw: str) -> ox.NamedNode | ox.Literal:
        try:
            if self.type == "iri":
                if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|^`\\]*$", raw):
                    raise ValueError
                return ox.NamedNode(raw)
            if self.type == "integer":
                if not _INTEGER.match(raw):
                    raise ValueError
                return ox.Literal(str(int(raw)), datatype=ox.NamedNode(XSD + "integer"))
            if self.type == "decimal":
                if not _DECIMAL.match(raw):
                    raise ValueError
                # The canonical form (16.50 -> 16.5), so that equal values are equal terms.
                return ox.Literal(format(Decimal(raw).normalize(), "f"), datatype=ox.NamedNode(XSD + "decimal"))
            if self.type == "boolean":
                if raw.lower() not in {"true", "false", "1", "0"}:
                    raise ValueError
                return ox.Literal(
                    "true" if raw.lower() in {"true", "1"} else "false",
                    datatype=ox.NamedNode(XSD + "boolean"),
                )
            if self.type == "date":
                return ox.Literal(date.fromisoformat(raw).isoformat(), datatype=ox.NamedNode(XSD + "date"))
            return ox.Literal(raw)
        except (ValueError, InvalidOperation):
            raise ParameterError(self.name, f"{raw!r} is not {self.kind.split(',')[0]}", self.accepted) from None


@dataclass(frozen=True)
class NamedQuery:
    name: str
    path: Path
    title: str
    description: str
    answers: str
    text: str
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)
    where_offset: int = 0
    form: str = "SELECT"  # SELECT, ASK or CONSTRUCT (CONSTRUCT and DESCRIBE alike: the answer is a graph)
    variables: tuple[str, ...] = ()  # a SELECT's variables, in order

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def bind(self, values: dict[str, str]) -> str:
        """The query text with `values` (parameter name -> text) bound; raises ParameterError for bad values."""
        unknown = sorted(set(values) - {p.name for p in self.parameters})
        if unknown:
            names = ", ".join(p.name for p in self.parameters) or "none"
            raise ParameterError(unknown[0], "is not a parameter of this query", f"parameters: {names}")
        bindings: dict[str, ox.NamedNode | ox.Literal] = {}
        for parameter in self.parameters:
            raw = values.get(parameter.name, parameter.default)
            if raw is None or raw == "":
                if parameter.required:
                    raise ParameterError(parameter.name, "is required", parameter.accepted)
                continue
            bindings[parameter.name] = parameter.to_term(raw)
        return bind_values(self.text, self.where_offset, bindings)


def bind_values(text: str, where_offset: int, bindings: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """Insert `VALUES (?a ?b) { (term term) }` right after the opening brace of the WHERE clause.

    The terms are serialised by the RDF library (N-Triples syntax), never spliced from user text."""
    if not bindings:
        return text
    names = " ".join(f"?{name}" for name in bindings)
    terms = " ".join(str(term) for term in bindings.values())
    return f"{text[:where_offset]}\n  VALUES ({names}) {{ ({terms}) }}\n{text[where_offset:]}"


def load_catalog(directory: Path) -> tuple[dict[str, NamedQuery], list[QueryFileError]]:
    """Every well-formed query in `directory`, and one error per malformed file (which is left out)."""
    queries: dict[str, NamedQuery] = {}
    problems: list[QueryFileError] = []
    for path in sorted(directory.glob("*.rq")):
        try:
            query = parse_query_file(path)
        except QueryFileError as error:
            problems.append(error)
            continue
        queries[query.name] = query
    return queries, problems


def parse_query_file(path: Path) -> NamedQuery:
    """The named query of one file; raises QueryFileError with the file, the line and what is accepted."""
    if not _NAME.match(path.stem):
        raise QueryFileError(
            path, None, f"{path.name!r} is not a usable query name", "file names of lower-case letters, digits and -"
        )
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    parameters: dict[str, tuple[Parameter, int]] = {}
    last_key: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            break
        continued = _CONTINUATION.match(line)
        if continued and last_key == "param":
            _, (parameter, at) = parameters.popitem()  # the last one declared: its description goes on
            more = continued.group("value").strip()
            parameters[parameter.name] = (replace(parameter, description=f"{parameter.description} {more}"), at)
            continue
        if continued and last_key:
            header[last_key] += " " + continued.group("value").strip()
            continue
        match = _HEADER.match(line)
        if not match:
            last_key = None
            continue
        key, value = match.group("key"), match.group("value").strip()
        last_key = key
        if key == "param":
            parameter = _parse_parameter(path, number, value)
            if parameter.name in parameters:
                raise QueryFileError(path, number, f"parameter {parameter.name!r} is declared twice", "one line each")
            parameters[parameter.name] = (parameter, number)
        else:
            header[key] = value
    for key in ("title", "description"):
        if not header.get(key):
            raise QueryFileError(
                path,
                1,
                f"the header has no '# {key}:' line",
                "a header starting '# title: ...' and '# description: ...' (see the README's \"Named queries\")",
            )
    try:
        # Parses; evaluation is lazy, so this costs nothing on an empty store. Gives the form and the variables.
        shape = ox.Store().query(text)
    except SyntaxError as error:
        position = re.search(r"(\d+):(\d+)", str(error))
        line_number = int(position.group(1)) if position else None
        raise QueryFileError(path, line_number, f"SPARQL syntax error: {error}", "a SPARQL 1.1 query") from None
    where = top_level_where_brace(text)
    for parameter, number in parameters.values():
        if where is None:
            raise QueryFileError(
                path, number, "a query with parameters needs a WHERE { ... } clause to bind them in", "WHERE { ... }"
            )
        if not re.search(rf"[?$]{parameter.name}\b", text):
            raise QueryFileError(
                path,
                number,
                f"parameter {parameter.name!r} is not a variable of the query",
                "a '# param:' line for each ?variable the query leaves open",
            )
    return NamedQuery(
        path.stem,
        path,
        header["title"],
        header["description"],
        header.get("answers", ""),
        text,
        tuple(parameter for parameter, _ in parameters.values()),
        where or 0,
        _form(shape),
        tuple(v.value for v in shape.variables) if isinstance(shape, ox.QuerySolutions) else (),
    )


def _form(shape: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples) -> str:
    if isinstance(shape, ox.QuerySolutions):
        return "SELECT"
    if isinstance(shape, ox.QueryBoolean):
        return "ASK"
    return "CONSTRUCT"  # or DESCRIBE: both answer with a graph


def _parse_parameter(path: Path, line: int, value: str) -> Parameter:
    match = _PARAM.match(value)
    if not match:
        raise QueryFileError(
            path,
            line,
            f"the parameter line {value!r} is malformed",
            "'# param: <name> <type> [= <default>] [in <a>|<b>] [required] -- <description>'",
        )
    kind = match.group("type")
    if kind not in PARAMETER_TYPES:
        raise QueryFileError(path, line, f"unknown parameter type {kind!r}", ", ".join(PARAMETER_TYPES))
    if match.group("name") in RESERVED_NAMES:
        raise QueryFileError(
            path,
            line,
            f"{match.group('name')!r} is reserved (it chooses the output format)",
            "another parameter name (and the same name for the query variable)",
        )
    parameter = Parameter(
        name=match.group("name"),
        type=kind,
        description=match.group("description").strip(),
        default=match.group("default"),
        choices=tuple(match.group("choices").split("|")) if match.group("choices") else (),
        required=bool(match.group("required")),
    )
    for choice in parameter.choices:
        try:
            replace(parameter, choices=()).to_term(choice)
        except ParameterError as error:
            raise QueryFileError(path, line, f"an allowed value of {parameter.name!r}: {error}") from None
    if parameter.default is not None:
        try:
            parameter.to_term(parameter.default)
        except ParameterError as error:
            raise QueryFileError(path, line, f"the default of {parameter.name!r}: {error}") from None
    return parameter
