"""Workbooks (.xlsx, .xlsm, .xls, .ods): pick the sheet, stream its rows as the person sees them.

Part of the reader. python-calamine reads .xlsx, .xlsm and .ods: it loads the chosen sheet
into native memory at once (fast, compact) and its rows become Python values as they are
consumed. What it does not tell (error cells, formulas never calculated, number formats, the
true extent) comes from `xlsx.scan` before it loads anything; a sheet whose used range is
mostly empty is streamed by `sparse` instead; .xls goes to `xls` (xlrd). Every failure of a
third-party reader, a Rust panic included, ends as one InputError.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, NamedTuple

from python_calamine import (
    CalamineError,
    CalamineSheet,
    CalamineWorkbook,
    PasswordError,
    SheetTypeEnum,
    SheetVisibleEnum,
)

from bulkmail.errors import InputError
from bulkmail.models import CellFact, CellState, InputInfo, Problem
from bulkmail.reader import filekind, limits, xlsx
from bulkmail.reader.merged import fill_merged

Records = Iterator[tuple[int, list[Any]]]
"""(row number as the spreadsheet shows it, raw cell values) per sheet row."""

Facts = dict[int, dict[int, CellFact]]
"""Row number -> 0-based column -> what the reader knows of that cell beyond its value."""

_XML_FORMATS: Final = ("xlsx", "xlsm")
REPORT_SHEETS: Final = ("Summary", "Succeeded", "Failed")
"""The sheets of bulkmail's own report.xlsx, in its order (report/xlsx.py writes them)."""
REPORT_SHEET: Final = "Failed"
"""The sheet a report.xlsx fed back as input is read from, unless --sheet names another."""


def is_report(names: list[str]) -> bool:
    """Return whether a workbook's sheets are those of a bulkmail report.xlsx."""
    return tuple(names) == REPORT_SHEETS


class Sheet(NamedTuple):
    """An opened sheet: what it is, its rows as they are consumed, and where its data lies."""

    info: InputInfo
    records: Records
    first_column: int  # 0-based index of the first used column (records start there)
    last_row: int  # number of the last used row, 0 when the sheet is empty
    facts: Facts = {}  # noqa: RUF012  (a NamedTuple default, never mutated)
    problems: tuple[Problem, ...] = ()  # findings about the sheet as a whole (a far cell)


def open_sheet(path: Path, fmt: str, sheet: str | None) -> Sheet:
    """Open the chosen sheet (the first visible one by default) of a workbook.

    Raises InputError for a file that cannot be read, naming what it really is, and for one
    beyond the reader's limits (`limits`), naming the limit.
    """
    if fmt == "xls":
        from bulkmail.reader.xls import open_xls  # xlrd loads only for .xls

        return open_xls(path, sheet, _pick)
    try:
        return _open(path, fmt, sheet)
    except PasswordError:
        raise filekind.protected(path) from None
    except CalamineError as err:
        raise limits.too_large(path, str(err)) or filekind.unreadable(path, fmt, str(err)) from None
    except BaseException as err:  # a Rust panic is a BaseException (pyo3's PanicException)
        if not filekind.is_panic(err):
            raise
        raise filekind.unreadable(path, fmt, "the reader failed on it") from None


def _open(path: Path, fmt: str, wanted: str | None) -> Sheet:
    with CalamineWorkbook.from_path(path) as book:
        report = is_report(book.sheet_names)
        if report and wanted is None:
            name = REPORT_SHEET  # the rows to send again; Summary is not a sheet of rows
        else:
            name = _pick(book.sheet_names, _visible(book), wanted, path.name)
        info = InputInfo(path=str(path), format=fmt, sheet=name, report=report)
        scan = _scan(path, name) if fmt in _XML_FORMATS else None
        if scan is not None and limits.is_sparse(scan):
            from bulkmail.reader.sparse import open_sparse  # openpyxl loads only for these

            return open_sparse(path, info, scan)
        data = book.get_sheet_by_name(name)
        if data.end is None or (scan is not None and _only_errors(scan)):
            raise _empty(book, name, path, scan)
    # iter_rows() starts at the sheet's row 1 even when the data starts lower, but at the
    # first used column: column letters need that offset, row numbers do not.
    first_column = data.start[1] if data.start else 0
    last_row = data.end[0] + 1 if data.end else 0
    facts: Facts = scan.facts if scan is not None else {}
    records = fill_merged(enumerate(data.iter_rows(), 1), _ranges(data), first_column, facts)
    return Sheet(info, records, first_column, last_row, facts)


def _scan(path: Path, name: str) -> xlsx.Scan:
    """Scan the sheet's XML; raise InputError for a workbook beyond the limits."""
    with zipfile.ZipFile(path) as book:
        limits.check_unpacked(book, path.name)
        scan = xlsx.scan(book, xlsx.sheet_part(book, name), xlsx.number_formats(book))
    limits.check_extent(scan, path.name)
    return scan


def _ranges(data: CalamineSheet) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    return data.merged_cell_ranges or []


def _only_errors(scan: xlsx.Scan) -> bool:
    """Return whether every cell of the sheet is an error or a formula never calculated."""
    odd = sum(
        fact.state in (CellState.ERROR, CellState.UNCALCULATED)
        for row in scan.facts.values()
        for fact in row.values()
    )
    return bool(odd) and odd >= scan.cells


def _visible(book: CalamineWorkbook) -> list[str]:
    return [
        meta.name
        for meta in book.sheets_metadata
        if meta.visible == SheetVisibleEnum.Visible and meta.typ == SheetTypeEnum.WorkSheet
    ]


def _pick(names: list[str], visible: list[str], wanted: str | None, filename: str) -> str:
    """Return the sheet to read: the one named, else the first visible worksheet."""
    if not names:
        raise InputError(f"{filename} has no sheets", "save it again from Excel or LibreOffice")
    if wanted is None:
        return visible[0] if visible else names[0]
    if wanted in names:
        return wanted
    near = [n for n in names if n.strip().casefold() == wanted.strip().casefold()]
    if len(near) == 1:
        return near[0]
    raise InputError(
        f"{filename} has no sheet named '{wanted}'",
        f"its sheets are {_listing(names)}: pick one with --sheet",
    )


def _listing(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _empty(book: CalamineWorkbook, name: str, path: Path, scan: xlsx.Scan | None) -> InputError:
    """Return the error for a sheet with nothing to read, naming the sheets that have data."""
    if scan is not None and _only_errors(scan):
        first = min(scan.facts)
        fact = next(iter(scan.facts[first].values()))
        what = f"{fact.shown} in {fact.cell}" if fact.shown else f"a formula in {fact.cell}"
        return InputError(
            f"sheet '{name}' of {path.name} holds only error values ({what})",
            "open it in Excel or LibreOffice, fix the formulas, and save it again",
        )
    others = [n for n in book.sheet_names if n != name and _has_data(book, n, path, scan)]
    return empty_sheet(name, path, others)


def empty_sheet(name: str, path: Path, others: list[str]) -> InputError:
    """Return the error for an empty sheet `name`, naming `others`, the sheets with data."""
    if others:
        return InputError(
            f"sheet '{name}' of {path.name} is empty; the data is on sheet {_listing(others)}",
            f"pick it with --sheet '{others[0]}'",
        )
    return InputError(f"sheet '{name}' of {path.name} is empty", "put the column names in row 1")


def _has_data(book: CalamineWorkbook, name: str, path: Path, scan: xlsx.Scan | None) -> bool:
    """Return whether sheet `name` holds a cell (an .xlsx sheet is scanned, never loaded)."""
    try:
        if scan is not None:
            return _scan(path, name).cells > 0
        return book.get_sheet_by_name(name).end is not None
    except (CalamineError, InputError, KeyError, zipfile.BadZipFile):
        return False
