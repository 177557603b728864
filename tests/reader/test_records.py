"""`bulkmail.table`: records and DataFrames read with the sheet reader's header and cell rules."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

import bulkmail
from bulkmail.errors import InputError
from tests.records import HEADER, cells_of, record


def test_records_get_the_sheet_readers_header_aliases_and_cell_rules() -> None:
    table = bulkmail.table(
        [
            record(1, **{"IMAP port": 993.0, "Department": None}),
            record(2, **{"IMAP port": float("nan"), "Department": True, "Password": " pw "}),
            {key: None for key in [*HEADER, "Department"]},  # a blank row is no row, as in a sheet
            record(4, **{"IMAP port": pd.NA, "Department": datetime.date(2024, 5, 1)}),
        ]
    )
    assert table.fields == ("email", "password", "server", "smtp_server", "port", None)
    assert [p.code for p in table.problems] == ["unknown-column"]  # Department: as a sheet says
    rows = cells_of(table)
    assert [number for number, _ in rows] == [2, 3, 5]  # header = row 1, the blank row counted
    assert rows[0][1][4:] == ("993", "")
    assert rows[1][1][1] == " pw "  # a secret is kept as typed
    assert rows[1][1][4:] == ("", "true")
    assert rows[2][1][4:] == ("", "2024-05-01")


def test_a_dataframe_reads_as_the_same_records() -> None:
    records = [
        record(1, **{"Start": pd.Timestamp("2024-01-02")}),
        record(2, **{"IMAP port": None, "Start": pd.NaT}),
    ]
    frame = pd.DataFrame(records)
    assert frame["IMAP port"].dtype.kind == "f"  # numpy floats and NaN, as pandas keeps them
    from_frame, from_list = bulkmail.table(frame), bulkmail.table(records)
    assert from_frame.fields == from_list.fields
    assert cells_of(from_frame) == cells_of(from_list)
    assert from_frame.info.format == "dataframe" and from_frame.size_hint == 2


def test_a_date_in_the_password_column_is_the_error_a_sheets_date_cell_gives(
    tmp_path: Path,
) -> None:
    when = datetime.datetime(2024, 3, 1)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append([*record(1, Password=when).values()])
    sheet.append([*record(2).values()])
    sheet["B2"].number_format = "yyyy-mm-dd"
    book.save(tmp_path / "in.xlsx")

    def problems(source: Any) -> list[list[tuple[str, str, str]]]:
        return [
            [(p.code, p.message, p.hint) for p in c.problems if p.severity == "error"]
            for c in bulkmail.validate(source)
        ]

    from_sheet = problems(tmp_path / "in.xlsx")
    assert from_sheet[0] and from_sheet[0][0][0] == "value-converted" and from_sheet[1] == []
    records = [record(1, Password=when), record(2)]
    assert problems(records) == from_sheet
    assert problems(pd.DataFrame(records)) == from_sheet
    assert problems(bulkmail.table(iter(records))) == from_sheet  # a one-pass iterator


@pytest.mark.parametrize(
    ("records", "says"),
    [
        ("accounts.csv", "takes records, not a str"),
        ({"E-mail": "a@b.org"}, "takes records, not a dict"),
        (42, "takes records, not an int"),
        ([record(1), "user2@corp.example.org"], "record 2 is a str, not a mapping"),
    ],
)
def test_what_is_not_records_is_one_line_saying_what_to_pass(records: Any, says: str) -> None:
    with pytest.raises(InputError, match=says) as raised:
        cells_of(bulkmail.table(records))
    assert "list of dicts" in str(raised.value) and "\n" not in str(raised.value)


def test_a_streamed_record_with_a_key_the_first_lacks_names_it() -> None:
    table = bulkmail.table(iter([record(1), record(2, Extra="x")]))
    with pytest.raises(InputError, match=r"record 2 has the key 'Extra'.*columns="):
        cells_of(table)


def test_records_without_a_required_column_name_them_like_a_sheet() -> None:
    with pytest.raises(InputError, match=r"records: missing required column.*server"):
        next(bulkmail.validate([{"E-mail": "a@corp.example.org", "Password": "x"}]))
