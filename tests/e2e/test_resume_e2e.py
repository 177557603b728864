"""Losing nothing: a killed run re-run, the journal lock, the cron contract, re-fed failures."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from childlog import ChildLog
from gate import Gate, gated
from test_import_e2e import account, report, run_import, stats, write_sheet

from bulkmail.cli import main
from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.slow

ACCOUNTS = "/api/2.0/mail/accounts"
PASSWORDS = ("mailbox-pass-1", "Portal-0-pw", "Portal-1-pw", "Portal-2-pw", "wrong-mailbox-pw")


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `bulkmail ARGS` as a child with no terminal, JSON logs on stderr."""
    return subprocess.Popen(
        [sys.executable, "-m", "bulkmail", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=(env or os.environ.copy()) | {"PYTHONUNBUFFERED": "1"},
    )


def test_a_killed_run_re_run_creates_every_row_exactly_once(tmp_path: Path) -> None:
    rows = [account(u, u * 1000 + b) for u in range(3) for b in range(100)]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    state, reports = tmp_path / "journal.sqlite", tmp_path / "reports"
    config = SimConfig(latency_ms=20, jitter_ms=10, drop_after_create=0.1, seed=11)
    # The first run may send 150 creates; then its 8 workers each wait with one at the gate.
    # Those 8 reach the portal only once their run is dead, so it never sees their answers.
    gate = Gate("POST", ACCOUNTS, allow=150, pass_left=True)
    with gated(config, gate) as url:
        args = (
            "import",
            str(sheet),
            "--portal",
            url,
            "--concurrency",
            "8",
            "--per-server",  # every row has the same mail servers: let all 8 workers at them
            "8",
            "--state",
            str(state),
            "--report-dir",
            str(reports),
            "--log-format",
            "json",
        )
        first = cli(*args)
        log = ChildLog(first)
        log.wait_for("row.created", 80)
        gate.wait_holding(8)  # every worker waits on a create: none is half-way anywhere
        first.send_signal(signal.SIGKILL)
        log.finish()
        gate.wait_empty()  # the 8 were handed on and stored, their answers sent to nobody
        created_before = stats(url)["creates"]
        assert (gate.passed, gate.left, created_before) == (158, 8, 158)
        gate.open()

        second = cli(*args)
        _, err = second.communicate(timeout=120)
        counters = stats(url)
    assert second.returncode == 0, err
    assert (counters["creates"], counters["overwrites"]) == (300, 0)
    summary, succeeded, failed = report(reports)
    assert failed == [] and summary["total"] == 300
    assert sorted(int(r["row"]) for r in succeeded) == list(range(2, 302))
    earlier = [r for r in succeeded if r["outcome"] == "skipped"]
    assert {r["notes"].split(":")[0] for r in earlier} == {"done-earlier"}
    assert summary["counts"]["created"] + summary["counts"]["skipped"] == 300
    assert all(json.loads(line) for line in err.splitlines())  # every stderr line is JSON
    for path in tmp_path.glob("journal.sqlite*"):
        data = path.read_bytes()
        assert not [p for p in PASSWORDS if p.encode() in data], path.name


def test_a_second_run_on_the_same_journal_is_refused_naming_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", [account(0, b) for b in range(30)])
    gate = Gate("POST", "/api/")  # the first run's requests wait until the test is done
    with gated(SimConfig(), gate) as url:
        first = cli(
            "import",
            str(sheet),
            "--portal",
            url,
            "--concurrency",
            "1",
            "--state",
            str(tmp_path / "journal.sqlite"),
            "--report-dir",
            str(tmp_path / "r1"),
            "--log-format",
            "json",
        )
        log = ChildLog(first)
        # A request of the first run: it holds the lock, and its signal handlers are set.
        gate.wait_holding(1)
        code = run_import(tmp_path, sheet, url)
        first.send_signal(signal.SIGTERM)
        log.wait_for("run.interrupted")
        gate.open()  # the row in flight finishes; the others are not attempted
        log.finish()
    err = capsys.readouterr().err
    assert code == 2
    assert f"in use by another bulkmail run (pid {first.pid}" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert first.returncode == 3
    assert gate.left == 0


def test_no_terminal_means_no_prompt_and_a_clear_exit_2(tmp_path: Path) -> None:
    sheet = tmp_path / "in.csv"
    sheet.write_text("email,password,server,smtp_server\na@b.org,pw-123,imap.b.org,smtp.b.org\n")
    env = {k: v for k, v in os.environ.items() if k != "BULKMAIL_PASSWORD"}
    proc = cli(
        "import",
        str(sheet),
        "--portal",
        "http://127.0.0.1:9",
        "--user",
        "me@b.org",
        "--state",
        str(tmp_path / "j.sqlite"),
        "--report-dir",
        str(tmp_path / "r"),
        env=env,
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err == (
        "bulkmail: error: no portal password for --user me@b.org (set "
        "BULKMAIL_PASSWORD or use --password-file (no prompt without a terminal))\n"
    )
    (summary,) = (tmp_path / "r").glob("*/*")  # the error's summary.json, nothing sent
    assert out == f"report: {os.path.relpath(summary)}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "missing.csv"], "missing.csv"),
        (["validate", "in.txt"], ".txt"),
        (["import", "in.csv", "--portal", "portal.example.org"], "not an http(s) URL"),
        (["validate", "in.csv", "--set", "nonsense"], '--set "..." is not FIELD=VALUE'),
    ],
)
def test_unusable_input_or_options_exit_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("hello")
    (tmp_path / "in.csv").write_text("email,password,server,smtp_server\n")
    assert main([*args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bulkmail: error: ") and message in err
    assert err.count("\n") == 1


def test_quiet_json_cron_run_logs_only_run_finished_and_summary_adds_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [account(0, b) for b in range(6)]
    rows[2]["password"] = "wrong-mailbox-pw"
    sheet = write_sheet(tmp_path / "in.csv", rows)
    with running(SimConfig()) as url:
        code = run_import(tmp_path, sheet, url, "--log-format", "json")
    out, err = capsys.readouterr()
    summary, succeeded, failed = report(tmp_path / "reports")
    (finished,) = (json.loads(line) for line in err.splitlines())
    assert (code, out, finished["event"], finished["exit_code"]) == (1, "", "run.finished", 1)
    assert (finished["created"], finished["failed"], finished["total"]) == (5, 1, 6)
    assert summary["exit_code"] == 1
    assert sum(summary["counts"].values()) == summary["total"] == 6
    assert len(succeeded) + len(failed) == 6
    assert summary["input"]["format"] == "csv" and summary["input"]["encoding"]


def test_a_fixed_failure_sheet_fed_back_creates_the_rest(tmp_path: Path) -> None:
    rows = [account(0, b) for b in range(4)]
    for i in (1, 3):
        rows[i]["password"] = "wrong-mailbox-pw"
    original = write_sheet(tmp_path / "accounts.csv", rows)
    with running(SimConfig()) as url:
        assert run_import(tmp_path, original, url) == 1
        folder = sorted((tmp_path / "reports").iterdir())[-1]
        fixed = _fix_failed_xlsx(folder / "report.xlsx", tmp_path / "fixed.xlsx")
        code = main(
            [
                "import",
                str(fixed),
                "--sheet",
                "Failed",
                "--secrets-from",
                str(original),
                "--portal",
                url,
                "--report-dir",
                str(tmp_path / "reports"),
                "--state",
                str(tmp_path / "journal.sqlite"),
                "--quiet",
            ]
        )
        counters = stats(url)
    summary, succeeded, failed = report(tmp_path / "reports")
    assert (code, failed) == (0, [])
    assert [(r["row"], r["outcome"]) for r in succeeded] == [("2", "created"), ("3", "created")]
    assert counters["creates"] == 4 and counters["overwrites"] == 0
    assert summary["total"] == 2


def _fix_failed_xlsx(report_xlsx: Path, out: Path) -> Path:
    """Do what a person does: type the right mailbox password into each failed row."""
    book = openpyxl.load_workbook(report_xlsx)
    sheet = book["Failed"]
    headers = [c.value for c in sheet[1]]
    column = headers.index("password") + 1
    for row in range(2, sheet.max_row + 1):
        assert sheet.cell(row, column).value == "********"
        sheet.cell(row, column).value = "fixed-mailbox-pw"
    book.save(out)
    return out


def test_a_re_run_keeps_permanent_failures_until_the_row_changes(tmp_path: Path) -> None:
    rows = [account(0, 0), account(0, 1, password="wrong-mailbox-pw")]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    with running(SimConfig()) as url:
        assert run_import(tmp_path, sheet, url) == 1
        requests_before = stats(url)["requests"]
        assert run_import(tmp_path, sheet, url) == 1  # nothing changed: nothing sent
        _, _, failed = report(tmp_path / "reports")
        assert stats(url)["requests"] == requests_before + 1  # the check of the portal alone
        assert [(r["row"], r["code"], r["attempts"]) for r in failed] == [
            ("3", "mailbox-login-refused", "0")
        ]
        rows[1]["password"] = "now-right-pw"
        write_sheet(sheet, rows)
        assert run_import(tmp_path, sheet, url) == 0
        assert stats(url)["creates"] == 2
    with (sorted((tmp_path / "reports").iterdir())[-1] / "succeeded.csv").open(
        encoding="utf-8-sig"
    ) as f:
        assert [(r["row"], r["outcome"]) for r in csv.DictReader(f)] == [
            ("2", "skipped"),
            ("3", "created"),
        ]
