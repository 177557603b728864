"""Workbooks (.xlsx, .xlsm, .xls, .ods) through python-calamine: pick the sheet, stream its rows.

Part of the reader. calamine loads the chosen sheet into native memory at once (fast, compact);
its rows become Python values one at a time, as they are consumed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, NamedTuple

from python_calamine import (
    CalamineError,
    CalamineWorkbook,
    PasswordError,
    SheetTypeEnum,
    SheetVisibleEnum,
)

from bulkmail.errors import InputError
from bulkmail.models import InputInfo

Records = Iterator[tuple[int, list[Any]]]
"""(row number as the spreadsheet shows it, raw cell values) per sheet row."""

_KINDS: Final = (
    (b"PK\x03\x04", "a zip archive"),
    (b"\xd0\xcf\x11\xe0", "an Office binary file"),
)


class Sheet(NamedTuple):
    """An opened sheet: what it is, its rows as they are consumed, and where its data lies."""

    info: InputInfo
    records: Records
    first_column: int  # 0-based index of the first used column (iter_rows starts there)
    last_row: int  # number of the last used row, 0 when the sheet is empty


def open_sheet(path: Path, fmt: str, sheet: str | None) -> Sheet:
    """Open the chosen sheet (the first visible one by default) of a workbook."""
    try:
        with CalamineWorkbook.from_path(path) as book:
            name = _pick(book, sheet, path.name)
            data = book.get_sheet_by_name(name)
    except PasswordError:
        raise InputError(
            f"{path.name} is password-protected",
            "open it, remove the password (File > Info > Protect Workbook) and save a copy",
        ) from None
    except CalamineError as err:
        raise _unreadable(path, fmt, err) from None
    # iter_rows() starts at the sheet's row 1 even when the data starts lower, but at the
    # first used column: column letters need that offset, row numbers do not.
    info = InputInfo(path=str(path), format=fmt, sheet=name)
    first_column = data.start[1] if data.start else 0
    last_row = data.end[0] + 1 if data.end else 0
    return Sheet(info, enumerate(data.iter_rows(), 1), first_column, last_row)


def _pick(book: CalamineWorkbook, wanted: str | None, filename: str) -> str:
    """Return the sheet to read: the one named, else the first visible worksheet."""
    names = book.sheet_names
    if not names:
        raise InputError(f"{filename} has no sheets", "save it again from Excel or LibreOffice")
    if wanted is None:
        for meta in book.sheets_metadata:
            if meta.visible == SheetVisibleEnum.Visible and meta.typ == SheetTypeEnum.WorkSheet:
                return meta.name
        return names[0]
    if wanted in names:
        return wanted
    near = [n for n in names if n.strip().casefold() == wanted.strip().casefold()]
    if len(near) == 1:
        return near[0]
    listing = ", ".join(f"'{n}'" for n in names)
    raise InputError(
        f"{filename} has no sheet named '{wanted}'",
        f"its sheets are {listing}: pick one with --sheet",
    )


def _unreadable(path: Path, fmt: str, err: CalamineError) -> InputError:
    """Return the error for a file calamine cannot open, saying what the file really is."""
    with path.open("rb") as f:
        start = f.read(512)
    kind = next((what for magic, what in _KINDS if start.startswith(magic)), None)
    if not start:
        return InputError(f"{path.name} is empty", f"save the sheet again as .{fmt}")
    if kind is None and b"\0" not in start:
        return InputError(
            f"{path.name} is not a .{fmt} workbook: it holds text",
            "if it is comma- or tab-separated text, rename it to .csv",
        )
    what = f" ({kind})" if kind else ""
    return InputError(
        f"{path.name} cannot be read as .{fmt}{what}: {err}",
        f"open it in Excel or LibreOffice and save it again as .{fmt}",
    )
