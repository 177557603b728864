"""What a person reads of a file's text on the terminal: one short line per message, whatever
the headers, cells and sheet names hold (line breaks, tabs, escape sequences, 1,000 columns:
a CSV row of more than 1,024 cells is refused by the reader's limit before any header is read,
tests/reader/test_csv_excel.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from bulkmail.cli import main

# A header cell as people write them (Alt+Enter, a tab pasted in) and one that would recolour
# or clear the terminal if printed raw.
BROKEN = "Phone\nnumber\t(work)"
ANSI = "\x1b[31mRed\x1b[2J"
SHORT = 400


def write_csv(path: Path, *rows: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def wide(columns: int) -> list[str]:
    """Return `columns` header cells, line breaks, tabs, escape sequences and long ones among
    them, none a known column."""
    kinds = (BROKEN, ANSI, "Very long header of the finance team " * 2, "Notes\r\n\u2028x")
    return [f"{kinds[i % len(kinds)]} {i}" for i in range(columns)]


def one_short_line(err: str) -> str:
    assert err.startswith("bulkmail: error: ")
    assert err.endswith("\n") and err.count("\n") == 1, err[:300]
    line = err[:-1]
    assert len(line) < SHORT, len(line)
    assert line.isprintable(), "a control character reached the terminal"
    return line


def run(tmp_path: Path, *args: str) -> int:
    return main(["validate", *args, "--report-dir", str(tmp_path / "rep")])


def test_a_header_of_1000_odd_columns_and_no_known_one_is_one_short_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "in.csv", wide(1_000), ["x"] * 1_000)
    assert run(tmp_path, str(path)) == 2
    line = one_short_line(capsys.readouterr().err)
    assert line == (
        "bulkmail: error: rows 1 to 2 have no column bulkmail knows (row 1: found "
        "'Phone\\nnumber\\t(work) 0', 'Very long header of the finance team Ve…', "
        "'Notes\\r\\n\\u2028x 3', 'Phone\\nnumber\\t(work) 4', "
        "'Very long header of the finance team Ve…' and 745 more; 250 cells not shown) "
        "(check that this is the right file)"
    )


def test_missing_columns_among_1000_odd_headers_is_one_short_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["email", "password", *wide(1_000)]
    path = write_csv(tmp_path / "in.csv", header, ["a@x.org", "p", *["x"] * 1_000])
    assert run(tmp_path, str(path)) == 2
    line = one_short_line(capsys.readouterr().err)
    assert line == (
        f"bulkmail: error: {path}: missing required columns in the header (row 1): server, "
        "smtp_server (rename the header to the column's name, or give every row one with "
        "--set server=HOST)"
    )


def test_header_warnings_are_one_line_each_and_bounded_in_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["email", "password", "server", "smtp_server", *wide(1_000)]
    row = ["a@x.org", "p", "imap.x.org", "smtp.x.org", *["x"] * 1_000]
    path = write_csv(tmp_path / "in.csv", header, row)
    assert run(tmp_path, str(path), "--user", "admin@x.org") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    warnings = [line for line in lines if line.startswith("  row 1: ")]
    assert len(warnings) == 21  # 20 columns one by one, then the rest in one line
    assert (
        warnings[0]
        == "  row 1: column E 'Phone\\nnumber\\t(work) 0' is not a known column (it is ignored)"
    )
    assert warnings[1] == (
        "  row 1: column F is not a known column (its header looks like a value, so it is not "
        "shown) (it is ignored)"
    )
    assert warnings[-1] == (
        "  row 1: 980 more columns, Y to ALP, are not known columns (they are ignored)"
    )
    assert all(len(line) < SHORT and line.isprintable() for line in lines)


def test_a_sheet_name_and_a_cell_with_control_characters_are_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Tab\tName"
    book.active["A1"] = "Hello\nworld"
    book.save(tmp_path / "in.xlsx")
    assert run(tmp_path, str(tmp_path / "in.xlsx")) == 2
    assert one_short_line(capsys.readouterr().err) == (
        "bulkmail: error: row 1 has no column bulkmail knows (found 'Hello\\nworld') (check "
        "that 'Tab\\tName' is the right sheet (pick another with --sheet))"
    )


def test_any_error_line_is_escaped_where_it_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The reader quotes the asked sheet name as it is: the command line escapes the line.
    book = openpyxl.Workbook()
    book.active.title = "Accounts"
    book.save(tmp_path / "in.xlsx")
    assert run(tmp_path, str(tmp_path / "in.xlsx"), "--sheet", "Acc\nounts\x1b[2J") == 2
    line = one_short_line(capsys.readouterr().err)
    assert "Acc\\nounts\\x1b[2J" in line


def test_the_summary_escapes_the_cells_that_problems_quote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["email", "password", "server", "smtp_server"]
    bad = ["anna\x1b[2J\n@x.org", "p", "imap.x.org", "smtp.x.org"]
    path = write_csv(tmp_path / "in.csv", header, bad)
    assert run(tmp_path, str(path), "--user", "admin@x.org") == 1
    lines = capsys.readouterr().out.splitlines()
    [problem] = [line for line in lines if line.startswith("      row 2, email: ")]
    # The identifier rule names each invisible character as it quotes the cell.
    assert '"anna<U+001B>[2J<U+000A>@x.org"' in problem
    assert all(line.isprintable() for line in lines)


def test_a_usage_error_is_one_line_without_the_values_it_was_given(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # argparse echoes an ambiguous abbreviation with its value as typed
    with pytest.raises(SystemExit) as exc:
        main(["import", "in.csv", "--portal", "x", "--re=S3cret\nx\x1b[2J"])
    assert exc.value.code == 2
    assert one_short_line(capsys.readouterr().err) == (
        "bulkmail: error: ambiguous option: --re=... could match --retries, --retry-failed, "
        "--report-dir, --report-mode "
        "(see `bulkmail import --help`)"
    )
    with pytest.raises(SystemExit):
        main(["validate", "in.csv", "--log-format", "json\nconsole\x1b[2J"])
    assert "'json\\nconsole\\x1b[2J'" in one_short_line(capsys.readouterr().err)
    with pytest.raises(SystemExit):
        main(["validate", "in.csv", "--no-such\x1b[2J=S3cret"])
    assert one_short_line(capsys.readouterr().err) == (
        "bulkmail: error: unrecognized arguments: --no-such\\x1b[2J=... "
        "(see `bulkmail validate --help`)"
    )
