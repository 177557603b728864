"""The header as a person sees it: which row it is, what the rows above it are, and what a
repeated column means; every message about it true."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bulkmail.codes import Code
from bulkmail.errors import InputError
from bulkmail.models import InputInfo, Problem, Row, Severity
from bulkmail.reader.header import SEARCHED, find_header, map_headers
from bulkmail.reader.table import read
from bulkmail.schema import near_field
from bulkmail.validation.table import check_columns, validate

GROUPS = ["Employee", None, "Incoming server", None, None, "Outgoing server", None, None]
COLUMNS = ["Email", "Password", "Host", "Port", "Encryption", "Host", "Port", "Encryption"]
VERA = ["vera@agency.example", "Vera-Pass-1", "imap.agency.example", 993, "SSL"]
YURI = ["yuri@agency.example", "Yuri-Pass-2", "imap.agency.example", 993, "SSL"]
SMTP = ["smtp.agency.example", 465, "SSL"]
SMTP_FIELDS = ("smtp_server", "smtp_port", "outcoming_encryption_type")


def write_xlsx(path: Path, rows: list[list[Any]], merged: tuple[str, ...] = ()) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Mailboxes"
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row, 1):
            if value is not None:
                sheet.cell(r, c, value)
    for cells in merged:
        sheet.merge_cells(cells)
    book.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    path.write_text("\n".join(",".join("" if v is None else str(v) for v in r) for r in rows))
    return path


def two_row_header(path: Path) -> Path:
    """The field case: merged group labels over the real column names (two-row-header.xlsx)."""
    rows = [GROUPS, COLUMNS, VERA + SMTP, YURI + SMTP]
    return write_xlsx(path, rows, merged=("A1:B1", "C1:E1", "F1:H1"))


def test_the_field_case_reads_row_2_as_the_header_and_the_outgoing_repeats_as_smtp(
    tmp_path: Path,
) -> None:
    table = read(two_row_header(tmp_path / "two-row-header.xlsx"))
    assert table.header_row == 2
    assert table.fields == (
        "email",
        "password",
        "server",
        "port",
        "incoming_encryption_type",
        *SMTP_FIELDS,
    )
    info = Severity.INFO
    assert table.problems == (
        Problem(
            1,
            "",
            Code.GROUP_ROW,
            info,
            "group labels 'Employee', 'Incoming server', 'Outgoing server' above the header "
            "(row 2): not read as columns",
        ),
        *(
            Problem(
                2,
                field,
                Code.READ_AS_SMTP,
                info,
                f"column {new} '{name}' is read as {field}: it repeats column {old} '{name}' "
                "under the group label 'Outgoing server'",
            )
            for field, new, old, name in zip(
                SMTP_FIELDS, "FGH", "CDE", ("Host", "Port", "Encryption"), strict=True
            )
        ),
    )
    checked = list(validate(table, run_user="admin@corp.example"))
    assert [(c.ok, c.problems) for c in checked if not c.ok] == []
    account = checked[0].account
    assert account is not None
    assert (account.server, account.port, account.smtp_server, account.smtp_port) == (
        "imap.agency.example",
        993,
        "smtp.agency.example",
        465,
    )
    assert account.outcoming_encryption_type == 1


def test_the_field_case_on_the_command_line_exits_0_saying_what_it_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bulkmail.cli import main

    path = two_row_header(tmp_path / "two-row-header.xlsx")
    report = str(tmp_path / "rep")
    code = main(["validate", str(path), "--user", "admin@corp.example", "--report-dir", report])
    out = capsys.readouterr().out
    assert code == 0
    assert "no similar header" not in out
    assert "  row 1: group labels 'Employee', 'Incoming server', 'Outgoing server'" in out
    assert "  row 2, smtp_port: column G 'Port' is read as smtp_port" in out


@pytest.mark.parametrize(
    ("groups", "smtp"),
    [
        # the labels in a CSV, not merged: each covers the blank cells right of it
        (["Who", None, "IMAP", None, None, "SMTP", None, None], SMTP_FIELDS),
        (
            ["Сотрудник", None, "Входящая почта", None, None, "Исходящая почта", None, None],
            SMTP_FIELDS,
        ),
        # a merged cell's value filling its whole range
        (
            ["Who", "Who", "Incoming", "Incoming", "Incoming", "Outgoing", "Outgoing", "Outgoing"],
            SMTP_FIELDS,
        ),
        # the outgoing group first: the first Host is the SMTP one
        (["Who", None, "Outgoing server", None, None, "Incoming server", None, None], None),
    ],
)
def test_group_labels_in_a_csv_and_in_either_order(
    tmp_path: Path, groups: list[Any], smtp: tuple[str, ...] | None
) -> None:
    table = read(write_csv(tmp_path / "in.csv", [groups, COLUMNS, VERA + SMTP]))
    if smtp is not None:
        assert table.fields[5:] == smtp
    else:
        assert table.fields[2:5] == SMTP_FIELDS
        assert table.fields[5:] == ("server", "port", "incoming_encryption_type")
    assert [p.code for p in table.problems] == [Code.GROUP_ROW] + [Code.READ_AS_SMTP] * 3


@pytest.mark.parametrize(
    "above",
    [
        # a title over the whole header: its "SMTP" must not turn the one Port into smtp_port
        ["SMTP migration"],
        # labels that name no side
        ["Person", None, "Server A", None, None, "Server B"],
        # both sides in one label, over the second Host only
        ["Mailbox", None, "Server", None, None, "IMAP / SMTP"],
    ],
)
def test_a_label_that_does_not_name_the_outgoing_side_alone_reads_nothing_as_smtp(
    tmp_path: Path, above: list[Any]
) -> None:
    path = write_csv(tmp_path / "in.csv", [above, COLUMNS, VERA + SMTP])
    table = read(path)
    assert table.header_row == 2
    assert table.fields[5:] == (None, None, None)
    codes = [p.code for p in table.problems]
    assert codes == [
        Code.GROUP_ROW if len([a for a in above if a]) > 1 else Code.ROWS_ABOVE_HEADER,
        *[Code.DUPLICATE_COLUMN] * 3,
    ]
    with pytest.raises(InputError) as caught:
        check_columns(table, {})
    assert str(caught.value) == (
        f"{path}: missing required column in the header (row 2): smtp_server (the second "
        "'Host' repeats the first and is ignored) (name the second 'Host' smtp_server; name "
        "the second 'Port' smtp_port; name the second 'Encryption' outcoming_encryption_type)"
    )


def test_labels_apart_from_the_header_are_no_group_row(tmp_path: Path) -> None:
    table = read(write_csv(tmp_path / "in.csv", [GROUPS, [], COLUMNS, VERA + SMTP]))
    assert table.header_row == 3
    assert [p.code for p in table.problems] == [
        Code.ROWS_ABOVE_HEADER,
        *[Code.DUPLICATE_COLUMN] * 3,
    ]


def test_a_row_above_that_may_hold_a_secret_is_no_group_row_and_is_not_quoted(
    tmp_path: Path,
) -> None:
    above = ["Incoming", None, "Pa$$w0rd-1", None, None, "Outgoing"]
    table = read(write_csv(tmp_path / "in.csv", [above, COLUMNS, VERA + SMTP]))
    assert table.problems[0].code == Code.ROWS_ABOVE_HEADER
    assert Code.READ_AS_SMTP not in [p.code for p in table.problems]
    assert not [p for p in table.problems if "Pa$$w0rd-1" in str(p)]


def test_a_repeated_login_and_password_under_smtp_are_the_smtp_ones(tmp_path: Path) -> None:
    groups = ["Mailbox", "IMAP", None, None, "SMTP", None, None]
    header = ["Email", "Login", "Password", "Server", "Login", "Password", "Server"]
    row = ["ann@x.org", "ann", "In-Pass-1", "imap.x.org", "ann-out", "Out-Pass-2", "smtp.x.org"]
    table = read(write_csv(tmp_path / "in.csv", [groups, header, row]))
    assert table.fields == (
        "email",
        "account",
        "password",
        "server",
        "smtp_account",
        "smtp_password",
        "smtp_server",
    )
    [checked] = validate(table, run_user="admin@x.org")
    assert checked.account is not None
    assert (checked.account.smtp_account, checked.account.smtp_password) == (
        "ann-out",
        "Out-Pass-2",
    )


def test_a_lone_column_is_never_read_by_its_group_label() -> None:
    fields, problems = map_headers(
        ("Email", "Password", "Host", "Port", "SMTP host"),
        labels=("Who", "Who", "Outgoing", "Outgoing", "Outgoing"),
    )
    assert fields == ("email", "password", "server", "port", "smtp_server")
    assert problems == []


def test_a_repeat_without_group_labels_says_which_column_is_ignored_and_the_fix() -> None:
    fields, problems = map_headers(("Email", "Host", "Host", "Mail"))
    assert fields == ("email", "server", None, None)
    assert [(p.message, p.hint) for p in problems] == [
        (
            "columns B 'Host' and C 'Host' both mean server",
            "column C is ignored; if it is the SMTP one, name it smtp_server",
        ),
        (
            "columns A 'Email' and D 'Mail' both mean email",
            "column D is ignored; delete or rename one of them",
        ),
    ]


def test_a_title_and_notes_above_the_header_are_skipped_with_a_warning(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["Accounts to move"],
        [],
        ["Ask IT before editing", None, "v2"],
        ["email", "password", "server", "smtp_server"],
        ["a@x.org", "p", "imap.x.org", "smtp.x.org"],
    ]
    table = read(write_xlsx(tmp_path / "in.xlsx", rows))
    assert table.header_row == 4
    assert table.problems == (
        Problem(
            1,
            "",
            Code.ROWS_ABOVE_HEADER,
            Severity.WARNING,
            "rows 1 to 3 are above the header (row 4), which names the most known columns: "
            "not read",
            Code.ROWS_ABOVE_HEADER.hint,
        ),
    )
    assert list(table.rows) == [Row(5, ("a@x.org", "p", "imap.x.org", "smtp.x.org"))]


def test_data_above_the_header_stops_the_run(tmp_path: Path) -> None:
    # A sheet sorted with its header row: the header landed among the data.
    rows = [
        ["anna@x.org", "p1", "imap.x.org", "smtp.x.org"],
        ["email", "password", "server", "smtp_server"],
        ["zoe@x.org", "p2", "imap.x.org", "smtp.x.org"],
    ]
    with pytest.raises(InputError) as caught:
        read(write_csv(tmp_path / "in.csv", rows))
    assert str(caught.value) == (
        "row 1 above the header (row 2) hold data (an email address or a URL) (move the header "
        "row above the data: was the sheet sorted with its header row?)"
    )
    assert "p1" not in str(caught.value)


def test_the_header_is_the_row_naming_the_most_known_columns_the_first_on_a_tie() -> None:
    info = InputInfo("in.csv", "csv")
    # "Incoming server" and "Outgoing server" are aliases too: 2 known against 3
    rows = [(1, ("Incoming server", "Outgoing server")), (2, ("email", "port", "smtp_port"))]
    assert find_header(rows, info, 0, None).number == 2
    tie = [(1, ("email", "server")), (2, ("mail", "host"))]
    assert find_header(tie, info, 0, None).number == 1
    # distinct fields count: a repeated Host is one known column
    repeated = [(1, ("Host", "Host", "Host")), (2, ("email", "password"))]
    assert find_header(repeated, info, 0, None).number == 2


def test_only_the_first_ten_non_blank_rows_are_searched(tmp_path: Path) -> None:
    notes: list[list[Any]] = [[f"note {n}"] for n in range(SEARCHED)]
    path = write_xlsx(tmp_path / "in.xlsx", [*notes, ["email", "password"]])
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.message == (
        "rows 1 to 10 have no column bulkmail knows (row 1: found 'note 0')"
    )
    assert caught.value.hint == (
        "check that 'Mailboxes' is the right sheet (pick another with --sheet)"
    )
    assert read(write_xlsx(tmp_path / "in.xlsx", [*notes[1:], ["email"]])).header_row == 10


def test_no_known_column_quotes_the_row_most_like_a_header_and_the_likely_slips(
    tmp_path: Path,
) -> None:
    rows = [["Accounts"], ["E-Mail Adress", "Pasword", "Notes"], ["a@x.org", "Secret-1", "x"]]
    with pytest.raises(InputError) as caught:
        read(write_csv(tmp_path / "in.csv", rows))
    assert str(caught.value) == (
        "rows 1 to 3 have no column bulkmail knows (row 2: found 'E-Mail Adress', 'Pasword', "
        "'Notes') (rename the headers to the column names: 'E-Mail Adress' -> email, "
        "'Pasword' -> password)"
    )


def test_a_sheet_of_error_cells_is_not_called_empty(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Lookups"
    for ref, error in (("A1", "#N/A"), ("B1", "#REF!"), ("A2", "#VALUE!")):
        sheet[ref].value = error
        sheet[ref].data_type = "e"
    book.save(tmp_path / "in.xlsx")
    with pytest.raises(InputError) as caught:
        read(tmp_path / "in.xlsx")
    # The reader of cell states says it first, naming a cell (tests/reader/test_cell_state.py).
    assert str(caught.value).startswith("sheet 'Lookups' of in.xlsx holds only error values (#N/A")
    assert "empty" not in str(caught.value)


# --- Russian headers as Russian Excel users write them ----------------------------------------

RUSSIAN = [
    ("Электронная почта", "email"),
    ("Эл. почта", "email"),
    ("Адрес электронной почты", "email"),
    ("Адрес почты", "email"),
    ("Почтовый ящик", "email"),
    ("E-mail адрес", "email"),
    ("Пароль", "password"),
    ("Пароль почты", "password"),
    ("Пароль POP3", "password"),
    ("Пароль входящей почты", "password"),
    ("Логин", "account"),
    ("Логин POP3", "account"),
    ("Логин входящей почты", "account"),
    ("Имя пользователя", "account"),
    ("Учетная запись", "account"),
    ("Учётная запись", "account"),
    ("Имя", "name"),
    ("ФИО", "name"),
    ("Ф.И.О.", "name"),
    ("Отображаемое имя", "name"),
    ("Имя отправителя", "name"),
    ("Полное имя", "name"),
    ("Сервер входящей почты", "server"),
    ("Входящий сервер", "server"),
    ("Сервер POP3", "server"),
    ("POP3-сервер", "server"),
    ("Хост", "server"),
    ("Хост IMAP", "server"),
    ("Порт", "port"),
    ("Порт POP3", "port"),
    ("Порт входящей почты", "port"),
    ("Порт входящего сервера", "port"),
    ("Шифрование", "incoming_encryption_type"),
    ("Тип шифрования", "incoming_encryption_type"),
    ("Шифрование входящей почты", "incoming_encryption_type"),
    ("Шифрование IMAP", "incoming_encryption_type"),
    ("Защита соединения", "incoming_encryption_type"),
    ("Аутентификация", "auth_type_in"),
    ("Тип аутентификации", "auth_type_in"),
    ("Метод аутентификации", "auth_type_in"),
    ("Аутентификация входящей почты", "auth_type_in"),
    ("Сервер исходящей почты", "smtp_server"),
    ("Исходящий сервер", "smtp_server"),
    ("Сервер отправки", "smtp_server"),
    ("Хост SMTP", "smtp_server"),
    ("Порт SMTP", "smtp_port"),
    ("Порт исходящей почты", "smtp_port"),
    ("Порт исходящего сервера", "smtp_port"),
    ("Логин исходящей почты", "smtp_account"),
    ("Пароль исходящей почты", "smtp_password"),
    ("Шифрование SMTP", "outcoming_encryption_type"),
    ("Шифрование исходящей почты", "outcoming_encryption_type"),
    ("Аутентификация SMTP", "auth_type_smtp"),
    ("Аутентификация исходящей почты", "auth_type_smtp"),
    ("Владелец", "portal_user"),
    ("Владелец ящика", "portal_user"),
    ("Пароль пользователя портала", "portal_password"),
]


@pytest.mark.parametrize(("header", "field"), RUSSIAN)
def test_russian_headers(header: str, field: str) -> None:
    assert map_headers((header,)) == ((field,), [])


def test_a_russian_sheet_reads_whole(tmp_path: Path) -> None:
    headers = ["ФИО", "Электронная почта", "Логин", "Пароль", "Сервер входящей почты", "Порт"]
    headers += ["Шифрование", "Сервер исходящей почты", "Порт SMTP", "Шифрование SMTP"]
    row = ["Вера К.", "vera@corp.example", "vera", "Пароль-1", "imap.corp.example", 993, "SSL"]
    row += ["smtp.corp.example", 465, "SSL"]
    table = read(write_xlsx(tmp_path / "in.xlsx", [headers, row]))
    assert table.problems == ()
    [checked] = validate(table, run_user="admin@corp.example")
    assert [p for p in checked.problems if p.severity is Severity.ERROR] == []
    assert checked.account is not None
    assert (checked.account.account, checked.account.smtp_port) == ("vera", 465)


# --- guesses for unknown headers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Pasword", "password"),
        ("Emial", "email"),
        ("IMAP Servr", "server"),
        ("E-Mail Adress", "email"),
        ("SMTP serv", "smtp_server"),
        ("Host2", "server"),
        ("Ports", "port"),
        ("Пароли", "password"),
        ("Почтa", "email"),  # a Latin "a" at the end
        # alike, but no slip: no guess
        ("Surname", None),
        ("Passport", None),
        ("Sport", None),
        ("Post", None),
        ("Cost", None),  # one letter from Host, but Host is too short to guess from
        ("Part", None),
        ("Maile", None),  # a letter moved two places is no one-letter slip
        ("Portal", None),
        ("Protocol", None),
        ("Mailer", None),
        ("Адресат", None),
        ("Department", None),
        ("email", None),  # known: nothing to guess
    ],
)
def test_near_field_guesses_only_likely_slips(header: str, field: str | None) -> None:
    assert near_field(header) == field
