"""The Ledger: one outcome per row, passed on in input order, none missing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from test_runner import _job

from bulkmail.journal.store import Entry
from bulkmail.models import Outcome, Row, Stage, Status
from bulkmail.run import outcomes
from bulkmail.run.outcomes import Ledger


def _outcome(n: int) -> Outcome:
    return Outcome(row=Row(n + 2, ()), status=Status.CREATED)


def test_ledger_releases_outcomes_in_input_order() -> None:
    seen: list[int] = []
    ledger = Ledger(lambda o: seen.append(o.row.number - 2))
    for index in (2, 0, 3, 1, 5, 4):
        ledger.settle(index, _outcome(index))
    assert seen == [0, 1, 2, 3, 4, 5]
    assert ledger.pending == 0


def test_ledger_holds_until_the_gap_is_filled() -> None:
    seen: list[int] = []
    ledger = Ledger(lambda o: seen.append(o.row.number - 2))
    ledger.settle(1, _outcome(1))
    ledger.settle(2, _outcome(2))
    assert seen == [] and ledger.pending == 2
    ledger.settle(0, _outcome(0))
    assert seen == [0, 1, 2]


def test_ledger_refuses_a_second_outcome_for_a_row() -> None:
    ledger = Ledger(lambda o: None)
    ledger.settle(0, _outcome(0))
    with pytest.raises(ValueError, match="reported twice"):
        ledger.settle(0, _outcome(0))


def test_ledger_close_passes_when_every_row_has_its_outcome() -> None:
    ledger = Ledger(lambda o: None)
    for index in (1, 0):
        ledger.settle(index, _outcome(index))
    ledger.close(2)


@pytest.mark.parametrize(("settled", "rows", "missing"), [((0, 2), 3, 1), ((0,), 2, 1), ((), 1, 0)])
def test_ledger_close_names_a_row_left_without_an_outcome(
    settled: tuple[int, ...], rows: int, missing: int
) -> None:
    ledger = Ledger(lambda o: None)
    for index in settled:
        ledger.settle(index, _outcome(index))
    with pytest.raises(RuntimeError, match=f"row index {missing} of {rows} ended without"):
        ledger.close(rows)


def _entry(code: str) -> Entry:
    return Entry(
        portal_user="anna@corp.example",
        email="anna@example.org",
        state="failed",
        mailbox_id=None,
        code=code,
        message="refused",
        permanent=True,
        digest="d",
        row=2,
        attempts=1,
        updated_at="2026-11-23T19:40:01Z",
    )


@pytest.mark.parametrize(
    ("code", "stage"),
    [
        ("portal-login-failed", Stage.LOGIN),
        ("mailbox-login-refused", Stage.PORTAL),
        ("connect-failed", Stage.NETWORK),
        ("a-code-of-an-older-bulkmail", Stage.PORTAL),
    ],
)
def test_a_failure_kept_from_an_earlier_run_keeps_its_stage(code: str, stage: Stage) -> None:
    job = _job(0, "anna@corp.example", "portal-pw", "anna@example.org")
    outcome = outcomes.failed_earlier(job, _entry(code))
    assert (outcome.status, outcome.stage, outcome.code) == (Status.FAILED, stage, code)


def test_a_failure_kept_from_an_earlier_run_has_the_stage_that_run_reported() -> None:
    # A portal code answering the portal login was reported at stage login: so is its re-run.
    job = _job(0, "anna@corp.example", "portal-pw", "anna@example.org")
    entry = replace(_entry("portal-forbidden"), stage="login")
    assert outcomes.failed_earlier(job, entry).stage is Stage.LOGIN


@pytest.mark.parametrize(
    ("status", "has_time"),
    [
        (Status.CREATED, True),
        (Status.UPDATED, True),
        (Status.SKIPPED, True),  # found on the portal by this run
        (Status.WOULD_CREATE, False),  # a dry run did nothing
        (Status.WOULD_UPDATE, False),
    ],
)
def test_a_row_done_by_this_run_has_its_done_at(status: Status, has_time: bool) -> None:
    job = _job(0, "anna@corp.example", "portal-pw", "anna@example.org")
    done_at = outcomes.done(job, status, 7).done_at
    if has_time:
        assert datetime.fromisoformat(done_at).utcoffset() is not None, done_at
    else:
        assert done_at == ""


def test_a_row_done_earlier_has_the_earlier_runs_time_in_local_time() -> None:
    job = _job(0, "anna@corp.example", "portal-pw", "anna@example.org")
    entry = replace(_entry("created"), state="created", mailbox_id=7, permanent=False)
    outcome = outcomes.done_earlier(job, entry)
    when = datetime.fromisoformat(outcome.done_at)
    assert when == datetime(2026, 11, 23, 19, 40, 1, tzinfo=UTC) and when.utcoffset() is not None
    assert outcome.done_at in outcome.message


def test_a_failure_kept_from_an_earlier_run_keeps_its_codes_own_fix() -> None:
    # A re-run's portal-own-address still says to leave the row out, before --retry-failed.
    job = _job(0, "anna@corp.example", "portal-pw", "anna@example.org")
    hint = outcomes.failed_earlier(job, _entry("portal-own-address")).hint
    assert hint.startswith("leave the row out")
    assert "--retry-failed" in hint
    unknown = outcomes.failed_earlier(job, _entry("a-code-of-an-older-bulkmail")).hint
    assert unknown.startswith("failed the same way in an earlier run")
