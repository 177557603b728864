"""Re-runs after an outside fix, from the CLI against the simulator: `--retry-failed`.

A mailbox's login is refused at the provider; the admin fixes the password there (the
simulator is restarted on the same port, its mailboxes kept in its state file); a plain
re-run keeps the unchanged row failed and says that --retry-failed re-attempts it; a re-run
with --retry-failed sends it, and never sends a created row twice.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from test_fail_fast_e2e import free_port
from test_import_e2e import account, report, run_import, stats, write_sheet

from bulkmail.cli import main
from bulkmail.secrets import MASK
from bulkmail.simulator import MailServer, PortalUser, SimConfig, running

pytestmark = pytest.mark.slow

IMAP, SMTP = "imap.mail.example.org", "smtp.mail.example.org"
OFFSET_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


def provider(box2_password: str, state: Path) -> SimConfig:
    """The portal, with mail servers that know box1 and box3 by the sheet's password and box2
    by `box2_password`."""
    accounts = {
        "box1@mail.example.org": "mailbox-pass-1",
        "box2@mail.example.org": box2_password,
        "box3@mail.example.org": "mailbox-pass-1",
    }
    servers = tuple(MailServer(host, accounts=accounts) for host in (IMAP, SMTP))
    return SimConfig(servers=servers, state_path=state)


def test_retry_failed_re_attempts_a_row_whose_cause_was_fixed_elsewhere(tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "in.csv", [account(0, 1), account(0, 2)])
    port, state = free_port(), tmp_path / "portal.sqlite"
    with running(provider("Old-at-provider-1", state), port=port) as url:
        assert run_import(tmp_path, sheet, url) == 1
    _, succeeded, failed = report(tmp_path / "reports")
    assert [r["outcome"] for r in succeeded] == ["created"]
    first_done_at = succeeded[0]["done_at"]  # created by this very run: it has its time
    assert OFFSET_TIME.fullmatch(first_done_at), first_done_at
    assert [(r["row"], r["code"]) for r in failed] == [("3", "mailbox-login-refused")]

    # The admin resets box2's password at the provider to the sheet's: the row is unchanged.
    with running(provider("mailbox-pass-1", state), port=port) as back:
        assert back == url
        assert run_import(tmp_path, sheet, url) == 1  # without the option: failed as before
        _, succeeded, failed = report(tmp_path / "reports")
        assert [(r["outcome"], r["notes"].split(":")[0]) for r in succeeded] == [
            ("skipped", "done-earlier")
        ]
        assert [(r["row"], r["code"]) for r in failed] == [("3", "mailbox-login-refused")]
        assert "--retry-failed" in failed[0]["hint"]
        assert stats(url)["creates"] == 0

        # A new hire joins the sheet: a row never attempted is sent with or without the option.
        write_sheet(sheet, [account(0, 1), account(0, 2), account(0, 3)])
        assert run_import(tmp_path, sheet, url, "--retry-failed", "--dry-run") == 0
        summary, succeeded, failed = report(tmp_path / "reports")
        assert failed == [] and stats(url)["creates"] == 0
        assert [r["outcome"] for r in succeeded] == ["skipped", "would create", "would create"]

        assert run_import(tmp_path, sheet, url, "--retry-failed") == 0
        summary, succeeded, failed = report(tmp_path / "reports")
        counters = stats(url)
    counts = {status: n for status, n in summary["counts"].items() if n}
    assert failed == [] and counts == {"created": 2, "skipped": 1}
    assert [(r["row"], r["outcome"]) for r in succeeded] == [
        ("2", "skipped"),  # created by the first run: never sent twice
        ("3", "created"),
        ("4", "created"),
    ]
    assert (counters["creates"], counters["overwrites"]) == (2, 0)
    # done_at: the first run's time for the row it created, this run's for the others.
    assert all(OFFSET_TIME.fullmatch(r["done_at"]) for r in succeeded), succeeded
    assert succeeded[0]["done_at"] == first_done_at
    assert first_done_at <= succeeded[1]["done_at"] and first_done_at <= succeeded[2]["done_at"]


def test_a_whole_report_xlsx_fed_back_is_read_from_its_failed_sheet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [account(0, 1), account(0, 2, password="wrong-mailbox-pw")]
    original = write_sheet(tmp_path / "accounts.csv", rows)
    with running(SimConfig()) as url:
        assert run_import(tmp_path, original, url) == 1
        first = sorted((tmp_path / "reports").iterdir())[-1] / "report.xlsx"

        # Without --secrets-from: the masked password is never sent, and the note says why.
        capsys.readouterr()
        assert run_import(tmp_path, first, url, "--quiet", "--log-format", "json") == 1
        summary, _, failed = report(tmp_path / "reports")
        assert summary["input"]["sheet"] == "Failed" and summary["input"]["report"] is True
        assert summary["problems"]["report-fed"] == 1
        assert summary["problems"]["password-masked"] >= 1  # a count, not masked
        assert [(r["row"], set(r["code"].split("; "))) for r in failed] == [
            ("2", {"password-masked"})
        ]
        assert stats(url)["creates"] == 1

        # The admin fixes the password in the original sheet; the report lists what to redo.
        write_sheet(original, [account(0, 1), account(0, 2)])
        code = main(
            ["import", str(first), "--secrets-from", str(original), "--portal", url,
             "--report-dir", str(tmp_path / "reports"),
             "--state", str(tmp_path / "journal.sqlite")]
        )  # fmt: skip
        out = capsys.readouterr().out
        summary, succeeded, failed = report(tmp_path / "reports")
        assert (code, failed) == (0, [])
        assert [(r["row"], r["outcome"]) for r in succeeded] == [("2", "created")]
        assert "(xlsx, a bulkmail report, sheet 'Failed')" in out
        assert "report.xlsx is a bulkmail report: its sheet 'Failed' is read" in out
        assert (stats(url)["creates"], stats(url)["overwrites"]) == (2, 0)
        mailboxes = json.dumps(httpx.get(f"{url}/_sim/mailboxes").json())
        assert MASK not in mailboxes

        # That run's report has an empty Failed sheet: one clear note, nothing sent, exit 0.
        last = sorted((tmp_path / "reports").iterdir())[-1] / "report.xlsx"
        assert main(["validate", str(last), "--report-dir", str(tmp_path / "reports")]) == 0
    out, err = capsys.readouterr()
    assert "it has no rows: no row failed (nothing to send again)" in out
    assert "Traceback" not in out + err


def _log_stages(err: str) -> dict[str, str]:
    """Return row number -> stage of each failed row's event in a JSON log."""
    events = [json.loads(line) for line in err.splitlines()]
    return {
        str(e["row"]): e["stage"] for e in events if e["event"] in ("row.failed", "row.invalid")
    }


def test_the_json_log_and_the_report_name_the_same_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = SimConfig(users=(PortalUser("boss@corp.example.org", "Right-pw-1"),))
    rows = [
        account(0, 1, port="99999"),  # validation
        account(0, 2, portal_user="boss@corp.example.org", portal_password="Wrong-pw-1"),  # login
        account(0, 3, password="wrong-mailbox-pw"),  # portal: the mailbox login refused
        account(0, 4),
    ]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    expected = {"2": "validation", "3": "login", "4": "portal"}
    with running(config) as url:
        for _ in range(2):  # the re-run reports the kept failures from the journal
            capsys.readouterr()
            assert main(
                ["import", str(sheet), "--portal", url, "--log-format", "json",
                 "--report-dir", str(tmp_path / "reports"),
                 "--state", str(tmp_path / "journal.sqlite")]
            ) == 1  # fmt: skip
            _, _, failed = report(tmp_path / "reports")
            assert {r["row"]: r["stage"] for r in failed} == expected
            assert _log_stages(capsys.readouterr().err) == expected
