"""Feed a fixed Failed sheet back: fill its masked passwords from the original sheet.

A whole report.xlsx fed back is read from its Failed sheet (reader/sheet.py); `report_fed`
is the note that says so, and what to do about its masked passwords.

Reports never hold passwords (they show the mask), so a Failed sheet fixed by hand comes back
with masked cells; `--secrets-from ORIGINAL` takes them from the original input, matched by
(portal_user, email), or by email alone when that is unambiguous.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from bulkmail.codes import Code
from bulkmail.models import Problem, Row, Severity, Table
from bulkmail.portal.lowering import mailbox_key
from bulkmail.schema import MASK, SECRET_FIELDS
from bulkmail.settings import InputSettings

_AMBIGUOUS: dict[str, str] = {}


def _key(values: dict[str, str]) -> tuple[str, str]:
    """Return the row's (portal user, mailbox) as the import tells them apart: the login by
    str.lower() (run.identities.user_key), the email by `portal.lowering.mailbox_key`. Not
    casefold(), which makes "Straße@" and "strasse@", two mailboxes, one."""
    user, email = values.get("portal_user", "").strip(), values.get("email", "").strip()
    return user.lower(), mailbox_key(email)


def _index(
    original: Table,
) -> tuple[dict[tuple[str, str], dict[str, str]], dict[str, dict[str, str]]]:
    by_pair: dict[tuple[str, str], dict[str, str]] = {}
    by_email: dict[str, dict[str, str]] = {}
    for row in original.rows:
        values = dict(original.values(row))
        secrets = {f: v for f, v in values.items() if f in SECRET_FIELDS and v and v != MASK}
        user, email = _key(values)
        if not email:
            continue
        by_pair[(user, email)] = secrets
        by_email[email] = _AMBIGUOUS if email in by_email else secrets
    return by_pair, by_email


def report_fed(table: Table, inp: InputSettings) -> Problem:
    """Return the note that the input is a bulkmail report.xlsx: which sheet is read, and,
    without --secrets-from, that its passwords are masked and how to fill them."""
    name = Path(inp.path).name
    sheet = table.info.sheet
    default = inp.sheet is None
    message = f"{name} is a bulkmail report: its sheet '{sheet}' is read" + (
        " (--sheet picks another)" if default else ""
    )
    if table.size_hint == 0:  # the header only: that run failed no row
        message += f"; it has no rows: no row {'failed' if sheet == 'Failed' else 'is there'}"
        hint = "nothing to send again" if sheet == "Failed" else ""
    elif inp.secrets_from is None:
        hint = (
            "its passwords are masked (********): give the original sheet with "
            "--secrets-from ORIGINAL to fill them, e.g. --secrets-from accounts.xlsx"
        )
    else:
        hint = f"masked passwords are filled from {Path(inp.secrets_from).name}"
    return Problem(table.header_row, "", Code.REPORT_FED, Severity.INFO, message, hint)


def fill_secrets(table: Table, original: Table) -> Table:
    """Return `table` whose masked secret cells are filled from `original`."""
    by_pair, by_email = _index(original)
    secret_columns = [i for i, f in enumerate(table.fields) if f in SECRET_FIELDS]

    def rows() -> Iterator[Row]:
        for row in table.rows:
            if not any(row.cells[i] == MASK for i in secret_columns):
                yield row
                continue
            user, email = _key(dict(table.values(row)))
            secrets = by_pair.get((user, email)) or by_email.get(email) or {}
            cells = list(row.cells)
            for i in secret_columns:
                field = table.fields[i]
                if cells[i] == MASK and field is not None and field in secrets:
                    cells[i] = secrets[field]
            yield Row(row.number, tuple(cells), row.facts)

    return replace(table, rows=rows())
