"""The limits of what bulkmail reads from a workbook, so memory follows the cells that hold data.

A workbook beyond one of these is refused (InputError, exit 2) naming the limit, before any
reader allocates for it. README ("Limits") lists them.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Final

from bulkmail.errors import InputError
from bulkmail.reader import xlsx
from bulkmail.reader.refs import column_letter

MAX_ROWS: Final = 1_048_576  # the most a sheet can have (Excel, LibreOffice)
MAX_COLUMNS: Final = 16_384  # column XFD
MAX_CELLS: Final = 10_000_000  # cells holding something, about 1 GB once read
MAX_UNPACKED: Final = 2 << 30  # bytes of a workbook's parts once unzipped
MAX_CELL_LENGTH: Final = 32_767  # characters in one cell, Excel's own limit
DENSE_AREA: Final = 2_000_000
"""A used range up to this many cells (rows x columns) is read at once, however empty."""
DENSE_FACTOR: Final = 4
"""Above DENSE_AREA, a used range more than this many times its cells is read sparsely."""
SPARSE_COLUMNS: Final = 1_024
"""Columns read from a sparse sheet (A to AMJ); cells right of them are reported, not read."""


def check_unpacked(book: zipfile.ZipFile, filename: str) -> None:
    """Raise InputError for a workbook whose parts unzip to more than MAX_UNPACKED bytes."""
    size = sum(item.file_size for item in book.infolist())
    if size > MAX_UNPACKED:
        raise InputError(
            f"{filename} unzips to {size / (1 << 30):.1f} GiB: more than bulkmail reads "
            f"({MAX_UNPACKED >> 30} GiB)",
            "split the sheet into smaller files, or save it as .csv",
        )


def check_extent(scan: xlsx.Scan, filename: str) -> None:
    """Raise InputError for a sheet beyond MAX_ROWS, MAX_COLUMNS or MAX_CELLS."""
    if scan.last_row > MAX_ROWS or scan.last_column >= MAX_COLUMNS:
        raise InputError(
            f"{filename} has a cell beyond the last one a sheet can have "
            f"(row {MAX_ROWS:,}, column XFD): the file is damaged",
            "open it in Excel or LibreOffice and save it again",
        )
    if scan.cells > MAX_CELLS:
        raise InputError(
            f"{filename} holds {scan.cells:,} cells: more than bulkmail reads "
            f"({MAX_CELLS:,} cells)",
            "split the sheet into smaller files",
        )


def is_sparse(scan: xlsx.Scan) -> bool:
    """Return whether the sheet's used range is too empty to be read at once."""
    area = scan.last_row * (scan.last_column + 1)
    return area > DENSE_AREA and area > DENSE_FACTOR * scan.cells


def refuse_long_cell(cells: list[str], number: int) -> None:
    """Raise InputError naming the row's first cell longer than MAX_CELL_LENGTH characters."""
    index = next(i for i, c in enumerate(cells) if len(c) > MAX_CELL_LENGTH)
    raise InputError(
        f"row {number}: cell {column_letter(index)} holds {len(cells[index]):,} "
        f"characters: more than a cell can hold ({MAX_CELL_LENGTH:,})",
        "shorten it: no mail setting is that long",
    )


_CALAMINE_LIMIT = re.compile(r"Cell limit exceeded \((\d+) cells requested, max (\d+)\)")


def too_large(path: Path, reason: str) -> InputError | None:
    """Return the error for a sheet calamine refused for its size (an .ods far cell), if so."""
    found = _CALAMINE_LIMIT.search(reason)
    if found is None:
        return None
    return InputError(
        f"{path.name}: the sheet's used range spans {int(found[1]):,} cells, more than bulkmail "
        f"reads at once ({int(found[2]):,}): a stray value far from the data?",
        "delete what lies beyond the data (or save the sheet as .xlsx, read cell by cell) and "
        "try again",
    )
