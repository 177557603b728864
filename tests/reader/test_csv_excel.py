"""CSV as Excel reads it: the `sep=` hint line, and the limits that bound what a row may hold.

Issue 11, kinds 7 and 4. Excel takes a first line `sep=;` as the delimiter and shows no row
for it, so the header stays row 1; a CSV whose one line held a million columns, or 16
million cells, ran for minutes or out of memory: rows are bounded, and a file beyond the
bounds is refused naming the limit, whatever it holds.
"""

from __future__ import annotations

import codecs
import tracemalloc
from pathlib import Path

import pytest

from bulkmail.errors import InputError
from bulkmail.models import Row
from bulkmail.reader.csv import MAX_CELL_CHARS, MAX_COLUMNS, MAX_ROW_CHARS, open_csv
from bulkmail.reader.table import read

BODY = "email;password;server\r\nanna@mail.example;Secret1;imap.mail.example\r\n"
ROW = Row(2, ("anna@mail.example", "Secret1", "imap.mail.example"))


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        (b"sep=;\r\n" + BODY.encode(), ";"),  # what Excel and most tools write
        (b"sep=;\n" + BODY.replace("\r\n", "\n").encode(), ";"),
        (b"SEP=|\r\n" + BODY.replace(";", "|").encode(), "|"),
        (b"sep=\t\r\n" + BODY.replace(";", "\t").encode(), "\t"),
        (b"sep=:\r\n" + BODY.replace(";", ":").encode(), ":"),  # any one character
        (codecs.BOM_UTF8 + b"sep=;\r\n" + BODY.encode(), ";"),
        (codecs.BOM_UTF16_LE + ("sep=;\r\n" + BODY).encode("utf-16-le"), ";"),
        (("sep=,\r\n" + BODY.replace(";", ",")).encode("cp1251"), ","),
    ],
)
def test_the_sep_line_sets_the_delimiter_and_is_no_row(
    tmp_path: Path, data: bytes, delimiter: str
) -> None:
    table = read(write(tmp_path / "in.csv", data))
    assert (table.info.delimiter, table.info.sep_line, table.info.delimiter_detected) == (
        delimiter,
        True,
        True,
    )
    assert table.headers == ("email", "password", "server")
    assert list(table.rows) == [ROW]  # the header is row 1, as Excel shows it


def test_the_sep_line_wins_over_what_the_lines_suggest(tmp_path: Path) -> None:
    # Split at ";" this header names known columns; the hint says ",", and Excel obeys it.
    path = write(tmp_path / "in.csv", b"sep=,\r\nemail;server,name\r\na@x.example;h,Ann\r\n")
    table = read(path)
    assert (table.info.delimiter, table.headers) == (",", ("email;server", "name"))


def test_the_delimiter_option_wins_over_the_sep_line_which_is_still_skipped(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "in.csv", b"sep=,\r\n" + BODY.encode())
    table = read(path, delimiter=";")
    assert (table.info.delimiter, table.info.sep_line, table.info.delimiter_detected) == (
        ";",
        True,
        False,
    )
    assert list(table.rows) == [ROW]


@pytest.mark.parametrize(
    "first",
    [
        "sep=;;",  # two characters: not Excel's hint
        " sep=;",
        'sep="',  # a quote cannot delimit
        "separator=;",
    ],
)
def test_a_line_that_is_not_exactly_the_hint_is_data(tmp_path: Path, first: str) -> None:
    path = write(tmp_path / "in.csv", f"{first}\r\n{BODY}".encode())
    info, records = open_csv(path, "csv", None, None)
    number, cells = next(records)
    assert (info.sep_line, number, cells[0][:4]) == (False, 1, first[:4])


def test_row_numbers_in_messages_are_excels_after_the_sep_line(tmp_path: Path) -> None:
    text = "sep=;\r\nemail;password\r\na@x.example;p\r\nb@x.example;p;extra\r\n"
    table = read(write(tmp_path / "in.csv", text.encode()))
    assert [(p.row, p.code) for p in table.problems] == [(3, "extra-cells")]
    too_wide = text + "c@x.example;" + ";" * MAX_COLUMNS + "\r\n"
    with pytest.raises(InputError) as caught:
        read(write(tmp_path / "wide.csv", too_wide.encode()))
    assert caught.value.message.startswith("wide.csv row 4 has 1,026 cells")


def header(columns: int, name: str = "c{}") -> str:
    return "email;password;server" + "".join(";" + name.format(i) for i in range(columns - 3))


def test_as_many_columns_as_the_limit_are_read(tmp_path: Path) -> None:
    text = f"{header(MAX_COLUMNS)}\r\na@x.example;p;h\r\n"
    table = read(write(tmp_path / "in.csv", text.encode()))
    assert len(table.headers) == MAX_COLUMNS
    assert next(table.rows).cells[:3] == ("a@x.example", "p", "h")


def test_one_column_more_is_refused_naming_the_limit(tmp_path: Path) -> None:
    text = f"{header(MAX_COLUMNS + 1)}\r\na@x.example;p;h\r\n"
    with pytest.raises(InputError) as caught:
        read(write(tmp_path / "in.csv", text.encode()))
    assert caught.value.message == (
        "in.csv row 1 has 1,025 cells: more than bulkmail reads in a row (1,024 columns, A to AMJ)"
    )
    assert caught.value.hint == "keep only the columns bulkmail needs and save the file again"


def test_a_cell_as_long_as_excel_allows_is_read(tmp_path: Path) -> None:
    long = "x" * MAX_CELL_CHARS
    text = f"email;password;name\r\na@x.example;p;{long}\r\n"
    assert next(read(write(tmp_path / "in.csv", text.encode())).rows).cells[2] == long


@pytest.mark.parametrize("quote", ["", '"'])
def test_a_longer_cell_is_refused_naming_the_limit(tmp_path: Path, quote: str) -> None:
    text = f"email;password;name\r\na@x.example;p;{quote}{'x' * (MAX_CELL_CHARS + 1)}{quote}\r\n"
    with pytest.raises(InputError) as caught:
        read(write(tmp_path / "in.csv", text.encode()))
    assert caught.value.message == (
        "in.csv row 2 has a cell of 32,768 characters: more than a cell can hold (32,767)"
    )


def _peak(path: Path) -> tuple[str, int]:
    """Return the error reading `path` gives and the peak memory it traced (bytes)."""
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as caught:
            read(path)
        return caught.value.message, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_million_columns_in_the_header_stop_at_the_row_limit(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(header(1_000_000, "column {:07}") + "\r\na@x.example;p;h\r\n")
    assert path.stat().st_size > 14_000_000
    message, peak = _peak(path)
    assert message == "in.csv row 1 runs past 65,536 characters: more than bulkmail reads in a row"
    assert peak < 8_000_000  # the sample and one bounded row, not the 14 MB line


def test_sixteen_million_cells_on_a_line_stop_at_the_row_limit(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    with path.open("w") as f:
        f.write("email;password;server\r\na@x.example;p;h")
        f.write(";" * 16_000_000)
        f.write("\r\n")
    message, peak = _peak(path)
    assert message == "in.csv row 2 runs past 65,536 characters: more than bulkmail reads in a row"
    assert peak < 4_000_000  # a list of 16 million cells took gigabytes


def test_an_unclosed_quote_stops_at_the_row_limit_naming_its_row(tmp_path: Path) -> None:
    rows = "".join(f"u{i}@x.example;pw;h\r\n" for i in range(5000))
    text = f'email;password;server\r\na@x.example;"p;h\r\n{rows}'
    with pytest.raises(InputError) as caught:
        list(read(write(tmp_path / "in.csv", text.encode())).rows)
    assert caught.value.message == (
        "in.csv row 2 runs past 65,536 characters: more than bulkmail reads in a row"
    )
    assert "close the quote" in caught.value.hint


def test_a_row_just_within_the_limit_is_read(tmp_path: Path) -> None:
    # Line breaks inside a quoted cell count: the row is the record, not the line.
    start = 'email;password;name\r\na@x.example;p;"'
    cell = ("y" * 99 + "\n") * 300  # 30,000 characters over 300 lines
    text = f'{start}{cell}"\r\n'
    row = next(read(write(tmp_path / "in.csv", text.encode())).rows)
    assert row.cells[2] == cell.strip()  # the reader trims a name's surrounding spaces
    assert len('a@x.example;p;"' + cell + '"\r\n') < MAX_ROW_CHARS
