"""A row whose address the user already has on the portal's own mail server, from the CLI
against the simulator: never sent, whatever --if-exists says (docs/portal-api.md §12, §13).

The portal upserts by address and its own mailboxes are in the same table: a create for the
address of the user's portal mailbox overwrites it with the row's external servers. Before,
`--if-exists update` did just that and reported the row updated (exit 0); an alias or a mail
group of the user (left out of the lookup) was sent as a new external account.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_import_e2e import account, report, run_import, stats, write_sheet

from bulkmail.simulator import PortalUser, SimConfig, running

pytestmark = pytest.mark.slow

OLGA = PortalUser(
    "user1@corp.example.org",
    "Portal-1-pw",
    portal_mailboxes=("user1@corp.example.org",),
    aliases=("o.petrova@corp.example.org",),
    mail_groups=("sales@corp.example.org",),
)
PORTAL = SimConfig(users=(OLGA,), latency_ms=5)
OWN = {
    "User1@Corp.Example.org": "mailbox",
    "o.petrova@corp.example.org": "alias",
    "sales@corp.example.org": "mail group",
}


@pytest.mark.parametrize("if_exists", ["skip", "update"])
def test_the_users_own_portal_addresses_are_never_sent(tmp_path: Path, if_exists: str) -> None:
    rows = [account(1, n, email=email) for n, email in enumerate(OWN)]
    rows.append(account(1, 9))  # an external mailbox of its own address: created
    sheet = write_sheet(tmp_path / "in.csv", rows)
    with running(PORTAL) as url:
        assert run_import(tmp_path, sheet, url, "--dry-run", "--if-exists", if_exists) == 1
        _, succeeded, failed = report(tmp_path / "reports")
        assert [r["outcome"] for r in succeeded] == ["would create"]

        assert run_import(tmp_path, sheet, url, "--if-exists", if_exists) == 1
        counters = stats(url)
    summary, succeeded, failed = report(tmp_path / "reports")
    assert (counters["creates"], counters["overwrites"]) == (1, 0)
    assert [(r["email"], r["outcome"]) for r in succeeded] == [("box9@mail.example.org", "created")]
    assert [(r["row"], r["stage"], r["code"]) for r in failed] == [
        (str(n), "portal", "portal-own-address") for n in (2, 3, 4)
    ]
    assert [r["message"] for r in failed] == [
        f"{email} is the portal user's {what} on the portal's own mail server: a create would "
        + ("overwrite that mailbox" if what == "mailbox" else "shadow it with an external account")
        for email, what in OWN.items()
    ]
    assert summary["exit_code"] == 1
