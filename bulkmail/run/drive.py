"""The import's run stage as the pipeline drives it: rows routed to the worker pool, the
journal opened, the pool run under the interrupt watch.

`Router` settles each row that needs no request (invalid, decided by the journal, refused
by --admin before any attempt) and yields the rest as jobs; `drive` runs the pool until the
jobs end or a signal stops it (first Ctrl-C/SIGTERM: no new rows, `grace` seconds for those
in flight; second: at once).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

from bulkmail.errors import AbortError, InputError, one_error
from bulkmail.models import Outcome, Table
from bulkmail.run import outcomes
from bulkmail.run.outcomes import Ledger
from bulkmail.settings import InputSettings, PortalSettings
from bulkmail.validation.table import validate

if TYPE_CHECKING:
    import anyio
    from anyio.abc import TaskStatus

    from bulkmail.journal.store import Journal
    from bulkmail.run.identities import Acting
    from bulkmail.run.jobs import Job
    from bulkmail.run.pool import Runner
    from bulkmail.run.progress import RunProgress


class Router:
    """Route each checked row: invalid ones and those the journal settles go to the ledger,
    the rest become the jobs the pool sends (which settles their outcomes itself)."""

    def __init__(
        self,
        table: Table,
        inp: InputSettings,
        portal: PortalSettings,
        journal: Journal | None,
        ledger: Ledger,
        abort: Callable[[str], None],
        acting: Acting | None = None,
    ) -> None:
        self._table, self._inp, self._portal = table, inp, portal
        self._acting = acting
        self._journal, self._ledger, self._abort = journal, ledger, abort
        self.rows = 0  # rows read so far

    def jobs(self) -> Iterator[Job]:
        """Yield the rows to send, settling every other row as it passes.

        Rows that stop coming part-way (a cell too long for a cell, a record that is not one:
        InputError) abort the run for that reason: what was sent is in the report, and the
        rows after it were never read."""
        try:
            yield from self._jobs()
        except InputError as err:
            self._abort(str(err))

    def _jobs(self) -> Iterator[Job]:
        from bulkmail.run.jobs import plan_row

        table, ledger = self._table, self._ledger
        portal, inp = self._portal, self._inp
        checked_rows = validate(
            table, defaults=inp.defaults, run_user=portal.user, acting=bool(portal.admin),
            from_email=portal.portal_user_from == "email", autofill=inp.autofill,
        )  # fmt: skip
        for index, checked in enumerate(checked_rows):
            self.rows = index + 1
            if not checked.ok:
                ledger.settle(index, outcomes.invalid(checked))
                continue
            try:
                job, step = plan_row(index, checked, table, self._portal, self._journal)
            except AbortError as err:  # the journal cannot be read: nothing more is sent
                self._abort(str(err))
                self._journal = None
                job, step = plan_row(index, checked, table, self._portal, None)
            if step.entry is not None and step.action == "done":
                ledger.settle(index, outcomes.done_earlier(job, step.entry))
            elif step.entry is not None and step.action == "failed":
                ledger.settle(index, outcomes.failed_earlier(job, step.entry))
            else:
                routed = self._route(job)
                if isinstance(routed, Outcome):
                    ledger.settle(index, routed)
                else:
                    yield routed
                continue
            if self._acting is not None:
                self._acting.seen(job)  # the first row of its mailbox, as in a fresh run
                self._acting.settled(job.identity.login)

    def _route(self, job: Job) -> Job | Outcome:
        """Return the job, or its outcome when --admin settles it before any attempt."""
        if self._acting is None:
            return job
        portal = self._portal
        return self._acting.route(job, dry_run=portal.dry_run, list_existing=portal.list_existing)


def open_journal(portal: PortalSettings, inp: InputSettings, log: Any) -> Journal | None:
    from bulkmail.journal.store import Journal

    if portal.state is None:
        return None
    journal = Journal.open(
        portal.state, portal.url, fresh=portal.fresh, argv=("import", str(inp.path))
    )
    if journal.took_over_from:
        log.warning("journal.lock_taken_over", previous=journal.took_over_from)
    if journal.started_empty:
        log.warning(
            "journal.empty",
            path=str(journal.path),
            note="the file was empty (0 bytes), so it is used as a new journal: accounts "
            "that earlier runs created are found on the portal's own list",
        )
    if journal.set_aside is not None:
        log.warning(
            "journal.damaged_set_aside", path=str(journal.path), moved_to=str(journal.set_aside)
        )
    return journal


async def drive(
    runner: Runner,
    jobs: Iterator[Job],
    progress: RunProgress,
    grace: float,
    handle_signals: bool,
    log: Any,
) -> None:
    import anyio

    with one_error():
        async with anyio.create_task_group() as tg:
            tg.start_soon(progress.ticker)
            with anyio.CancelScope() as pool:
                if handle_signals:
                    # Started, not start_soon: the handlers are in place before the first
                    # request, so a signal that follows any of the run's requests is never
                    # the default kill.
                    await tg.start(watch_signals, runner, pool, grace, log)
                await runner.run(jobs)
            tg.cancel_scope.cancel()


STOPS: Final = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop a run (Ctrl-C, systemd's stop): the import's and `check`'s."""


@contextlib.contextmanager
def handlers_kept(*signums: int) -> Iterator[None]:
    """Put back, after the block, the handlers `signums` had before it.

    An asyncio signal receiver (anyio's) leaves SIGTERM to the default kill and SIGINT to
    Python's default when it closes, whatever was set before: the command line's SIGTERM
    handler (cli/fatal.py) or a library caller's own. Only the main thread sets handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {signum: signal.getsignal(signum) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in before.items():
            if handler is not None:  # None: set from outside Python, not ours to restore
                signal.signal(signum, handler)


@contextlib.contextmanager
def report_first(enabled: bool, log: Any) -> Iterator[None]:
    """Within the block (from the pool's end: the rows it never reached settled, the
    journal committed and closed, the report written and its files closed), Ctrl-C and
    SIGTERM are not obeyed, and logged once it ends (`run.interrupted` with `after`):
    nothing is sent by then, and finishing takes a moment, so the run ends as it would
    have, report whole, instead of being cut short or followed by a second folder whose
    summary.json says "interrupted" (systemd's stop, a late Ctrl-C). The import and
    `check` enter it once their pool has ended."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    came: list[str] = []

    def taken(signum: int, frame: FrameType | None) -> None:
        # Said after the block, not here: the handler runs between two bytecodes of the main
        # thread, maybe inside a log line's write, whose lock it would wait on for ever.
        came.append(signal.Signals(signum).name)

    try:
        with handlers_kept(*STOPS):
            for signum in STOPS:
                signal.signal(signum, taken)
            yield
    finally:
        for name in came:
            log.warning(
                "run.interrupted", signal=name, after="the last row: the report is finished"
            )


async def watch_signals(
    runner: Runner,
    pool: anyio.CancelScope,
    grace: float,
    log: Any,
    *,
    task_status: TaskStatus[None],
) -> None:
    """First Ctrl-C/SIGTERM: stop handing out rows, cancel after `grace`; second: at once."""
    import anyio

    with handlers_kept(*STOPS), anyio.open_signal_receiver(*STOPS) as signals:
        task_status.started()
        async for signum in signals:
            if runner.state.interrupted:
                pool.cancel()
                return
            runner.stop(f"interrupted by {signal.Signals(signum).name}")
            log.warning("run.interrupted", signal=signal.Signals(signum).name, grace_s=grace)
            pool.deadline = min(pool.deadline, anyio.current_time() + grace)
