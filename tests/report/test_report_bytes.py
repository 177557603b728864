"""A whole validate report pinned byte for byte: the fast paths of reading, validating and
writing may change how they work, never what they write.

One sheet of awkward rows (numbers, dates, booleans, blanks, secrets with spaces, formula-like
and quoted cells, line breaks, control characters, duplicates, echoed passwords, converted
values, a long cell) is validated from an .xlsx and from a .csv; the two CSVs, every cell of
report.xlsx and summary.json's counts must equal the files in tests/fixtures/report_golden/.
(Of summary.json and the Summary sheet only what the rows decide is pinned: the counts and
problems, not the clock, the input's facts or the list of report files.) After a deliberate
change of the report, rewrite them with `BULKMAIL_WRITE_GOLDEN=1 python -m pytest
tests/report/test_report_bytes.py` and review the diff.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter

from bulkmail.pipeline import validate_file
from bulkmail.settings import InputSettings

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "report_golden"
NOW = datetime.datetime(2026, 11, 23, 19, 30, 5, tzinfo=datetime.UTC)
# What the rows decide in summary.json (and in the Summary sheet, "counts.valid"...).
COUNTED = ("command", "exit_code", "total", "counts", "succeeded", "failed", "problems")

HEADER = [
    "portal_user", "portal_password", "name", "email", "account", "password", "server",
    "port", "imap", "incoming_encryption_type", "auth_type_in", "smtp_server", "smtp_port",
    "smtp_auth", "smtp_account", "smtp_password", "outcoming_encryption_type", "Comment",
]  # fmt: skip
_USER, _PW = "owner@corp.example.org", "Portal-pw-1"
_IN, _OUT = "imap.mail.example.org", "smtp.mail.example.org"


def _row(n: int, **changes: Any) -> list[Any]:
    """A valid row numbered `n`, with `changes` by column name."""
    cells: dict[str, Any] = {
        "portal_user": _USER, "portal_password": _PW, "name": f"Person {n}",
        "email": f"box{n}@mail.example.org", "account": "", "password": f"pw-{n}",
        "server": _IN, "port": 993, "imap": "true", "incoming_encryption_type": "SSL",
        "auth_type_in": "Login", "smtp_server": _OUT, "smtp_port": 465, "smtp_auth": "true",
        "smtp_account": "", "smtp_password": "", "outcoming_encryption_type": "SSL",
        "Comment": "",
    }  # fmt: skip
    cells.update(changes)
    return [cells[h] for h in HEADER]


ROWS: list[list[Any]] = [
    _row(1),
    _row(2, account="login2", smtp_account="smtp2", smtp_password="Smtp secret 2"),
    _row(3, port=99999),
    _row(4, email=""),
    _row(5, email="not-an-address"),
    _row(6, email="box1@mail.example.org"),  # the same mailbox as row 1
    _row(7, email="\u200bbox7@mail.example.org"),
    _row(8, password="  spaced pw  "),
    _row(9, password="=1+2", name="-minus", Comment="@SUM(A1)"),
    _row(10, name="Doe, John", Comment='He said "hi", twice'),
    _row(11, name="two\nlines", Comment="tab\there"),
    _row(12, name="+plus", Comment="'=quoted"),
    _row(13, name="pw-13"),  # the row's password in its name
    _row(14, password=1234567890123456),  # Excel kept 15 digits
    _row(15, password=datetime.date(2024, 10, 1)),
    _row(16, imap=True, smtp_auth=False),
    _row(17, name="Verão Ñandú Ж"),
    _row(18, name="\x1b[31mred\x1b[0m"),
    _row(19, name="L" * 5000),
    _row(20, password="abcd efgh ijkl mnop"),
    _row(21, portal_user="", portal_password=""),
    _row(22, portal_password=""),
    _row(23, incoming_encryption_type="TLSX"),
    _row(24, port=993.5, smtp_port="abc"),
    _row(25, server="", smtp_server=""),
    _row(26, Comment='=HYPERLINK("http://x")'),
    _row(27, account="other@mail.example.org", smtp_auth="false"),
    _row(28, portal_user="Owner@Corp.Example.Org", email="BOX1@mail.example.org"),
    _row(29, password=123456),
    _row(30, email=" box30@mail.example.org ", name="  padded  "),
]
BLANK_AFTER = 12  # a blank line after this many data rows: skipped, its number kept


def _write_xlsx(path: Path) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = book.add_worksheet("Accounts")
    dated = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, HEADER)
    for i, row in enumerate(ROWS):
        r = i + 1 + (i >= BLANK_AFTER)
        for c, value in enumerate(row):
            if isinstance(value, datetime.date):
                sheet.write_datetime(r, c, datetime.datetime.combine(value, datetime.time()), dated)
            elif value != "":
                sheet.write(r, c, value)
    book.close()


def _write_csv(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for i, row in enumerate(ROWS):
            if i == BLANK_AFTER:
                out.writerow([])
            out.writerow([_as_csv(v) for v in row])


def _as_csv(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _sheets(path: Path) -> dict[str, list[list[Any]]]:
    """Every sheet's cells with their types; of the Summary, the top codes and COUNTED."""
    book = openpyxl.load_workbook(path, read_only=True)
    sheets: dict[str, list[list[Any]]] = {}
    for sheet in book.worksheets:
        rows = [[_typed(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        if sheet.title == "Summary":
            rows = [row for row in rows if _counted(str(row[0][1]))]
        sheets[sheet.title] = rows
    book.close()
    return sheets


def _counted(item: str) -> bool:
    return item in ("item", "top problem codes") or item.split(".")[0] in COUNTED


def _typed(value: Any) -> list[Any]:
    return [type(value).__name__, value]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_validate_report_is_byte_for_byte_the_golden_one(tmp_path: Path, kind: str) -> None:
    source = tmp_path / f"accounts.{kind}"
    (_write_xlsx if kind == "xlsx" else _write_csv)(source)
    result = validate_file(
        InputSettings(path=source), tmp_path / "reports", now=lambda: NOW, keep_rows=False
    )
    paths = result.paths
    summary = json.loads(paths.summary_json.read_text(encoding="utf-8"))
    got = {
        "succeeded.csv": paths.succeeded_csv.read_bytes(),
        "failed.csv": paths.failed_csv.read_bytes(),
        "report.xlsx.txt": _cells(_sheets(paths.xlsx)),
        "summary.json": _json({k: v for k, v in summary.items() if k in COUNTED}),
    }
    folder = GOLDEN / kind
    if os.environ.get("BULKMAIL_WRITE_GOLDEN"):
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in got.items():
            (folder / name).write_bytes(data)
    for name, data in got.items():
        assert data == (folder / name).read_bytes(), f"{kind}: {name} differs from the golden one"


def _cells(sheets: dict[str, list[list[Any]]]) -> bytes:
    """One line per sheet name, then one JSON line per row: a review reads the diff by row."""
    lines = []
    for name, rows in sheets.items():
        lines += [f"== {name}", *(json.dumps(row, ensure_ascii=False) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n").encode()
