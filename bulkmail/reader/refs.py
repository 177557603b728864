"""Spreadsheet cell references as a person reads them: column letters and "A1" names."""

from __future__ import annotations


def column_letter(index: int) -> str:
    """Return the spreadsheet letters of a 0-based column index: 0 -> "A", 27 -> "AB"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def cell_ref(column: int, row: int) -> str:
    """Return the name of a cell from its 0-based column and its row number: (2, 7) -> "C7"."""
    return f"{column_letter(column)}{row}"
