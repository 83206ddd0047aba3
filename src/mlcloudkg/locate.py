"""Find the file and line where a resource's statement is written, so messages can point at it.

RDF parsers do not keep positions, so this reads the Turtle/TriG text itself: it expands the prefixed names and
IRIs on each line and finds the line where the resource starts a statement and the property follows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from mlcloudkg.namespaces import RDF_TYPE

_PREFIX = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)
# An IRI, a prefixed name, or a string (skipped so that words inside literals are not taken for names).
_TOKEN = re.compile(
    r'<([^<>"{}|^`\\\s]*)>'
    r'|"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"'
    r"|((?:[A-Za-z][\w.-]*)?:(?:[\w\-%]|\\[^\s])(?:[\w.\-%:]|\\[^\s])*|(?:[A-Za-z][\w.-]*)?:)"
    r"|(#.*$)",
)


@dataclass(frozen=True)
class Location:
    path: str
    line: int


class SourceIndex:
    """Positions of every IRI mentioned in a set of Turtle/TriG texts."""

    def __init__(self, files: list[tuple[str, str]]) -> None:
        # iri -> [(path, line number, is first token of the line)]
        self._mentions: dict[str, list[tuple[str, int, bool]]] = defaultdict(list)
        self._lines: dict[str, list[str]] = {}
        for path, text in files:
            self._index(path, text)

    def _index(self, path: str, text: str) -> None:
        prefixes: dict[str, str] = {}
        lines = text.splitlines()
        self._lines[path] = lines
        for number, line in enumerate(lines, start=1):
            declared = _PREFIX.match(line)
            if declared:
                prefixes[declared.group(1) or ""] = declared.group(2)
                continue
            first = True
            for match in _TOKEN.finditer(line):
                if match.group(3):  # comment: the rest of the line is not data
                    break
                iri = match.group(1)
                if iri is None and match.group(2):
                    prefix, _, local = match.group(2).partition(":")
                    if prefix not in prefixes:
                        first = False
                        continue
                    iri = prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
                if iri is not None:
                    starts = first and not line[: match.start()].strip(" \t{")
                    self._mentions[iri].append((path, number, starts))
                first = False

    def locate(self, resource: str | None, prop: str | None = None, value: str | None = None) -> Location | None:
        """The line stating `resource prop value`, or the best approximation of it found in the text."""
        if resource is None:
            return None
        mentions = self._mentions.get(resource, [])
        starts = [(path, line) for path, line, is_start in mentions if is_start]
        candidates: list[Location] = []
        for path, line in starts or [(path, line) for path, line, _ in mentions]:
            found = self._property_line(path, line, prop) if prop else line
            if found is not None:
                candidates.append(Location(path, found))
        if not candidates:
            return Location(*starts[0]) if starts else (Location(*mentions[0][:2]) if mentions else None)
        if value:
            for candidate in candidates:
                if value in self._lines[candidate.path][candidate.line - 1]:
                    return candidate
        return candidates[0]

    def _property_line(self, path: str, start: int, prop: str) -> int | None:
        """The first line from `start` to the end of the statement that mentions `prop`."""
        if prop == RDF_TYPE:  # written as "a", which is not a name the index records
            return start
        lines = self._lines[path]
        mentioned = {line for p, line, _ in self._mentions.get(prop, []) if p == path}
        for number in range(start, len(lines) + 1):
            if number in mentioned:
                return number
            if lines[number - 1].split(" #", 1)[0].rstrip().endswith((" .", "}")):
                return None
        return None
