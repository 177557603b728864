"""A row's cell facts: what the sheet showed in a cell that its text does not say.

Two sources: the workbook reader's facts (error cells, uncalculated formulas, merged ranges,
numbers shown as a percentage...), keyed by row number and sheet column; and the type of the
value in a text-by-nature column (a date, a whole number of 16+ digits), seen here as the row
is read. Rows without either cost one dict lookup and one type test of their text cells.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any, Final

from bulkmail.models import CellFact, CellState
from bulkmail.reader.refs import cell_ref
from bulkmail.schema import TEXT_FIELDS

FactsOf = Callable[[int, list[Any]], dict[int, CellFact] | None]
"""(row number, raw values from the first column read) -> facts keyed by cell index, or None."""

_STR_ONLY: Final = frozenset({str})
_DIGITS_15: Final = 1e15  # the smallest whole number of 16 digits
_DATES: Final = (datetime.date, datetime.time, datetime.timedelta)


def cell_facts(
    sheet: dict[int, dict[int, CellFact]], first_column: int, fields: Sequence[str | None]
) -> FactsOf:
    """Return the function giving one row's facts, keyed by its cells' index."""
    text = [i for i, f in enumerate(fields) if f in TEXT_FIELDS]
    pick = itemgetter(*text, text[0]) if text else None  # always a tuple, even for one
    last = max(text, default=-1)

    def facts_of(number: int, raw: list[Any]) -> dict[int, CellFact] | None:
        found = sheet.get(number) if sheet else None
        facts = {c - first_column: f for c, f in found.items()} if found else None
        if pick is None or (len(raw) > last and _STR_ONLY.issuperset(map(type, pick(raw)))):
            return facts
        for i in text:
            value = raw[i] if i < len(raw) else ""
            fact = None if type(value) is str else _typed(value, i + first_column, number)
            if fact is not None and (facts is None or i not in facts):
                facts = facts or {}
                facts[i] = fact
        return facts

    return facts_of


def _typed(value: Any, column: int, number: int) -> CellFact | None:
    """Return the fact of a value that cannot be what was typed in a text column."""
    kind = type(value)
    if kind is float or kind is int:
        if math.isfinite(value) and value == int(value) and abs(value) >= _DIGITS_15:
            return CellFact(CellState.DIGITS, cell_ref(column, number), str(int(value)))
        return None
    if isinstance(value, _DATES):
        shown = value.isoformat() if not isinstance(value, datetime.timedelta) else str(value)
        return CellFact(CellState.DATE, cell_ref(column, number), shown)
    return None
