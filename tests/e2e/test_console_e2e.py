"""What a person sees after an import against the simulator: errors and warnings apart, the
warnings beside the failures they explain, on the console and in failed.csv."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from childlog import ChildLog
from gate import Gate, gated
from test_import_e2e import HEADER, account, report, write_sheet

from bulkmail.cli import main
from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.slow

ACCOUNTS = "/api/2.0/mail/accounts"


@pytest.fixture
def sim() -> Iterator[str]:
    with running(SimConfig(latency_ms=5)) as url:
        yield url


def test_a_row_failed_after_a_warning_carries_it_on_screen_and_in_the_report(
    tmp_path: Path, sim: str, capsys: pytest.CaptureFixture[str]
) -> None:
    swapped = {"port": "587", "smtp_port": "993"}  # IMAP and SMTP ports swapped
    rows = [account(0, 1), account(0, 2, **swapped), account(0, 3, **swapped)]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    args = ["import", str(sheet), "--portal", sim, "--report-dir", str(tmp_path / "reports")]
    assert main([*args, "--state", str(tmp_path / "journal.sqlite")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:9] == [
        "  created 1, failed 2",
        "  errors: 2 in 2 rows (1 code)",
        "    mailbox-unreachable: 2",
        "      fix: check server and port, and that the portal's server can reach it (DNS, "
        "firewall); check smtp_server and smtp_port, and that the portal's server can reach "
        "it (DNS, firewall)",
        "      row 3: IMAP: Connection refused; SMTP: Connection refused (the row has "
        "warnings: protocol-port-mismatch)",
        "      row 4: IMAP: Connection refused; SMTP: Connection refused (the row has "
        "warnings: protocol-port-mismatch)",
        "  warnings: 4 in 2 rows (1 code)",
        "    protocol-port-mismatch: 4",
    ]
    summary, _, failed = report(tmp_path / "reports")
    assert (summary["errors"], summary["warnings"]) == (
        {"mailbox-unreachable": 2},
        {"protocol-port-mismatch": 4},
    )
    assert [(r["row"], r["code"], r["warnings"]) for r in failed] == [
        (
            row,
            "mailbox-unreachable",
            "protocol-port-mismatch: port: port 587 is an SMTP port (use the IMAP or POP3 "
            "port here, e.g. 993 or 995); protocol-port-mismatch: smtp_port: port 993 is not "
            "SMTP's (use the SMTP port here, e.g. 465 or 587)",
        )
        for row in ("3", "4")
    ]


# A library caller's import with progress lines every 50 ms (the CLI's are 10 s apart), so
# that the test sees them while the gate holds the run.
CHILD = """
import sys
from pathlib import Path
from bulkmail.logs import configure
from bulkmail.pipeline import import_file
from bulkmail.settings import InputSettings, PortalSettings
configure("json", quiet=False)
sheet, url, state, reports = sys.argv[1:]
portal = PortalSettings(url=url, concurrency=2, state=Path(state), progress_every=0.05)
import_file(InputSettings(path=Path(sheet)), portal, Path(reports))
"""


def _xlsx(path: Path, rows: list[dict[str, str]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        sheet.append([row.get(k, "") for k in HEADER])
    book.save(path)
    return path


def test_after_a_resume_progress_counts_this_runs_rows_only(tmp_path: Path) -> None:
    rows = [account(0, b) for b in range(40)]
    sheet, state = tmp_path / "staff.xlsx", tmp_path / "journal.sqlite"
    reports = tmp_path / "reports"
    # The run after the first 30 rows were done: 30 settle from the journal at once, a create
    # or two get through, then the gate holds the rest, and the progress lines keep coming.
    gate = Gate("POST", ACCOUNTS, allow=30 + 2)
    with gated(SimConfig(), gate) as url:
        _xlsx(sheet, rows[:30])
        args = ["import", str(sheet), "--portal", url, "--state", str(state), "--quiet"]
        assert main([*args, "--report-dir", str(reports)]) == 0
        _xlsx(sheet, rows)
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(sheet), url, str(state), str(reports)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )
        log = ChildLog(child)
        gate.wait_holding(2)  # both workers wait: the run cannot end
        event = log.wait_for_fields(
            "run.progress", lambda f: f["sent"] >= 1 and f["elapsed_s"] >= 1
        )
        gate.open()
        log.finish()
    assert child.returncode == 0
    done, sent, elapsed = event["done"], event["sent"], event["elapsed_s"]
    assert (event["total"], event["skipped"], done, event["failed"]) == (40, 30, 30 + sent, 0)
    # The rate counts the rows this run sent, not the 30 the journal settled in no time ...
    assert event["rate"] * elapsed < sent + 3
    # ... so the rows left take (40 - done) / sent times the time so far, not a few seconds.
    assert event["eta_s"] >= (40 - done) / sent * (elapsed - 0.5) - 1
