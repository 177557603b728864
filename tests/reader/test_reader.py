"""The reader on real workbooks: values, headers, sheets, row numbers and every input error."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from odf.opendocument import OpenDocumentSpreadsheet  # type: ignore[import-untyped]
from odf.table import Table as OdsTable  # type: ignore[import-untyped]
from odf.table import TableCell, TableRow
from odf.text import P  # type: ignore[import-untyped]

from bulkmail.errors import InputError
from bulkmail.models import InputInfo, Problem, Row, Severity
from bulkmail.reader.table import cell_text, column_letter, map_headers, read


def write_xlsx(
    path: Path, sheets: dict[str, list[list[Any]]], hidden: tuple[str, ...] = ()
) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row, 1):
                if value is not None:
                    sheet.cell(r, c, value)
        if name in hidden:
            sheet.sheet_state = "hidden"
    book.save(path)
    return path


def write_ods(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    doc = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = OdsTable(name=name)
        for row in rows:
            tr = TableRow()
            for value in row:
                if value is None:
                    cell = TableCell()
                elif isinstance(value, int | float):
                    cell = TableCell(valuetype="float", value=value)
                    cell.addElement(P(text=str(value)))
                else:
                    cell = TableCell(valuetype="string")
                    cell.addElement(P(text=value))
                tr.addElement(cell)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


HEADER = ["email", "password", "server", "port"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (993.0, "993"),
        (1.5, "1.5"),
        (123456.0, "123456"),
        (1e20, "100000000000000000000"),
        (0.1 + 0.2, "0.3"),
        (-0.0, "0"),
        (7, "7"),
        (True, "true"),
        (False, "false"),
        (None, ""),
        ("  x y  ", "x y"),
        (datetime.date(2024, 5, 6), "2024-05-06"),
        (datetime.datetime(2024, 1, 2, 3, 4), "2024-01-02T03:04:00"),
        (datetime.time(1, 2, 3), "01:02:03"),
    ],
)
def test_cell_text(value: Any, text: str) -> None:
    assert cell_text(value) == text


@pytest.mark.parametrize(("index", "letter"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ")])
def test_column_letter(index: int, letter: str) -> None:
    assert column_letter(index) == letter


def test_xlsx_values_as_the_user_sees_them(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {
            "Accounts": [
                ["email", "password", "port", "smtp_password", "name", "restrict", "Notes"],
                [" a@x.ru ", 123456, 993, " pa ss ", "  Ann  ", True, 1.5],
                [],
                ["b@x.ru", "\tpw", 10**20, None, datetime.date(2024, 5, 6), False, None],
            ]
        },
    )
    table = read(path)
    assert table.info == InputInfo(path=str(path), format="xlsx", sheet="Accounts")
    assert table.fields == ("email", "password", "port", "smtp_password", "name", "restrict", None)
    assert list(table.rows) == [
        Row(2, ("a@x.ru", "123456", "993", " pa ss ", "Ann", "true", "1.5")),
        Row(4, ("b@x.ru", "\tpw", "100000000000000000000", "", "2024-05-06", "false", "")),
    ]
    assert table.size_hint == 3


def test_xlsm_and_ods_read_alike(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        HEADER,
        ["a@x.ru", 123456, "imap.x.ru", 993],
        [None],
        ["b@x.ru", "pw", "h", 1.5],
    ]
    xlsm = read(write_xlsx(tmp_path / "in.xlsm", {"S": rows}))
    ods = read(write_ods(tmp_path / "in.ods", {"S": rows}))
    expected = [
        Row(2, ("a@x.ru", "123456", "imap.x.ru", "993")),
        Row(4, ("b@x.ru", "pw", "h", "1.5")),
    ]
    assert (xlsm.info.format, ods.info.format) == ("xlsm", "ods")
    assert list(xlsm.rows) == expected
    assert list(ods.rows) == expected


def test_data_not_at_a1_keeps_the_sheet_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {
            "S": [
                [],
                [],
                [None, None, "email", "Colour"],
                [None, None, "a@x.ru", "red"],
                [],
                [None, None, "b@x.ru"],
            ]
        },
    )
    table = read(path)
    assert table.headers == ("email", "Colour")
    assert table.problems[0].message == "column D 'Colour' is not a known column"
    assert table.problems[0].row == 3
    assert list(table.rows) == [Row(4, ("a@x.ru", "red")), Row(6, ("b@x.ru", ""))]


def test_first_visible_sheet_is_the_default(tmp_path: Path) -> None:
    sheets = {"Old": [["email"], ["old@x.ru"]], "New": [["email"], ["new@x.ru"]]}
    table = read(write_xlsx(tmp_path / "in.xlsx", sheets, hidden=("Old",)))
    assert table.info.sheet == "New"
    assert list(table.rows) == [Row(2, ("new@x.ru",))]


@pytest.mark.parametrize(("asked", "chosen"), [("Second", "Second"), (" second ", "Second")])
def test_sheet_picked_by_name(tmp_path: Path, asked: str, chosen: str) -> None:
    sheets = {"First": [["email"], ["1@x.ru"]], "Second": [["email"], ["2@x.ru"]]}
    for path in (write_xlsx(tmp_path / "in.xlsx", sheets), write_ods(tmp_path / "in.ods", sheets)):
        table = read(path, sheet=asked)
        assert table.info.sheet == chosen
        assert list(table.rows) == [Row(2, ("2@x.ru",))]


def test_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "in.xlsx", {"First": [["email"]], "Second": [["email"]]})
    with pytest.raises(InputError) as caught:
        read(path, sheet="Third")
    assert caught.value.message == "in.xlsx has no sheet named 'Third'"
    assert caught.value.hint == "its sheets are 'First', 'Second': pick one with --sheet"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Login", "account"),
        ("IMAP server", "server"),
        ("SMTP host", "smtp_server"),
        ("E-Mail", "email"),
        ("  PASSWORD ", "password"),
        ("smtp-port", "smtp_port"),
        ("Smtp Port", "smtp_port"),
        ("Portal_User", "portal_user"),
        ("Пароль", "password"),
    ],
)
def test_header_aliases(header: str, field: str) -> None:
    assert map_headers((header,)) == ((field,), [])


def test_unknown_report_blank_and_duplicate_columns() -> None:
    headers = ("email", "SMTP serv", "Department", "", "Row", "Code", "http_status", "Mail")
    fields, problems = map_headers(headers)
    assert fields == ("email", None, None, None, None, None, None, None)
    warn = Severity.WARNING
    assert problems == [
        Problem(
            1,
            "",
            "unknown-column",
            warn,
            "column B 'SMTP serv' is not a known column",
            "did you mean 'smtp_server'? Otherwise it is ignored",
        ),
        Problem(
            1,
            "",
            "unknown-column",
            warn,
            "column C 'Department' is not a known column",
            "it is ignored",
        ),
        Problem(
            1,
            "email",
            "duplicate-column",
            warn,
            "columns A 'email' and H 'Mail' both mean email",
            "column H is ignored; delete or rename one of them",
        ),
    ]


def test_header_warnings_quote_no_cell_of_a_row_that_looks_like_data() -> None:
    # No header row: row 1 is data, and its "SSL" and "Login" cells pass for headers.
    headers = ("john@example.org", "Summer2024!", "SSL", "Login", "login")
    fields, problems = map_headers(headers)
    assert fields == (None, None, "incoming_encryption_type", "account", None)
    assert [p.message for p in problems] == [
        "column A is not a known column (its header looks like a value, so it is not shown)",
        "column B is not a known column (its header looks like a value, so it is not shown)",
        "columns D and E both mean account",
    ]
    # in a real header row, only a cell that could be a password goes unquoted
    _, problems = map_headers(("email", "Summer2024!", "Old password"))
    assert [p.message for p in problems] == [
        "column B is not a known column (its header looks like a value, so it is not shown)",
        "column C 'Old password' is not a known column",
    ]


@pytest.mark.parametrize("name", ["in.csv", "in.xlsx"])
def test_a_sheet_without_its_header_row_is_refused_without_quoting_it(
    tmp_path: Path, name: str
) -> None:
    # "SSL" is a known header: the row still is no header
    rows = [["john@example.org", "Pa$$w0rd-42", "imap.example.org", "SSL"], ["ann@x.org", "x"]]
    if name.endswith(".csv"):
        path = _write(tmp_path / name, "\n".join(",".join(r) for r in rows) + "\n")
    else:
        path = write_xlsx(tmp_path / name, {"Staff": rows})
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.message == (
        "row 1 looks like data, not a header: it holds an email address or a URL where the "
        "column names should be"
    )
    assert caught.value.hint == (
        "add a header row above it with the column names, e.g. email, password, server, "
        "smtp_server (`bulkmail template` writes a sheet with all of them)"
    )


def test_extra_cells_and_short_rows(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {
            "S": [
                ["email", "server", None],
                ["a@x.ru"],
                ["b@x.ru", "h", None, "stray"],
            ]
        },
    )
    table = read(path)
    assert table.headers == ("email", "server")
    assert [(p.row, p.code) for p in table.problems] == [(3, "extra-cells")]
    assert list(table.rows) == [Row(2, ("a@x.ru", "")), Row(3, ("b@x.ru", "h"))]


def test_password_protected_workbook(tmp_path: Path) -> None:
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    plain = write_xlsx(tmp_path / "plain.xlsx", {"S": [HEADER]})
    locked = tmp_path / "locked.xlsx"
    with plain.open("rb") as source, locked.open("wb") as target:
        ooxml.OOXMLFile(source).encrypt("secret", target)
    with pytest.raises(InputError) as caught:
        read(locked)
    assert caught.value.message == "locked.xlsx is password-protected"
    assert "remove the password" in caught.value.hint


def _write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "content", "message", "hint"),
    [
        (
            "sheet.xlsx",
            "email,password\na@x.ru,p\n",
            "sheet.xlsx is not a .xlsx workbook: it holds text",
            "rename it to .csv",
        ),
        (
            "sheet.xls",
            "<html><table></table></html>",
            "sheet.xls is not a .xls workbook: it holds text",
            "rename it to .csv",
        ),
        (
            "sheet.xlsx",
            b"\x00\x01\x02garbage",
            "sheet.xlsx is not a workbook: neither a .xlsx nor another spreadsheet format",
            "save the sheet as .xlsx or .csv",
        ),
        ("sheet.xlsx", b"", "sheet.xlsx is empty", "save the sheet again"),
        ("sheet.ods", "not a zip", "sheet.ods is not a .ods workbook: it holds text", ".csv"),
        ("sheet.txt", "email\n", "sheet.txt: '.txt' files are not supported", ".xlsx, .xlsm, .xls"),
        ("sheet", "email\n", "sheet: files without an extension are not supported", ".csv, .tsv"),
        ("data.csv", b"", "data.csv is empty: no header row", "column names on line 1"),
        ("data.csv", "\n\n ; \n", "data.csv is empty: no header row", "column names in row 1"),
        ("data.csv", b"PK\x03\x04rest", "data.csv is a zip archive", "rename it to .xlsx or .ods"),
        (
            "data.csv",
            "Mail accounts, 2024\nfoo,bar\n",
            "rows 1 to 2 have no column bulkmail knows (row 1: found 'Mail accounts'; "
            "1 cell not shown)",
            "the right file",
        ),
    ],
)
def test_unusable_files(
    tmp_path: Path, name: str, content: str | bytes, message: str, hint: str
) -> None:
    with pytest.raises(InputError) as caught:
        read(_write(tmp_path / name, content))
    assert caught.value.message.startswith(message)
    assert hint in caught.value.hint


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.xlsx does not exist \(check the path"):
        read(tmp_path / "nope.xlsx")
    with pytest.raises(InputError, match=r"is a folder, not a file"):
        read(tmp_path)


def test_empty_sheet_and_wrong_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "in.xlsx", {"Notes": [["Read me first"]], "Empty": []})
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.message == "row 1 has no column bulkmail knows (found 'Read me first')"
    assert caught.value.hint == "check that 'Notes' is the right sheet (pick another with --sheet)"
    with pytest.raises(InputError) as caught:
        read(path, sheet="Empty")
    assert caught.value.message == "sheet 'Empty' of in.xlsx is empty; the data is on sheet 'Notes'"
    assert caught.value.hint == "pick it with --sheet 'Notes'"
