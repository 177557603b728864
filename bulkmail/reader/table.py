"""Any real spreadsheet -> a Table: headers matched to fields, rows streamed as text.

The only module (with its reader_* helpers) that knows file formats, calamine and encodings.
Cells come out as the text a user sees in the spreadsheet: `993.0` -> "993", dates as ISO
text, surrounding spaces trimmed except in secret columns, which are kept byte for byte.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any, Final

from bulkmail.codes import Code
from bulkmail.errors import InputError
from bulkmail.models import InputInfo, Problem, Row, Severity, Table
from bulkmail.reader import limits
from bulkmail.reader.csv import open_csv
from bulkmail.reader.facts import FactsOf, cell_facts
from bulkmail.reader.sheet import open_sheet
from bulkmail.report.escaping import csv_unescape
from bulkmail.schema import ALIASES, REPORT_FIELDS, REQUIRED_FIELDS, SECRET_FIELDS, fold
from bulkmail.secrets import looks_like_data, quotable

SHEET_FORMATS: Final = ("xlsx", "xlsm", "xls", "ods")
TEXT_FORMATS: Final = ("csv", "tsv")
LOOKAHEAD: Final = 1000
"""Data rows checked for cells beyond the last header before the stream is handed over."""

_REPORT_KEYS: Final = frozenset(fold(name) for name in REPORT_FIELDS)
_ALIAS_KEYS: Final = tuple(ALIASES)


def read(
    path: Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Table:
    """Read a spreadsheet or CSV file into a Table whose rows stream as they are consumed."""
    path = Path(path)
    fmt = _format_of(path)
    found: tuple[Problem, ...] = ()
    try:
        if fmt in TEXT_FORMATS:
            info, records = open_csv(path, fmt, encoding, delimiter)
            first_column, last_row, facts = 0, None, None
        else:
            info, records, first_column, last_row, facts, found = open_sheet(path, fmt, sheet)
    except OSError as err:  # no permission, a file locked or gone meanwhile
        raise InputError(f"cannot read {path}: {err.strerror}", "check the file") from None
    number, raw = _header_record(records, info)
    headers = _header_texts(raw)
    fields, problems = map_headers(headers, number, first_column)
    # A data row holds an email address; one whose cell "SSL" passed for a header is no header.
    if not any(fields) or (looks_like_data(headers) and not set(fields) & set(REQUIRED_FIELDS)):
        raise _no_known_column(headers, number, records, info)
    ahead = list(islice(records, LOOKAHEAD))
    problems.extend(_extra_cells(ahead, len(headers), first_column))
    problems.extend(found)
    secrets = tuple(i for i, f in enumerate(fields) if f in SECRET_FIELDS)
    to_cells = _texts if fmt in TEXT_FORMATS else _values
    if fmt in TEXT_FORMATS and any(fold(h) in _REPORT_KEYS for h in headers):
        # A re-fed bulkmail report: its CSV cells carry the `'` that kept Excel from
        # evaluating them; take it off so the values are the ones the user wrote.
        to_cells = _unescaped
    facts_of = None if facts is None else cell_facts(facts, first_column, fields)
    mapped = frozenset(i for i, f in enumerate(fields) if f is not None)
    rows = _rows(chain(ahead, records), len(headers), secrets, to_cells, facts_of, mapped)
    # Blank rows count too, so this is an upper bound: enough for a progress bar.
    size = last_row - number if last_row is not None else None
    return Table(headers, fields, info, rows, tuple(problems), size_hint=size)


def map_headers(
    headers: tuple[str, ...], row: int = 1, first_column: int = 0
) -> tuple[tuple[str | None, ...], list[Problem]]:
    """Return the canonical field of each header (None = ignored) and the warnings found.

    The warnings quote a header only where `bulkmail.secrets.quotable` allows: a row taken
    for the header may be data, passwords included.
    """
    fields: list[str | None] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    shown = [h if ok else "" for h, ok in zip(headers, quotable(headers), strict=True)]
    for index, header in enumerate(headers):
        key = fold(header)
        field = ALIASES.get(key)
        if field is not None and field in seen:
            problems.append(_duplicate(shown, seen[field], index, field, row, first_column))
            field = None
        elif field is not None:
            seen[field] = index
        elif key and key not in _REPORT_KEYS:
            where = column_letter(index + first_column)
            problems.append(_unknown(shown[index], key, where, row))
        fields.append(field)
    return tuple(fields), problems


def cell_text(value: Any) -> str:
    """Return a cell value as the text a spreadsheet shows: 993.0 -> "993", True -> "true"."""
    kind = type(value)
    if kind is str:
        return str(value).strip()
    if kind is float:
        # Excel shows at most 15 significant digits; whole numbers print without ".0"
        # and exactly, however large (1e20 -> "100000000000000000000").
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value).strip()


def column_letter(index: int) -> str:
    """Return the spreadsheet letter of a 0-based column index: 0 -> "A", 27 -> "AB"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _format_of(path: Path) -> str:
    if not path.exists():
        raise InputError(f"{path} does not exist", "check the path and the file name")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a file", "name the spreadsheet inside it")
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in SHEET_FORMATS + TEXT_FORMATS:
        kinds = ", ".join(f".{f}" for f in SHEET_FORMATS + TEXT_FORMATS)
        what = f"'.{fmt}' files" if fmt else "files without an extension"
        raise InputError(
            f"{path.name}: {what} are not supported",
            f"use one of {kinds}; delimited text (Excel's 'Unicode text' too) can be renamed .csv",
        )
    return fmt


def _header_record(
    records: Iterator[tuple[int, list[Any]]], info: InputInfo
) -> tuple[int, list[Any]]:
    """Return the first non-blank record: the header row."""
    for number, raw in records:
        if any(cell_text(cell) for cell in raw):
            return number, raw
    where = (
        f"sheet '{info.sheet}' of {Path(info.path).name}" if info.sheet else Path(info.path).name
    )
    raise InputError(f"{where} is empty: no header row", "put the column names in row 1")


def _header_texts(raw: list[Any]) -> tuple[str, ...]:
    texts = [cell_text(cell) for cell in raw]
    while texts and not texts[-1]:
        texts.pop()  # trailing blank header cells are not columns
    return tuple(texts)


def _quoted(letter: str, header: str) -> str:
    """Return `B 'Colour'`, or `B` alone for a header that may not be quoted ("")."""
    return f"{letter} '{header}'" if header else letter


def _duplicate(
    shown: list[str], first: int, second: int, field: str, row: int, offset: int
) -> Problem:
    one, two = column_letter(first + offset), column_letter(second + offset)
    return Problem(
        row,
        field,
        Code.DUPLICATE_COLUMN,
        Severity.WARNING,
        f"columns {_quoted(one, shown[first])} and {_quoted(two, shown[second])} both mean {field}",
        f"column {two} is ignored; delete or rename one of them",
    )


def _unknown(shown: str, key: str, letter: str, row: int) -> Problem:
    near = difflib.get_close_matches(key, _ALIAS_KEYS, n=1, cutoff=0.75)
    hint = (
        f"did you mean '{ALIASES[near[0]]}'? Otherwise it is ignored" if near else "it is ignored"
    )
    return Problem(
        row,
        "",
        Code.UNKNOWN_COLUMN,
        Severity.WARNING,
        f"column {_quoted(letter, shown)} is not a known column"
        + ("" if shown else " (its header looks like a value, so it is not shown)"),
        hint,
    )


def _no_known_column(
    headers: tuple[str, ...], row: int, records: Iterator[tuple[int, list[Any]]], info: InputInfo
) -> InputError:
    """Return the error for a header row with no known column, guessing where the header is.

    Row 1 of a sheet without its header row is data, passwords included: the message says
    so without quoting it, and quotes other rows' cells only where `quotable` allows.
    """
    if looks_like_data(headers):
        message = (
            f"row {row} looks like data, not a header: it holds an email address or a URL "
            "where the column names should be"
        )
        hint = (
            "add a header row above it with the column names, e.g. "
            f"{', '.join(REQUIRED_FIELDS)} (`bulkmail template` writes a sheet with all of them)"
        )
    else:
        message = f"row {row} has no column bulkmail knows ({_found(headers)})"
        hint = "check that this is the right file"
        if info.sheet:
            hint = f"check that '{info.sheet}' is the right sheet (pick another with --sheet)"
    for number, raw in islice(records, 10):
        if sum(fold(cell_text(cell)) in ALIASES for cell in raw) >= 2:
            hint = f"row {number} looks like the header: delete the rows above it"
            break
    return InputError(message, hint)


def _found(headers: tuple[str, ...]) -> str:
    """Return "found 'Notes', 'Year' and 1 cell not shown" for a header row's cells."""
    cells = [h for h in headers if h]
    shown = [f"'{h}'" for h, ok in zip(cells, quotable(cells), strict=True) if ok]
    hidden = len(cells) - len(shown)
    unseen = f"{hidden} cell{'' if hidden == 1 else 's'} not shown" if hidden else ""
    return "found " + " and ".join(filter(None, (", ".join(shown), unseen)))


def _extra_cells(ahead: list[tuple[int, list[Any]]], width: int, offset: int) -> list[Problem]:
    for number, raw in ahead:
        if len(raw) > width and any(cell_text(cell) for cell in raw[width:]):
            return [
                Problem(
                    number,
                    "",
                    Code.EXTRA_CELLS,
                    Severity.WARNING,
                    f"row {number} has values right of the last header (column "
                    f"{column_letter(width - 1 + offset)}); they are ignored",
                    "give those columns a header, or check the row for an unquoted delimiter",
                )
            ]
    return []


def _rows(
    records: Iterable[tuple[int, list[Any]]],
    width: int,
    secrets: tuple[int, ...],
    to_cells: Callable[[list[Any]], list[str]],
    facts_of: FactsOf | None = None,
    mapped: frozenset[int] = frozenset(),
) -> Iterator[Row]:
    """Yield the non-blank records as Rows of `width` text cells (with their cells' facts).

    A row whose only non-blank cells are error values in `mapped` columns is yielded too:
    blank is not what the sheet shows there.
    """
    for number, raw in records:
        cells = to_cells(raw[:width])
        for i in secrets:
            if i < len(raw) and type(raw[i]) is str:
                # A secret keeps its spaces: they may be part of it.
                cells[i] = csv_unescape(raw[i]) if to_cells is _unescaped else raw[i]
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        elif cells and max(map(len, cells)) > limits.MAX_CELL_LENGTH:
            limits.refuse_long_cell(cells, number)
        facts = facts_of(number, raw) if facts_of is not None else None
        if any(cells) or (facts and not mapped.isdisjoint(facts)):
            yield Row(number, tuple(cells), facts)


def _unescaped(raw: list[str]) -> list[str]:
    """Return a re-fed report's CSV cells trimmed, without the report's formula guard."""
    return [csv_unescape(c).strip() for c in raw]


def _texts(raw: list[str]) -> list[str]:
    """Return CSV cells trimmed: they are all text already."""
    return list(map(str.strip, raw))


def _values(raw: list[Any]) -> list[str]:
    """Return workbook cells as text."""
    # Text and whole numbers are inlined: a function call per cell is what costs here.
    return [
        v.strip()
        if type(v) is str
        else str(int(v))
        if type(v) is float and v.is_integer()
        else cell_text(v)
        for v in raw
    ]
