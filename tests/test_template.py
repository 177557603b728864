"""`bulkmail template`: the sheet's columns, help, validations, example row and the command."""

from __future__ import annotations

import argparse
from pathlib import Path

import openpyxl
import pytest

from bulkmail.codes import Code
from bulkmail.errors import ConfigError
from bulkmail.models import Severity
from bulkmail.schema import FIELDS, REQUIRED_FIELDS
from bulkmail.template import EXAMPLE, accepted_values, write_template


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("template") / "accounts.xlsx"
    write_template(path)
    return openpyxl.load_workbook(path)


def test_accounts_sheet_has_the_canonical_columns_bold_and_frozen(
    book: openpyxl.Workbook,
) -> None:
    sheet = book["Accounts"]
    assert book.sheetnames == ["Accounts", "Help"]
    assert [c.value for c in sheet[1]] == [f.name for f in FIELDS]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"


@pytest.mark.parametrize(
    ("column", "accepted"),
    [
        ("email", "an email address"),
        ("port", "a whole number from 1 to 65535"),
        ("imap", "true or false"),
        ("incoming_encryption_type", "None, SSL or StartTLS"),
        ("auth_type_in", "Login, CramMd5 or Ntlm"),
        ("auth_type_smtp", "None, Login, CramMd5 or Ntlm"),
    ],
)
def test_each_header_comment_gives_help_and_accepted_values(
    book: openpyxl.Workbook, column: str, accepted: str
) -> None:
    header = {c.value: c for c in book["Accounts"][1]}
    text = header[column].comment.text
    field = next(f for f in FIELDS if f.name == column)
    assert field.help in text and f"Accepted: {accepted}" in text
    assert ("Required." in text) == (column in REQUIRED_FIELDS)


def _rules(book: openpyxl.Workbook) -> dict[str, tuple[str, str | None, str | None]]:
    sheet = book["Accounts"]
    letters = {c.column_letter: c.value for c in sheet[1]}
    rules = {}
    for rule in sheet.data_validations.dataValidation:
        (cells,) = str(rule.sqref).split()
        start, end = cells.split(":")
        assert (start[1:], end[1:]) == ("2", "5000")
        rules[letters[start[0]]] = (rule.type, rule.formula1, rule.formula2)
    return rules


def test_enums_booleans_and_ports_are_validated_on_rows_2_to_5000(
    book: openpyxl.Workbook,
) -> None:
    encryption = ("list", '"None,SSL,StartTLS"', None)
    boolean = ("list", '"true,false"', None)
    port = ("whole", "1", "65535")
    assert _rules(book) == {
        "port": port,
        "smtp_port": port,
        "imap": boolean,
        "smtp_auth": boolean,
        "restrict": boolean,
        "incoming_encryption_type": encryption,
        "outcoming_encryption_type": encryption,
        "auth_type_in": ("list", '"Login,CramMd5,Ntlm"', None),
        "auth_type_smtp": ("list", '"None,Login,CramMd5,Ntlm"', None),
    }


def test_every_validation_refuses_bad_values_with_a_message(book: openpyxl.Workbook) -> None:
    rules = book["Accounts"].data_validations.dataValidation
    assert all(r.showErrorMessage and r.error and r.allow_blank for r in rules)
    port = next(r for r in rules if r.type == "whole")
    assert "1 to 65535" in port.error


def test_password_and_account_columns_are_text(book: openpyxl.Workbook) -> None:
    sheet = book["Accounts"]
    text = {
        c.value for c in sheet[1] if sheet.column_dimensions[c.column_letter].number_format == "@"
    }
    assert text == {"account", "password", "smtp_account", "smtp_password", "portal_password"}


def test_the_example_row_is_complete_and_plainly_fake(book: openpyxl.Workbook) -> None:
    sheet = book["Accounts"]
    assert sheet.max_row == 2
    example = {h.value: c.value for h, c in zip(sheet[1], sheet[2], strict=True)}
    assert example == EXAMPLE
    assert example["server"] == "imap.example.org"
    assert all("fake" in str(example[k]) for k in ("password", "smtp_password", "portal_password"))


def test_help_sheet_explains_columns_values_ports_exit_codes_and_commands(
    book: openpyxl.Workbook,
) -> None:
    rows = [tuple(v for v in r if v is not None) for r in book["Help"].iter_rows(values_only=True)]
    firsts = {r[0]: r for r in rows if r}
    for field in FIELDS:
        required = ("yes",) if field.name in REQUIRED_FIELDS else ()
        assert firsts[field.name] == (field.name, *required, field.help, accepted_values(field))
    assert [firsts[p] for p in ("IMAP", "POP3", "SMTP")] == [
        ("IMAP", 143, 993, 143),
        ("POP3", 110, 995, 110),
        ("SMTP", 25, 465, 587),
    ]
    assert [firsts[n][:2] for n in ("SSL", "StartTLS", "Ntlm")] == [
        ("SSL", 1),
        ("StartTLS", 2),
        ("Ntlm", 7),
    ]
    assert [firsts[code][0] for code in range(4)] == [0, 1, 2, 3]
    text = "\n".join(str(v) for r in rows for v in r)
    assert "bulkmail validate FILE.xlsx" in text and "bulkmail import FILE.xlsx" in text


def test_help_sheet_lists_every_problem_code_under_its_stage(book: openpyxl.Workbook) -> None:
    listed: dict[str, tuple[object, ...]] = {}
    stage = ""  # the section being read: "" outside the problem code sections
    for row in book["Help"].iter_rows(values_only=True):
        first, *rest = row
        if isinstance(first, str) and first.startswith("Problem code ("):
            assert tuple(rest[:3]) == ("Severity", "What it means", "What to do")
            stage = first.removeprefix("Problem code (").removesuffix(")")
        elif first is None:
            stage = ""
        elif stage:
            assert first not in listed, f"{first} is listed twice"
            severity, meaning, hint = rest[:3]
            listed[first] = (stage, severity, meaning, hint or "")  # a note may have no hint
    assert listed == {c.value: (c.stage, c.severity, c.meaning, c.hint) for c in Code}


@pytest.mark.parametrize("name", ["accounts.csv", "accounts.xls", "accounts"])
def test_a_name_not_ending_in_xlsx_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=r"must be an \.xlsx file"):
        write_template(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_kept_unless_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "accounts.xlsx"
    path.write_bytes(b"mine")
    with pytest.raises(ConfigError) as caught:
        write_template(path)
    assert str(path) in str(caught.value) and "--force" in str(caught.value)
    assert path.read_bytes() == b"mine"
    write_template(path, overwrite=True)
    assert openpyxl.load_workbook(path).sheetnames == ["Accounts", "Help"]
    assert [p.name for p in tmp_path.iterdir()] == ["accounts.xlsx"]  # no temporary left


def test_a_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot write"):
        write_template(tmp_path / "no" / "such" / "accounts.xlsx")


def _run(argv: list[str]) -> int:
    # Imported here: importing bulkmail.cli loads every sub-command, so one that does not
    # import yet would otherwise stop this whole file from being collected.
    from bulkmail.cli import template as template_cli

    parser = argparse.ArgumentParser(prog="bulkmail")
    template_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_command_writes_the_file_and_says_what_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _run(["template", "accounts.xlsx"]) == 0
    assert capsys.readouterr().out == (
        "wrote accounts.xlsx: fill one row per mailbox, then `bulkmail validate accounts.xlsx`\n"
    )
    assert (tmp_path / "accounts.xlsx").is_file()
    assert _run(["template", "accounts.xlsx", "--force"]) == 0


def test_command_refuses_to_overwrite_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bulkmail.cli import main

    path = tmp_path / "accounts.xlsx"
    path.write_bytes(b"mine")
    assert main(["template", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"bulkmail: error: {path} already exists (pass --force to replace it)\n"
    )
    assert path.read_bytes() == b"mine"


def test_a_filled_template_validates_cleanly(tmp_path: Path) -> None:
    """Runs against the real reader and validator (other modules); fails until they exist."""
    from bulkmail.reader.table import read
    from bulkmail.validation.table import validate

    path = tmp_path / "accounts.xlsx"
    write_template(path)
    table = read(path)
    assert [f for f in table.fields] == [f.name for f in FIELDS]
    checked = list(validate(table))
    assert [c.row.number for c in checked] == [2]
    assert checked[0].ok
    assert [p for p in checked[0].problems if p.severity is not Severity.INFO] == []
    assert checked[0].account is not None
    assert checked[0].account.payload()["password"] == EXAMPLE["password"]
    assert checked[0].account.port == 993
