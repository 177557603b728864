"""Outcome -> report row: the report's own columns, masked originals, CSV formula escaping.

The report's own texts (messages, hints, notes) go through `printable`: a portal or mail
server may answer with terminal escapes, which `cat failed.csv` would otherwise obey. The
original columns are the sheet's cells as given, so that a fixed Failed sheet feeds back.

Pure functions, no I/O: `report/writer.py` streams what these return into the CSVs, and the XLSX
writer turns the CSV text back into typed cells with `row_typer` (`typed_cell`, one cell).
These run once per row or cell of runs of a million rows, so the per-row paths work out
what they can once per run (`RowShape`, `row_typer`) and keep the common case cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter, itemgetter
from typing import Any, Final

from bulkmail.models import Outcome, Problem, Severity
from bulkmail.printable import printable
from bulkmail.report.escaping import csv_unescape
from bulkmail.schema import REPORT_KEYS, fold
from bulkmail.secrets import MASK, scrub_texts, secret_columns

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
    "warnings",
)
INT_COLUMNS: Final = frozenset({"row", "mailbox_id", "attempts", "http_status"})
FLOAT_COLUMNS: Final = frozenset({"elapsed"})
TypedCell = str | int | float | None

_SEVERITY: Final = attrgetter("severity")
_INFO: Final = Severity.INFO  # bound once: a member looked up on its class costs 0.1 us


def kept_columns(headers: Sequence[str], fields: Sequence[str | None]) -> tuple[int, ...]:
    """Return the indexes of the original columns a report repeats (not our own columns)."""
    return tuple(
        i
        for i, header in enumerate(headers)
        if (fields[i] if i < len(fields) else None) is not None or fold(header) not in REPORT_KEYS
    )


def original_cells(cells: Sequence[str], kept: Iterable[int], secret: frozenset[int]) -> list[str]:
    """Return the kept cells of a row, secrets replaced by MASK when non-empty."""
    width = len(cells)
    return [(MASK if cells[i] and i in secret else cells[i]) if i < width else "" for i in kept]


class RowShape:
    """Which input columns a report repeats and which it masks, worked out once per run."""

    def __init__(self, headers: Sequence[str], fields: Sequence[str | None]) -> None:
        self.kept = kept_columns(headers, fields)
        self.secret = secret_columns(headers, fields)
        self._secret_order = tuple(sorted(self.secret))
        self._pick_secrets = _getter(self._secret_order)
        self._masked = tuple(j for j, i in enumerate(self.kept) if i in self.secret)
        self._columns = len(headers)
        self._pick = _picker(self.kept, len(headers))

    def row(self, ours: list[str], cells: Sequence[str]) -> list[str]:
        """Return a report row: `ours`, the row's secrets scrubbed, then `original_cells`."""
        if len(cells) != self._columns:  # not aligned to the headers: the plain way
            return self._scrubbed(ours, cells) + original_cells(cells, self.kept, self.secret)
        row = [*self._scrubbed(ours, cells), *(cells if self._pick is None else self._pick(cells))]
        base = len(ours)
        for j in self._masked:
            if row[base + j]:
                row[base + j] = MASK
        return row

    def secrets(self, cells: Sequence[str]) -> list[str]:
        """Return the row's non-blank secret cells: what its messages are scrubbed of."""
        width = len(cells)
        return [cells[i] for i in self._secret_order if i < width and cells[i]]

    def _scrubbed(self, ours: list[str], cells: Sequence[str]) -> list[str]:
        """Return `ours` with every secret masked (`ours` itself when none occurs)."""
        aligned = len(cells) == self._columns  # then picked at C speed, blanks and all
        return scrub_texts(ours, self._pick_secrets(cells) if aligned else self.secrets(cells))


def _picker(kept: Sequence[int], columns: int) -> Callable[[Sequence[str]], Sequence[str]] | None:
    """Return a function taking the `kept` cells of a `columns`-cell row, at C speed.

    None when every column is kept, as in most sheets: the row is its own pick.
    """
    if tuple(kept) == tuple(range(columns)):
        return None
    return _getter(kept)


def _getter(indexes: Sequence[int]) -> Callable[[Sequence[str]], Sequence[str]]:
    """Return a function taking the cells at `indexes` of a row, at C speed when it can."""
    if len(indexes) > 1:
        return itemgetter(*indexes)
    # itemgetter of one index returns the cell itself, not a tuple
    return lambda cells: tuple(cells[i] for i in indexes)


def succeeded_cells(outcome: Outcome) -> list[str]:
    """Return the report columns of a Succeeded row (before the original columns)."""
    # str() of a StrEnum is its value, and several times cheaper than `.value`; a code is
    # joined by `+`: an f-string formats a str subclass through its type, twice as slowly.
    notes = [p.code + ": " + p.message for p in _ordered(outcome.problems)]
    if outcome.code:  # why a row was skipped ("exists", "done-earlier") has no other column
        notes.insert(0, outcome.code + ": " + outcome.message if outcome.message else outcome.code)
    mailbox_id, elapsed = outcome.mailbox_id, outcome.elapsed
    return [
        str(outcome.row.number),
        str(outcome.status),
        "" if mailbox_id is None else str(mailbox_id),
        outcome.done_at,
        printable("; ".join(notes)),
        str(round(elapsed, 3)) if elapsed else "",
    ]


def failed_cells(outcome: Outcome) -> list[str]:
    """Return the report columns of a Failed row (before the original columns).

    A row's warnings have their own column, beside the failure they may explain (a port
    swapped between IMAP and SMTP, then the mail server unreachable).
    """
    if outcome.code:
        code, message, hint = outcome.code, outcome.message, outcome.hint
    else:
        code, message, hint = _joined(outcome.problems)
    warnings = [p for p in outcome.problems if p.severity is Severity.WARNING]
    return [
        str(outcome.row.number),
        str(outcome.status),
        str(outcome.stage) if outcome.stage else "",
        code,
        printable(message),  # a portal's or mail server's words: escapes shown, not obeyed
        printable(hint),
        str(outcome.attempts),
        "" if outcome.http_status is None else str(outcome.http_status),
        printable("; ".join(map(_warning, warnings))),
    ]


def notes_only(problems: Sequence[Problem]) -> bool:
    """Return whether every problem (none too) is a note: nothing that is counted or shown
    as an error or a warning (most valid rows have only notes: `account taken from email`)."""
    severities = list(map(_SEVERITY, problems))  # then compared by identity, at C speed
    return severities.count(_INFO) == len(severities)


def _ordered(problems: Sequence[Problem]) -> Sequence[Problem]:
    """Return errors, then warnings, then notes, each group in its original order."""
    severities = list(map(_SEVERITY, problems))
    if not severities or severities.count(severities[0]) == len(severities):
        return problems  # one kind only, as nearly always: nothing to reorder
    # Three passes by identity: cheaper than a sort keyed by the enum (hashed in Python).
    return [
        *[p for p in problems if p.severity is Severity.ERROR],
        *[p for p in problems if p.severity is Severity.WARNING],
        *[p for p in problems if p.severity is Severity.INFO],
    ]


def _where(problem: Problem) -> str:
    """Return `port: ` for a problem about a cell, "" for one about the whole row."""
    return f"{problem.column}: " if problem.column else ""


def _warning(problem: Problem) -> str:
    """Return `port-swapped: port: 587 is SMTP's port (put 993 here)`: a warning and its fix."""
    hint = f" ({problem.hint})" if problem.hint else ""
    return f"{problem.code}: {_where(problem)}{problem.message}{hint}"


def _joined(problems: Sequence[Problem]) -> tuple[str, str, str]:
    """Return (codes, messages, hints) of a row's errors, joined by "; " (its warnings have
    their own column)."""
    shown = [p for p in problems if p.severity is Severity.ERROR]
    codes = "; ".join(p.code for p in shown)
    messages = "; ".join(_where(p) + p.message for p in shown)
    hints = "; ".join(dict.fromkeys(p.hint for p in shown if p.hint))
    return codes, messages, hints


def typed_cell(column: str | None, text: str) -> TypedCell:
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


def row_typer(
    header: Sequence[str], report_columns: int, blank: str | None = None
) -> Callable[[list[str]], list[TypedCell]]:
    """Return a function typing a CSV row as `typed_cell` would, given each cell's column.

    Only the first `report_columns` columns are the report's own, so only they can be numbers;
    the rest are text. Blank cells become `blank` (`typed_cell` makes them None). Faster than
    `typed_cell` per cell: the numeric columns are found once, and a row without a `'`
    cannot hold an escaped cell.
    """
    numeric = _numeric(header, report_columns)

    def typed(cells: list[str]) -> list[TypedCell]:
        row: list[TypedCell]
        if "'" in "".join(cells):
            row = [(csv_unescape(c) if c[0] == "'" else c) if c else blank for c in cells]
        elif blank is None:
            row = [c or None for c in cells]
        else:
            row = [*cells]
        width = len(cells)
        for i, number in numeric:
            if i < width and cells[i]:
                # From the raw text, as typed_cell does ("'-5" stays the text "-5"); not
                # contextlib.suppress: a context manager per numeric cell costs more here.
                try:  # noqa: SIM105
                    row[i] = number(cells[i])
                except ValueError:
                    pass
        return row

    return typed


def line_typer(header: Sequence[str], report_columns: int) -> Callable[[str], dict[str, TypedCell]]:
    """Return a function making the record of a CSV line that holds no `"` (CRLF at its
    end): its cells by header, typed as `row_typer(header, report_columns, blank="")` types
    them.

    For the fast XLSX writer, which takes dicts: one call a line splits, types and keys it,
    a third cheaper than a row through `row_typer` and then a dict (bench_report_xlsx.py).
    """
    typed = row_typer(header, report_columns, blank="")
    numeric = _numeric(header, report_columns)
    keys = list(header)

    def record(line: str) -> dict[str, TypedCell]:
        texts = line[:-2].split(",")
        if "'" in line:  # a cell may be escaped: the general way
            return dict(zip(keys, typed(texts), strict=False))
        cells: list[Any] = texts  # typed in place
        width = len(cells)
        for i, number in numeric:
            if i < width and cells[i]:
                try:  # noqa: SIM105  (as in row_typer)
                    cells[i] = number(cells[i])
                except ValueError:
                    pass
        return dict(zip(keys, cells, strict=False))

    return record


def _numeric(header: Sequence[str], report_columns: int) -> tuple[tuple[int, type], ...]:
    """Return (index, int or float) of the report's own number columns in `header`."""
    return tuple(
        (i, int if name in INT_COLUMNS else float)
        for i, name in enumerate(header[:report_columns])
        if name in INT_COLUMNS or name in FLOAT_COLUMNS
    )
