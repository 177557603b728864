"""A bulkmail report.xlsx fed back as input: read from its Failed sheet unless --sheet says."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from bulkmail.errors import InputError
from bulkmail.reader.refeed import fill_secrets
from bulkmail.reader.table import read
from bulkmail.schema import MASK

HEADER = ["row", "outcome", "stage", "code", "email", "password", "server", "smtp_server"]
FAILED = [2, "failed", "portal", "mailbox-login-refused", "ann@example.org", "********",
          "imap.example.org", "smtp.example.org"]  # fmt: skip


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_the_failed_sheet_of_a_report_is_read_by_default(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "report.xlsx",
        {"Summary": [["item", "value"], ["command", "import"]], "Succeeded": [HEADER[:2]],
         "Failed": [HEADER, FAILED]},
    )  # fmt: skip
    table = read(path)
    assert (table.info.sheet, table.info.report) == ("Failed", True)
    assert [dict(table.values(row))["email"] for row in table.rows] == ["ann@example.org"]
    with pytest.raises(InputError, match="Succeeded"):  # --sheet still wins
        read(path, sheet="Succeeded")


def test_a_workbook_with_other_sheets_is_not_taken_for_a_report(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "staff.xlsx",
        {"Summary": [["item", "value"]], "Failed": [HEADER, FAILED], "Notes": [["x"]]},
    )
    with pytest.raises(InputError, match="Summary"):  # the first sheet, as for any workbook
        read(path)


def test_masked_passwords_are_filled_from_the_row_of_the_same_mailbox(tmp_path: Path) -> None:
    # casefold() made "Straße@" and "strasse@" (two mailboxes to the portal) one, and so
    # ΟΔΟΣ@ and οδος@: one row got the other's password.
    original = tmp_path / "accounts.csv"
    typed = ("Straße@x.org", "strasse@x.org", "ΟΔΟΣ@x.org", "οδος@x.org", "jos\u00e9@x.org")
    lines = [f"u@corp.org,{email},pw-{n}" for n, email in enumerate(typed)]
    original.write_text("\n".join(["portal_user,email,password", *lines]), encoding="utf-8")
    fixed = tmp_path / "failed.csv"
    again = ("STRASSE@x.org", "Straße@x.org", "οδοσ@x.org", "ΟΔΟς@x.org", "jose\u0301@x.org")
    masked = [f"U@Corp.org,{email},{MASK}" for email in again]
    fixed.write_text("\n".join(["portal_user,email,password", *masked]), encoding="utf-8")
    table = fill_secrets(read(fixed), read(original))
    filled = [dict(table.values(row))["password"] for row in table.rows]
    assert filled == ["pw-1", "pw-0", "pw-2", "pw-3", "pw-4"]
