"""An .xlsx sheet whose used range is mostly empty, streamed cell by cell (openpyxl's parser).

calamine would allocate the whole used range: one stray space in XFD1048576 of a 2-row sheet
is 17 billion cells. Here only the rows present in the file are read, each up to its last
cell (at most `limits.SPARSE_COLUMNS` columns), so memory and time follow the cells that hold
data; a warning names the far corner of the used range. Slower per cell than calamine, which
stays the reader of every other sheet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bulkmail.codes import Code
from bulkmail.errors import InputError
from bulkmail.models import InputInfo, Problem
from bulkmail.reader import limits
from bulkmail.reader.merged import fill_merged
from bulkmail.reader.refs import cell_ref
from bulkmail.reader.sheet import Sheet
from bulkmail.reader.xlsx import Scan


def open_sparse(path: Path, info: InputInfo, scan: Scan) -> Sheet:
    """Open the sheet `info.sheet` of `path` for streaming; warn about its far corner."""
    corner = cell_ref(scan.last_column, scan.last_row)
    try:
        rows = _parsed_rows(path, info.sheet or "")
    except Exception as err:  # openpyxl's internals moved: refuse rather than read wrong
        raise InputError(
            f"{path.name}: the sheet's used range reaches {corner}, too far to read at once "
            f"({type(err).__name__})",
            f"delete what lies in and around {corner} and save the sheet again",
        ) from None
    code = Code.FAR_CELL
    warning = Problem(
        scan.last_row,
        "",
        code,
        code.severity,
        f"the sheet's used range reaches {corner} though it holds {scan.cells:,} cells: "
        "only the cells that hold something are read",
        f"check {corner}: delete any stray value there (and in the empty rows and columns "
        "before it) and save the sheet again",
    )
    records = fill_merged(rows, scan.merged, 0, scan.facts)
    return Sheet(info, records, 0, scan.last_row, scan.facts, (warning,))


def _parsed_rows(path: Path, name: str) -> Iterator[tuple[int, list[Any]]]:
    """Return the rows present in the sheet's XML as (row number, values from column A)."""
    import openpyxl
    from openpyxl.worksheet._reader import WorkSheetParser

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    sheet = book[name]
    parser = WorkSheetParser(
        sheet._get_source(),
        sheet._shared_strings,
        data_only=True,
        epoch=book.epoch,
        date_formats=book._date_formats,
        timedelta_formats=book._timedelta_formats,
    )
    return _records(parser.parse(), book)


def _records(parsed: Iterator[tuple[int, list[dict[str, Any]]]], book: Any) -> Iterator[
    tuple[int, list[Any]]
]:  # fmt: skip
    number = 0
    try:
        for number, cells in parsed:
            raw: list[Any] = []
            for cell in cells:
                column = cell["column"] - 1
                if column >= limits.SPARSE_COLUMNS:
                    break
                if len(raw) <= column:
                    raw.extend([""] * (column + 1 - len(raw)))
                # Error values are blank, as calamine reads them: the scan's facts tell them.
                value = cell["value"]
                raw[column] = "" if value is None or cell["data_type"] == "e" else value
            yield number, raw
    except (ValueError, KeyError, IndexError, SyntaxError) as err:  # ParseError is a SyntaxError
        raise InputError(
            f"the sheet cannot be read after row {number}: it looks damaged "
            f"({type(err).__name__}: the XML is not well formed)",
            "open it in Excel or LibreOffice and save it again",
        ) from None
    finally:
        book.close()
