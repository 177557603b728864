"""Find the header row as a person sees it, map its cells to fields, and say what was found.

Part of the reader, pure: it takes the texts of the first non-blank rows. The header is the
row, among the first SEARCHED, that names the most known columns (a title or a row of group
labels above it is no header, even when a label such as "Incoming server" is an alias). Every
message quotes a cell only where `bulkmail.secrets.quotable` allows (a row taken for the
header may be data, passwords included) and only through `bulkmail.printable`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from bulkmail.codes import Code
from bulkmail.models import InputInfo, Problem
from bulkmail.printable import listing, quoted
from bulkmail.reader.header_errors import data_above, empty, no_known_column
from bulkmail.reader.refs import column_letter
from bulkmail.schema import (
    ALIASES,
    REPORT_KEYS,
    REQUIRED_FIELDS,
    SMTP_TWINS,
    fold,
    near_field,
)
from bulkmail.secrets import looks_like_data, quotable

SEARCHED: Final = 10
"""Non-blank rows searched for the header."""
LISTED: Final = 20
"""Unknown columns reported one by one; the rest in one warning."""

Texts = tuple[str, ...]
Side = Literal["in", "out"] | None

_OUTGOING: Final = re.compile(r"outgoing|smtp|send|исходящ|отправ")
_INCOMING: Final = re.compile(r"incoming|imap|pop|receiv|входящ|получ")


@dataclass(frozen=True, slots=True)
class Header:
    """The header row found: its place, its cells, their fields and what was noticed."""

    index: int  # position among the rows searched; the ones after it are data
    number: int  # spreadsheet row
    texts: Texts
    fields: tuple[str | None, ...]
    problems: tuple[Problem, ...]


def find_header(
    rows: Sequence[tuple[int, Texts]], info: InputInfo, first_column: int, last_row: int | None
) -> Header:
    """Return the header among `rows` (row number, cell texts: the first non-blank rows).

    Raises InputError when there is no row (naming what the sheet holds, `last_row` being
    its last used row) or when none names a column bulkmail knows.
    """
    if not rows:
        raise empty(info, last_row)
    scores = [_score(texts) for _, texts in rows]
    best = max(range(len(rows)), key=lambda i: (scores[i], -i))
    if not scores[best]:
        raise no_known_column(rows, info)
    number, texts = rows[best]
    above = list(rows[:best])
    data = [n for n, cells in above if looks_like_data(cells)]
    if data:
        raise data_above(data, number)
    group = above.pop() if above and _is_group_row(above[-1], number, texts) else None
    labels = _labels_over(group[1], len(texts)) if group else ()
    fields, problems = map_headers(texts, number, first_column, labels)
    notes = [_group_note(group, number)] if group else []
    if above:
        notes.append(_rows_above(above, number))
    return Header(best, number, texts, fields, (*notes, *problems))


def map_headers(
    headers: Texts, row: int = 1, first_column: int = 0, labels: Sequence[str] = ()
) -> tuple[tuple[str | None, ...], list[Problem]]:
    """Return the canonical field of each header (None = ignored) and the findings.

    `labels` are the group labels over each column (a row of them above the header): a
    repeated incoming column (Host, Port...) whose label alone names the outgoing side is
    read as its SMTP twin, with a note.
    """
    named = [ALIASES.get(fold(header)) for header in headers]
    shown = [h if ok else "" for h, ok in zip(headers, quotable(headers), strict=True)]
    problems = _read_by_group(named, labels, shown, row, first_column)
    fields: list[str | None] = []
    seen: dict[str, int] = {}
    unknown: list[int] = []
    for index, field in enumerate(named):
        if field is not None and field in seen:
            problems.append(_duplicate(shown, seen[field], index, field, row, first_column, named))
            field = None
        elif field is not None:
            seen[field] = index
        elif (key := fold(headers[index])) and key not in REPORT_KEYS:
            unknown.append(index)
            if len(unknown) <= LISTED:
                letter = column_letter(index + first_column)
                problems.append(_unknown(shown[index], headers[index], letter, row))
        fields.append(field)
    if len(unknown) > LISTED:
        problems.append(_more_unknown(unknown[LISTED:], row, first_column))
    return tuple(fields), problems


def _score(texts: Texts) -> int:
    """Return how many known columns a row names; 0 for a row of data.

    A data row holds an email address (an "SSL" cell passes for a header); a header whose
    cell holds an "@" still counts when it names a required column.
    """
    fields = {ALIASES.get(fold(text)) for text in texts} - {None}
    if looks_like_data(texts) and not fields & set(REQUIRED_FIELDS):
        return 0
    return len(fields)


def _is_group_row(above: tuple[int, Texts], number: int, header: Texts) -> bool:
    """Return whether the row right above the header holds group labels over its columns:
    two or more labels (quotable, no data), fewer than the header's cells, none beyond it.

    A label repeated across its columns (a merged cell whose value fills the whole range)
    counts once.
    """
    above_number, texts = above
    labels = list(dict.fromkeys(t for t in texts if t))
    return (
        above_number == number - 1
        and 2 <= len(labels) < sum(1 for t in header if t)
        and len(texts) <= len(header)
        and all(quotable(labels))
    )


def _labels_over(group: Texts, width: int) -> tuple[str, ...]:
    """Return the group label over each of `width` columns: a label covers its own column
    and the blank ones right of it (a merged cell's value is in its first column only)."""
    labels, current = [], ""
    for index in range(width):
        current = (group[index] if index < len(group) else "") or current
        labels.append(current)
    return tuple(labels)


def _side(label: str) -> Side:
    """Return which server a group label names: "out" (Outgoing, SMTP), "in", or None."""
    text = label.casefold()
    out, into = _OUTGOING.search(text) is not None, _INCOMING.search(text) is not None
    return "out" if out and not into else "in" if into and not out else None


def _read_by_group(
    named: list[str | None], labels: Sequence[str], shown: list[str], row: int, offset: int
) -> list[Problem]:
    """Read as SMTP the one of two columns of an incoming field whose group label alone names
    the outgoing side, when the sheet has no column of the twin; return the notes.

    A lone column is never read by its label: a title such as "SMTP migration" over the
    whole header would turn the incoming Port into the SMTP one.
    """
    if not labels:
        return []
    notes = []
    for field, twin in SMTP_TWINS.items():
        columns = [i for i, f in enumerate(named) if f == field]
        if len(columns) != 2 or twin in named:
            continue
        first, second = columns
        sides = (_side(labels[first]), _side(labels[second]))
        if sides.count("out") != 1:
            continue
        smtp, other = (second, first) if sides[1] == "out" else (first, second)
        named[smtp] = twin
        notes.append(_read_as_smtp(shown, smtp, other, twin, labels[smtp], row, offset))
    return notes


def _quoted(letter: str, header: str) -> str:
    """Return `B 'Colour'`, or `B` alone for a header that may not be quoted ("")."""
    return f"{letter} {quoted(header)}" if header else letter


def _read_as_smtp(
    shown: list[str], smtp: int, other: int, twin: str, label: str, row: int, offset: int
) -> Problem:
    this, that = column_letter(smtp + offset), column_letter(other + offset)
    return Problem(
        row,
        twin,
        Code.READ_AS_SMTP,
        Code.READ_AS_SMTP.severity,
        f"column {_quoted(this, shown[smtp])} is read as {twin}: it repeats column "
        f"{_quoted(that, shown[other])} under the group label {quoted(label)}",
        "",
    )


def _duplicate(
    shown: list[str],
    first: int,
    second: int,
    field: str,
    row: int,
    offset: int,
    named: list[str | None],
) -> Problem:
    one, two = column_letter(first + offset), column_letter(second + offset)
    twin = SMTP_TWINS.get(field)
    fix = (
        f"if it is the SMTP one, name it {twin}"
        if twin is not None and twin not in named
        else "delete or rename one of them"
    )
    return Problem(
        row,
        field,
        Code.DUPLICATE_COLUMN,
        Code.DUPLICATE_COLUMN.severity,
        f"columns {_quoted(one, shown[first])} and {_quoted(two, shown[second])} both mean {field}",
        f"column {two} is ignored; {fix}",
    )


def _more_unknown(indexes: list[int], row: int, offset: int) -> Problem:
    """Return one warning for the unknown columns past the first LISTED."""
    first, last = column_letter(indexes[0] + offset), column_letter(indexes[-1] + offset)
    code = Code.UNKNOWN_COLUMN
    message = f"{len(indexes):,} more columns, {first} to {last}, are not known columns"
    return Problem(row, "", code, code.severity, message, "they are ignored")


def _unknown(shown: str, header: str, letter: str, row: int) -> Problem:
    near = near_field(header)
    hint = f"did you mean '{near}'? Otherwise it is ignored" if near else "it is ignored"
    return Problem(
        row,
        "",
        Code.UNKNOWN_COLUMN,
        Code.UNKNOWN_COLUMN.severity,
        f"column {_quoted(letter, shown)} is not a known column"
        + ("" if shown else " (its header looks like a value, so it is not shown)"),
        hint,
    )


def _group_note(group: tuple[int, Texts], header: int) -> Problem:
    number, texts = group
    labels = listing([quoted(t) for t in dict.fromkeys(t for t in texts if t)])
    code = Code.GROUP_ROW
    message = f"group labels {labels} above the header (row {header}): not read as columns"
    return Problem(number, "", code, code.severity, message, "")


def _rows_above(above: list[tuple[int, Texts]], header: int) -> Problem:
    first, last = above[0][0], above[-1][0]
    span = f"row {first} is" if first == last else f"rows {first} to {last} are"
    code = Code.ROWS_ABOVE_HEADER
    return Problem(
        first,
        "",
        code,
        code.severity,
        f"{span} above the header (row {header}), which names the most known columns: not read",
        code.hint,
    )
