"""Records as a Python caller builds them (a directory export), shared by the tests of
`bulkmail.table` and of the library's entry points."""

from __future__ import annotations

from typing import Any

import bulkmail

SECRET = "S3cret-Records-Pw-4"
HEADER = ["E-mail", "Password", "IMAP server", "SMTP server", "IMAP port"]


def record(n: int, **changed: Any) -> dict[str, Any]:
    """Return record `n`, its fields as HEADER names them, with `changed` put in."""
    return {
        "E-mail": f"user{n}@corp.example.org",
        "Password": SECRET,
        "IMAP server": "imap.corp.example.org",
        "SMTP server": "smtp.corp.example.org",
        "IMAP port": 993,
    } | changed


def cells_of(table: bulkmail.Table) -> list[tuple[int, tuple[str, ...]]]:
    """Return each row's number and cells."""
    return [(row.number, row.cells) for row in table.rows]
