"""What a person sees after an import against the simulator: errors and warnings apart, the
warnings beside the failures they explain, on the console and in failed.csv."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_import_e2e import account, report, write_sheet

from bulkmail.cli import main
from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.slow


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
