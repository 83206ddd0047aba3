"""Lexical view of SPARQL text: tokens with their positions.

The query engine parses queries; we only need to see which keywords, IRIs and braces a query contains (to refuse
SERVICE or a FROM outside our graphs, and to place parameter bindings), without being fooled by strings, comments,
IRIs or \\u escapes. Two readings of an escape exist, and a guard must look at both:
- SPARQL 1.1 §19.2 replaces \\uXXXX and \\UXXXXXXXX escapes *before* parsing, anywhere in the text, so
  `\\u0053ERVICE` is the keyword SERVICE: `unescape_codepoints` gives that reading;
- our engine (Oxigraph) decodes them only inside strings and IRIs, so `"\\u0022"` is a string holding a quote, not
  the start of a long string: `tokens` of the raw text gives that reading (an IRI may contain escapes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum
from typing import NamedTuple

_CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


class Kind(Enum):
    IRI = "iri"
    PREFIXED_NAME = "prefixed name"
    VARIABLE = "variable"
    STRING = "string"
    NUMBER = "number"
    KEYWORD = "keyword"  # any bare word: SELECT, WHERE, a, true, function names...
    PUNCTUATION = "punctuation"
    COMMENT = "comment"


class Token(NamedTuple):
    # A tuple, not a frozen dataclass: the guard makes hundreds per query, and a tuple is built three times faster.
    kind: Kind
    text: str
    start: int
    end: int

    @property
    def word(self) -> str:
        """Upper-cased text, for case-insensitive keyword comparison."""
        return self.text.upper()


_PN_CHARS_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_PN_CHARS = _PN_CHARS_BASE + r"_\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PN_PREFIX = rf"[{_PN_CHARS_BASE}](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_PN_LOCAL = rf"(?:[{_PN_CHARS_BASE}_:0-9]|{_PLX})(?:(?:[{_PN_CHARS}.:]|{_PLX})*(?:[{_PN_CHARS}:]|{_PLX}))?"

_LEXER = re.compile(
    "|".join(
        [
            r"(?P<comment>#[^\n\r]*)",
            r"(?P<space>\s+)",
            r'(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
            r'|"(?:[^"\\\n\r]|\\.)*"|\'(?:[^\'\\\n\r]|\\.)*\')',
            r'(?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)',
            rf"(?P<pname>(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?)",
            rf"(?P<var>[?$][{_PN_CHARS_BASE}_0-9][{_PN_CHARS_BASE}_0-9\u00b7\u0300-\u036f\u203f-\u2040]*)",
            r"(?P<number>[+-]?(?:\d+\.\d*(?:[eE][+-]?\d+)?|\.?\d+(?:[eE][+-]?\d+)?))",
            rf"(?P<word>[{_PN_CHARS_BASE}_][{_PN_CHARS}]*)",
            r"(?P<punct>\^\^|&&|\|\||!=|<=|>=|[{}()\[\];,.*/+\-=<>!|^@?])",
            r"(?P<other>.)",
        ]
    ),
    re.DOTALL,
)

_KINDS = {
    "comment": Kind.COMMENT,
    "string": Kind.STRING,
    "iri": Kind.IRI,
    "pname": Kind.PREFIXED_NAME,
    "var": Kind.VARIABLE,
    "number": Kind.NUMBER,
    "word": Kind.KEYWORD,
    "punct": Kind.PUNCTUATION,
    "other": Kind.PUNCTUATION,
}


def unescape_codepoints(text: str) -> str:
    """Apply SPARQL's \\u / \\U escapes to the whole text, as a SPARQL parser does before tokenising."""

    def replace(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)

    return _CODEPOINT_ESCAPE.sub(replace, text)


def tokens(text: str) -> Iterator[Token]:
    """The tokens of `text` (already unescaped), comments included, whitespace left out."""
    for match in _LEXER.finditer(text):
        group = match.lastgroup
        if group == "space" or group is None:
            continue
        yield Token(_KINDS[group], match.group(), match.start(), match.end())


def top_level_where_brace(text: str) -> int | None:
    """The offset just after the `{` that opens the outermost WHERE clause of a query, if it has one."""
    depth = 0
    seen_where = False
    for token in tokens(text):
        if token.kind is Kind.KEYWORD and token.word == "WHERE" and depth == 0:
            seen_where = True
        elif token.kind is Kind.PUNCTUATION and token.text == "{":
            if depth == 0 and seen_where:
                return token.end
            depth += 1
        elif token.kind is Kind.PUNCTUATION and token.text == "}":
            depth -= 1
    return None


def where_clause_span(text: str) -> tuple[int, int] | None:
    """Offsets of the content of the outermost WHERE { ... } (between its braces)."""
    start = top_level_where_brace(text)
    if start is None:
        return None
    depth = 1
    for token in tokens(text[start:]):
        if token.kind is Kind.PUNCTUATION and token.text == "{":
            depth += 1
        elif token.kind is Kind.PUNCTUATION and token.text == "}":
            depth -= 1
            if depth == 0:
                return start, start + token.start
    return None


def top_level_filter_spans(group: str) -> list[tuple[int, int]]:
    """Offsets of the FILTER and MINUS clauses written directly in a group pattern (not nested in braces)."""
    spans: list[tuple[int, int]] = []
    found = list(tokens(group))
    depth = 0
    index = 0
    while index < len(found):
        token = found[index]
        if token.kind is Kind.PUNCTUATION and token.text in "{(":
            depth += 1
        elif token.kind is Kind.PUNCTUATION and token.text in "})":
            depth -= 1
        elif token.kind is Kind.KEYWORD and token.word in {"FILTER", "MINUS"} and depth == 0:
            end, inner = index + 1, 0
            while end < len(found):
                current = found[end]
                if current.kind is Kind.PUNCTUATION and current.text in "{(":
                    inner += 1
                elif current.kind is Kind.PUNCTUATION and current.text in "})":
                    inner -= 1
                    if inner == 0:
                        break
                end += 1
            spans.append((token.start, found[min(end, len(found) - 1)].end))
            index = end
        index += 1
    return spans


def top_level_filters(group: str) -> list[str]:
    """The FILTER and MINUS clauses written directly in a group pattern, as written (whitespace collapsed)."""
    return [" ".join(group[start:end].split()) for start, end in top_level_filter_spans(group)]


def without_top_level_filters(group: str) -> str:
    """The group pattern without its own FILTER and MINUS clauses (to see the values a failing one tests)."""
    kept, position = [], 0
    for start, end in top_level_filter_spans(group):
        kept.append(group[position:start])
        position = end
    return "".join(kept) + group[position:]
