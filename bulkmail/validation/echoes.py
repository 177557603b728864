"""A row's password standing in another of its cells: a row shifted by an unquoted comma.

A CSV row with one cell too many or too few moves every value after it one column over, and
a password lands in `server` or `account`, where it is no longer masked and still looks like
a value ("Summer2024" is a valid host name). So a cell outside the secret columns that holds
exactly the row's password, smtp_password or portal_password (of MIN_ECHO characters or
more: shorter ones are common words and numbers) is an error, and the cell is masked in the
row the report writes. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from operator import itemgetter
from typing import Final

from bulkmail.codes import Code
from bulkmail.models import Problem, Row, Table
from bulkmail.reader.refs import column_letter
from bulkmail.schema import MASK, SECRET_FIELDS
from bulkmail.secrets import secret_columns

__all__ = ["MIN_ECHO", "SecretEchoes"]

MIN_ECHO: Final = 6
"""Characters a secret needs before another cell equal to it is taken for the secret."""

_ORDER: Final = tuple(sorted(SECRET_FIELDS))  # one message per cell names one secret, stably


class SecretEchoes:
    """Find, in each row of one table, the cells outside its secret columns that hold a secret."""

    def __init__(self, table: Table) -> None:
        secret = secret_columns(table.headers, table.fields)
        self._others = tuple(i for i in range(len(table.headers)) if i not in secret)
        self._width = len(table.headers)
        self._pick = itemgetter(*self._others) if len(self._others) > 1 else None
        self._names = tuple(
            field or f"column {column_letter(i)}"
            for i, field in enumerate(
                [*table.fields, *[None] * (len(table.headers) - len(table.fields))]
            )
        )

    def check(self, row: Row, values: Mapping[str, str]) -> tuple[Row, list[Problem]]:
        """Return `row` with each cell that holds a secret masked, and one error per such cell.

        `values` are the row's cells by field, defaults filled in: a password given by
        `--defaults` counts too. Runs for every row: nearly all leave after one substring
        search per secret.
        """
        secrets: dict[str, str] = {}  # text -> the first secret field holding it
        others: str | None = None
        for field in _ORDER:
            text = values.get(field, "").strip()
            if len(text) >= MIN_ECHO:
                # A cell equal to the secret holds it: a secret in none of the other cells
                # joined is in no cell, which settles nearly every row with one search each.
                if others is None:
                    others = "\x1f".join(self._other_cells(row.cells))
                if text in others:
                    secrets.setdefault(text, field)
        return self._masked(row, secrets) if secrets else (row, [])

    def check_all(self, row: Row, values: Mapping[str, str]) -> tuple[Row, list[Problem]]:
        """Return what `check` returns, comparing every secret with every cell: the general
        way, which `check`'s search only skips for secrets in no cell (tests compare them)."""
        secrets: dict[str, str] = {}
        for field in _ORDER:
            text = values.get(field, "").strip()
            if len(text) >= MIN_ECHO:
                secrets.setdefault(text, field)
        return self._masked(row, secrets)

    def _masked(self, row: Row, secrets: dict[str, str]) -> tuple[Row, list[Problem]]:
        """Return `row` with each other cell equal to one of `secrets` (text -> field) masked,
        and one error per such cell."""
        cells = row.cells
        width = len(cells)
        hits = [i for i in self._others if i < width and cells[i].strip() in secrets]
        if not hits:
            return row, []
        masked = list(cells)
        problems = []
        for i in hits:
            masked[i] = MASK
            problems.append(self._problem(row.number, i, secrets[cells[i].strip()]))
        return replace(row, cells=tuple(masked)), problems

    def _other_cells(self, cells: tuple[str, ...]) -> Iterable[str]:
        """Return the row's cells outside the secret columns (at C speed for a whole row)."""
        if self._pick is not None and len(cells) == self._width:
            picked: tuple[str, ...] = self._pick(cells)
            return picked
        return [cells[i] for i in self._others if i < len(cells)]

    def _problem(self, number: int, index: int, field: str) -> Problem:
        name = self._names[index]
        code = Code.PASSWORD_IN_COLUMN
        return Problem(
            number,
            name if not name.startswith("column ") else "",
            code,
            code.severity,
            f"{name} holds the same text as this row's {field} (masked here): the row's cells "
            "are probably shifted",
            code.hint,
        )
