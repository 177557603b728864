"""Merged cells read as the person sees them: the range's value in every cell it covers.

A workbook keeps a merged range's value in its top-left cell only, so the rows below it read
as blank, and blank has a meaning here (`portal_user` blank = the run's --user). A range that
spans several rows gives its value to every cell it covers, each marked with a MERGED fact so
the report says where the value came from. A range within one row is left as it is: that is a
label over a group of columns (a title, the group row above a header), not a value of each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bulkmail.models import CellFact, CellState
from bulkmail.reader.refs import cell_ref

Ranges = list[tuple[tuple[int, int], tuple[int, int]]]
"""((first row, first column), (last row, last column)), 0-based, as python-calamine gives."""

_Span = tuple[int, int, int, int, str]
"""A range spanning rows: first row number, first column, last column, last row number, "A2:A4"."""


def fill_merged(
    records: Iterable[tuple[int, list[Any]]],
    ranges: Ranges,
    first_column: int,
    facts: dict[int, dict[int, CellFact]],
) -> Iterator[tuple[int, list[Any]]]:
    """Yield the records with each multi-row range's value in every cell it covers.

    `records` start at column `first_column`; the facts of the cells filled are added to
    `facts` (row number -> 0-based column) before their row is yielded.
    """
    starts: dict[int, list[_Span]] = {}
    for (top, left), (bottom, right) in ranges:
        if bottom > top:
            ref = f"{cell_ref(left, top + 1)}:{cell_ref(right, bottom + 1)}"
            starts.setdefault(top + 1, []).append((top + 1, left, right, bottom + 1, ref))
    # No generator in between when there is nothing to fill: the rows stream as they are.
    return _filled(records, starts, first_column, facts) if starts else iter(records)


def _filled(
    records: Iterable[tuple[int, list[Any]]],
    starts: dict[int, list[_Span]],
    first_column: int,
    facts: dict[int, dict[int, CellFact]],
) -> Iterator[tuple[int, list[Any]]]:
    active: list[tuple[_Span, Any]] = []
    for number, raw in records:
        for span in starts.get(number, ()):
            index = span[1] - first_column
            value = raw[index] if 0 <= index < len(raw) else ""
            if value is not None and value != "":
                active.append((span, value))
        if active:
            _fill(number, raw, active, first_column, facts)
            active = [(span, value) for span, value in active if span[3] > number]
        yield number, raw


def _fill(
    number: int,
    raw: list[Any],
    active: list[tuple[_Span, Any]],
    first_column: int,
    facts: dict[int, dict[int, CellFact]],
) -> None:
    """Put each active range's value in the cells it covers in row `number`."""
    for (top, left, right, _, ref), value in active:
        for column in range(max(left, first_column), right + 1):
            if number == top and column == left:
                continue  # the cell that holds the value
            index = column - first_column
            while len(raw) <= index:
                raw.append("")
            raw[index] = value
            facts.setdefault(number, {})[column] = CellFact(
                CellState.MERGED, cell_ref(column, number), ref
            )
