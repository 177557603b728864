"""Excel 97-2003 workbooks (.xls) through xlrd.

Not calamine: calamine reads every string of an .xls whose codepage record says 1252 as
`m\\x00p\\x00g\\x00` (a known calamine bug), reports an encrypted .xls as a codepage error and
panics on a truncated one. xlrd reads them right, tells error cells, dates, number formats and
merged ranges, and keeps rows ragged, so a far cell costs nothing. An .xls holds at most
65,536 rows, so its being slower per cell than calamine is bounded.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bulkmail.errors import InputError
from bulkmail.models import CellFact, CellState, InputInfo
from bulkmail.reader import filekind
from bulkmail.reader.merged import fill_merged
from bulkmail.reader.refs import cell_ref
from bulkmail.reader.sheet import Facts, Sheet, empty_sheet
from bulkmail.reader.xlsx import BUILTIN_FORMATS, format_kind, shown_as

Pick = Callable[[list[str], list[str], str | None, str], str]


def open_xls(path: Path, wanted: str | None, pick: Pick) -> Sheet:
    """Open the chosen sheet of an .xls; raise InputError for one that cannot be read."""
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), formatting_info=True, ragged_rows=True)
    except xlrd.XLRDError as err:
        if "encrypted" in str(err).lower():
            raise filekind.protected(path) from None
        raise filekind.unreadable(path, "xls", str(err)) from None
    except Exception as err:  # xlrd fails on damaged files with whatever it meets
        raise filekind.unreadable(path, "xls", f"{type(err).__name__}: {err}") from None
    names = book.sheet_names()
    visible = [s.name for s in book.sheets() if s.visibility == 0]
    name = pick(names, visible, wanted, path.name)
    sheet = book.sheet_by_name(name)
    if sheet.nrows == 0:
        raise _empty(book, name, path)
    info = InputInfo(path=str(path), format="xls", sheet=name)
    facts: Facts = {}
    ranges = [((r0, c0), (r1 - 1, c1 - 1)) for r0, r1, c0, c1 in sheet.merged_cells]
    records = fill_merged(_records(book, sheet, facts), ranges, 0, facts)
    return Sheet(info, records, 0, sheet.nrows, facts)


def _empty(book: Any, name: str, path: Path) -> InputError:
    return empty_sheet(name, path, [s.name for s in book.sheets() if s.name != name and s.nrows])


def _records(book: Any, sheet: Any, facts: Facts) -> Iterator[tuple[int, list[Any]]]:
    """Yield (row number, values) with calamine's shapes; record odd cells in `facts`."""
    import xlrd

    kinds = _number_kinds(book)
    for index in range(sheet.nrows):
        number = index + 1
        types, values = sheet.row_types(index), sheet.row_values(index)
        raw: list[Any] = list(values)
        for column, kind in enumerate(types):
            if kind == xlrd.XL_CELL_TEXT:
                continue
            if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                raw[column] = ""
            elif kind == xlrd.XL_CELL_DATE:
                raw[column] = _date(values[column], book.datemode)
            elif kind == xlrd.XL_CELL_BOOLEAN:
                raw[column] = bool(values[column])
            elif kind == xlrd.XL_CELL_ERROR:
                raw[column] = ""
                shown = xlrd.error_text_from_code.get(values[column], "#ERROR")
                _add(facts, number, column, CellState.ERROR, shown)
            elif kind == xlrd.XL_CELL_NUMBER and kinds:
                how = kinds.get(sheet.cell_xf_index(index, column))
                if how:
                    _add(facts, number, column, CellState.FORMATTED, shown_as(how, values[column]))
        yield number, raw


def _number_kinds(book: Any) -> dict[int, str]:
    """Return the XF indexes whose number format changes how a number shows, and how."""
    found: dict[int, str] = {}
    for index, xf in enumerate(book.xf_list):
        fmt = book.format_map.get(xf.format_key)
        code = getattr(fmt, "format_str", "")
        kind = BUILTIN_FORMATS.get(xf.format_key) or format_kind(code)
        if kind:
            found[index] = kind
    return found


def _date(value: float, mode: int) -> datetime.date | datetime.time | datetime.datetime | float:
    import xlrd

    try:
        moment: datetime.datetime = xlrd.xldate_as_datetime(value, mode)
    except (ValueError, OverflowError, xlrd.xldate.XLDateError):
        return value
    if value < 1:
        return moment.time()
    return moment.date() if value == int(value) else moment


def _add(facts: Facts, number: int, column: int, state: CellState, shown: str) -> None:
    ref = cell_ref(column, number)
    facts.setdefault(number, {})[column] = CellFact(state, ref, shown)
