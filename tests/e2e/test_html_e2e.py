"""report.html written by `bulkmail validate` and `bulkmail import` through the command line."""

from __future__ import annotations

import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_import_e2e import account, run_import, write_sheet

from bulkmail.cli import main
from bulkmail.simulator import SimConfig, running

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
from test_html import Page

pytestmark = pytest.mark.slow


@pytest.fixture
def sim() -> Iterator[str]:
    with running(SimConfig(latency_ms=20)) as url:
        yield url


def _page(reports: Path) -> tuple[Path, str]:
    folder = sorted(reports.iterdir())[-1]
    page = folder / "report.html"
    return page, " ".join(" ".join(Page(page.read_text(encoding="utf-8")).texts).split())


def _rows() -> list[dict[str, str]]:
    rows = [account(1, b) for b in range(6)]
    rows[2]["password"] = "wrong-password"  # the simulator's mail server refuses it
    rows[4]["port"] = "99999"  # invalid: never sent
    return rows


def test_validate_writes_an_owner_only_page_with_its_counts(tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "in.csv", _rows())
    reports = tmp_path / "reports"
    assert main(["validate", str(sheet), "--report-dir", str(reports), "--quiet"]) == 1
    page, text = _page(reports)
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert "bulkmail validate report" in text and "valid 5 failed 1 total 6" in text
    assert "port-out-of-range : 1 row" in text and "imap.mail.example.org 1" in text
    assert "Over the run" not in text  # nothing was sent
    assert "mailbox-pass-1" not in page.read_text(encoding="utf-8")


def test_import_writes_an_owner_only_page_with_the_portal_s_answer_times(
    tmp_path: Path, sim: str
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", _rows())
    assert run_import(tmp_path, sheet, sim, "--concurrency", "2") == 1
    page, text = _page(tmp_path / "reports")
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    assert "bulkmail import report" in text and "created 4 failed 2 total 6" in text
    assert "mailbox-login-refused : 1 row" in text and "port-out-of-range : 1 row" in text
    assert "imap.mail.example.org 2" in text
    assert "Rows sent, per" in text and "Portal answer time to a create" in text
    source = page.read_text(encoding="utf-8")
    assert re.search(r"<circle cx=", source)  # answer times were measured and drawn
    for secret in ("mailbox-pass-1", "wrong-password", "Portal-1-pw"):
        assert secret not in source


def test_a_server_given_by_set_groups_its_rows_under_that_server(tmp_path: Path, sim: str) -> None:
    # The sheet has no server cells: every row's servers come from --set, as an admin with one
    # mail host writes it. The page groups the failed row under the server it was sent to.
    rows = [account(1, b) for b in range(3)]
    rows[1]["password"] = "wrong-password"
    for row in rows:
        row["server"] = row["smtp_server"] = ""
    sheet = write_sheet(tmp_path / "in.csv", rows)
    assert (
        run_import(
            tmp_path,
            sheet,
            sim,
            "--set",
            "server=imap.set.example.org",
            "--set",
            "smtp_server=smtp.set.example.org",
        )
        == 1
    )
    _, text = _page(tmp_path / "reports")
    assert "mailbox-login-refused : 1 row" in text
    assert "box1@mail.example.org imap.set.example.org" in text  # the row's sample
    assert "imap.set.example.org 1 mailbox-login-refused (1)" in text  # its server's group
    assert "blank in the sheet" not in text and "(none given)" not in text


def test_an_invalid_row_with_a_server_from_set_is_not_said_to_have_none(
    tmp_path: Path, sim: str
) -> None:
    # A row validation refused has no server of its own on the page; its cell is blank,
    # but --set gave one: "(none given)" was false, "(blank in the sheet)" is what is known.
    rows = [account(1, b) for b in range(2)]
    rows[1]["port"] = "99999"
    for row in rows:
        row["server"] = ""
    sheet = write_sheet(tmp_path / "in.csv", rows)
    assert run_import(tmp_path, sheet, sim, "--set", "server=imap.set.example.org") == 1
    _, text = _page(tmp_path / "reports")
    assert "(blank in the sheet) 1 port-out-of-range (1)" in text
