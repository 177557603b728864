"""The report folder: CSVs, report.xlsx (both writers), summary.json, masking, formula safety."""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest

from bulkmail.errors import ConfigError
from bulkmail.models import InputInfo, Outcome, Problem, Row, Severity, Stage, Status, Summary
from bulkmail.report.collector import Collector
from bulkmail.report.escaping import csv_escape, csv_unescape, escape_row, plain_line
from bulkmail.report.rows import (
    RowShape,
    failed_cells,
    line_typer,
    original_cells,
    row_typer,
    succeeded_cells,
    typed_cell,
)
from bulkmail.report.writer import ReportPaths, ReportWriter, new_report_folder, summary_dict
from bulkmail.report.xlsx import ENGINES, Engine, SheetSource, csv_rows, write_xlsx
from bulkmail.secrets import register, scrub

NOW = datetime(2026, 11, 23, 19, 30, 5, tzinfo=UTC)
Named = tuple[str, Engine]  # one entry of ENGINES
# A re-fed report: "Row" and "Notes" are the report's own columns (the reader ignored them).
HEADERS = (
    "Email",
    "Password",
    "Display Name",
    "smtp_password",
    "Row",
    "Notes",
    "Comment",
    "Old Password",
)
FIELDS = ("email", "password", "name", "smtp_password", None, None, None, None)
KEPT = ["Email", "Password", "Display Name", "smtp_password", "Comment", "Old Password"]
SECRETS = ("Imap-S3cret-1", "Smtp-S3cret-2", "Old-S3cret-3")
INFO = InputInfo("in.csv", "csv", encoding="utf-8", delimiter=";", encoding_detected=True)


def _row(number: int, email: str, name: str = "N", comment: str = "") -> Row:
    return Row(number, (email, SECRETS[0], name, SECRETS[1], "99", "old note", comment, SECRETS[2]))


def _problem(row: int, column: str, code: str, severity: Severity, hint: str = "") -> Problem:
    return Problem(row, column, code, severity, f"{code} message", hint)


OUTCOMES = (
    Outcome(
        _row(2, "a@x.org", "=1+2"),
        Status.VALID,
        problems=(_problem(2, "port", "port-defaulted", Severity.INFO),),
    ),
    Outcome(
        _row(3, "b@x.org", "@SUM(A1:A2)"),
        Status.CREATED,
        attempts=1,
        http_status=200,
        mailbox_id=42,
        elapsed=1.23456,
        problems=(_problem(3, "port", "port-encryption-mismatch", Severity.WARNING),),
    ),
    Outcome(
        _row(4, "c@x.org"),
        Status.SKIPPED,
        code="exists",
        message="already on the portal",
        done_at="2026-11-22T10:00:00",
    ),
    Outcome(
        _row(5, "d@x.org", "-5", "+7 555"),
        Status.FAILED,
        stage=Stage.VALIDATION,
        problems=(
            _problem(5, "port", "port-encryption-mismatch", Severity.WARNING, "use 993"),
            _problem(5, "port", "port-out-of-range", Severity.ERROR, "use 1..65535"),
            _problem(5, "", "duplicate-mailbox", Severity.ERROR, "use 1..65535"),
            _problem(5, "imap", "imap-defaulted", Severity.INFO),
        ),
    ),
    Outcome(
        _row(6, "e@x.org"),
        Status.FAILED,
        stage=Stage.PORTAL,
        code="mailbox-login-refused",
        message=f"IMAP response: LOGIN {SECRETS[0]} refused",
        hint="check the password",
        attempts=2,
        http_status=400,
        elapsed=3.5,
    ),
    Outcome(_row(7, "f@x.org"), Status.NOT_ATTEMPTED),
)


def _summary(writer: ReportWriter) -> Summary:
    return Summary(
        "import",
        len(OUTCOMES),
        dict(writer.counts),
        1,
        INFO,
        "2026-11-23T19:30:05",
        "2026-11-23T19:30:09",
        4.56789,
        problems=dict(writer.problem_counts),
        extra={
            "portal": "https://portal.example.org",
            "portal_password": "x1x1x1",
            "concurrency": 8,
        },
    )


def _report(tmp_path: Path, outcomes: tuple[Outcome, ...] = OUTCOMES) -> ReportWriter:
    with ReportWriter(tmp_path, HEADERS, FIELDS) as writer:
        for outcome in outcomes:
            writer.add(outcome)
        writer.finish(_summary(writer))
    return writer


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _sheet(path: Path, name: str) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(path)
    return list(book[name].iter_rows(values_only=True))


def _kept(email: str, name: str = "N", comment: str = "") -> list[str]:
    return [email, "********", name, "********", comment, "********"]


SUCCEEDED_CSV = [
    ["row", "outcome", "mailbox_id", "done_at", "notes", "elapsed", *KEPT],
    [
        "2",
        "valid",
        "",
        "",
        "port-defaulted: port-defaulted message",
        "",
        *_kept("a@x.org", "'=1+2"),
    ],
    [
        "3",
        "created",
        "42",
        "",
        "port-encryption-mismatch: port-encryption-mismatch message",
        "1.235",
        *_kept("b@x.org", "'@SUM(A1:A2)"),
    ],
    [
        "4",
        "skipped",
        "",
        "2026-11-22T10:00:00",
        "exists: already on the portal",
        "",
        *_kept("c@x.org"),
    ],
]
FAILED_CSV = [
    [
        "row",
        "outcome",
        "stage",
        "code",
        "message",
        "hint",
        "attempts",
        "http_status",
        "warnings",
        *KEPT,
    ],
    [
        "5",
        "failed",
        "validation",
        "port-out-of-range; duplicate-mailbox",
        "port: port-out-of-range message; duplicate-mailbox message",
        "use 1..65535",
        "0",
        "",
        "port-encryption-mismatch: port: port-encryption-mismatch message (use 993)",
        *_kept("d@x.org", "'-5", "'+7 555"),
    ],
    [
        "6",
        "failed",
        "portal",
        "mailbox-login-refused",
        "IMAP response: LOGIN ******** refused",
        "check the password",
        "2",
        "400",
        "",
        *_kept("e@x.org"),
    ],
    ["7", "not attempted", "", "", "", "", "0", "", "", *_kept("f@x.org")],
]


def test_new_report_folder_is_named_by_time_and_unique_within_a_second(tmp_path: Path) -> None:
    first = new_report_folder(tmp_path / "reports", "validate", NOW)
    second = new_report_folder(tmp_path / "reports", "validate", NOW)
    third = new_report_folder(tmp_path / "reports", "import", NOW)
    assert [first.name, second.name, third.name] == [
        "2026-11-23_19-30-05+0000_validate",
        "2026-11-23_19-30-05+0000_validate-2",
        "2026-11-23_19-30-05+0000_import",
    ]
    assert first.is_dir() and second.is_dir() and third.is_dir()


def test_new_report_folder_is_named_in_the_zone_of_the_run(tmp_path: Path) -> None:
    # 02:30 in Moscow is 23:30 UTC the day before: the folder says the run's own day.
    moscow = datetime(2026, 11, 24, 2, 30, 5, tzinfo=timezone(timedelta(hours=3)))
    folder = new_report_folder(tmp_path / "reports", "import", moscow)
    assert folder.name == "2026-11-24_02-30-05+0300_import"
    assert not set(folder.name) & set(':<>"|?*\\')  # a valid name on Windows too
    behind = datetime(2026, 11, 24, 2, 30, 5, tzinfo=timezone(timedelta(hours=-5)))
    assert new_report_folder(tmp_path / "reports", "import", behind).name == (
        "2026-11-24_02-30-05-0500_import"
    )


def test_new_report_folder_in_an_unusable_place_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("a file, not a folder")
    with pytest.raises(ConfigError) as caught:
        new_report_folder(blocker, "validate", NOW)
    assert str(blocker) in caught.value.message
    assert "--report-dir" in caught.value.hint


def test_csvs_hold_each_row_with_report_columns_then_masked_originals(tmp_path: Path) -> None:
    _report(tmp_path)
    assert _csv(tmp_path / "succeeded.csv") == SUCCEEDED_CSV
    assert _csv(tmp_path / "failed.csv") == FAILED_CSV


def test_csvs_are_utf8_with_bom_and_crlf(tmp_path: Path) -> None:
    _report(tmp_path)
    raw = (tmp_path / "failed.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfrow,outcome,stage,")
    assert raw.count(b"\r\n") == len(FAILED_CSV)
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_finish_returns_the_paths_of_the_folder(tmp_path: Path) -> None:
    with ReportWriter(tmp_path, HEADERS, FIELDS) as writer:
        paths = writer.finish(_summary(writer))
    assert paths == ReportPaths(
        tmp_path,
        tmp_path / "report.xlsx",
        tmp_path / "succeeded.csv",
        tmp_path / "failed.csv",
        tmp_path / "summary.json",
        tmp_path / "report.html",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "failed.csv",
        "report.html",
        "report.xlsx",
        "succeeded.csv",
        "summary.json",
    ]


def test_every_input_row_is_in_exactly_one_sheet(tmp_path: Path) -> None:
    _report(tmp_path)
    rows = [
        r[0] for name in ("Succeeded", "Failed") for r in _sheet(tmp_path / "report.xlsx", name)[1:]
    ]
    assert sorted(rows) == [o.row.number for o in OUTCOMES]  # type: ignore[type-var]


def _all_bytes(folder: Path) -> bytes:
    """Every file's bytes, the xlsx's zip members decompressed."""
    chunks = []
    for path in folder.rglob("*"):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                chunks += [archive.read(name) for name in archive.namelist()]
        elif path.is_file():
            chunks.append(path.read_bytes())
    return b"\n".join(chunks)


@pytest.mark.parametrize("engine", ENGINES, ids=[name for name, _ in ENGINES])
def test_no_secret_reaches_any_file(tmp_path: Path, engine: Named) -> None:
    writer = ReportWriter(tmp_path, HEADERS, FIELDS)
    for outcome in OUTCOMES:
        writer.add(outcome)
    writer.finish(_summary(writer))
    _rewrite_xlsx(tmp_path, engine)
    everything = _all_bytes(tmp_path)
    assert b"********" in everything
    for secret in (*SECRETS, "x1x1x1"):
        assert secret.encode() not in everything


def test_summary_json_holds_no_secret_in_any_value() -> None:
    register("Run-Token-0xFEED")
    extra = {
        "portal": "https://admin:Url-S3cret@portal.example.org",
        "abort_reason": "the portal said Run-Token-0xFEED",
        "Token": "x",
        "concurrency": 8,
    }
    summary = Summary("import", 0, {}, 3, INFO, "a", "b", 1.0, problems={}, extra=extra)
    data = summary_dict(summary)
    assert {k: data[k] for k in extra if k in data} == {
        "portal": "https://********@portal.example.org",
        "abort_reason": "the portal said ********",
        "concurrency": 8,
    }


class _Log:
    """A logger that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def info(self, event: str, **fields: object) -> None:
        self.events.append((event, fields))

    warning = info


def test_the_console_preview_and_log_events_hold_none_of_the_rows_secrets(tmp_path: Path) -> None:
    # A row whose password is also typed into another cell, which a message quotes.
    row = Row(2, ("a@x.org", SECRETS[0], SECRETS[0], SECRETS[1], "", "", "", ""))
    quoted = Problem(2, "name", "name-odd", Severity.ERROR, f"{SECRETS[0]} is odd", SECRETS[0])
    failed = replace(OUTCOMES[-2], row=replace(row, number=3))
    log = _Log()
    with ReportWriter(tmp_path, HEADERS, FIELDS) as writer:
        collect = Collector(writer, log, command="import")
        collect(Outcome(row, Status.FAILED, stage=Stage.VALIDATION, problems=(quoted,)))
        collect(failed)
    preview = collect.preview
    [name_odd, refused] = preview.groups(Severity.ERROR)
    assert (name_odd.code, name_odd.rows, name_odd.hint) == (
        "name-odd",
        ["row 2, name: ******** is odd"],
        "********",
    )
    assert (refused.rows, refused.hint) == (
        ["row 3: IMAP response: LOGIN ******** refused"],
        "check the password",
    )
    assert [fields.get("message") for _, fields in log.events] == [
        None,
        "IMAP response: LOGIN ******** refused",
    ]


def _rewrite_xlsx(folder: Path, engine: Named) -> str:
    """Build report.xlsx again from the folder's CSVs with one given engine only."""
    (folder / "report.xlsx").unlink()
    sources = [
        SheetSource("Succeeded", folder / "succeeded.csv", 6),
        SheetSource("Failed", folder / "failed.csv", 9),
    ]
    return write_xlsx(
        folder / "report.xlsx", [("command", "import"), ("total", 6)], sources, engines=[engine]
    )


@pytest.mark.parametrize("engine", ENGINES, ids=[name for name, _ in ENGINES])
def test_formula_like_cells_stay_text_and_numbers_stay_numbers(
    tmp_path: Path, engine: Named
) -> None:
    _report(tmp_path)
    _rewrite_xlsx(tmp_path, engine)
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    succeeded, failed = book["Succeeded"], book["Failed"]
    assert [(c.value, c.data_type) for c in (succeeded["I2"], succeeded["I3"])] == [
        ("=1+2", "s"),
        ("@SUM(A1:A2)", "s"),
    ]
    assert [(c.value, c.data_type) for c in (failed["L2"], failed["N2"])] == [
        ("-5", "s"),
        ("+7 555", "s"),
    ]
    numbers = [succeeded["A3"], succeeded["C3"], succeeded["F3"], failed["G3"], failed["H3"]]
    assert [(c.value, c.data_type) for c in numbers] == [
        (3, "n"),
        (42, "n"),
        (1.235, "n"),
        (2, "n"),
        (400, "n"),
    ]


def test_both_writers_produce_the_same_rows(tmp_path: Path) -> None:
    _report(tmp_path)
    sheets = {}
    for name, engine in ENGINES:
        assert _rewrite_xlsx(tmp_path, (name, engine)) == name
        sheets[name] = [
            _sheet(tmp_path / "report.xlsx", s) for s in ("Summary", "Succeeded", "Failed")
        ]
    fast, plain = sheets.values()
    assert fast == plain
    assert len(fast[1]) == len(SUCCEEDED_CSV) and len(fast[2]) == len(FAILED_CSV)


def test_a_failing_fast_writer_falls_back_to_xlsxwriter(tmp_path: Path) -> None:
    def broken(*args: object) -> None:
        (tmp_path / "report.xlsx").write_bytes(b"half a file")
        raise RuntimeError("panic")

    _report(tmp_path)
    sources = [
        SheetSource("Succeeded", tmp_path / "succeeded.csv", 6),
        SheetSource("Failed", tmp_path / "failed.csv", 8),
    ]
    used = write_xlsx(
        tmp_path / "report.xlsx", [("total", 6)], sources, engines=[("broken", broken), ENGINES[1]]
    )
    assert used == "xlsxwriter"
    assert len(_sheet(tmp_path / "report.xlsx", "Failed")) == len(FAILED_CSV)


@pytest.mark.parametrize("engine", ENGINES, ids=[name for name, _ in ENGINES])
def test_sheets_have_bold_frozen_header_widths_and_autofilter(
    tmp_path: Path, engine: Named
) -> None:
    _report(tmp_path)
    _rewrite_xlsx(tmp_path, engine)
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert book.sheetnames == ["Summary", "Succeeded", "Failed"]
    filters = {ws.title: ws.auto_filter.ref for ws in book}
    assert filters == {"Summary": None, "Succeeded": "A1:L4", "Failed": "A1:O4"}
    for sheet in book:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.b for cell in sheet[1])
        assert not any(cell.font.b for cell in sheet[2])
        widths = [sheet.column_dimensions[c].width for c in "AB"]
        assert all(6 <= w <= 61 for w in widths), widths


def test_an_empty_sheet_still_has_its_header(tmp_path: Path) -> None:
    _report(tmp_path, OUTCOMES[:1])
    assert _sheet(tmp_path / "report.xlsx", "Failed") == [tuple(FAILED_CSV[0])]


def test_duplicate_original_headers_are_kept_by_the_fallback_writer(tmp_path: Path) -> None:
    with ReportWriter(tmp_path, ("email", "x", "x"), ("email", None, None)) as writer:
        writer.add(Outcome(Row(2, ("a@x.org", "1", "2")), Status.VALID))
        writer.finish(_summary(writer))
    assert writer.xlsx_engine == "xlsxwriter"
    assert _sheet(tmp_path / "report.xlsx", "Succeeded") == [
        ("row", "outcome", "mailbox_id", "done_at", "notes", "elapsed", "email", "x", "x"),
        (2, "valid", None, None, None, None, "a@x.org", "1", "2"),
    ]


def test_summary_json_counts_every_status_and_adds_up(tmp_path: Path) -> None:
    _report(tmp_path)
    data = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert data == {
        "command": "import",
        "exit_code": 1,
        "total": 6,
        "counts": {
            "valid": 1,
            "created": 1,
            "updated": 0,
            "skipped": 1,
            "would create": 0,
            "would update": 0,
            "failed": 2,
            "checked": 0,
            "not checked": 0,
            "not attempted": 1,
        },
        "succeeded": 3,
        "failed": 3,
        "problems": {
            "port-encryption-mismatch": 2,
            "duplicate-mailbox": 1,
            "mailbox-login-refused": 1,
            "port-out-of-range": 1,
        },
        "input": {
            "path": "in.csv",
            "format": "csv",
            "sheet": None,
            "encoding": "utf-8",
            "delimiter": ";",
            "encoding_detected": True,
            "delimiter_detected": False,
            "encoding_sure": None,
            "encoding_basis": None,
            "encoding_rivals": [],
            "sep_line": False,
            "report": False,
        },
        "started_at": "2026-11-23T19:30:05",
        "finished_at": "2026-11-23T19:30:09",
        "seconds": 4.568,
        "report": {
            "xlsx": "report.xlsx",
            "succeeded_csv": "succeeded.csv",
            "failed_csv": "failed.csv",
            "summary_json": "summary.json",
            "html": "report.html",
        },
        "portal": "https://portal.example.org",
        "concurrency": 8,
    }
    assert sum(data["counts"].values()) == data["total"] == data["succeeded"] + data["failed"]


def test_summary_sheet_is_a_key_value_table_with_top_problems(tmp_path: Path) -> None:
    _report(tmp_path)
    rows = {key: value for key, value in _sheet(tmp_path / "report.xlsx", "Summary")[1:]}
    assert rows["top problem codes"] == (
        "port-encryption-mismatch (2), duplicate-mailbox (1), "
        "mailbox-login-refused (1), port-out-of-range (1)"
    )
    assert (rows["command"], rows["exit_code"], rows["counts.failed"]) == ("import", 1, 2)
    assert (rows["input.delimiter"], rows["input.encoding_detected"]) == (";", "true")
    assert rows["report.xlsx"] == "report.xlsx"
    assert len(rows) == len(_sheet(tmp_path / "report.xlsx", "Summary")) - 1


def test_summary_dict_is_what_summary_json_holds(tmp_path: Path) -> None:
    writer = _report(tmp_path)
    on_disk = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary_dict(_summary(writer)) == on_disk


def test_counts_and_problem_counts_follow_the_rows(tmp_path: Path) -> None:
    writer = _report(tmp_path)
    assert {k: v for k, v in writer.counts.items() if v} == {
        "valid": 1,
        "created": 1,
        "skipped": 1,
        "failed": 2,
        "not attempted": 1,
    }
    assert writer.problem_counts == {
        "port-encryption-mismatch": 2,
        "port-out-of-range": 1,
        "duplicate-mailbox": 1,
        "mailbox-login-refused": 1,
    }


def test_leaving_without_finish_keeps_the_rows_written(tmp_path: Path) -> None:
    with pytest.raises(KeyError), ReportWriter(tmp_path, HEADERS, FIELDS) as writer:
        writer.add(OUTCOMES[0])
        raise KeyError("boom")
    assert _csv(tmp_path / "succeeded.csv") == SUCCEEDED_CSV[:2]
    assert not (tmp_path / "report.xlsx").exists()


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("=1+2", "'=1+2"),
        ("+7 555", "'+7 555"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),  # already quoted by the user: one more, so reading back is exact
        ("''", "'''"),
        ("'hello", "'hello"),
        ("'", "'"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_csv_escape_prefixes_risky_cells_and_round_trips(text: str, escaped: str) -> None:
    assert csv_escape(text) == escaped
    assert csv_unescape(escaped) == text


@pytest.mark.parametrize(
    ("outcome", "cells"),
    [
        (
            Outcome(
                Row(9, ()),
                Status.FAILED,
                stage=Stage.VALIDATION,
                problems=(
                    _problem(9, "email", "email-invalid", Severity.ERROR, "fix it"),
                    _problem(9, "server", "host-invalid", Severity.ERROR, "fix it"),
                ),
            ),
            [
                "9",
                "failed",
                "validation",
                "email-invalid; host-invalid",
                "email: email-invalid message; server: host-invalid message",
                "fix it",
                "0",
                "",
                "",
            ],
        ),
        (
            Outcome(
                Row(9, ()),
                Status.FAILED,
                stage=Stage.NETWORK,
                code="timeout",
                message="no answer in 120 s",
                attempts=3,
                problems=(_problem(9, "port", "w", Severity.WARNING),),
            ),
            [
                "9",
                "failed",
                "network",
                "timeout",
                "no answer in 120 s",
                "",
                "3",
                "",
                "w: port: w message",
            ],
        ),
    ],
)
def test_failed_cells(outcome: Outcome, cells: list[str]) -> None:
    assert failed_cells(outcome) == cells


@pytest.mark.parametrize(
    ("outcome", "cells"),
    [
        (
            Outcome(
                Row(9, ()),
                Status.UPDATED,
                mailbox_id=7,
                elapsed=0.5,
                problems=(
                    _problem(9, "", "n", Severity.INFO),
                    _problem(9, "port", "w", Severity.WARNING),
                ),
            ),
            ["9", "updated", "7", "", "w: w message; n: n message", "0.5"],
        ),
        (Outcome(Row(9, ()), Status.WOULD_CREATE), ["9", "would create", "", "", "", ""]),
    ],
)
def test_succeeded_cells(outcome: Outcome, cells: list[str]) -> None:
    assert succeeded_cells(outcome) == cells


# The fast paths below must give exactly what the plain reference functions give:
# csv.writer after csv_escape, csv.reader, typed_cell per cell, scrub + original_cells.


def _csv_line(cells: list[str]) -> str:
    """What the csv module writes for one escaped row (the reference for plain_line)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(escape_row(cells))
    return out.getvalue()


@pytest.mark.parametrize(
    ("cells", "line"),
    [
        (["2", "valid", "a@x.org"], "2,valid,a@x.org"),
        (["c", "a=b", "x-y", "O'Brien", "", "Пётр"], "c,a=b,x-y,O'Brien,,Пётр"),
        (["", ""], ","),
        ([""], None),  # csv.writer quotes a lone empty cell
        (["a,b", "c"], None),
        (['say "hi"', "c"], None),
        (["a\nb", "c"], None),
        (["a\rb", "c"], None),
        (["=1+2", "c"], None),
        (["c", "-5"], None),
        (["c", "+7 555"], None),
        (["c", "@SUM(A1)"], None),
        (["c", "\tx"], None),
        (["c", "'=x"], None),
        (["c", "'hello"], None),  # a leading quote always takes the careful way
    ],
)
def test_plain_line_is_the_csv_line_or_none(cells: list[str], line: str | None) -> None:
    assert plain_line(cells) == line
    if line is not None:
        assert line + "\r\n" == _csv_line(cells)


def test_csv_rows_reads_what_csv_reader_reads(tmp_path: Path) -> None:
    rows = [
        ["row", "outcome", "notes"],
        ["2", "valid", ""],
        ["3", "failed", "use 993, or 995"],
        ["4", 'say "hi"', "x"],
        ["5", "two\nlines", "and\r\nthree\rlines"],
        [""],
        [],
        ["6", "'=1+2", "Пётр"],
        ["7", "", ""],
    ]
    path = tmp_path / "rows.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    with path.open(encoding="utf-8", newline="") as handle:
        assert list(csv_rows(handle)) == rows
    with path.open(encoding="utf-8", newline="") as handle:
        assert list(csv.reader(handle)) == rows


TYPER_HEADER = ("row", "outcome", "mailbox_id", "elapsed", "row")  # the last is an original
RECORD_HEADER = ("row", "outcome", "mailbox_id", "elapsed", "Row")  # names a dict can key


@pytest.mark.parametrize(
    ("cells", "typed"),
    [
        (["2", "valid", "42", "1.235", "7"], [2, "valid", 42, 1.235, "7"]),
        (["2", "", "", "", ""], [2, None, None, None, None]),
        (["'-5", "'=1+2", "x", "'-0.5", "'@x"], ["-5", "=1+2", "x", "-0.5", "@x"]),
        (["'hello", "O'Brien", "''", "'", "''=x"], ["'hello", "O'Brien", "'", "'", "'=x"]),
        (["2", "valid"], [2, "valid"]),  # a short row stays short
    ],
)
def test_row_typer_types_like_typed_cell(cells: list[str], typed: list[object]) -> None:
    kinds = [*TYPER_HEADER[:4], None]
    assert [typed_cell(k, c) for k, c in zip(kinds, cells, strict=False)] == typed
    assert row_typer(TYPER_HEADER, 4)(cells) == typed
    blank_text = [("" if c == "" else t) for c, t in zip(cells, typed, strict=True)]
    assert row_typer(TYPER_HEADER, 4, blank="")(cells) == blank_text
    record = line_typer(RECORD_HEADER, 4)(",".join(cells) + "\r\n")
    assert record == dict(zip(RECORD_HEADER, blank_text, strict=False))


SHAPE_HEADERS = ("email", "password", "Row", "note", "Old password")
SHAPE_FIELDS = ("email", "password", None, None, None)


@pytest.mark.parametrize(
    ("ours", "cells", "row"),
    [
        (
            ["2", "valid", "LOGIN S3cret! refused"],
            ("a@x.org", "S3cret!", "9", "n", "Old-1"),
            ["2", "valid", "LOGIN ******** refused", "a@x.org", "********", "n", "********"],
        ),
        (  # empty secrets stay empty; a short secret is masked but not scrubbed
            ["2", "valid", "ab and ab"],
            ("a@x.org", "", "9", "n", "ab"),
            ["2", "valid", "ab and ab", "a@x.org", "", "n", "********"],
        ),
        (  # a row shorter than the headers: missing cells are blank
            ["2", "valid", "x"],
            ("a@x.org", "S3cret!"),
            ["2", "valid", "x", "a@x.org", "********", "", ""],
        ),
        (  # a secret that MASK contains: masked once, never inside the mask
            ["2", "valid", "key **** and Old-1"],
            ("a@x.org", "****", "9", "n", "Old-1"),
            ["2", "valid", "key ******** and ********", "a@x.org", "********", "n", "********"],
        ),
        (  # a secret as a server echoed it in JSON, or as a URL holds it
            ["2", "failed", 'said {"pass":"S3\\"c!"}', "at imap://a:S3%22c%21@h"],
            ("a@x.org", 'S3"c!', "9", "n", ""),
            [
                *("2", "failed", 'said {"pass":"********"}', "at imap://********@h"),
                *("a@x.org", "********", "n", ""),
            ],
        ),
    ],
)
def test_row_shape_scrubs_our_cells_and_masks_the_originals(
    ours: list[str], cells: tuple[str, ...], row: list[str]
) -> None:
    shape = RowShape(SHAPE_HEADERS, SHAPE_FIELDS)
    assert (shape.kept, shape.secret) == ((0, 1, 3, 4), frozenset({1, 4}))
    assert shape.row(ours, cells) == row


_ALPHABET = ["a", "1", "=", "+", "-", "@", "\t", "\r", "\n", "'", '"', ",", " ", "*", "я", ";"]


def _random_text(rnd: random.Random) -> str:
    return "".join(rnd.choice(_ALPHABET) for _ in range(rnd.randint(0, 6)))


def test_fast_paths_agree_with_the_reference_functions_on_random_rows(tmp_path: Path) -> None:
    rnd = random.Random(20261123)
    shape = RowShape(SHAPE_HEADERS, SHAPE_FIELDS)
    typer = row_typer(TYPER_HEADER, 4)
    kinds = [*TYPER_HEADER[:4], None]
    written = []
    for _ in range(2000):
        cells = tuple(_random_text(rnd) for _ in range(rnd.choice([5, 5, 5, 2, 7])))
        ours = [_random_text(rnd) + rnd.choice(["", *cells]) for _ in range(3)]
        secrets = [cells[i] for i in sorted(shape.secret) if i < len(cells)]
        expected = [scrub(c, secrets) for c in ours] + original_cells(
            cells, shape.kept, shape.secret
        )
        assert shape.row(ours, cells) == expected
        line = plain_line(expected)
        assert line is None or line + "\r\n" == _csv_line(expected)
        written.append(escape_row(expected))
        texts = escape_row([_random_text(rnd) for _ in range(5)])
        assert typer(texts) == [typed_cell(k, c) for k, c in zip(kinds, texts, strict=True)]
        if not any(mark in c for c in texts for mark in ',"\r\n'):  # a line csv_rows splits
            record = line_typer(RECORD_HEADER, 4)(",".join(texts) + "\r\n")
            blanks = row_typer(RECORD_HEADER, 4, blank="")(texts)
            assert record == dict(zip(RECORD_HEADER, blanks, strict=True))
    path = tmp_path / "random.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(written)
    with path.open(encoding="utf-8", newline="") as handle:
        assert list(csv_rows(handle)) == written


@pytest.mark.parametrize("engine", ENGINES, ids=[name for name, _ in ENGINES])
def test_blank_cells_leave_no_cell_in_the_sheet(tmp_path: Path, engine: Named) -> None:
    # The fast writer gets blanks as "" (it skips them as it skips None): none may appear.
    _report(tmp_path)
    _rewrite_xlsx(tmp_path, engine)
    with zipfile.ZipFile(tmp_path / "report.xlsx") as archive:
        succeeded = archive.read("xl/worksheets/sheet2.xml").decode()
    assert ('r="B2"' in succeeded, 'r="C2"' in succeeded, 'r="F2"' in succeeded) == (
        True,
        False,
        False,
    )


def test_summary_json_counts_codes_that_name_a_password_as_numbers(tmp_path: Path) -> None:
    problems = {"app-password-spaces": 2, "portal-password-missing": 1, "port-out-of-range": 3}
    summary = Summary("validate", 3, {"failed": 3}, 1, INFO, "", "", 1.0, problems=problems)
    data = summary_dict(summary)
    assert data["problems"] == {
        "port-out-of-range": 3,
        "app-password-spaces": 2,
        "portal-password-missing": 1,
    }
    assert "password" not in summary_dict(replace(summary, extra={"password": "x1"}))


@pytest.mark.parametrize("engine", ENGINES, ids=[name for name, _ in ENGINES])
def test_a_sheet_holds_at_most_the_sheet_limit_of_rows(
    tmp_path: Path, engine: Named, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limit is 1,048,575 data rows; two here, so that the test writes a few rows.
    import bulkmail.report.xlsx as xlsx

    _report(tmp_path)
    succeeded = _csv(tmp_path / "succeeded.csv")
    assert len(succeeded) > 3  # the header and more data rows than the limit below
    monkeypatch.setattr(xlsx, "MAX_DATA_ROWS", 2)
    _rewrite_xlsx(tmp_path, engine)
    rows = _sheet(tmp_path / "report.xlsx", "Succeeded")
    assert [row[0] for row in rows] == ["row", *(int(r[0]) for r in succeeded[1:3])]
