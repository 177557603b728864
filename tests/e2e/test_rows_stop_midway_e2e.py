"""Rows that stop coming part-way (a record that is not one, a cell longer than a cell holds)
after rows were sent: the import ends aborted (exit 3) with the report of what was sent and
the reason, and `check` with one line (exit 2); never a traceback or an ExceptionGroup."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bulkmail
from bulkmail.check.pipeline import check_file
from bulkmail.cli import main
from bulkmail.errors import InputError
from bulkmail.library import input_settings
from bulkmail.reader.limits import MAX_CELL_LENGTH
from bulkmail.reader.table import LOOKAHEAD
from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.slow

SECRET = "Midway-Pw-4417"


def record(n: int) -> dict[str, Any]:
    return {
        "email": f"user{n}@corp.example.org",
        "password": SECRET,
        "server": "imap.corp.example.org",
        "smtp_server": "smtp.corp.example.org",
    }


def records_then_junk() -> Iterator[Any]:
    yield record(1)
    yield record(2)
    yield 3  # not a mapping: the stream stops here


def test_an_import_whose_records_stop_midway_reports_what_was_sent(tmp_path: Path) -> None:
    with running(SimConfig()) as url:
        result = bulkmail.import_file(
            records_then_junk(),
            portal=url,
            user="lib@corp.example.org",
            password="Portal-Midway-1",
            report_dir=tmp_path,
            state=None,
        )
    assert result.summary.exit_code == 3
    reason = result.summary.extra["abort_reason"]
    assert reason.startswith("record 3 is an int, not a mapping")
    assert result.rows is not None and [r.row for r in result.rows] == [2, 3]
    assert result.summary.counts["created"] + result.summary.counts["not attempted"] == 2
    assert result.paths.summary_json.is_file()


def test_a_sheet_with_a_too_long_cell_past_the_first_rows_aborts_the_import_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "long.csv"
    with sheet.open("w", newline="") as file:
        out = csv.writer(file)
        out.writerow(["email", "password", "server", "smtp_server"])
        for n in range(LOOKAHEAD + 100):  # past what the reader reads before it hands over
            out.writerow(list(record(n).values()))
        out.writerow(
            ["late@corp.example.org", "x" * (MAX_CELL_LENGTH + 1), "imap.x.org", "s.x.org"]
        )
    (tmp_path / "pw").write_text("Portal-Midway-1\n")
    with running(SimConfig()) as url:
        code = main(
            ["import", str(sheet), "--portal", url, "--user", "lib@corp.example.org",
             "--password-file", str(tmp_path / "pw"), "--dry-run", "--state", str(tmp_path / "j"),
             "--report-dir", str(tmp_path / "reports"), "--quiet"]
        )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3
    assert "Traceback" not in err and "ExceptionGroup" not in err
    assert f"row {LOOKAHEAD + 102} has a cell of {MAX_CELL_LENGTH + 1:,} characters" in err


def test_a_check_whose_records_stop_midway_is_one_error(tmp_path: Path) -> None:
    inp = input_settings(records_then_junk(), {}, "check")
    with pytest.raises(InputError, match=r"^record 3 is an int, not a mapping"):
        check_file(inp, tmp_path)
