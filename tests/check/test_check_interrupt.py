"""Ctrl-C during `bulkmail check`: the report is written, rows not checked say so, exit 3.

The check runs as a subprocess (a signal needs a process of its own); the IMAP server on
127.0.0.1 accepts its connection and never greets, so the check is mid-row when the test,
told by the server that the connection came, sends SIGINT.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.check.mailservers import Mail, MailServers
from tests.check.test_check_e2e import HEADER, accounts, row, smtp_accounts

pytestmark = pytest.mark.slow

SAFETY = 120  # seconds: only a broken check waits this long (the test waits on events)


def test_ctrl_c_writes_the_report_and_exits_3(world: MailServers, tmp_path: Path) -> None:
    imap = world.imap(Mail(accounts(), silent=True))
    smtp = world.smtp(Mail(smtp_accounts()))
    sheet = tmp_path / "accounts.csv"
    rows = [row(e, imap, smtp, enc="None", smtp_enc="None") for e in accounts()]
    sheet.write_text("\n".join([HEADER, *rows, "broken@,x,,,,,,,,,,"]) + "\n", encoding="utf-8")
    reports = tmp_path / "reports"
    command = [sys.executable, "-m", "bulkmail", "check", str(sheet), "--report-dir", str(reports)]
    # --timeout 60: the silent server would hold the row that long; only the signal ends it.
    with subprocess.Popen(
        [*command, "--timeout", "60", "--concurrency", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as check:
        try:
            assert imap.connected.wait(SAFETY), "the check never connected"
            check.send_signal(signal.SIGINT)
            out, err = check.communicate(timeout=SAFETY)
        finally:
            check.kill()  # a no-op once it has ended
    assert check.returncode == 3, err
    assert "Traceback" not in err
    (folder,) = reports.iterdir()
    assert (folder / "report.xlsx").is_file()
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    again = "interrupted by SIGINT: run the same command again to check the rest"
    assert (summary["exit_code"], summary["interrupted"], summary["abort_reason"]) == (
        3,
        True,
        again,
    )
    assert summary["error"] == again  # as every stopped run's summary.json says
    with (folder / "failed.csv").open(encoding="utf-8-sig", newline="") as f:
        failed = [(r["row"], r["outcome"], r["code"], r["message"]) for r in csv.DictReader(f)]
    assert failed[2][:3] == ("4", "failed", "email-invalid; required; required")  # invalid
    del failed[2]
    assert failed == [
        (
            "2",
            "not attempted",
            "not-attempted",
            "not checked: the check was interrupted while this row's servers were being checked",
        ),
        (
            "3",
            "not attempted",
            "not-attempted",
            "not checked: the check was interrupted before this row",
        ),
    ]
    assert f"stopped: {again}" in out
    assert "exit code 3" in out
