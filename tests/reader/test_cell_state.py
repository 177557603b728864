"""Workbook cells read as the person sees them: merged ranges, error values, uncalculated formulas.

Issue 11, kind 1: calamine reads an error cell and an uncalculated formula as "", and a merged
range's value only in its top-left cell; blank has a meaning (portal_user blank = --user).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bulkmail.codes import Code
from bulkmail.errors import InputError
from bulkmail.models import Checked, Severity
from bulkmail.reader.table import read
from bulkmail.validation.table import validate

HEADER = ["email", "password", "server", "smtp_server"]
BOX = ["imap.corp.example", "smtp.corp.example"]


def sheet(path: Path, rows: list[list[Any]], merged: tuple[str, ...] = ()) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Accounts"
    for row in rows:
        ws.append(row)
    for rng in merged:
        ws.merge_cells(rng)
    book.save(path)
    return path


def checked(path: Path, run_user: str | None = None) -> list[Checked]:
    return list(validate(read(path), run_user=run_user))


def codes(row: Checked) -> list[str]:
    return [p.code for p in row.problems if p.code is not Code.DEFAULTED]


def test_the_merged_owner_case_gives_every_row_of_the_range_its_owner(tmp_path: Path) -> None:
    path = sheet(
        tmp_path / "merged-owner.xlsx",
        [
            ["Portal user", "Portal password", "Email", "Password", "IMAP server", "SMTP server"],
            ["olga@corp.example", "Olga-Portal-1", "olga@corp.example", "Mb-Pass-1", *BOX],
            [None, None, "sales@corp.example", "Mb-Pass-2", *BOX],
            [None, None, "support@corp.example", "Mb-Pass-3", *BOX],
            ["petr@corp.example", "Petr-Portal-2", "petr@corp.example", "Mb-Pass-4", *BOX],
        ],
        merged=("A2:A4", "B2:B4"),
    )
    rows = checked(path, run_user="admin@corp.example")
    owners = [(r.account.portal_user, r.account.portal_password) for r in rows if r.account]
    assert owners == [("olga@corp.example", "Olga-Portal-1")] * 3 + [
        ("petr@corp.example", "Petr-Portal-2")
    ]
    notes = [str(p) for p in rows[1].problems if p.code is Code.MERGED_CELL]
    assert notes == [
        "row 3, portal_user: portal_user (A3) read as the value of merged cells A2:A4",
        "row 3, portal_password: portal_password (B3) read as the value of merged cells B2:B4",
    ]
    assert [p.code for p in rows[0].problems if p.code is Code.MERGED_CELL] == []
    assert all(p.severity is Severity.INFO for p in rows[1].problems)


def test_a_range_within_one_row_is_a_label_and_is_left_as_it_is(tmp_path: Path) -> None:
    path = sheet(
        tmp_path / "a.xlsx",
        [[*HEADER, "name"], ["anna@corp.example", "Pw-1", *BOX, "Anna"], [None] * 5],
        merged=("D2:E2",),
    )
    (row,) = read(path).rows
    assert row.cells == ("anna@corp.example", "Pw-1", *BOX, "") and row.facts is None


def test_a_block_spanning_rows_and_columns_fills_every_cell_it_covers(tmp_path: Path) -> None:
    path = sheet(
        tmp_path / "a.xlsx",
        [HEADER, ["anna@corp.example", "Pw-1", "mail.corp.example"], ["bob@corp.example"]],
        merged=("C2:D3",),
    )
    rows = list(read(path).rows)
    assert [r.cells[2:] for r in rows] == [("mail.corp.example",) * 2] * 2
    assert sorted(f.cell for r in rows for f in (r.facts or {}).values()) == ["C3", "D2", "D3"]


def error_cell(path: Path, rows: list[list[Any]], cells: dict[str, str]) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    for row in rows:
        ws.append(row)
    for ref, text in cells.items():
        ws[ref] = text
        if text.startswith("="):
            continue  # openpyxl saves a formula without a result, as a script does
        ws[ref].data_type = "e"
    book.save(path)
    return path


@pytest.mark.parametrize("error", ["#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!"])
def test_an_error_value_where_a_value_should_be_is_an_error_naming_it(
    tmp_path: Path, error: str
) -> None:
    path = error_cell(
        tmp_path / "e.xlsx",
        [HEADER, ["anna@corp.example", "Pw-1", *BOX], [None, "Pw-2", *BOX]],
        {"A3": error},
    )
    first, second = checked(path)
    assert first.ok and not second.ok
    (problem,) = [p for p in second.problems if p.code is Code.CELL_ERROR]
    assert str(problem) == f"row 3, email: email (A3) holds the error value {error}, not a value"


def test_a_formula_never_calculated_is_an_error_not_a_blank(tmp_path: Path) -> None:
    path = error_cell(
        tmp_path / "f.xlsx",
        [["portal_user", *HEADER], [None, "anna@corp.example", "Pw-1", *BOX]],
        {"A2": "=VLOOKUP(B2,Owners!A:B,2,FALSE)"},
    )
    (row,) = checked(path, run_user="admin@corp.example")
    assert not row.ok
    assert [str(p) for p in row.problems if p.code is Code.FORMULA_UNCALCULATED] == [
        "row 2, portal_user: portal_user (A2) holds a formula whose result was never "
        "calculated, not a value"
    ]


def test_an_error_in_an_ignored_column_is_only_noted(tmp_path: Path) -> None:
    path = error_cell(
        tmp_path / "i.xlsx",
        [[*HEADER, "Notes"], ["anna@corp.example", "Pw-1", *BOX]],
        {"E2": "#N/A"},
    )
    (row,) = checked(path)
    assert row.ok
    assert [(p.code, p.severity, p.message) for p in row.problems if p.column == ""] == [
        (
            Code.IGNORED_CELL_ERROR,
            Severity.INFO,
            "cell E2 holds the error value #N/A (column ignored)",
        )
    ]


def test_a_row_whose_only_cell_is_an_error_in_an_ignored_column_is_no_row(tmp_path: Path) -> None:
    path = error_cell(
        tmp_path / "n.xlsx",
        [[*HEADER, "Notes"], ["anna@corp.example", "Pw-1", *BOX], [], ["bob@corp.example"]],
        {"E3": "#N/A"},
    )
    assert [r.number for r in read(path).rows] == [2, 4]


def test_a_row_whose_only_value_is_an_error_is_still_a_row(tmp_path: Path) -> None:
    path = error_cell(
        tmp_path / "r.xlsx", [HEADER, ["anna@corp.example", "Pw-1", *BOX], []], {"B3": "#REF!"}
    )
    rows = checked(path)
    assert [r.row.number for r in rows] == [2, 3]
    assert Code.CELL_ERROR in codes(rows[1])


def test_a_sheet_of_only_error_values_says_so(tmp_path: Path) -> None:
    path = error_cell(tmp_path / "only.xlsx", [], {"A1": "#REF!", "B1": "#REF!"})
    with pytest.raises(InputError) as caught:
        read(path)
    assert (
        caught.value.message == "sheet 'Sheet' of only.xlsx holds only error values (#REF! in A1)"
    )


def test_an_empty_sheet_names_the_sheet_that_has_the_data(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.create_sheet("Data").append(HEADER)
    book.save(tmp_path / "two.xlsx")
    with pytest.raises(InputError) as caught:
        read(tmp_path / "two.xlsx")
    assert str(caught.value) == (
        "sheet 'Cover' of two.xlsx is empty; the data is on sheet 'Data' "
        "(pick it with --sheet 'Data')"
    )


def test_error_cells_in_excel_order_of_attributes_are_found(tmp_path: Path) -> None:
    """Excel writes `<c r="A2" s="3" t="e"><f>..</f><v>#N/A</v></c>`: a formula and a style."""
    path = sheet(tmp_path / "x.xlsx", [HEADER, ["anna@corp.example", "Pw-1", *BOX]])
    cell = '<c r="A2" s="0" t="e"><f>VLOOKUP(1,Z:Z,1,0)</f><v>#N/A</v></c>'
    _replace_cell(path, "A2", cell)
    (row,) = checked(path)
    assert [p.message for p in row.problems if p.code is Code.CELL_ERROR] == [
        "email (A2) holds the error value #N/A, not a value"
    ]


def _replace_cell(path: Path, ref: str, cell: str) -> None:
    import re

    with zipfile.ZipFile(path) as src:
        parts = {n: src.read(n) for n in src.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    xml = re.sub(rf'<c r="{ref}"[^>]*>.*?</c>', cell, xml, count=1)
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as out:
        for name, data in parts.items():
            out.writestr(name, data)


def test_a_sheet_of_only_formatting_is_empty_not_a_crash(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Styled"
    book.active["B2"].number_format = "0%"  # a formatted cell holding nothing
    book.active["B2"].font = openpyxl.styles.Font(bold=True)
    book.save(tmp_path / "styled.xlsx")
    with pytest.raises(InputError) as caught:
        read(tmp_path / "styled.xlsx")
    assert caught.value.message == "sheet 'Styled' of styled.xlsx is empty"


def test_an_uncalculated_formula_after_an_empty_styled_cell_is_named_right(
    tmp_path: Path,
) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["name", "password", "email", *HEADER[2:]])
    ws.append([None, '=A1&"x"', "anna@corp.example", *BOX])
    ws["A2"].font = openpyxl.styles.Font(bold=True)  # written as <c r="A2" s="1"/>
    book.save(tmp_path / "s.xlsx")
    (row,) = checked(tmp_path / "s.xlsx")
    assert [p.message for p in row.problems if p.code is Code.FORMULA_UNCALCULATED] == [
        "password (B2) holds a formula whose result was never calculated, not a value"
    ]
