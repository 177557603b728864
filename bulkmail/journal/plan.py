"""What a re-run does with a row, given what the journal remembers about it. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from bulkmail.journal.store import Entry

Action = Literal["send", "done", "failed", "check"]


@dataclass(frozen=True, slots=True)
class Plan:
    """The runner's next step for one row, with the journal entry that decided it.

    send: post the create. done: an earlier run created or skipped it (report it skipped,
    code "done-earlier", with the entry's mailbox_id and updated_at). failed: an earlier run
    failed it permanently and the row has not changed (report the entry's code and message);
    with `retry_failed` (--retry-failed) such a row is sent again instead.
    check: a kill left it in flight; look the email up on the portal before sending again.
    """

    action: Action
    entry: Entry | None


_DONE = frozenset({"created", "updated", "skipped"})


def plan(entry: Entry | None, digest: str, *, retry_failed: bool = False) -> Plan:
    """Return what to do with a row whose current digest is `digest`.

    `retry_failed` sends again an unchanged row an earlier run failed for good (its cause was
    fixed elsewhere: a mailbox password reset, IMAP switched on at the provider). Rows created
    or skipped stay done either way: a create is never sent twice.
    """
    if entry is None:
        return SEND
    if entry.state in _DONE:
        return Plan("done", entry)
    if entry.state == "in-flight":
        return Plan("check", entry)
    if entry.state != "failed":
        raise ValueError(f"unknown journal state {entry.state!r}")
    # A permanent failure is kept until the row is edited; a transient one is worth a retry.
    kept = entry.permanent and entry.digest == digest and not retry_failed
    return Plan("failed" if kept else "send", entry)


SEND: Final = Plan("send", None)
"""The plan of a row the journal knows nothing about (or a run without a journal)."""
