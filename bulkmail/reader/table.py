"""Any real spreadsheet -> a Table: headers matched to fields, rows streamed as text.

With the other modules of `bulkmail/reader/`, the only code that knows file formats and encodings.
Cells come out as the text a user sees in the spreadsheet: `993.0` -> "993", dates as ISO
text, surrounding spaces trimmed except in secret columns, which are kept byte for byte.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any, Final, NamedTuple

from bulkmail.codes import Code
from bulkmail.errors import InputError
from bulkmail.models import Problem, Row, Severity, Table
from bulkmail.reader import limits
from bulkmail.reader.csv import open_csv
from bulkmail.reader.facts import FactsOf, cell_facts
from bulkmail.reader.header import SEARCHED, find_header, map_headers
from bulkmail.reader.refs import column_letter
from bulkmail.reader.sheet import open_sheet
from bulkmail.report.escaping import csv_unescape
from bulkmail.schema import REPORT_KEYS, SECRET_FIELDS, fold

__all__ = ["cell_text", "column_letter", "map_headers", "read"]

SHEET_FORMATS: Final = ("xlsx", "xlsm", "xls", "ods")
TEXT_FORMATS: Final = ("csv", "tsv")
LOOKAHEAD: Final = 1000
"""Data rows checked for cells beyond the last header before the stream is handed over."""


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
    first = _first_rows(records)
    texts = [(number, _header_texts(raw)) for number, raw in first]
    header = find_header([(n, row) for n, row in texts if row], info, first_column, last_row)
    number, headers, fields = header.number, header.texts, header.fields
    problems = list(header.problems)
    ahead = [record for record in first if record[0] > number] + list(islice(records, LOOKAHEAD))
    problems.extend(_extra_cells(ahead, len(headers), first_column))
    problems.extend(found)
    secrets = tuple(i for i, f in enumerate(fields) if f in SECRET_FIELDS)
    to_cells = _texts if fmt in TEXT_FORMATS else _values
    if fmt in TEXT_FORMATS and any(fold(h) in REPORT_KEYS for h in headers):
        # A re-fed bulkmail report: its CSV cells carry the `'` that kept Excel from
        # evaluating them; take it off so the values are the ones the user wrote.
        to_cells = _unescaped
    facts_of = None if facts is None else cell_facts(facts, first_column, fields)
    mapped = frozenset(i for i, f in enumerate(fields) if f is not None)
    # A secret keeps its spaces (they may be part of it); a re-fed report's loses its guard.
    secret_text = csv_unescape if to_cells is _unescaped else _as_typed
    shape = _Shape(len(headers), secrets, to_cells, secret_text, fmt not in TEXT_FORMATS)
    rows = _rows(chain(ahead, records), shape, facts_of, mapped)
    # Blank rows count too, so this is an upper bound: enough for a progress bar.
    size = last_row - number if last_row is not None else None
    return Table(headers, fields, info, rows, tuple(problems), size_hint=size, header_row=number)


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


def _first_rows(records: Iterator[tuple[int, list[Any]]]) -> list[tuple[int, list[Any]]]:
    """Return the records up to the SEARCHED-th non-blank one: the header is among those.

    Blank-looking records are kept: an error cell reads as blank, and its row is still a row.
    """
    first: list[tuple[int, list[Any]]] = []
    seen = 0
    for number, raw in records:
        first.append((number, raw))
        seen += any(map(cell_text, raw))
        if seen == SEARCHED:
            break
    return first


def _header_texts(raw: list[Any]) -> tuple[str, ...]:
    texts = [cell_text(cell) for cell in raw]
    while texts and not texts[-1]:
        texts.pop()  # trailing blank header cells are not columns
    return tuple(texts)


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


class _Shape(NamedTuple):
    """How a table's records become its rows, settled once per read."""

    width: int  # cells per row: the header's
    secrets: tuple[int, ...]  # columns whose cells are kept as typed
    to_cells: Callable[[list[Any]], list[str]]
    secret_text: Callable[[str], str]
    check_length: bool  # workbooks: the CSV reader bounds its cells itself


def _rows(
    records: Iterable[tuple[int, list[Any]]],
    shape: _Shape,
    facts_of: FactsOf | None = None,
    mapped: frozenset[int] = frozenset(),
) -> Iterator[Row]:
    """Yield the non-blank records as Rows of `shape.width` text cells (with their facts).

    A row whose only non-blank cells are error values in `mapped` columns is yielded too:
    blank is not what the sheet shows there.
    """
    width, secrets, to_cells, secret_text, check_length = shape
    as_typed = secret_text is _as_typed
    for number, raw in records:
        cells = to_cells(raw if len(raw) == width else raw[:width])
        if as_typed and len(raw) >= width:  # nearly every row: no call per secret cell
            for i in secrets:
                if type(text := raw[i]) is str:
                    cells[i] = text
        else:
            for i in secrets:
                if i < len(raw) and type(raw[i]) is str:
                    cells[i] = secret_text(raw[i])
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        elif check_length and cells and max(map(len, cells)) > limits.MAX_CELL_LENGTH:
            limits.refuse_long_cell(cells, number)
        facts = facts_of(number, raw) if facts_of is not None else None
        if any(cells) or (facts and not mapped.isdisjoint(facts)):
            yield Row(number, tuple(cells), facts)


def _as_typed(text: str) -> str:
    return text


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


def workbook_rows(
    records: Iterable[tuple[int, list[Any]]], fields: tuple[str | None, ...]
) -> Iterator[Row]:
    """Yield the Rows of `(row number, values)` records under columns of `fields`, by the
    rules a workbook's cells get: text as shown (993.0 -> "993", dates as ISO text, None ->
    ""), secrets kept as typed, blank rows left out, and the facts of a date or a 16+ digit
    number in a text column (`reader.facts`). For values already in memory (`reader.records`).
    """
    secrets = tuple(i for i, f in enumerate(fields) if f in SECRET_FIELDS)
    shape = _Shape(len(fields), secrets, _values, _as_typed, True)
    mapped = frozenset(i for i, f in enumerate(fields) if f is not None)
    return _rows(records, shape, cell_facts({}, 0, fields), mapped)
