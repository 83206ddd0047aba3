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
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox

from mlcloudkg.errors import MlcloudkgError
from mlcloudkg.sparql_text import top_level_where_brace

XSD = "http://www.w3.org/2001/XMLSchema#"
PARAMETER_TYPES = ("string", "integer", "decimal", "boolean", "date", "iri")

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
    """A query file is malformed; names the file and line."""

    exit_code = 2


class ParameterError(MlcloudkgError):
    """A parameter value is missing, unknown or of the wrong type."""

    exit_code = 2

    def __init__(self, parameter: str, problem: str, accepted: str) -> None:
        self.parameter, self.problem, self.accepted = parameter, problem, accepted
        super().__init__(f"parameter {parameter!r}: {problem} — accepted: {accepted}")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    description: str
    default: str | None = None
    choices: tuple[str, ...] = ()
    required: bool = False

    @property
    def accepted(self) -> str:
        kinds = {
            "string": "text",
            "integer": "a whole number, e.g. 6",
            "decimal": "a number, e.g. 16 or 2.5",
            "boolean": "true or false",
            "date": "a date as YYYY-MM-DD",
            "iri": "an absolute IRI, e.g. https://w3id.org/mlcloudkg/id/google-colab",
        }
        text = kinds[self.type]
        if self.choices:
            text = "one of " + ", ".join(self.choices)
        return text

    def to_term(self, raw: str) -> ox.NamedNode | ox.Literal:
        """The typed RDF term for a value given as text; raises ParameterError if it is not one."""
        if self.choices and raw not in self.choices:
            raise ParameterError(self.name, f"{raw!r} is not an allowed value", self.accepted)
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
                return ox.Literal(format(Decimal(raw), "f"), datatype=ox.NamedNode(XSD + "decimal"))
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
            raise ParameterError(self.name, f"{raw!r} is not {self.accepted.split(',')[0]}", self.accepted) from None


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
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    parameters: list[Parameter] = []
    last_key: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            break
        continued = _CONTINUATION.match(line)
        if continued and last_key and last_key != "param":
            header[last_key] += " " + continued.group("value").strip()
            continue
        match = _HEADER.match(line)
        if not match:
            last_key = None
            continue
        key, value = match.group("key"), match.group("value").strip()
        last_key = key
        if key == "param":
            parameters.append(_parse_parameter(path, number, value))
        else:
            header[key] = value
    for key in ("title", "description"):
        if not header.get(key):
            raise QueryFileError(
                f"{path}:1 — the header has no '# {key}:' line — accepted: a header starting "
                "'# title: ...' and '# description: ...' (see queries/README.md)"
            )
    try:
        ox.Store().query(text)  # parses; evaluation is lazy, so this costs nothing on an empty store
    except SyntaxError as error:
        position = re.search(r"(\d+):(\d+)", str(error))
        where = f"{path}:{position.group(1)}" if position else str(path)
        raise QueryFileError(f"{where} — SPARQL syntax error: {error} — accepted: a SPARQL 1.1 query") from None
    where = top_level_where_brace(text)
    if parameters and where is None:
        raise QueryFileError(f"{path} — a query with parameters needs a WHERE {{ ... }} clause to bind them in")
    names = {p.name for p in parameters}
    for parameter in parameters:
        if not re.search(rf"[?$]{parameter.name}\b", text):
            raise QueryFileError(
                f"{path} — parameter {parameter.name!r} is not a variable of the query — "
                f"accepted: a '# param:' line for each ?variable the query leaves open"
            )
    if len(names) != len(parameters):
        raise QueryFileError(f"{path} — a parameter is declared twice")
    return NamedQuery(
        path.stem,
        path,
        header["title"],
        header["description"],
        header.get("answers", ""),
        text,
        tuple(parameters),
        where or 0,
    )


def _parse_parameter(path: Path, line: int, value: str) -> Parameter:
    match = _PARAM.match(value)
    if not match:
        raise QueryFileError(
            f"{path}:{line} — the parameter line {value!r} is malformed — accepted: "
            "'# param: <name> <type> [= <default>] [in <a>|<b>] [required] -- <description>'"
        )
    kind = match.group("type")
    if kind not in PARAMETER_TYPES:
        raise QueryFileError(
            f"{path}:{line} — unknown parameter type {kind!r} — accepted: " + ", ".join(PARAMETER_TYPES)
        )
    parameter = Parameter(
        name=match.group("name"),
        type=kind,
        description=match.group("description").strip(),
        default=match.group("default"),
        choices=tuple(match.group("choices").split("|")) if match.group("choices") else (),
        required=bool(match.group("required")),
    )
    if parameter.default is not None:
        try:
            parameter.to_term(parameter.default)
        except ParameterError as error:
            raise QueryFileError(f"{path}:{line} — the default of {parameter.name!r}: {error}") from None
    return parameter
