"""Values the spreadsheet converted on entry, in columns that are text by nature (kind 2).

A 16-digit password typed into a General cell keeps 15 digits; a login typed as 1-10 becomes
a date; 50% is 0.5. Each is an error naming what the cell shows and the fix; whole numbers of
up to 15 digits stay valid (a numeric password, an 11-digit numeric login).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bulkmail.codes import Code
from bulkmail.models import Checked, Severity
from bulkmail.reader.table import read
from bulkmail.validation.table import validate

HEADER = ["email", "password", "server", "smtp_server"]
BOX = ["imap.corp.example", "smtp.corp.example"]


def workbook(path: Path, rows: list[list[Any]], formats: dict[str, str] | None = None) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Accounts"
    for row in rows:
        ws.append(row)
    for ref, fmt in (formats or {}).items():
        ws[ref].number_format = fmt
    book.save(path)
    return path


def checked(path: Path) -> list[Checked]:
    return list(validate(read(path)))


def findings(row: Checked) -> list[str]:
    return [str(p) for p in row.problems if p.severity is Severity.ERROR]


def test_the_long_number_case_fails_row_2_on_its_password_and_keeps_row_3(
    tmp_path: Path,
) -> None:
    path = workbook(
        tmp_path / "long-number-password.xlsx",
        [
            HEADER,
            ["mila@corp.example", 1234567890123460, *BOX],
            ["oleg@corp.example", 123456, *BOX],
        ],
    )
    bad, good = checked(path)
    assert findings(bad) == [
        "row 2, password: password (B2) is a number of 16 digits: a spreadsheet keeps 15 "
        "significant digits, so what was typed after the 15th became zeros (format the column "
        "as Text (Format Cells > Text) and type the value again)"
    ]
    assert "1234567890123460" not in str(bad.problems)  # a secret is never quoted
    assert good.ok and good.account is not None and good.account.password == "123456"


def test_up_to_15_digits_stay_valid_and_a_login_is_quoted(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "digits.xlsx",
        [
            ["email", "account", "password", "server", "smtp_server"],
            ["a@corp.example", 79161234567, 999999999999999, *BOX],
            ["b@corp.example", 7916123456700000, "Pw-2", *BOX],
        ],
    )
    first, second = checked(path)
    assert first.ok and first.account is not None
    assert (first.account.account, first.account.password) == ("79161234567", "999999999999999")
    assert [p.message for p in second.problems if p.code is Code.DIGITS_LOST] == [
        "account (B3) is 7916123456700000: a spreadsheet keeps 15 significant digits, so what "
        "was typed after the 15th became zeros"
    ]


@pytest.mark.parametrize(
    ("value", "fmt", "shown"),
    [
        (0.5, "0%", "a number shown as a percentage"),
        (0.5, "0.0%", "a number shown as a percentage"),
        (5, "#,##0.000", ""),
        (0.25, "# ?/?", "a number shown as a fraction"),
        (123456789, "0.00E+00", "a number shown as scientific notation"),
        (12, '"$"#,##0.00', "a number shown as an amount of money"),
        (12, "#,##0.00 [$€-407]", "a number shown as an amount of money"),
        (45566, "yyyy-mm-dd", "a date or time"),
        (0.5, "hh:mm", "a date or time"),
    ],
)
def test_a_number_shown_otherwise_than_typed_in_a_password_is_an_error(
    tmp_path: Path, value: float, fmt: str, shown: str
) -> None:
    path = workbook(tmp_path / "f.xlsx", [HEADER, ["a@corp.example", value, *BOX]], {"B2": fmt})
    (row,) = checked(path)
    expected = [(Code.VALUE_CONVERTED, f"password (B2) is {shown}")] if shown else []
    errors = [p for p in row.problems if p.severity is Severity.ERROR]
    assert [(p.code, p.message.partition(":")[0]) for p in errors] == expected


def test_what_a_login_shows_is_quoted(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "d.xlsx",
        [
            ["email", "account", "password", "server", "smtp_server"],
            ["a@corp.example", datetime.date(2024, 10, 1), "Pw-1", *BOX],
            ["b@corp.example", 0.5, "Pw-2", *BOX],
        ],
        {"B3": "0%"},
    )
    first, second = checked(path)
    assert [p.message for p in first.problems if p.code is Code.VALUE_CONVERTED] == [
        "account (B2) is a date or time (2024-10-01): the spreadsheet converted what was "
        "typed, so it is not the text to send"
    ]
    assert [p.message for p in second.problems if p.code is Code.VALUE_CONVERTED] == [
        "account (B3) is a formatted number (50%, a percentage): the spreadsheet converted "
        "what was typed, so it is not the text to send"
    ]


def test_formats_in_columns_that_are_not_text_are_left_alone(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "p.xlsx",
        [
            [*HEADER, "port", "Started"],
            ["a@corp.example", "Pw", *BOX, 993, datetime.date(2024, 1, 2)],
        ],
        {"E2": '"$"#,##0', "F2": "0%"},
    )
    (row,) = checked(path)
    assert row.ok and row.account is not None and row.account.port == 993


def test_a_csv_holding_what_a_spreadsheet_displayed_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "saved.csv"
    path.write_text(
        "email,account,password,server,smtp_server,name\n"
        "a@corp.example,1.23457E+15,Pw-1,imap.corp.example,smtp.corp.example,1E+10\n"
        "b@corp.example,,1.23457E+15,imap.corp.example,smtp.corp.example,\n"
        "#N/A,,Pw-3,imap.corp.example,smtp.corp.example,#N/A\n"
        "c@corp.example,E+15,Pw#1E+10,imap.corp.example,smtp.corp.example,\n",
        encoding="utf-8",
    )
    rows = checked(path)
    assert [p.message for p in rows[0].problems if p.column == "account"] == [
        'account is "1.23457E+15" in scientific notation: a spreadsheet showed a long number '
        "this way and saved it so; the digits typed are lost"
    ]
    assert [p.message for p in rows[1].problems if p.code is Code.VALUE_CONVERTED] == [
        "password is the value in scientific notation: a spreadsheet showed a long number "
        "this way and saved it so; the digits typed are lost"
    ]
    assert [(p.column, p.code) for p in rows[2].problems if p.code is Code.CELL_ERROR] == [
        ("email", Code.CELL_ERROR)
    ]
    assert rows[3].ok
