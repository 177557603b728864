"""CSV cells that Excel will not evaluate as formulas (OWASP "CSV injection"), and back.

The report's CSVs prefix one `'` to a cell that starts with a formula trigger; the reader
takes it off again when a report is fed back as input, so `csv_unescape(csv_escape(s)) == s`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Final

# Excel evaluates a CSV cell starting with one of these (OWASP "CSV injection").
_TRIGGERS: Final = frozenset("=+-@\t\r")
# A leading quote is escaped too when the text after it could be mistaken for our prefix,
# so `csv_unescape(csv_escape(s)) == s` for every string.
_AFTER_QUOTE: Final = _TRIGGERS | {"'"}
# A comma then a char that may start a cell csv_escape changes (see plain_line).
_RISKY_CELL: Final = re.compile(",[" + re.escape("".join(sorted(_AFTER_QUOTE))) + "]")


def csv_escape(text: str) -> str:
    """Return `text` as a CSV cell Excel will not evaluate: one `'` before a risky start."""
    first = text[:1]
    if first not in _AFTER_QUOTE:  # nearly every cell: a trigger or a quote starts the rest
        return text
    if first in _TRIGGERS or (len(text) > 1 and text[1] in _AFTER_QUOTE):
        return "'" + text
    return text


def escape_row(cells: Sequence[str]) -> list[str]:
    """Return `[csv_escape(c) for c in cells]`, calling it only for cells that may need it."""
    return [csv_escape(c) if c and c[0] in _AFTER_QUOTE else c for c in cells]


def plain_line(cells: Sequence[str]) -> str | None:
    """Return the row's CSV line (without CRLF) if no cell needs escaping or quoting, else None.

    csv.writer quotes a cell only for a comma, a quote or a line break (or a lone empty
    cell), and `csv_escape` changes only cells starting with a trigger or a quote. Nearly
    every report row has neither, so its line is its cells joined; one look at that line
    is several times cheaper than escaping and csv.writer cell by cell.
    """
    line = ",".join(cells)
    if (
        len(cells) > 1
        and line.count(",") == len(cells) - 1  # no comma inside a cell: each one starts a cell
        and line[:1] not in _AFTER_QUOTE
        and _RISKY_CELL.search(line) is None
        and '"' not in line
        and "\n" not in line
        and "\r" not in line
    ):
        return line
    return None


def csv_unescape(text: str) -> str:
    """Undo `csv_escape`: drop one leading `'` when the next char is one of `= + - @ tab CR '`."""
    if text[:1] == "'" and len(text) > 1 and text[1] in _AFTER_QUOTE:
        return text[1:]
    return text


def json_printable(text: str) -> str:
    """Return JSON `text` with each character `str.isprintable` refuses, but its line breaks,
    written as a JSON escape (`\\u009b`, `\\u202e`): the same data to a parser, and nothing a
    terminal obeys when a person runs `cat summary.json`.

    `json.dumps(..., ensure_ascii=False)` escapes only what JSON must (below U+0020), so C1
    controls and bidi overrides from a sheet name or a portal's message would stay raw.
    """
    if text.replace("\n", "").isprintable():
        return text
    return "".join(
        char if char.isprintable() or char == "\n" else json.dumps(char)[1:-1] for char in text
    )
