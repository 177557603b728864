"""A Job is one valid row to send; `plan_row` says whether a row needs one at all.

With a journal, a row an earlier run created, or failed for good while the row stayed as
it is, is settled from the journal (journal/plan.py decides) instead of being sent again;
`PortalSettings.retry_failed` (--retry-failed) sends the failed ones again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bulkmail.journal.plan import SEND, Plan, plan
from bulkmail.journal.store import Journal, row_digest
from bulkmail.models import Account, Checked, Problem, Row, Table
from bulkmail.portal.client import Identity
from bulkmail.settings import PortalSettings


@dataclass(frozen=True, slots=True)
class Job:
    """One account to send: its place in the input, whose portal it goes to, journal facts."""

    index: int  # position in the input, for the report's row order
    row: Row
    account: Account
    identity: Identity
    digest: str = ""
    check_first: bool = False  # left in flight by a killed run: look it up before sending
    # input values for the journal; passwords among them, so never in its repr
    cells: dict[str, str] = field(default_factory=dict, repr=False)
    problems: tuple[Problem, ...] = ()  # validation warnings and notes, kept for the report


def plan_row(
    index: int, checked: Checked, table: Table, portal: PortalSettings, journal: Journal | None
) -> tuple[Job, Plan]:
    """Return the Job that would send a valid row, and what the journal says to do with it.

    Without a journal every row is sent. The caller settles "done" and "failed" rows from
    the plan's entry and hands the rest to the pool.
    """
    account = checked.account
    if account is None:
        raise ValueError(f"row {checked.row.number} is invalid: it has no job")
    login = account.portal_user or portal.user or ""
    identity = Identity(login, account.portal_password or portal.password or "")
    if journal is None:
        return Job(index, checked.row, account, identity, problems=checked.problems), SEND
    digest = row_digest(journal.digest_key, digest_values(account, identity))
    step = plan(journal.lookup(login, account.email), digest, retry_failed=portal.retry_failed)
    job = Job(
        index,
        checked.row,
        account,
        identity,
        digest=digest,
        check_first=step.action == "check",
        cells=dict(table.values(checked.row)),
        problems=checked.problems,
    )
    return job, step


def digest_values(account: Account, identity: Identity) -> dict[str, str]:
    """Return what identifies a row's content for the journal (secrets included, hashed)."""
    values = {k: str(v) for k, v in account.payload().items()}
    values |= {"portal_user": identity.login.casefold(), "portal_password": identity.password}
    return values
