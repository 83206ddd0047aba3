"""What a query may do here: read our graphs, nothing else.

Checks the text before the engine sees it: size, encoding, nesting, query form, no update, no SERVICE, no FROM /
FROM NAMED outside our graphs. It works on tokens, so neither strings, comments nor IRIs hide a keyword, and it
reads the text both as the engine does and as the SPARQL spec does (\\u escapes replaced everywhere first, see
sparql_text): a query is refused if either reading shows what is not allowed. One reading alone can be fooled:
with escapes replaced first, `BIND("\\u0022" AS ?x) SERVICE <...> {...}` and a comment holding three quotes reads
as one long string hiding SERVICE, while the engine runs the SERVICE; and `\\u0053ERVICE` is SERVICE only if
escapes are replaced first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

from mlcloudkg.errors import QueryRejected
from mlcloudkg.sparql_text import Kind, Token, tokens, unescape_codepoints

QUERY_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
UPDATE_KEYWORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
READ_ONLY = "SELECT, ASK, CONSTRUCT or DESCRIBE queries: this endpoint is read-only"


@dataclass(frozen=True)
class Limits:
    max_query_bytes: int = 100_000
    max_nesting: int = 64


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed the guard: its text, form and the graphs its FROM / FROM NAMED clauses name."""

    text: str
    form: str
    from_graphs: tuple[str, ...]
    from_named_graphs: tuple[str, ...]


def check_query(raw: bytes | str, known_graphs: frozenset[str], limits: Limits) -> CheckedQuery:
    """The query, if it is one this endpoint runs; raises QueryRejected saying why not."""
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > limits.max_query_bytes:
        raise QueryRejected(
            f"the query is {size:,} bytes long",
            f"queries up to {limits.max_query_bytes:,} bytes",
            status=413,
            title="Query Too Large",
        )
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise QueryRejected(f"the query is not UTF-8 (byte {error.start})", "UTF-8 text") from None
    if not raw.strip():
        raise QueryRejected("the query is empty", "a SPARQL 1.1 query, e.g. SELECT * WHERE { ?s ?p ?o } LIMIT 10")
    as_engine_reads = _without_comments(raw)
    as_spec = unescape_codepoints(raw)
    # Without \u escapes both readings are the same tokens: read and checked once (most of the guard's time).
    readings = [as_engine_reads] if as_spec == raw else [as_engine_reads, _without_comments(as_spec)]
    keywords = [{t.word for t in found if t.kind is Kind.KEYWORD} for found in readings]
    for found, words in zip(readings, keywords, strict=True):
        _check_nesting(found, limits.max_nesting)
        _refuse_writes_and_service(words)
    form = next((t.word for t in as_engine_reads if t.kind is Kind.KEYWORD and t.word in QUERY_FORMS), None)
    if form is None:
        raise QueryRejected("this is not a SPARQL query", READ_ONLY)
    # Most queries have no FROM: their dataset clauses need no second walk through the tokens.
    clauses = [
        _dataset_clauses(found) if "FROM" in words else ([], [])
        for found, words in zip(readings, keywords, strict=True)
    ]
    foreign = [iri for graphs, named in clauses for iri in (*graphs, *named) if iri not in known_graphs]
    if foreign:
        raise QueryRejected(
            f"FROM <{foreign[0]}> names a graph this endpoint does not have",
            "FROM / FROM NAMED with graphs listed by the service description (GET /sparql), "
            "e.g. https://w3id.org/mlcloudkg/graph/asserted",
            status=403,
            title="Forbidden",
        )
    from_graphs, from_named = clauses[0]
    return CheckedQuery(raw, form, tuple(from_graphs), tuple(from_named))


def _without_comments(text: str) -> list[Token]:
    return [t for t in tokens(text) if t.kind is not Kind.COMMENT]


def _refuse_writes_and_service(keywords: set[str]) -> None:
    updates = sorted(keywords & UPDATE_KEYWORDS)
    if updates:
        raise QueryRejected(f"SPARQL Update ({updates[0]}) is not accepted", READ_ONLY, status=403, title="Forbidden")
    if "SERVICE" in keywords:
        raise QueryRejected(
            "SERVICE (federated query) is not allowed: this endpoint never makes outbound requests",
            "queries over this endpoint's own graphs",
            status=403,
            title="Forbidden",
        )


def _check_nesting(found: list[Token], limit: int) -> None:
    """Refuse deep nesting: the engine's parser recurses on it, and a deep enough query overflows its stack. Brackets
    nest, and so does a chain of `!` (each negates the next), which needs no brackets at all."""
    depth = 0
    negations = 0
    for token in found:
        negations = negations + 1 if token.kind is Kind.PUNCTUATION and token.text == "!" else 0
        if negations > limit:
            raise QueryRejected(f"the query chains more than {limit} ! (negations)", f"at most {limit} in a row")
        if token.kind is Kind.PUNCTUATION and token.text in "{([":
            depth += 1
            if depth > limit:
                raise QueryRejected(
                    f"the query nests brackets more than {limit} deep", f"at most {limit} levels of {{ }}, ( ) and [ ]"
                )
        elif token.kind is Kind.PUNCTUATION and token.text in "})]":
            depth -= 1


def _dataset_clauses(found: list[Token]) -> tuple[list[str], list[str]]:
    """The IRIs of FROM and FROM NAMED, resolved as the parser would: prefixed names by PREFIX, relative IRIs
    by BASE (a relative IRI with no BASE stays relative and so names no graph of ours)."""
    base = ""
    prefixes: dict[str, str] = {}
    from_graphs: list[str] = []
    from_named: list[str] = []
    index = 0
    while index < len(found):
        token = found[index]
        following = found[index + 1] if index + 1 < len(found) else None
        if token.kind is Kind.KEYWORD and token.word == "BASE" and following and following.kind is Kind.IRI:
            base = urljoin(base, _iri_text(following))
        elif token.kind is Kind.KEYWORD and token.word == "PREFIX" and index + 2 < len(found):
            name, iri = found[index + 1], found[index + 2]
            if name.kind is Kind.PREFIXED_NAME and iri.kind is Kind.IRI:
                prefixes[name.text.rstrip(":")] = urljoin(base, _iri_text(iri))
        elif token.kind is Kind.KEYWORD and token.word == "FROM" and following:
            named = following.kind is Kind.KEYWORD and following.word == "NAMED"
            target = found[index + 2] if named and index + 2 < len(found) else following
            (from_named if named else from_graphs).append(_resolve(target, base, prefixes))
        index += 1
    return from_graphs, from_named


def _resolve(token: Token, base: str, prefixes: dict[str, str]) -> str:
    if token.kind is Kind.IRI:
        return urljoin(base, _iri_text(token)) if base else _iri_text(token)
    if token.kind is Kind.PREFIXED_NAME:
        prefix, _, local = token.text.partition(":")
        return prefixes.get(prefix, f"{prefix}:") + re.sub(r"\\(.)", r"\1", local)
    return token.text


def _iri_text(token: Token) -> str:
    """The IRI between the brackets, with its \\u escapes decoded as the engine decodes them."""
    return unescape_codepoints(token.text[1:-1])
