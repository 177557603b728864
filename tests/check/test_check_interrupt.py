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
from tests.check.test_check_e2e import HEADER, accounts, closed_port, row, smtp_accounts

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
    # A check keeps no journal: the same command checks every row again
    assert "  interrupted with 2 rows not checked: run the same command again to check " in out


def test_a_second_signal_while_the_report_is_written_leaves_it_whole(
    world: MailServers, tmp_path: Path
) -> None:
    """Ctrl-C, then SIGTERM while the rows not reached are settled: the second is taken.
    It stopped the settling half-way (KeyboardInterrupt, or SIGTERM's default end), which
    left a failed.csv of some rows, no summary.json, and a second folder with one."""
    imap = world.imap(Mail(accounts(), silent=True))
    smtp = world.smtp(Mail(smtp_accounts()))
    line = row("anna@example.org", imap, smtp, enc="None", smtp_enc="None")
    rows = [line.replace("anna@", f"u{n}@") for n in range(ROWS)]
    sheet = tmp_path / "accounts.csv"
    sheet.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    reports = tmp_path / "reports"
    command = [sys.executable, "-m", "bulkmail", "check", str(sheet), "--report-dir", str(reports)]
    with subprocess.Popen(
        [*command, "--timeout", "60", "--concurrency", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as check:
        try:
            assert imap.connected.wait(SAFETY), "the check never connected"
            check.send_signal(signal.SIGINT)
            assert check.stderr is not None
            seen = []
            for logged in check.stderr:  # the rows not reached are being settled
                seen.append(logged)
                if "row.not_attempted" in logged and "row=3" in logged:
                    break
            assert check.poll() is None, "".join(seen)
            check.send_signal(signal.SIGTERM)
            out, err = check.communicate(timeout=SAFETY)
        finally:
            check.kill()  # a no-op once it has ended
    assert check.returncode == 3, err
    assert "Traceback" not in err
    (folder,) = reports.iterdir()  # one report, whole
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"]["not attempted"] == ROWS
    assert summary["abort_reason"].startswith("interrupted by SIGINT")
    with (folder / "failed.csv").open(encoding="utf-8-sig", newline="") as f:
        assert sum(1 for _ in csv.DictReader(f)) == ROWS
    assert (folder / "report.xlsx").is_file() and "exit code 3" in out


ROWS = 3000  # enough that settling them outlasts the second signal's way (a log line per row)


@pytest.mark.parametrize("encryption", ["SSL", "None"])
def test_ctrl_c_during_a_tls_handshake_or_greeting_ends_the_check_at_once(
    world: MailServers, tmp_path: Path, encryption: str
) -> None:
    """The server takes the connection and says nothing: the check waits in the TLS
    handshake (SSL) or for the greeting. Ctrl-C there shut no socket (the client had none
    yet): the report was written, then the process waited --timeout (here 600 s, beyond the
    test's SAFETY) for the abandoned thread before it could exit."""
    imap = world.imap(Mail(accounts(), silent=True))
    smtp = world.smtp(Mail(smtp_accounts()))
    sheet = tmp_path / "accounts.csv"
    rows = [row("anna@example.org", imap, smtp, enc=encryption, smtp_enc="None")]
    sheet.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    reports = tmp_path / "reports"
    command = [sys.executable, "-m", "bulkmail", "check", str(sheet), "--report-dir", str(reports)]
    with subprocess.Popen(
        [*command, "--timeout", "600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as check:
        try:
            assert imap.connected.wait(SAFETY), "the check never connected"
            check.send_signal(signal.SIGINT)
            _, err = check.communicate(timeout=SAFETY)
        finally:
            check.kill()  # a no-op once it has ended
    assert (check.returncode, "Traceback" in err) == (3, False), err


def test_ctrl_c_while_rows_fail_on_a_server_already_probed_stops_the_check(
    world: MailServers, tmp_path: Path
) -> None:
    """Every row names the same closed port: after the first row the probe's result is
    shared and no row waits on anything. The workers then never let the signal's watcher
    run: Ctrl-C was taken only after the last row, and the check ran to its end (exit 1)."""
    smtp = world.smtp(Mail(smtp_accounts()))
    port = closed_port()
    rows = [
        f"u{n}@example.org,pw,127.0.0.1,{port},true,None,Login,127.0.0.1,{smtp.port},None,false,"
        for n in range(MANY)
    ]
    sheet = tmp_path / "accounts.csv"
    sheet.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    reports = tmp_path / "reports"
    command = [sys.executable, "-m", "bulkmail", "check", str(sheet), "--report-dir", str(reports)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as check:
        try:
            assert check.stderr is not None
            for logged in check.stderr:  # rows are failing, one after another
                if "row.failed" in logged and "row=3 " in logged:
                    break
            check.send_signal(signal.SIGINT)
            _, err = check.communicate(timeout=SAFETY)
        finally:
            check.kill()  # a no-op once it has ended
    assert (check.returncode, "Traceback" in err) == (3, False), err[-2000:]
    (folder,) = reports.iterdir()
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["interrupted"] is True
    assert summary["counts"]["not attempted"] > 0


MANY = 10000  # rows that take a few seconds to check: the signal comes long before the last
