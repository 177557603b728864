"""Fail fast, lose nothing: whole-run failures end the run at once, and a busy portal is waited
for, against the simulator on a loopback port (outcomes asserted, never times)."""

from __future__ import annotations

import csv
import json
import socket
from pathlib import Path

import pytest
from test_import_e2e import account, report, run_import, stats, write_sheet

from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.slow


def free_port() -> int:
    """Return a loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_user_sheet(path: Path, rows: int) -> Path:
    """A sheet without portal_user: every row goes to the run's --user."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["email", "password", "server", "smtp_server", "port", "smtp_port"])
        for i in range(rows):
            writer.writerow(
                [f"box{i}@mail.example.org", "mailbox-pass-1", "imap.mail.example.org",
                 "smtp.mail.example.org", "993", "465"]
            )  # fmt: skip
    return path


def test_a_dead_portal_ends_in_exit_3_and_the_same_command_resumes_later(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write_sheet(
        tmp_path / "in.csv", [account(u, u * 10 + b) for u in range(2) for b in range(5)]
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    assert run_import(tmp_path, sheet, url, "--give-up-after", "0.5") == 3
    summary, succeeded, failed = report(tmp_path / "reports")
    assert succeeded == [] and summary["exit_code"] == 3
    assert {(r["outcome"], r["code"]) for r in failed} == {("not attempted", "not-attempted")}
    assert len(failed) == 10 and url in summary["abort_reason"]
    assert f"the portal at {url} did not answer" in capsys.readouterr().err
    # The portal is back: the same command sends every row, once.
    with running(SimConfig(), port=port) as back:
        assert back == url
        assert run_import(tmp_path, sheet, url) == 0
        assert stats(url)["creates"] == 10
    summary, succeeded, failed = report(tmp_path / "reports")
    assert failed == [] and [r["outcome"] for r in succeeded] == ["created"] * 10


def test_a_wrong_user_password_ends_the_run_before_any_create(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sheet = one_user_sheet(tmp_path / "in.csv", 6)
    monkeypatch.setenv("BULKMAIL_PASSWORD", "wrong-portal-pw")  # the simulator refuses it
    with running(SimConfig()) as url:
        code = run_import(tmp_path, sheet, url, "--user", "admin@corp.example.org")
        counters = stats(url)
    assert code == 3
    assert (counters["logins"], counters["login_failures"], counters["creates"]) == (0, 1, 0)
    assert counters["requests"] == 2  # the check of the address, one login: nothing else
    summary, succeeded, failed = report(tmp_path / "reports")
    assert succeeded == [] and summary["exit_code"] == 3
    assert {(r["stage"], r["code"], r["attempts"]) for r in failed} == {
        ("login", "portal-login-failed", "0")
    }
    assert len(failed) == 6 and "admin@corp.example.org" in summary["abort_reason"]


@pytest.mark.parametrize("page", ["/Products/Files/", "/Products/Mail/Default.aspx"])
def test_a_browser_url_is_refused_before_any_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], page: str
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", [account(0, 0), account(0, 1)])
    with running(SimConfig()) as url:
        assert run_import(tmp_path, sheet, url + page) == 2
        counters = stats(url)
    # The one check went to <page>/api/2.0/capabilities, outside the API: nothing else was sent.
    assert (counters["requests"], counters["logins"], counters["creates"]) == (0, 0, 0)
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"--portal {url}{page.rstrip('/')} is not the portal's API" in err
    assert "HTTP 404" in err and "give the portal's root address" in err
    (summary,) = (tmp_path / "reports").glob("*/*")  # the error's summary.json: nothing sent
    assert json.loads(summary.read_text())["exit_code"] == 2


def test_503s_with_retry_after_are_waited_for_and_no_row_fails(tmp_path: Path) -> None:
    # Two creates served at once, one waits, the rest are refused with 503 + Retry-After;
    # adaptive concurrency starts at 4, so its first round is refused in part.
    config = SimConfig(capacity=2, queue_limit=1, create_latency_ms=300, retry_after=1)
    rows = [account(u, u * 10 + b) for u in range(2) for b in range(8)]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    with running(config) as url:
        assert run_import(tmp_path, sheet, url) == 0
        counters = stats(url)
    assert counters["faults"]["503"] >= 1 and counters["creates"] == 16
    assert counters["overwrites"] == 0
    summary, succeeded, failed = report(tmp_path / "reports")
    assert failed == [] and len(succeeded) == 16
    moved = summary["concurrency_limit"]
    assert (moved["mode"], moved["start"]) == ("auto", 4) and moved["decreases"] >= 1
    assert moved["min"] < 4
