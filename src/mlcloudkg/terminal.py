"""Tables for the terminal: columns fitted to its width, long cells wrapped (never cut), wide characters (✔️, ❌,
CJK) counted as the two cells they take. Too many columns for the width: one block per row instead (like psql's
expanded display)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from wcwidth import wcswidth

GAP = "  "
MIN_COLUMN = 12  # narrower than this, a column is hard to read: switch to one block per row


def terminal_width() -> int:
    """Columns of the terminal (or $COLUMNS; 100 when the output is not a terminal and COLUMNS is unset)."""
    return shutil.get_terminal_size(fallback=(100, 24)).columns


def display_width(text: str) -> int:
    width = wcswidth(text)
    return width if width >= 0 else len(text)  # control characters: count them as one each


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> str:
    """The rows under their headers, at most `width` columns wide where it can be done."""
    count = len(headers)
    natural = [
        max(display_width(line) for text in (header, *(row[i] for row in rows)) for line in text.splitlines() or [""])
        for i, header in enumerate(headers)
    ]
    available = width - len(GAP) * (count - 1)
    if sum(natural) > available and available < count * MIN_COLUMN:
        return records(headers, rows, width)
    widths = natural if sum(natural) <= available else _fair_shares(natural, available)
    lines = _row_lines(headers, widths)
    lines.append(GAP.join("─" * w for w in widths).rstrip())
    for row in rows:
        lines += _row_lines(row, widths)
    return "\n".join(lines)


def records(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> str:
    """One block per row: each header beside its value, the value wrapped to the width."""
    label = max(display_width(h) for h in headers)
    value_width = max(width - label - len(GAP), MIN_COLUMN)
    lines: list[str] = []
    for number, row in enumerate(rows, start=1):
        lines.append(f"── {number} " + "─" * max(0, min(width, 40) - len(str(number)) - 4))
        for header, value in zip(headers, row, strict=True):
            wrapped = wrap(value, value_width)
            lines.append(_pad(header, label) + GAP + wrapped[0])
            lines += [" " * (label + len(GAP)) + more for more in wrapped[1:]]
    return "\n".join(line.rstrip() for line in lines)


def wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` display columns: at spaces where possible, inside a word (an IRI)
    where not; its own line breaks kept."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if display_width(candidate) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            current = ""
            for character in word:  # a word longer than the line: break it
                if display_width(current + character) > width:
                    lines.append(current)
                    current = ""
                current += character
        lines.append(current)
    return lines


def _fair_shares(natural: list[int], available: int) -> list[int]:
    """Column widths that add up to at most `available`: narrow columns keep their width, the others share the
    rest equally (no column gets more than it needs)."""
    widths = [0] * len(natural)
    remaining = available
    order = sorted(range(len(natural)), key=lambda i: natural[i])
    for position, index in enumerate(order):
        share = remaining // (len(natural) - position)
        widths[index] = min(natural[index], share)
        remaining -= widths[index]
    return widths


def _row_lines(cells: Sequence[str], widths: list[int]) -> list[str]:
    wrapped = [wrap(cell, width) for cell, width in zip(cells, widths, strict=True)]
    height = max(len(lines) for lines in wrapped)
    return [
        GAP.join(
            _pad(lines[i] if i < len(lines) else "", width) for lines, width in zip(wrapped, widths, strict=True)
        ).rstrip()
        for i in range(height)
    ]


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))
