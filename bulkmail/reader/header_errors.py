"""Why no header can be used: the InputErrors of the header search, each naming what the
rows hold and what to do.

Part of the reader. A row that should be the header may be data, passwords included: these
messages quote a cell only where `bulkmail.secrets.quotable` allows, through
`bulkmail.printable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bulkmail.errors import InputError
from bulkmail.models import InputInfo
from bulkmail.printable import listing, quoted
from bulkmail.schema import REQUIRED_FIELDS, near_field
from bulkmail.secrets import looks_like_data, quotable

Texts = tuple[str, ...]


def _where(info: InputInfo) -> str:
    name = Path(info.path).name
    return f"sheet {quoted(info.sheet)} of {name}" if info.sheet else name


def empty(info: InputInfo, last_row: int | None) -> InputError:
    """Return the error for a sheet without a non-blank row, saying what it holds."""
    if last_row:  # cells are there, but none shows a value that can be read
        return InputError(
            f"{_where(info)} shows no value: its cells (up to row {last_row}) are blank, "
            "error values (#N/A, #REF!...) or formulas never calculated",
            "fix the cells and save the file again from Excel or LibreOffice, "
            "or pick the sheet with the data with --sheet",
        )
    return InputError(f"{_where(info)} is empty: no header row", "put the column names in row 1")


def no_known_column(rows: Sequence[tuple[int, Texts]], info: InputInfo) -> InputError:
    """Return the error for rows none of which names a known column.

    A sheet without its header row has data in row 1, passwords included: the message says
    so without quoting it, and quotes other rows' cells only where `quotable` allows.
    """
    first, texts = rows[0]
    if looks_like_data(texts):
        return InputError(
            f"row {first} looks like data, not a header: it holds an email address or a URL "
            "where the column names should be",
            "add a header row above it with the column names, e.g. "
            f"{', '.join(REQUIRED_FIELDS)} (`bulkmail template` writes a sheet with all of them)",
        )
    last = rows[-1][0]
    # Quote the row most like a header: the one with the most cells that holds no data.
    number, texts = max(
        (row for row in rows if not looks_like_data(row[1])),
        key=lambda row: (sum(1 for cell in row[1] if cell), -row[0]),
    )
    message = (
        f"row {first} has no column bulkmail knows ({_found(texts)})"
        if first == last
        else f"rows {first} to {last} have no column bulkmail knows (row {number}: {_found(texts)})"
    )
    cells = [cell for cell in texts if cell]
    slips = [
        f"{quoted(cell)} -> {field}"
        for cell, ok in zip(cells, quotable(cells), strict=True)
        if ok and (field := near_field(cell))
    ]
    hint = "check that this is the right file"
    if slips:
        hint = f"rename the headers to the column names: {listing(slips)}"
    elif info.sheet:
        hint = f"check that {quoted(info.sheet)} is the right sheet (pick another with --sheet)"
    return InputError(message, hint)


def data_above(numbers: list[int], header: int) -> InputError:
    """Return the error for data rows above the header row (a sheet sorted with its header)."""
    rows = f"row {numbers[0]}" if len(numbers) == 1 else f"rows {listing(list(map(str, numbers)))}"
    return InputError(
        f"{rows} above the header (row {header}) hold data (an email address or a URL)",
        "move the header row above the data: was the sheet sorted with its header row?",
    )


def _found(headers: Texts) -> str:
    """Return "found 'Notes', 'Year' and 9 more; 1 cell not shown" for a row's cells."""
    cells = [h for h in headers if h]
    shown = [quoted(h) for h, ok in zip(cells, quotable(cells), strict=True) if ok]
    hidden = len(cells) - len(shown)
    parts = [listing(shown)] if shown else []
    if hidden:
        parts.append(f"{hidden:,} cell{'' if hidden == 1 else 's'} not shown")
    return "found " + "; ".join(parts)
