"""What the spreadsheet changed: cells whose value is not what the person typed or sees.

Two rules, pure like the rest of the validator:
- `fact_problems`: the reader's cell facts (`models.CellFact`) -> problems. An error value
  or a formula never calculated where a value should be is an error (a note in a column
  bulkmail ignores); a value taken from a merged range is a note; in a column that is text
  by nature (`schema.TEXT_FIELDS`), a date, a whole number of 16+ digits or a number shown as
  a percentage, fraction, scientific notation or money is an error: it cannot be what was
  typed, and sending it costs a failed login at the mail server.
- `shown_forms`: text in those columns in the form a spreadsheet displays such values
  (`1.23457E+15`, `#N/A`), as a CSV saved from a spreadsheet holds them.
A secret's value is never quoted; what it was turned into is named instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Final

from bulkmail.codes import Code
from bulkmail.models import CellFact, CellState, Problem, Row
from bulkmail.printable import cell_quoted
from bulkmail.schema import SECRET_FIELDS, TEXT_FIELDS

_RETYPE: Final = "format the column as Text (Format Cells > Text) and type the value again"
_ERRORS: Final = r"#(?:N/A|REF!|VALUE!|DIV/0!|NAME\?|NUM!|NULL!|SPILL!|CALC!|FIELD!|BLOCKED!)"
_SHOWN = re.compile(rf"[+-]?[0-9](?:[.,][0-9]+)?E[+-][0-9]{{2,3}}|{_ERRORS}|Err:[0-9]{{3}}")
_CONVERTED: Final = {
    CellState.DATE: "a date or time",
    CellState.FORMATTED: "a formatted number",
}


def fact_problems(
    facts: Mapping[int, CellFact], fields: Sequence[str | None], number: int
) -> list[Problem]:
    """Return the problems of one row's cell facts (`fields`: the field of each cell)."""
    found: list[Problem] = []
    for index, fact in sorted(facts.items()):
        field = fields[index] if index < len(fields) else None
        problem = _problem(fact, field, number)
        if problem is not None:
            found.append(problem)
    return found


def _problem(fact: CellFact, field: str | None, number: int) -> Problem | None:
    state = fact.state
    if state is CellState.ERROR or state is CellState.UNCALCULATED:
        return _error_cell(fact, field, number)
    if field is None:
        return None
    if state is CellState.MERGED:
        code = Code.MERGED_CELL
        return _found(
            code,
            number,
            field,
            f"{field} ({fact.cell}) read as the value of merged cells {fact.shown}",
        )
    if field not in TEXT_FIELDS:
        return None
    if state is CellState.DIGITS:
        return _digits_lost(fact, field, number)
    return _converted(fact, field, number)


def _error_cell(fact: CellFact, field: str | None, number: int) -> Problem:
    what = (
        f"the error value {fact.shown}"
        if fact.state is CellState.ERROR
        else "a formula whose result was never calculated"
    )
    if field is None:
        code = Code.IGNORED_CELL_ERROR
        return Problem(
            number, "", code, code.severity, f"cell {fact.cell} holds {what} (column ignored)"
        )
    code = Code.CELL_ERROR if fact.state is CellState.ERROR else Code.FORMULA_UNCALCULATED
    return Problem(
        number, field, code, code.severity, f"{field} ({fact.cell}) holds {what}, not a value"
    )


def _digits_lost(fact: CellFact, field: str, number: int) -> Problem:
    shown = f"a number of {len(fact.shown)} digits" if field in SECRET_FIELDS else fact.shown
    code = Code.DIGITS_LOST
    return _found(
        code,
        number,
        field,
        f"{field} ({fact.cell}) is {shown}: a spreadsheet keeps 15 significant digits, so "
        "what was typed after the 15th became zeros",
        _RETYPE,
    )


def _converted(fact: CellFact, field: str, number: int) -> Problem:
    what = _CONVERTED.get(fact.state, "a number")
    shown = what if field in SECRET_FIELDS else f"{what} ({fact.shown})"
    if fact.state is CellState.FORMATTED and field in SECRET_FIELDS:
        shown = f"a number shown as {fact.shown.partition(', ')[2]}"
    code = Code.VALUE_CONVERTED
    return _found(
        code,
        number,
        field,
        f"{field} ({fact.cell}) is {shown}: the spreadsheet converted what was typed, so it "
        "is not the text to send",
        _RETYPE,
    )


def _found(code: Code, number: int, field: str, message: str, hint: str = "") -> Problem:
    """Return the problem `code` of row `number`'s `field`, at the code's severity."""
    return Problem(number, field, code, code.severity, message, hint)


def shown_forms(fields: Sequence[str | None]) -> Callable[[Row], list[Problem]] | None:
    """Return the check of a row's text columns for a converted or error value's display form.

    None when the table has no text column. Rows without `E+`, `E-`, `#` or `Err:` in those
    columns (nearly all) cost one join and four substring tests.
    """
    text = [(i, f) for i, f in enumerate(fields) if f in TEXT_FIELDS]
    if not text:
        return None
    pick = itemgetter(*(i for i, _ in text), text[0][0])  # always a tuple, even for one
    last = max(i for i, _ in text)

    def check(row: Row) -> list[Problem]:
        cells = row.cells
        if len(cells) > last:
            joined = "\x1f".join(pick(cells))
            if (
                "E+" not in joined
                and "E-" not in joined
                and "#" not in joined
                and "Err:" not in joined
            ):
                return []
        found: list[Problem] = []
        for index, field in text:
            value = cells[index].strip() if index < len(cells) else ""
            if value and _SHOWN.fullmatch(value):
                found.append(_shown_problem(field, value, row.number))
        return found

    return check


def _shown_problem(field: str, text: str, number: int) -> Problem:
    quoted = "the value" if field in SECRET_FIELDS else cell_quoted(text)
    if text.startswith(("#", "Err:")):
        code = Code.CELL_ERROR
        return _found(
            code,
            number,
            field,
            f"{field} is {quoted}: a spreadsheet's error value, not a value",
            "fix the formula in the spreadsheet, then save the CSV again",
        )
    code = Code.VALUE_CONVERTED
    return _found(
        code,
        number,
        field,
        f"{field} is {quoted} in scientific notation: a spreadsheet showed a long number this "
        "way and saved it so; the digits typed are lost",
        f"{_RETYPE}, then save the CSV again",
    )
