"""What the readers got wrong on real files (issue 11, kind 8, workbooks).

.xls fixtures come from `tests/fixtures/make_xls.py` (LibreOffice): no Python library writes
.xls. Every other file is written here.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import msoffcrypto.format.ooxml
import openpyxl
import pytest

from bulkmail.cli import main
from bulkmail.codes import Code
from bulkmail.errors import InputError
from bulkmail.reader import sheet as sheet_module
from bulkmail.reader.table import read
from bulkmail.validation.table import validate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NAMES = ["Maria da Conceição Silva", "Joao Costa"]


def names(path: Path) -> list[str]:
    table = read(path)
    column = table.headers.index("Name")
    return [row.cells[column] for row in table.rows]


@pytest.mark.parametrize("fixture", ["accounts.xls", "cp1252.xls"])
def test_an_xls_is_read_as_written_whatever_its_codepage_record_says(fixture: str) -> None:
    assert names(FIXTURES / fixture) == NAMES


def test_an_xls_tells_merged_cells_error_values_and_formats() -> None:
    first, second = validate(read(FIXTURES / "cells.xls"), run_user="admin@empresa.example")
    found = {(p.row, p.column, p.code) for c in (first, second) for p in c.problems}
    assert found >= {
        (2, "smtp_password", Code.VALUE_CONVERTED),
        (2, "account", Code.DIGITS_LOST),
        (3, "portal_user", Code.MERGED_CELL),
        (3, "password", Code.CELL_ERROR),
    }
    assert (3, "password", Code.REQUIRED) not in found  # an error cell is not a blank one
    assert first.row.cells[5] == second.row.cells[5] == "olga@empresa.example"


def test_an_encrypted_xls_is_reported_as_protected() -> None:
    with pytest.raises(InputError) as caught:
        read(FIXTURES / "encrypted.xls")
    assert caught.value.message == "encrypted.xls is password-protected"


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.1])
def test_a_cut_xls_is_one_line_naming_the_damage(tmp_path: Path, keep: float) -> None:
    data = (FIXTURES / "accounts.xls").read_bytes()
    path = tmp_path / "cut.xls"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.message.startswith("cut.xls cannot be read: it looks damaged or cut short")
    assert "\n" not in str(caught.value)
    assert caught.value.hint == "open it in Excel or LibreOffice and save it again as .xls"


class PanicException(BaseException):
    """What pyo3 raises for a Rust panic: not an Exception."""


def test_a_reader_panic_ends_as_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def panic(path: object) -> None:
        raise PanicException("called `Option::unwrap()` on a `None` value")

    book = openpyxl.Workbook()
    book.active.append(["email", "password"])
    book.save(tmp_path / "a.xlsx")
    monkeypatch.setattr(sheet_module.CalamineWorkbook, "from_path", panic)
    assert main(["validate", str(tmp_path / "a.xlsx"), "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "a.xlsx cannot be read: it looks damaged or cut short (the reader failed on it)" in err


def test_unicode_text_named_xlsx_is_told_what_it_is_and_the_rename_works(tmp_path: Path) -> None:
    lines = ["email\tpassword\tserver\tsmtp_server", "a@corp.example\tPw-1\timap.x\tsmtp.x"]
    text = "\r\n".join(lines) + "\r\n"
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    with pytest.raises(InputError) as caught:
        read(path)
    assert str(caught.value) == (
        "export.xlsx is not a .xlsx workbook: it holds UTF-16 text (what Excel's 'Unicode Text' "
        "saves) (rename it to .csv: bulkmail reads it as tab-separated text)"
    )
    renamed = path.rename(tmp_path / "export.csv")
    assert [row.cells[0] for row in read(renamed).rows] == ["a@corp.example"]


def test_an_xls_named_xlsx_is_told_to_rename_it_and_the_rename_works(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    shutil.copy(FIXTURES / "accounts.xls", path)
    with pytest.raises(InputError) as caught:
        read(path)
    assert str(caught.value) == "book.xlsx is an .xls workbook named .xlsx (rename it to .xls)"
    assert names(path.rename(tmp_path / "book.xls")) == NAMES


def encrypted_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.append(["email", "password"])
    plain = io.BytesIO()
    book.save(plain)
    plain.seek(0)
    office = msoffcrypto.format.ooxml.OOXMLFile(plain)
    with path.open("wb") as out:
        office.encrypt("secret", out)
    return path


@pytest.mark.parametrize("name", ["locked.xlsx", "locked.xls"])
def test_an_encrypted_xlsx_is_protected_whatever_its_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError) as caught:
        read(encrypted_xlsx(tmp_path / name))
    assert caught.value.message == f"{name} is password-protected"


def test_an_xlsb_named_xlsx_is_told_to_save_it_as_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "binary.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.bin", b"\x83\x01\x00")
    with pytest.raises(InputError) as caught:
        read(path)
    assert str(caught.value) == (
        "binary.xlsx is an Excel binary workbook (.xlsb), which bulkmail does not read "
        "(open it in Excel and save it as .xlsx (File > Save As > Excel Workbook))"
    )


def test_an_xlsx_named_ods_is_told_to_rename_it(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["email", "password", "server", "smtp_server"])
    book.save(tmp_path / "sheet.ods")
    with pytest.raises(InputError) as caught:
        read(tmp_path / "sheet.ods")
    assert str(caught.value) == "sheet.ods is an .xlsx workbook named .ods (rename it to .xlsx)"


def odd_workbooks(folder: Path) -> list[Path]:
    """Write workbooks nobody here would save on purpose; return their paths."""
    made: list[Path] = []

    def save(name: str, fill: object) -> None:
        book = openpyxl.Workbook()
        fill(book)  # type: ignore[operator]
        book.save(folder / name)
        made.append(folder / name)

    save("blank.xlsx", lambda b: None)
    save("one-cell.xlsx", lambda b: b.active.append(["email"]))
    save("wide.xlsx", lambda b: b.active.append([f"col{i}" for i in range(3000)] + ["email"]))

    def hidden_first(book: openpyxl.Workbook) -> None:
        book.active.sheet_state = "hidden"
        book.create_sheet("Visible").append(["email", "password", "server", "smtp_server"])

    save("hidden-first.xlsx", hidden_first)
    whole = (folder / "hidden-first.xlsx").read_bytes()
    for keep in (0.1, 0.5, 0.9, 0.99):
        cut = folder / f"cut-{keep}.xlsx"
        cut.write_bytes(whole[: int(len(whole) * keep)])
        made.append(cut)
    for name in ("renamed.ods", "renamed.xls", "renamed.xlsm"):
        (folder / name).write_bytes(whole)
        made.append(folder / name)
    xls = (FIXTURES / "cells.xls").read_bytes()
    for keep in (0.25, 0.75):
        (folder / f"cut-{keep}.xls").write_bytes(xls[: int(len(xls) * keep)])
        made.append(folder / f"cut-{keep}.xls")
    return made


def test_odd_workbooks_end_as_rows_or_one_line_never_a_traceback(tmp_path: Path) -> None:
    outcomes: dict[str, str] = {}
    for path in odd_workbooks(tmp_path):
        try:
            rows = list(validate(read(path), run_user="admin@corp.example"))
            outcomes[path.name] = f"{len(rows)} rows"
        except InputError as err:
            assert "\n" not in str(err), path.name
            outcomes[path.name] = "refused"
    assert outcomes["hidden-first.xlsx"] == "0 rows"  # the visible sheet, header only
    assert outcomes["renamed.xlsm"] == "0 rows"
    assert {outcomes[n] for n in ("blank.xlsx", "one-cell.xlsx", "cut-0.5.xlsx")} == {"refused"}
