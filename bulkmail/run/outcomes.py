"""Every Outcome is built here, and the Ledger makes sure each input row gets exactly one.

The pipeline settles each row's outcome in the Ledger, whoever decided it (validation, the
journal, the worker pool, an interrupt); the Ledger passes them on in input order and
refuses a second outcome for a row, or a run that ends with a row unsettled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from bulkmail.codes import Code
from bulkmail.models import Checked, Outcome, Stage, Status
from bulkmail.times import from_journal, now_iso

if TYPE_CHECKING:  # types only: `bulkmail validate` builds outcomes without the HTTP stack
    from bulkmail.journal.store import Entry
    from bulkmail.portal.answers import Verdict
    from bulkmail.run.jobs import Job

NOT_SENT = "the run stopped before this row was sent"
JOURNAL_FAILED = "the journal could not be written, so the run stopped before sending this row"
_DONE_NOW = frozenset({Status.CREATED, Status.UPDATED, Status.SKIPPED})
# Bound once: each row's outcome is built here, and a member looked up on its enum class
# costs a Python-level call (0.1 us).
_VALID, _FAILED, _VALIDATION = Status.VALID, Status.FAILED, Stage.VALIDATION
# kept-disabled in a dry run, which updated nothing (Code.KEPT_DISABLED's meaning says so).
WOULD_KEEP_DISABLED = (
    "would update, but the account stays switched off in the portal, as it is now: a create "
    "keeps an existing account's on/off state (its answer says on all the same)"
)
CUT_SHORT = (
    "the create was in flight when the run was cut short; "
    "a re-run checks the portal before sending it again"
)


class Ledger:
    """Hold outcomes until every earlier row has one, then pass them on in input order.

    Workers finish rows out of order; the report reads best in the sheet's order. Only the
    rows behind the slowest in-flight one are held (a few thousand at worst: a create can
    take ~90 s), so memory stays bounded for any input size.
    """

    def __init__(self, sink: Callable[[Outcome], None]) -> None:
        self._sink = sink
        self._held: dict[int, Outcome] = {}
        self._next = 0

    def settle(self, index: int, outcome: Outcome) -> None:
        """Accept the outcome of row `index` (0-based); a second one for a row is a bug."""
        if index == self._next and not self._held:  # in order, as a validate run settles
            self._sink(outcome)
            self._next += 1
            return
        if index < self._next or index in self._held:
            raise ValueError(f"outcome {index} reported twice")
        self._held[index] = outcome
        while self._next in self._held:
            self._sink(self._held.pop(self._next))
            self._next += 1

    def close(self, rows: int) -> None:
        """Check that rows 0..rows-1 all have their outcome; a missing one is a bug."""
        if self._next != rows or self._held:
            missing = self._next if self._next < rows else min(self._held)
            raise RuntimeError(f"row index {missing} of {rows} ended without an outcome")

    @property
    def pending(self) -> int:
        """Return how many outcomes wait for an earlier row."""
        return len(self._held)


def valid(checked: Checked) -> Outcome:
    """Return the outcome of a row that `validate` would send."""
    return Outcome(row=checked.row, status=_VALID, problems=checked.problems)


def invalid(checked: Checked) -> Outcome:
    """Return the outcome of a row whose errors keep it from being sent."""
    return Outcome(row=checked.row, status=_FAILED, stage=_VALIDATION, problems=checked.problems)


def for_job(job: Job, status: Status, **fields: Any) -> Outcome:
    """Return an Outcome of `job`'s row, whose portal user and email, plus `fields`."""
    return Outcome(
        row=job.row,
        status=status,
        portal_user=job.identity.login,
        email=job.account.email,
        server=job.account.server,
        problems=job.problems,
        **fields,
    )


def done(
    job: Job,
    status: Status,
    mailbox_id: int | None,
    *,
    attempts: int = 0,
    code: Code | None = None,
    message: str = "",
    done_at: str = "",
) -> Outcome:
    """Return the outcome of a job that ended well: created, updated, skipped, would-create.

    `done_at`: when it was done; by default now (local time with its offset) for a row this
    run created, updated or found on the portal (skipped), "" for a dry run's.
    """
    if not done_at and status in _DONE_NOW:
        done_at = now_iso()
    return for_job(
        job,
        status,
        code=code or "",
        message=message,
        attempts=attempts,
        mailbox_id=mailbox_id,
        done_at=done_at,
    )


def failed(job: Job, verdict: Verdict, attempts: int) -> Outcome:
    """Return the outcome of a job the portal (or the way to it) failed."""
    return for_job(
        job,
        Status.FAILED,
        stage=verdict.stage,
        code=verdict.code,
        message=verdict.message,
        hint=verdict.hint,
        attempts=attempts,
        http_status=verdict.http_status,
        transient=verdict.retryable or verdict.fatal,
    )


def portal_own(job: Job, what: str) -> Outcome:
    """Return the outcome of a row not sent because the portal user has its address on the
    portal's own mail server (`what`: "mailbox", "alias" or "mail group"). The portal upserts
    by address (docs/portal-api.md §12): a create would overwrite that mailbox. For an alias
    or a group the sources are silent; sending nothing is the stricter reading."""
    code = Code.PORTAL_OWN_ADDRESS
    done = "overwrite that mailbox" if what == "mailbox" else "shadow it with an external account"
    return for_job(
        job,
        Status.FAILED,
        stage=Stage.PORTAL,
        code=code,
        message=f"{job.account.email} is the portal user's {what} on the portal's own mail "
        f"server: a create would {done}",
        hint=code.hint,
    )


def kept_disabled(outcome: Outcome) -> Outcome:
    """Return `outcome` of an update over an account switched off in the portal, noted: the
    portal keeps it off (docs/portal-api.md §12), whatever its answer says."""
    if outcome.status not in (Status.UPDATED, Status.WOULD_UPDATE) or outcome.code:
        return outcome
    code = Code.KEPT_DISABLED
    message = code.meaning if outcome.status is Status.UPDATED else WOULD_KEEP_DISABLED
    return replace(outcome, code=code, message=message, hint=code.hint)


def not_attempted(job: Job, message: str = NOT_SENT, code: Code = Code.NOT_ATTEMPTED) -> Outcome:
    """Return the outcome of a job never sent (or cut short) because the run stopped."""
    return for_job(job, Status.NOT_ATTEMPTED, code=code, message=message, hint=code.hint)


def done_earlier(job: Job, entry: Entry) -> Outcome:
    """Return the outcome of a row an earlier run created (the journal says so)."""
    done_at = from_journal(entry.updated_at)
    message = f"created by an earlier run ({done_at})"
    return done(
        job,
        Status.SKIPPED,
        entry.mailbox_id,
        code=Code.DONE_EARLIER,
        message=message,
        done_at=done_at,
    )


_KEPT_HINT: Final = (
    "failed the same way in an earlier run; fix the row and bulkmail sends it again, or, "
    "once the cause is fixed elsewhere (the mailbox's password, IMAP at the provider), "
    "run the same command with --retry-failed: it re-attempts these rows"
)


def failed_earlier(job: Job, entry: Entry) -> Outcome:
    """Return the outcome of an unchanged row that an earlier run failed for good.

    Its hint is the code's own fix (portal-own-address: leave the row out), then how a re-run
    treats the row; a code this bulkmail does not know has the second part alone.
    """
    known = Code._value2member_map_.get(entry.code)
    fix = known.hint if isinstance(known, Code) and known.hint else ""
    hint = f"{fix}; {_KEPT_HINT}" if fix else _KEPT_HINT
    # The stage its run reported (journals since schema 2); else the code's own stage.
    recorded = Stage._value2member_map_.get(entry.stage)
    stage = recorded or (known.stage if isinstance(known, Code) else None)
    stage = stage if isinstance(stage, Stage) else None
    return for_job(
        job,
        Status.FAILED,
        stage=stage or Stage.PORTAL,
        code=entry.code,
        message=entry.message,
        hint=hint,
    )
