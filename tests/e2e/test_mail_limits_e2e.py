"""The mail servers' limits end to end: `bulkmail import` against a simulator whose mail hosts
throttle the portal's logins and ban its address after refused ones (simulator/mailservers.py).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from test_import_e2e import account, report, run_import, stats, write_sheet

from bulkmail.simulator import MailServer, SimConfig, running

pytestmark = pytest.mark.slow


def on(host: str, user: int, box: int, **extra: str) -> dict[str, str]:
    """Return a row whose incoming and SMTP server are both `host`."""
    return account(user, box, server=host, smtp_server=host, **extra)


def test_throttled_rows_are_sent_again_and_created(tmp_path: Path) -> None:
    # The server serves one of the portal's logins at a time, each for the create's half
    # second; bulkmail starts at one row and tries two once the first succeeds: the second
    # is turned away in Gmail's words, and sent again later.
    config = SimConfig(servers=(MailServer("mail.busy.test", max_logins=1),), create_latency_ms=500)
    rows = [on("Mail.Busy.test", 0, box) for box in range(5)]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    with running(config) as url:
        code = run_import(tmp_path, sheet, url, "--concurrency", "4", "--retries", "0")
        counters = stats(url)
    summary, succeeded, failed = report(tmp_path / "reports")
    assert code == 0 and failed == []
    assert [r["outcome"] for r in succeeded] == ["created"] * 5
    throttled = counters["faults"].get("mail-throttled", 0)
    assert throttled >= 1  # both sides of a create turned away count
    facts = summary["mail_servers"]
    assert facts["eventful"]["mail.busy.test"]["throttled"] == throttled
    assert facts["eventful"]["mail.busy.test"]["lowest_limit"] == 1
    # --retries 0, yet each create turned away was sent again: the check of --portal, one
    # login, one listing, the five creates and one more per create turned away (on both its
    # sides).
    assert counters["requests"] == 3 + 5 + throttled // 2
    assert counters["creates"] == 5


def test_a_batch_of_stale_passwords_stops_at_the_budget_before_the_server_bans_the_portal(
    tmp_path: Path,
) -> None:
    # mail.stale.test bans the portal's address after 5 refused logins (fail2ban's default
    # maxretry); every row's two logins there are refused. bulkmail stops the server's rows
    # at its 4th refused login (the default --max-login-failures): two rows sent, the rest
    # (a good one among them) held back; the other server's rows are created.
    config = SimConfig(servers=(MailServer("mail.stale.test", ban_after=5),))
    stale = [on("mail.stale.test", 0, box, password="wrong-old-pass") for box in range(10)]
    stale.append(on("mail.stale.test", 0, 10))
    fine = [on("mail.fine.test", 1, 100 + box) for box in range(3)]
    sheet = write_sheet(tmp_path / "in.csv", stale + fine)
    with running(config) as url:
        code = run_import(tmp_path, sheet, url, "--concurrency", "8", "--per-server", "8")
        first = stats(url)

        summary, succeeded, failed = report(tmp_path / "reports")
        assert code == 1
        codes = Counter((r["outcome"], r["code"]) for r in failed)
        assert codes == Counter(
            {("failed", "mailbox-login-refused"): 2, ("not attempted", "login-failures-limit"): 9}
        )
        held = next(r for r in failed if r["code"] == "login-failures-limit")
        assert "mail.stale.test refused 4 logins" in held["message"]
        assert "passwords" in held["hint"]
        assert sorted(r["email"] for r in succeeded) == [
            f"box{b}@mail.example.org" for b in (100, 101, 102)
        ]
        assert summary["mail_servers"]["stopped"] == ["mail.stale.test"]
        assert "mail-banned" not in first["faults"] and first["creates"] == 3

        # The admin fixes the passwords and runs the same command: the journal sends the
        # rows that failed (changed now) and those held back; the server never banned it.
        fixed = [on("mail.stale.test", 0, box) for box in range(11)]
        write_sheet(tmp_path / "in.csv", fixed + fine)
        assert run_import(tmp_path, sheet, url) == 0
        second = stats(url)
    assert second["creates"] == 3 + 11 and "mail-banned" not in second["faults"]


def test_without_the_budget_the_server_bans_the_portal_and_good_rows_fail_too(
    tmp_path: Path,
) -> None:
    # What the budget prevents: a server that bans after 3 refused logins, a budget of 10.
    # Two stale rows (four refused logins) get the portal banned; the good rows after them
    # are refused at connect like every login from the portal's address would be.
    config = SimConfig(servers=(MailServer("mail.strict.test", ban_after=3),))
    rows = [on("mail.strict.test", 0, box, password="wrong-old-pass") for box in range(2)]
    rows += [on("mail.strict.test", 0, 2 + box) for box in range(2)]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    with running(config) as url:
        code = run_import(tmp_path, sheet, url, "--concurrency", "1", "--max-login-failures", "10")
        counters = stats(url)
    _, succeeded, failed = report(tmp_path / "reports")
    assert code == 1 and succeeded == []
    assert [r["code"] for r in failed] == ["mailbox-login-refused"] * 2 + [
        "mailbox-unreachable"
    ] * 2
    assert "Connection refused" in failed[-1]["message"]
    assert counters["faults"]["mail-banned"] == 5  # the SMTP side of row 2, both of rows 3, 4
