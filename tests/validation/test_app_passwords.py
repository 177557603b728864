"""An app password pasted as the provider shows it, in four groups of four (issue 11, kind 7).

The row stays valid and the password is sent as typed; a warning says the spaces are probably
not part of it. Only that exact shape warns: a person's own password with spaces does not.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bulkmail.cli import main
from bulkmail.codes import Code
from bulkmail.models import Severity
from bulkmail.validation.cells import is_grouped_app_password
from bulkmail.validation.table import validate_row

ROW = {
    "email": "nina.k@gmail.com",
    "password": "Imap-Secret-1",
    "server": "imap.gmail.com",
    "smtp_server": "smtp.gmail.com",
}
WARNING = (
    "is four groups of four letters, the way providers show an app password: the spaces are "
    "probably not part of it"
)


@pytest.mark.parametrize(
    "password",
    [
        "abcd efgh ijkl mnop",  # Google, Yandex, Mail.ru
        "qwer tyui opas dfgh",
        "a1b2 c3d4 e5f6 g7h8",  # some providers mix in digits
        "1234 5678 9012 abcd",
    ],
)
def test_four_groups_of_four_warn(password: str) -> None:
    assert is_grouped_app_password(password)


@pytest.mark.parametrize(
    "password",
    [
        "abcdefghijklmnop",  # already without the spaces
        "abcd efgh ijkl",  # three groups
        "abcd efgh ijkl mnop qrst",  # five groups
        "abc efgh ijkl mnop",  # a group of three
        "abcde fgh ijkl mnop",
        "abcd  efgh ijkl mnop",  # two spaces
        "abcd\tefgh\tijkl\tmnop",  # tabs
        "abcd-efgh-ijkl-mnop",  # Apple's hyphens belong to the password
        "Abcd Efgh Ijkl Mnop",  # capitals: a person's passphrase
        "ABCD EFGH IJKL MNOP",
        "abcd efgh ijkl mnoP",
        "1234 5678 9012 3456",  # digits only: a card number, not an app password
        "abcd efgh ijkl mnop!",
        "abcd efgh ijkl mnöp",  # not ASCII
        "ab d efgh ijkl mnop",
        "",
    ],
)
def test_near_misses_do_not_warn(password: str) -> None:
    assert not is_grouped_app_password(password)


@pytest.mark.parametrize("column", ["password", "smtp_password"])
def test_the_row_stays_valid_and_the_password_is_sent_as_typed(column: str) -> None:
    account, problems = validate_row({**ROW, column: "abcd efgh ijkl mnop"}, 2)
    assert account is not None
    assert getattr(account, column) == "abcd efgh ijkl mnop"
    assert [
        (p.code, p.severity, p.column, p.message)
        for p in problems
        if p.severity is not Severity.INFO
    ] == [(Code.APP_PASSWORD_SPACES, Severity.WARNING, column, f"{column} {WARNING}")]
    assert all("abcd" not in p.message + p.hint for p in problems)  # never the secret


def test_spaces_around_it_give_both_warnings() -> None:
    _, problems = validate_row({**ROW, "password": " abcd efgh ijkl mnop "}, 2)
    assert [p.code for p in problems if p.severity is Severity.WARNING] == [
        Code.PASSWORD_WHITESPACE,
        Code.APP_PASSWORD_SPACES,
    ]


def test_the_copied_smtp_password_is_not_warned_about_twice() -> None:
    _, problems = validate_row({**ROW, "password": "abcd efgh ijkl mnop"}, 2)
    assert [p.column for p in problems if p.code is Code.APP_PASSWORD_SPACES] == ["password"]


def test_the_portal_password_is_not_an_app_password() -> None:
    cells = {**ROW, "portal_user": "boss@example.org", "portal_password": "abcd efgh ijkl mnop"}
    _, problems = validate_row(cells, 2)
    assert [p for p in problems if p.code is Code.APP_PASSWORD_SPACES] == []


def test_field_case_app_password_with_spaces(tmp_path: Path) -> None:
    sheet = tmp_path / "app-password-spaces.csv"
    sheet.write_bytes(
        b"email,password,server,port,smtp_server,smtp_port,outcoming_encryption_type\r\n"
        b"nina.k@gmail.com,abcd efgh ijkl mnop,imap.gmail.com,993,smtp.gmail.com,587,StartTLS\r\n"
    )
    reports = tmp_path / "reports"
    args = ["validate", str(sheet), "--user", "admin@corp.example", "--report-dir", str(reports)]
    assert main([*args, "--quiet"]) == 0
    (run,) = [p for p in reports.iterdir() if p.is_dir()]
    with (run / "succeeded.csv").open(encoding="utf-8-sig", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert (row["row"], row["outcome"]) == ("2", "valid")
    assert row["notes"].startswith(f"app-password-spaces: password {WARNING}")
    assert "abcd" not in row["notes"]
