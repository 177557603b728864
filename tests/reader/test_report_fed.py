"""A bulkmail report.xlsx fed back as input: read from its Failed sheet unless --sheet says."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from bulkmail.errors import InputError
from bulkmail.reader.table import read

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
