"""Outcome -> report row: the report's own columns, masked originals, CSV formula escaping.

Pure functions, no I/O: the reporter streams what these return into the CSVs, and the XLSX
writer turns the CSV text back into typed cells with `typed_cell`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

from bulkmail.fields import MASK, REPORT_FIELDS, SECRET_FIELDS, fold
from bulkmail.models import Outcome, Problem, Severity

SUCCEEDED_COLUMNS: Final = ("row", "outcome", "mailbox_id", "done_at", "notes", "elapsed")
FAILED_COLUMNS: Final = (
    "row",
    "outcome",
    "stage",
    "code",
    "message",
    "hint",
    "attempts",
    "http_status",
)
INT_COLUMNS: Final = frozenset({"row", "mailbox_id", "attempts", "http_status"})
FLOAT_COLUMNS: Final = frozenset({"elapsed"})

# Excel evaluates a CSV cell starting with one of these (OWASP "CSV injection").
_TRIGGERS: Final = frozenset("=+-@\t\r")
# A leading quote is escaped too when the text after it could be mistaken for our prefix,
# so `csv_unescape(csv_escape(s)) == s` for every string.
_AFTER_QUOTE: Final = _TRIGGERS | {"'"}
_SECRETISH: Final = re.compile(r"pass|pwd|secret|token|парол")
_REPORT_FOLDED: Final = frozenset(fold(name) for name in REPORT_FIELDS)
# Shorter secrets are not scrubbed out of free text: replacing "ab" everywhere would mangle
# messages while protecting almost nothing.
_MIN_SCRUB = 4


def csv_escape(text: str) -> str:
    """Return `text` as a CSV cell Excel will not evaluate: one `'` before a risky start."""
    first = text[:1]
    if first not in _AFTER_QUOTE:  # nearly every cell: a trigger or a quote starts the rest
        return text
    if first in _TRIGGERS or (len(text) > 1 and text[1] in _AFTER_QUOTE):
        return "'" + text
    return text


def csv_unescape(text: str) -> str:
    """Undo `csv_escape`: drop one leading `'` when the next char is one of `= + - @ tab CR '`."""
    if text[:1] == "'" and len(text) > 1 and text[1] in _AFTER_QUOTE:
        return text[1:]
    return text


def kept_columns(headers: Sequence[str], fields: Sequence[str | None]) -> tuple[int, ...]:
    """Return the indexes of the original columns a report repeats (not our own columns)."""
    return tuple(
        i
        for i, header in enumerate(headers)
        if (fields[i] if i < len(fields) else None) is not None
        or fold(header) not in _REPORT_FOLDED
    )


def secret_columns(headers: Sequence[str], fields: Sequence[str | None]) -> frozenset[int]:
    """Return the indexes of the columns whose cells must never be written.

    Besides the secret fields, an ignored column whose header looks like a password
    ("Old password", "Пароль 2") is masked too: the reader did not use it, but it is
    still a secret the user never asked us to copy.
    """
    secret = set()
    for i, header in enumerate(headers):
        field = fields[i] if i < len(fields) else None
        if field in SECRET_FIELDS or (field is None and _SECRETISH.search(fold(header))):
            secret.add(i)
    return frozenset(secret)


def original_cells(cells: Sequence[str], kept: Iterable[int], secret: frozenset[int]) -> list[str]:
    """Return the kept cells of a row, secrets replaced by MASK when non-empty."""
    width = len(cells)
    return [(MASK if cells[i] and i in secret else cells[i]) if i < width else "" for i in kept]


def scrubber(cells: Sequence[str], secret: frozenset[int]) -> list[str]:
    """Return the row's secret values worth scrubbing from free text, longest first."""
    values = {cells[i] for i in secret if i < len(cells) and len(cells[i]) >= _MIN_SCRUB}
    return sorted(values, key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str]) -> str:
    """Replace every secret inside `text` by MASK (a portal error may echo a password)."""
    for value in secrets:
        text = text.replace(value, MASK)
    return text


def _number(value: float | int | None) -> str:
    return "" if value is None else str(value)


def succeeded_cells(outcome: Outcome) -> list[str]:
    """Return the report columns of a Succeeded row (before the original columns)."""
    notes = [f"{p.code}: {p.message}" for p in _ordered(outcome.problems)]
    if outcome.code:  # why a row was skipped ("exists", "done-earlier") has no other column
        notes.insert(0, f"{outcome.code}: {outcome.message}" if outcome.message else outcome.code)
    elapsed = round(outcome.elapsed, 3) if outcome.elapsed else None
    return [
        str(outcome.row.number),
        outcome.status.value,
        _number(outcome.mailbox_id),
        outcome.done_at,
        "; ".join(notes),
        _number(elapsed),
    ]


def failed_cells(outcome: Outcome) -> list[str]:
    """Return the report columns of a Failed row (before the original columns)."""
    if outcome.code:
        code, message, hint = outcome.code, outcome.message, outcome.hint
    else:
        code, message, hint = _joined(outcome.problems)
    return [
        str(outcome.row.number),
        outcome.status.value,
        outcome.stage.value if outcome.stage else "",
        code,
        message,
        hint,
        str(outcome.attempts),
        _number(outcome.http_status),
    ]


def _ordered(problems: Iterable[Problem]) -> list[Problem]:
    """Return errors, then warnings, then notes, each group in its original order."""
    rank = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(problems, key=lambda p: rank[p.severity])


def _joined(problems: Iterable[Problem]) -> tuple[str, str, str]:
    """Return (codes, messages, hints) of a row's errors and warnings, joined by "; "."""
    shown = [p for p in _ordered(problems) if p.severity is not Severity.INFO]
    codes = "; ".join(p.code for p in shown)
    messages = "; ".join(f"{p.column}: {p.message}" if p.column else p.message for p in shown)
    hints = "; ".join(dict.fromkeys(p.hint for p in shown if p.hint))
    return codes, messages, hints


def typed_cell(column: str | None, text: str) -> str | int | float | None:
    """Return a CSV cell as the XLSX should hold it: numbers numeric, blanks empty, text raw."""
    if text == "":
        return None
    try:
        if column in INT_COLUMNS:
            return int(text)
        if column in FLOAT_COLUMNS:
            return float(text)
    except ValueError:  # not ours to judge: keep what the CSV says
        pass
    return csv_unescape(text)
