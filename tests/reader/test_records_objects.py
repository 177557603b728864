"""`bulkmail.table` with values no cell holds (bytes, lists, dicts) and DataFrames shaped as
pandas users shape them (a named index, MultiIndex columns, `columns=` naming what is not
there): one line saying what to pass, never a value's repr sent as the value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import bulkmail
from bulkmail.errors import InputError

SECRET = "S3cret-Objects-Pw-8"


def record(n: int, **changed: Any) -> dict[str, Any]:
    return {
        "email": f"user{n}@corp.example.org",
        "password": SECRET,
        "server": "imap.corp.example.org",
        "smtp_server": "smtp.corp.example.org",
    } | changed


def read_all(source: Any) -> list[Any]:
    return list(bulkmail.validate(source))


@pytest.mark.parametrize(
    ("value", "says", "fix"),
    [
        (SECRET.encode(), "holds a bytes", r"value\.decode\(\)"),
        (bytearray(SECRET.encode()), "holds a bytearray", r"value\.decode\(\)"),
        ([SECRET], "holds a list", "one value per cell"),
        ((SECRET,), "holds a tuple", "one value per cell"),
        ({"value": SECRET}, "holds a dict", "one value per cell"),
    ],
)
def test_a_value_no_cell_holds_is_refused_not_sent_as_its_repr(
    value: Any, says: str, fix: str
) -> None:
    shapes: list[Any] = [
        [record(1), record(2, password=value)],  # a list: refused before any row
        iter([record(1), record(2, password=value)]),  # a stream: when it comes
        pd.DataFrame([record(1), record(2, password=value)]),
    ]
    for source in shapes:
        with pytest.raises(
            InputError,
            match=f"^record 2 \\(row 3\\): 'password' {says}, not a value a cell holds.*{fix}",
        ) as raised:
            read_all(source)
        assert SECRET not in str(raised.value) and "\n" not in str(raised.value)


def test_a_list_is_refused_before_its_first_row_is_validated() -> None:
    with pytest.raises(InputError, match=r"^record 2 \(row 3\): 'email' holds a list"):
        bulkmail.table([record(1), record(2, email=[b"x@y.org"])])  # not when row 3 comes


def test_values_a_cell_holds_still_read_as_text() -> None:
    from decimal import Decimal

    table = bulkmail.table([record(1, port=Decimal("993"), name=None)])
    (row,) = table.rows
    assert row.cells[table.fields.index("port")] == "993"


def test_a_named_index_is_read_as_columns_as_to_excel_writes_it() -> None:
    frame = pd.DataFrame([record(1), record(2)]).set_index("email")
    checked = read_all(frame)
    assert [c.account.email for c in checked] == [
        "user1@corp.example.org",
        "user2@corp.example.org",
    ]
    unnamed = pd.DataFrame([record(1)], index=[10])  # an unnamed index is no column
    assert bulkmail.table(unnamed).headers == ("email", "password", "server", "smtp_server")
    both = pd.DataFrame([record(1)]).set_index("email", drop=False)
    with pytest.raises(InputError, match=r"'email' both as a column and in its index"):
        bulkmail.table(both)


def test_multiindex_columns_say_how_to_flatten_them() -> None:
    frame = pd.DataFrame([record(1)])
    frame.columns = pd.MultiIndex.from_tuples([("mail", c) for c in frame.columns])
    with pytest.raises(InputError, match=r"columns have 2 levels.*get_level_values\(-1\)"):
        bulkmail.table(frame)


def test_columns_naming_what_is_not_there_is_one_line() -> None:
    frame = pd.DataFrame([record(1)])
    with pytest.raises(InputError, match=r"columns= names 'nope', which the DataFrame lacks"):
        bulkmail.table(frame, columns=["email", "nope"])
    with pytest.raises(InputError, match=r"columns= takes the header's names in order, not a str"):
        bulkmail.table([record(1)], columns="email")


def test_no_records_at_all_is_a_run_with_nothing_to_do(tmp_path: Path) -> None:
    for nothing in ([], (), iter([]), pd.DataFrame()):
        assert read_all(nothing) == []
    result = bulkmail.validate_file([], tmp_path)
    assert result.summary.exit_code == 0 and result.rows == ()
    assert result.summary.counts["failed"] == 0


def test_a_key_that_looks_like_a_value_is_not_quoted() -> None:
    data_row = {"anna@corp.example.org": "x", SECRET: "y"}  # keys taken from a data row
    with pytest.raises(InputError, match=r"has the key a name that looks like a value") as raised:
        read_all(iter([record(1), record(2) | data_row]))
    assert SECRET not in str(raised.value)
    frame = pd.DataFrame([[1, 2]], columns=[SECRET, SECRET])
    with pytest.raises(InputError, match=r"the column a name that looks like a value \(not sho"):
        bulkmail.table(frame)
    with pytest.raises(InputError) as raised:
        bulkmail.table(pd.DataFrame([record(1) | {SECRET: "x"}]), columns=["nope"])
    assert SECRET not in str(raised.value) and "'email'" in str(raised.value)
    with pytest.raises(InputError) as raised:
        read_all([record(1), record(2) | {SECRET: b"x"}])
    assert SECRET not in str(raised.value)


def test_columns_pick_the_keys_read_from_records_as_from_a_dataframe() -> None:
    wanted = ["email", "password", "server", "smtp_server"]
    rows = [record(1, Department="Sales"), record(2, Phone="+1 555")]  # extra keys differ
    for source in (rows, iter(rows), pd.DataFrame(rows)):
        table = bulkmail.table(source, columns=wanted)
        assert table.headers == tuple(wanted)
        assert [r.number for r in table.rows] == [2, 3]
