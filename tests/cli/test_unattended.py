"""The cron contract in-process: JSON on every stderr line, run.finished under --quiet, and a
summary.json for a run that stopped (exit 2 and 3). tests/e2e/test_cron_e2e.py runs the
README's cron line as cron would."""

from __future__ import annotations

import json
import shutil
import warnings
from argparse import Namespace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bulkmail.cli import fatal, main
from bulkmail.errors import AbortError
from bulkmail.models import InputInfo, Summary
from bulkmail.report.writer import ReportWriteError, ReportWriter
from bulkmail.secrets import register

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLES / "accounts.xlsx", tmp_path / "accounts.xlsx")
    return tmp_path


def json_lines(text: str) -> list[dict[str, Any]]:
    """Return every line of `text` as a JSON object (a line that is not one fails the test)."""
    return [json.loads(line) for line in text.splitlines()]


def only_summary(here: Path) -> tuple[Path, dict[str, Any]]:
    (folder,) = (here / "reports").iterdir()
    assert [p.name for p in folder.iterdir()] == ["summary.json"]
    return folder, json.loads((folder / "summary.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("argv", "asked"),
    [
        (["validate", "x.csv", "--log-format", "json"], "json"),
        (["validate", "x.csv", "--log-format=json"], "json"),
        (["validate", "x.csv", "--log", "json"], "json"),
        (["validate", "x.csv", "--lo=json"], "json"),
        (["--log-form=json", "validate"], "json"),
        (["validate", "x.csv", "--log-format", "json", "--log-format", "console"], "console"),
        (["validate", "x.csv", "--log-format=console", "--log-f=json"], "json"),
        (["validate", "x.csv", "--log-format", "JSON"], "console"),  # argparse refuses it
        (["validate", "x.csv", "--log-format"], "console"),
        (["validate", "--", "--log-format=json"], "console"),  # a file named so
        (["validate", "x.csv", "--logs=json"], "console"),  # not a prefix of --log-format
        (["validate", "x.csv", "-l", "json"], "console"),
    ],
)
def test_the_log_format_is_read_from_argv_as_argparse_reads_it(argv: list[str], asked: str) -> None:
    assert fatal.log_format(argv) == asked


@pytest.mark.parametrize(
    ("argv", "message", "command"),
    [
        (
            ["import", "x.csv", "--log-format=json"],
            "the following arguments are required: --portal (see `bulkmail import --help`)",
            "import",
        ),
        (
            ["validate", "x.csv", "--lo", "json", "--password", "Typed-S3cret"],
            "unrecognized arguments: --password ... (see `bulkmail validate --help`)",
            "validate",  # the command's help lists its options, `bulkmail --help` does not
        ),
        (
            ["validate", "x.csv", "--log-format", "json", "--quiet", "--report-mode", "all"],
            "argument --report-mode: invalid choice: 'all' (choose from 'owner', 'group') "
            "(see `bulkmail validate --help`)",
            "validate",
        ),
    ],
)
def test_a_usage_error_asked_in_json_is_one_json_line_and_no_report(
    here: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
    command: str | None,
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    out, err = capsys.readouterr()
    (line,) = json_lines(err)
    assert out == "" and "S3cret" not in err
    assert set(line) == {"message", "exit_code", "event", "level", "timestamp"} | (
        {"command"} if command else set()
    )
    assert (line["event"], line["level"], line["exit_code"]) == ("usage.error", "error", 2)
    assert (line["message"], line.get("command")) == (message, command)
    # Local time with its offset, as every other line (bulkmail.times).
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() is not None
    assert not (here / "reports").exists()  # the options were not known: no report folder


def test_a_missing_input_says_so_in_json_and_in_its_summary(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "gone.xlsx", "--log-format", "json", "--quiet"]) == 2
    out, err = capsys.readouterr()
    folder, summary = only_summary(here)
    (line,) = json_lines(err)
    assert out == ""  # --quiet: the report's path is in the JSON line
    assert line["event"] == "run.failed" and line["level"] == "error"
    assert (line["command"], line["exit_code"], line["report"]) == (
        "validate",
        2,
        f"reports/{folder.name}",
    )
    assert line["message"].startswith("gone.xlsx") and "gone.xlsx" in summary["error"]
    assert summary["error"] == line["message"]
    assert (summary["command"], summary["exit_code"], summary["total"]) == ("validate", 2, 0)
    assert summary["input"]["path"] == "gone.xlsx" and summary["input"]["format"] == ""
    assert summary["counts"]["failed"] == 0 and summary["report"] == {
        "summary_json": "summary.json"
    }
    assert summary["started_at"] <= summary["finished_at"]
    assert folder.name.endswith("_validate") and folder.stat().st_mode & 0o777 == 0o700


def test_on_the_console_the_error_is_one_line_and_stdout_names_the_summary(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "empty.csv").write_text("", encoding="utf-8")
    assert main(["validate", "empty.csv", "--report-mode", "group"]) == 2
    out, err = capsys.readouterr()
    folder, summary = only_summary(here)
    assert err.startswith("bulkmail: error: ") and err.count("\n") == 1
    assert out == f"report: reports/{folder.name}/summary.json\n"
    assert err == f"bulkmail: error: {summary['error']}\n"
    assert folder.stat().st_mode & 0o777 == 0o750


def test_the_error_line_and_summary_mask_a_registered_password(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The password, mistakenly given as the journal's path, comes back in the error.
    monkeypatch.setenv("BULKMAIL_PASSWORD", "Env-S3cret-9")
    (here / "Env-S3cret-9").mkdir()
    args = ["import", "accounts.xlsx", "--portal", "http://127.0.0.1:9", "--user", "me@x.org"]
    args += ["--give-up-after", "0.1"]  # nothing listens: no 10 s of retries first
    assert main([*args, "--state", "Env-S3cret-9", "--log-format=json", "-q"]) == 2
    err = capsys.readouterr().err
    (line,) = json_lines(err)
    folder, summary = only_summary(here)
    assert line["message"].startswith("journal ********") and "S3cret" not in err
    assert summary["error"] == line["message"]
    assert "S3cret" not in (folder / "summary.json").read_text(encoding="utf-8")


def test_an_interrupt_is_a_json_line_and_a_summary_with_exit_3(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("bulkmail.pipeline.validate_file", interrupted)
    assert main(["validate", "accounts.xlsx", "--log-format", "json"]) == 3
    (line,) = json_lines(capsys.readouterr().err)
    _, summary = only_summary(here)
    assert (line["event"], line["message"], line["exit_code"]) == ("run.failed", "interrupted", 3)
    assert (summary["exit_code"], summary["error"]) == (3, "interrupted")


def test_an_interrupt_while_rows_are_reported_leaves_one_folder_with_its_summary(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C (or SIGTERM) mid-report left two folders: the run's, its CSVs cut short and no
    # summary.json, and a second holding only the summary.json that said why.
    added = ReportWriter.add

    def add_then_interrupt(writer: ReportWriter, outcome: Any) -> None:
        added(writer, outcome)
        if sum(writer.counts.values()) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(ReportWriter, "add", add_then_interrupt)
    assert main(["validate", "accounts.xlsx", "--log-format", "json"]) == 3
    (line,) = json_lines(capsys.readouterr().err)
    (folder,) = (here / "reports").iterdir()
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert (line["event"], here / line["report"], line["exit_code"]) == ("run.failed", folder, 3)
    assert (summary["exit_code"], summary["error"]) == (3, "interrupted")
    assert {"succeeded.csv", "failed.csv"} <= {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_quiet_keeps_run_finished_and_drops_every_other_event(
    here: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    # The sample has invalid rows (row.invalid warnings) and an unknown column.
    assert main(["validate", "accounts.xlsx", "--log-format", fmt, "--quiet"]) == 1
    out, err = capsys.readouterr()
    (folder,) = (here / "reports").iterdir()
    assert out == "" and err.count("\n") == 1
    if fmt == "console":
        assert " run.finished command=validate exit_code=1 " in err
        return
    (line,) = json_lines(err)
    assert line | {"seconds": 0, "timestamp": ""} == {
        "command": "validate",
        "total": 30,
        "exit_code": 1,
        "seconds": 0,
        "report": f"reports/{folder.name}",
        "valid": 25,
        "failed": 5,
        "event": "run.finished",
        "level": "info",
        "timestamp": "",
    }


def test_without_quiet_the_warnings_are_json_lines_too(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "accounts.xlsx", "--log-format", "json"]) == 1
    events = [line["event"] for line in json_lines(capsys.readouterr().err)]
    assert events.count("row.invalid") == 5 and events[-1] == "run.finished"


def test_a_library_warning_is_a_log_line_in_the_format_asked_for(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A spreadsheet library's UserWarning (openpyxl warns of extensions it drops) would be
    # Python's two plain lines on stderr.
    from bulkmail import pipeline

    read = pipeline.read

    def warned(*args: Any, **kwargs: Any) -> Any:
        warnings.warn("Data Validation extension is not supported", UserWarning, stacklevel=1)
        return read(*args, **kwargs)

    monkeypatch.setattr(pipeline, "read", warned)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # restored after
        assert main(["validate", "accounts.xlsx", "--log-format", "json"]) == 1
    lines = json_lines(capsys.readouterr().err)
    (warned_line,) = (line for line in lines if line["event"] == "python.warning")
    assert (warned_line["category"], warned_line["level"]) == ("UserWarning", "warning")
    assert warned_line["message"] == "Data Validation extension is not supported"


def test_a_report_that_cannot_be_written_names_its_folder_for_the_error_line(
    tmp_path: Path,
) -> None:
    # The command line then names this folder's summary.json (exit 3) and makes no other.
    writer = ReportWriter(tmp_path, ("email",), ("email",))
    (tmp_path / "report.xlsx").mkdir()  # where the workbook goes: it cannot be replaced
    info = InputInfo("in.csv", "csv")
    with pytest.raises(ReportWriteError) as failed:
        writer.finish(Summary("validate", 0, {}, 0, info, "a", "b", 0.0))
    assert failed.value.report_folder == tmp_path
    assert json.loads((tmp_path / "summary.json").read_text())["exit_code"] == 3


def test_a_journal_failed_part_way_is_a_json_line_naming_the_written_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `import` says so after its report is written (result.error): the run ended exit 3.
    register("Jrnl-S3cret")
    failed = AbortError("the journal j.sqlite failed: Jrnl-S3cret", "free some space")
    for fmt in ("json", "console"):
        fatal.say(Namespace(command="import", log_format=fmt), failed, tmp_path / "r")
    out, err = capsys.readouterr()
    as_json, as_console = err.splitlines()
    line = json.loads(as_json)
    assert out == "" and "S3cret" not in err
    assert line | {"timestamp": ""} == {
        "command": "import",
        "message": "the journal j.sqlite failed: ******** (free some space)",
        "exit_code": 3,
        "report": str(tmp_path / "r"),
        "event": "run.failed",
        "level": "error",
        "timestamp": "",
    }
    assert as_console == "bulkmail: error: the journal j.sqlite failed: ******** (free some space)"
