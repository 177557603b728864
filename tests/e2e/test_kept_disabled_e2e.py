"""An update over an account switched off in the portal, from the CLI against the simulator.

The portal's create keeps an existing account's `enabled` flag and answers `enabled: true`
all the same (docs/portal-api.md §12): `--if-exists update` reported such a row `updated`
with nothing to say that the account still fetches no mail. It is now noted kept-disabled.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from test_import_e2e import account, report, run_import, stats, write_sheet

from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.slow


def switch_off(url: str, login: str, password: str, email: str) -> None:
    """Switch `email` off as its user does in Mail's settings (PUT mail/accounts/state)."""
    with httpx.Client(base_url=url) as client:
        answer = client.post(
            "/api/2.0/authentication", json={"userName": login, "password": password}
        )
        headers = {"Authorization": answer.json()["response"]["token"]}
        body = {"email": email, "state": False}
        client.put("/api/2.0/mail/accounts/state", json=body, headers=headers).raise_for_status()


def test_an_update_over_a_switched_off_account_says_it_stays_off(tmp_path: Path) -> None:
    rows = [account(1, 1), account(1, 2)]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    with running(SimConfig(latency_ms=5)) as url:
        assert run_import(tmp_path, sheet, url) == 0
        switch_off(url, rows[0]["portal_user"], rows[0]["portal_password"], rows[0]["email"])

        assert (
            run_import(tmp_path, sheet, url, "--fresh", "--if-exists", "update", "--dry-run") == 0
        )
        _, planned, _ = report(tmp_path / "reports")
        assert run_import(tmp_path, sheet, url, "--fresh", "--if-exists", "update") == 0
        counters = stats(url)
        listed = httpx.get(f"{url}/_sim/mailboxes").json()
    _, succeeded, failed = report(tmp_path / "reports")
    assert failed == [] and (counters["creates"], counters["overwrites"]) == (2, 2)
    assert [(r["outcome"], r["notes"].startswith("kept-disabled:")) for r in planned] == [
        ("would update", True),
        ("would update", False),
    ]
    assert [(r["outcome"], r["notes"].startswith("kept-disabled:")) for r in succeeded] == [
        ("updated", True),
        ("updated", False),
    ]
    assert "switched off" in succeeded[0]["notes"]
    # A dry run updated nothing: its note says what the update would do.
    assert planned[0]["notes"].startswith("kept-disabled: would update, but the account stays")
    assert [(m["email"], m["enabled"]) for m in listed] == [
        ("box1@mail.example.org", False),  # as the user left it: the update did not switch it on
        ("box2@mail.example.org", True),
    ]
