"""Memory follows the cells that hold data, not the sheet's used range (kind 4, workbooks).

One stray space in XFD1048576 made calamine ask for 512 GiB and abort (exit 134). The reads
that could allocate the used range run in a child process under a 1 GiB address-space cap,
so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from bulkmail.codes import Code
from bulkmail.errors import InputError
from bulkmail.reader import limits
from bulkmail.reader.table import read
from bulkmail.validation.table import validate

HEADER = ["email", "password", "server", "smtp_server"]
ROWS = [
    HEADER,
    ["kate@shop.example", "Pass-1", "imap.shop.example", "smtp.shop.example"],
    ["liam@shop.example", "Pass-2", "imap.shop.example", "smtp.shop.example"],
]


def with_far_cell(path: Path, ref: str, text: str, dimension: str | None = None) -> Path:
    """Write the 2-row sheet plus one cell at `ref`; `dimension` None: declare the true one."""
    book = openpyxl.Workbook()
    book.active.title = "Accounts"
    for row in ROWS:
        book.active.append(row)
    book.save(path)
    with zipfile.ZipFile(path) as src:
        parts = {n: src.read(n) for n in src.namelist()}
    row = re.match(r"[A-Z]+(\d+)", ref)
    assert row is not None
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    declared = dimension or f"A1:{ref}"
    xml = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="{declared}"', xml)
    cell = f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    far = f'<row r="{row[1]}">{cell}</row>'
    parts["xl/worksheets/sheet1.xml"] = xml.replace("</sheetData>", far + "</sheetData>").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return path


def read_capped(path: Path) -> subprocess.CompletedProcess[str]:
    """Read and validate `path` in a child process limited to 1 GiB of address space."""
    code = (
        "import sys; from pathlib import Path\n"
        "from bulkmail.reader.table import read\n"
        "from bulkmail.validation.table import validate\n"
        "table = read(Path(sys.argv[1]))\n"
        "rows = list(validate(table))\n"
        "print(len(rows), sum(r.ok for r in rows), [p.code for p in table.problems])\n"
    )

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        preexec_fn=cap,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("ref", "text", "dimension"),
    [
        ("XFD1048576", " ", None),  # the field case: a space in the last cell
        ("ZZ60000", "x", None),  # a stray x: 1.4 GB before
        ("XFD60000", "x", "A1:D60000"),  # a dimension that hides the far column
    ],
)
def test_a_lone_far_cell_costs_nothing_and_is_a_warning(
    tmp_path: Path, ref: str, text: str, dimension: str | None
) -> None:
    path = with_far_cell(tmp_path / "far.xlsx", ref, text, dimension)
    done = read_capped(path)
    assert done.returncode == 0, done.stderr[-500:]
    rows, valid, codes = done.stdout.split(" ", 2)
    assert (rows, valid) == ("2", "2")
    assert Code.FAR_CELL in codes


def test_the_far_cell_warning_names_the_cell(tmp_path: Path) -> None:
    table = read(with_far_cell(tmp_path / "far.xlsx", "XFD1048576", " "))
    (far,) = [p for p in table.problems if p.code is Code.FAR_CELL]
    assert (far.row, far.message) == (
        1048576,
        "the sheet's used range reaches XFD1048576 though it holds 13 cells: only the cells "
        "that hold something are read",
    )
    assert [r.cells[0] for r in table.rows] == ["kate@shop.example", "liam@shop.example"]


def test_a_far_value_under_a_header_is_still_read_as_its_row(tmp_path: Path) -> None:
    table = read(with_far_cell(tmp_path / "far.xlsx", "A900000", "zoe@shop.example"))
    rows = list(validate(table))
    assert [(r.row.number, r.ok) for r in rows] == [(2, True), (3, True), (900000, False)]


def test_a_sheet_with_more_cells_than_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_CELLS", 10)
    with pytest.raises(InputError) as caught:
        read(with_far_cell(tmp_path / "many.xlsx", "E3", "x"))
    assert caught.value.message == "many.xlsx holds 13 cells: more than bulkmail reads (10 cells)"


def test_a_workbook_that_unzips_beyond_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_UNPACKED", 1 << 10)
    with pytest.raises(InputError, match=r"unzips to 0\.0 GiB: more than bulkmail reads"):
        read(with_far_cell(tmp_path / "big.xlsx", "E3", "x"))


def test_a_cell_beyond_the_last_a_sheet_can_have_is_a_damaged_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read(with_far_cell(tmp_path / "bad.xlsx", "A2000000", "x"))
    assert caught.value.message == (
        "bad.xlsx has a cell beyond the last one a sheet can have (row 1,048,576, column XFD): "
        "the file is damaged"
    )


def test_a_cell_longer_than_a_spreadsheet_cell_can_be_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(
        "email,password,server,smtp_server\n"
        f"a@corp.example,Pw-1,{'x' * 40_000},smtp.corp.example\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        list(read(path).rows)
    # The CSV reader's own row limits see it first (tests/reader/test_csv_excel.py).
    assert str(caught.value).startswith(
        "long.csv row 2 has a cell of 40,000 characters: more than a cell can hold (32,767)"
    )
    path.write_text(path.read_text().replace("x" * 40_000, "x" * 32_767), encoding="utf-8")
    assert [len(r.cells[2]) for r in read(path).rows] == [32_767]


def test_an_ods_far_cell_is_one_line_naming_the_size_never_an_abort(tmp_path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Accounts")
    for row in ROWS:
        line = TableRow()
        for value in row:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=value))
            line.addElement(cell)
        table.addElement(line)
    table.addElement(TableRow(numberrowsrepeated=1048572))
    far = TableRow()
    far.addElement(TableCell(numbercolumnsrepeated=16383))
    stray = TableCell(valuetype="string")
    stray.addElement(P(text="x"))
    far.addElement(stray)
    table.addElement(far)
    doc.spreadsheet.addElement(table)
    doc.save(str(tmp_path / "far.ods"))
    done = read_capped(tmp_path / "far.ods")
    assert done.returncode == 1 and "Traceback" in done.stderr  # an InputError, not an abort
    assert "InputError: far.ods: the sheet's used range spans 17,179,852,800 cells" in done.stderr


def test_a_far_cell_does_not_undo_merged_owners(tmp_path: Path) -> None:
    path = tmp_path / "owners.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Accounts"
    for row in [
        ["portal_user", *HEADER],
        ["olga@shop.example", *ROWS[1]],
        [None, *ROWS[2]],
    ]:
        book.active.append(row)
    book.active.merge_cells("A2:A3")
    book.active["XFD1048576"] = "x"
    book.save(path)
    table = read(path)
    assert Code.FAR_CELL in [p.code for p in table.problems]
    assert [r.cells[0] for r in table.rows] == ["olga@shop.example", "olga@shop.example"]


def test_a_far_cell_sheet_with_broken_xml_is_one_line(tmp_path: Path) -> None:
    path = with_far_cell(tmp_path / "broken.xlsx", "XFD1048576", "x")
    with zipfile.ZipFile(path) as src:
        parts = {n: src.read(n) for n in src.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b'<row r="3">', b'<row r="3"><c r="Z3"><v>1</c>'
    )
    with zipfile.ZipFile(path, "w") as out:
        for name, data in parts.items():
            out.writestr(name, data)
    with pytest.raises(InputError) as caught:
        list(read(path).rows)
    assert caught.value.message.startswith("the sheet cannot be read after row 2: it looks damaged")


def test_a_workbook_cell_longer_than_a_spreadsheet_cell_can_be_is_refused(tmp_path: Path) -> None:
    # openpyxl cuts a cell at 32,767 characters: lengthen it in the saved file, as another
    # tool may have written it.
    book = openpyxl.Workbook()
    book.active.append(["email", "password", "server", "smtp_server"])
    book.active.append(["a@corp.example", "Pw-1", "x" * 100, "smtp.corp.example"])
    book.save(tmp_path / "short.xlsx")
    with (
        zipfile.ZipFile(tmp_path / "short.xlsx") as source,
        zipfile.ZipFile(tmp_path / "long.xlsx", "w") as target,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, data.replace(b"x" * 100, b"x" * 40_000))
    with pytest.raises(InputError) as caught:
        list(read(tmp_path / "long.xlsx").rows)
    assert str(caught.value) == (
        "row 2: cell C holds 40,000 characters: more than a cell can hold (32,767) "
        "(shorten it: no mail setting is that long)"
    )
