"""`--autofill known`: a sheet of just email and password gets its servers from the provider
table, offline; a cell wins over --set/--defaults, which win over autofill."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkmail.cli import main
from bulkmail.codes import Code
from bulkmail.errors import InputError
from bulkmail.models import Checked
from bulkmail.reader.table import read
from bulkmail.validation.table import validate
from tests.check.loopback import loopback_only


def checked(
    tmp_path: Path, text: str, defaults: dict[str, str] | None = None, autofill: bool = True
) -> list[Checked]:
    path = tmp_path / "accounts.csv"
    path.write_text(text, encoding="utf-8")
    return list(validate(read(path), defaults=defaults, autofill=autofill))


def servers(row: Checked) -> tuple[object, ...]:
    a = row.account
    assert a is not None, [str(p) for p in row.problems]
    return (a.server, a.port, a.imap, a.incoming_encryption_type,
            a.smtp_server, a.smtp_port, a.outcoming_encryption_type)  # fmt: skip


def autofilled(row: Checked) -> list[tuple[str, str]]:
    return [(p.column, p.message) for p in row.problems if p.code is Code.AUTOFILLED]


def test_a_sheet_of_email_and_password_gets_the_providers_servers(tmp_path: Path) -> None:
    rows = checked(tmp_path, "email,password\nnina@gmail.com,App-pw-1\nivan@Ya.ru,App-pw-2\n")
    assert servers(rows[0]) == ("imap.gmail.com", 993, True, 1, "smtp.gmail.com", 465, 1)
    assert servers(rows[1]) == ("imap.yandex.ru", 993, True, 1, "smtp.yandex.ru", 465, 1)
    assert autofilled(rows[0]) == [
        ("server", "server imap.gmail.com, port 993, incoming_encryption_type SSL from Gmail / "
         "Google Workspace's settings (https://support.google.com/mail/answer/7126229)"),
        ("smtp_server", "smtp_server smtp.gmail.com, smtp_port 465, outcoming_encryption_type "
         "SSL from Gmail / Google Workspace's settings "
         "(https://support.google.com/mail/answer/7126229)"),
    ]  # fmt: skip


def test_a_cell_and_the_defaults_win_over_autofill(tmp_path: Path) -> None:
    text = "email,password,server,port\nnina@gmail.com,App-pw-1,mail.corp.example,\n"
    (row,) = checked(tmp_path, text, defaults={"smtp_port": "587"})
    # the row's own incoming server keeps the usual inference; SMTP takes the default port
    assert servers(row) == ("mail.corp.example", 993, True, 1, "smtp.gmail.com", 587, 2)
    assert [column for column, _ in autofilled(row)] == ["smtp_server"]


def test_pop3_rows_get_the_providers_pop3_server(tmp_path: Path) -> None:
    (row,) = checked(tmp_path, "email,password,imap\nnina@gmail.com,App-pw-1,false\n")
    assert servers(row) == ("pop.gmail.com", 995, False, 1, "smtp.gmail.com", 465, 1)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("bob@example.org,Secret-1,", Code.REQUIRED),  # a domain no provider serves to everyone
        ("tim@icloud.com,App-pw-1,false", Code.REQUIRED),  # iCloud has no POP3
        ("ann@outlook.com,Secret-1,", Code.PROVIDER_PASSWORD_REFUSED),  # filled, then refused
    ],
)
def test_rows_autofill_cannot_complete_fail_validation(
    tmp_path: Path, line: str, code: Code
) -> None:
    (row,) = checked(tmp_path, f"email,password,imap\n{line}\n")
    assert row.account is None
    assert code in [p.code for p in row.problems]


def test_without_autofill_the_server_columns_are_required(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing required columns"):
        checked(tmp_path, "email,password\nnina@gmail.com,App-pw-1\n", autofill=False)


def test_check_takes_autofill_and_refuses_a_microsoft_row_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    loopback_only(monkeypatch)  # a row let through would reach Microsoft: fail instead
    sheet = tmp_path / "accounts.csv"
    sheet.write_text("email,password\nann@outlook.com,Secret-1\n", encoding="utf-8")
    argv = ["check", str(sheet), "--autofill", "known", "--report-dir", str(tmp_path / "r")]
    assert main([*argv, "--login"]) == 1
    out = capsys.readouterr().out
    assert "row 2, server: outlook.office365.com is Microsoft 365 / Outlook.com's" in out


def test_an_address_without_an_at_sign_is_not_read_as_a_domain(tmp_path: Path) -> None:
    (row,) = checked(tmp_path, "email,password\ngmail.com,App-pw-1\n")
    assert autofilled(row) == []


@pytest.mark.parametrize("encryption", ["\u00b2", "\uff11"])
def test_an_encryption_cell_of_digits_from_another_script_is_an_error_not_a_crash(
    tmp_path: Path, encryption: str
) -> None:
    """A superscript 2 passed str.isdigit() and broke int(): a traceback for one cell."""
    (row,) = checked(
        tmp_path, f"email,password,incoming_encryption_type\nnina@gmail.com,pw-1,{encryption}\n"
    )
    assert not row.ok
    assert [p.column for p in row.problems if p.severity == "error"] == ["incoming_encryption_type"]
