"""read -> validate -> plan -> run -> report, for `validate` and `import`.

The one place that guarantees every input row ends as exactly one outcome: each row is
settled in a `Ledger` by whoever decides it (validation, the journal, the worker pool, an
interrupt), and the Ledger refuses a second outcome or a run that leaves a row without one.
Rows stream: read, checked, sent and written one by one.

`validate_file` never loads the HTTP stack; `import_async` imports it when it runs.
"""

from __future__ import annotations

import functools
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from bulkmail.errors import ConfigError
from bulkmail.logs import get_logger
from bulkmail.models import Table
from bulkmail.reader.refeed import fill_secrets
from bulkmail.reader.table import read
from bulkmail.report.collector import Collector, RunResult
from bulkmail.report.writer import ReportWriter, new_report_folder
from bulkmail.run import outcomes
from bulkmail.run.outcomes import Ledger
from bulkmail.secrets import SECRET_FIELDS, register
from bulkmail.settings import InputSettings, PortalSettings
from bulkmail.validation.table import check_columns, validate

if TYPE_CHECKING:
    import anyio
    import httpx
    from anyio.abc import TaskStatus

    from bulkmail.journal.store import Journal
    from bulkmail.run.jobs import Job
    from bulkmail.run.pool import Runner, RunState
    from bulkmail.run.progress import RunProgress
    from bulkmail.run.retry import Backoff

Now = Callable[[], datetime]
P = ParamSpec("P")
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def load(inp: InputSettings) -> Table:
    """Read the input, fill masked secrets from an original sheet, check required columns."""
    table = read(inp.path, sheet=inp.sheet, encoding=inp.encoding, delimiter=inp.delimiter)
    if inp.secrets_from is not None:
        table = fill_secrets(table, read(inp.secrets_from))
    check_columns(table, inp.defaults)
    return table


def validate_file(
    inp: InputSettings, report_dir: Path, *, run_user: str | None = None, now: Now = utcnow
) -> RunResult:
    """Read and validate `inp`, write the report, send nothing."""
    log = get_logger()
    started, t0 = now(), time.perf_counter()
    table = load(inp)
    folder = new_report_folder(report_dir, "validate", started)
    with ReportWriter(folder, table.headers, table.fields) as writer:
        collect = Collector(writer, log, command="validate")
        ledger = Ledger(collect)
        rows = 0
        for rows, checked in enumerate(
            validate(table, defaults=inp.defaults, run_user=run_user), 1
        ):
            verdict = outcomes.valid if checked.ok else outcomes.invalid
            ledger.settle(rows - 1, verdict(checked))
        ledger.close(rows)
        return collect.finish(
            info=table.info,
            started=started,
            finished=now(),
            seconds=time.perf_counter() - t0,
            aborted=False,
            header_problems=table.problems,
            extra={},
        )


async def import_async(
    inp: InputSettings,
    portal: PortalSettings,
    report_dir: Path,
    *,
    client_factory: Callable[[], httpx.AsyncClient] | None = None,
    handle_signals: bool = False,
    backoff: Backoff | None = None,
    now: Now = utcnow,
) -> RunResult:
    """Validate `inp` and create its accounts on the portal; write the report.

    For callers that already run an event loop; `import_file` is the blocking form.
    """
    # The HTTP stack and the progress bar: loaded by the command that uses them.
    from bulkmail.portal.http import make_client_factory
    from bulkmail.run.pool import Runner
    from bulkmail.run.progress import RunProgress

    log = get_logger()
    started, t0 = now(), time.perf_counter()
    # Library callers too: the run's passwords are masked in every output from here on.
    register(portal.password, *(v for k, v in inp.defaults.items() if k in SECRET_FIELDS))
    table = load(inp)
    if table.column_of("portal_user") is None and not portal.user:
        raise ConfigError(
            "the sheet has no portal_user column and no --user was given",
            "add a portal_user column, or run as one portal user with --user",
        )
    journal = _open_journal(portal, inp, log)
    try:
        folder = new_report_folder(report_dir, "import", started)
        bar = portal.progress and sys.stderr.isatty()
        with (
            ReportWriter(folder, table.headers, table.fields) as writer,
            RunProgress(log, total=table.size_hint, bar=bar) as progress,
        ):
            collect = Collector(writer, log, command="import", progress=progress)
            ledger = Ledger(collect)
            factory = client_factory or make_client_factory(portal)
            runner = Runner(portal, factory, ledger.settle, journal=journal, backoff=backoff)
            _log_start(log, inp, portal)
            route = _Router(table, inp, portal, journal, ledger)
            jobs = route.jobs()
            await _drive(runner, jobs, progress, portal.grace, handle_signals, log)
            for job in jobs:  # rows the run never reached
                ledger.settle(job.index, outcomes.not_attempted(job))
            ledger.close(route.rows)
            return collect.finish(
                info=table.info,
                started=started,
                finished=now(),
                seconds=time.perf_counter() - t0,
                aborted=runner.state.aborted or runner.state.interrupted,
                header_problems=table.problems,
                extra=_run_facts(portal, runner.state),
            )
    finally:
        if journal is not None:
            journal.close()


def _log_start(log: Any, inp: InputSettings, portal: PortalSettings) -> None:
    log.info(
        "run.started",
        command="import",
        input=str(inp.path),
        portal=portal.url,
        concurrency=portal.concurrency,
        dry_run=portal.dry_run,
        if_exists=portal.if_exists,
    )


def _run_facts(portal: PortalSettings, state: RunState) -> dict[str, Any]:
    """Return what summary.json says about an import beyond the counts."""
    return {
        "portal": portal.url,
        "concurrency": portal.concurrency,
        "dry_run": portal.dry_run,
        "if_exists": portal.if_exists,
        "interrupted": state.interrupted,
        "abort_reason": state.reason or None,
        "mail_servers": state.servers,
    }


def _blocking(body: Callable[P, Awaitable[T]]) -> Callable[P, T]:
    """Return a function that runs the coroutine function `body` in its own event loop."""

    @functools.wraps(body)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        import anyio

        return anyio.run(functools.partial(body, *args, **kwargs))

    return run


import_file = _blocking(import_async)
import_file.__doc__ = """Validate `inp` and create its accounts on the portal; write the report.

The blocking form of `import_async`, with the same arguments: it runs its own event loop.
"""
import_file.__name__ = import_file.__qualname__ = "import_file"


class _Router:
    """Route each checked row: invalid ones and those the journal settles go to the ledger,
    the rest become the jobs the pool sends (which settles their outcomes itself)."""

    def __init__(
        self,
        table: Table,
        inp: InputSettings,
        portal: PortalSettings,
        journal: Journal | None,
        ledger: Ledger,
    ) -> None:
        self._table, self._inp, self._portal = table, inp, portal
        self._journal, self._ledger = journal, ledger
        self.rows = 0  # rows read so far

    def jobs(self) -> Iterator[Job]:
        """Yield the rows to send, settling every other row as it passes."""
        from bulkmail.run.jobs import plan_row

        table, ledger = self._table, self._ledger
        checked_rows = validate(table, defaults=self._inp.defaults, run_user=self._portal.user)
        for index, checked in enumerate(checked_rows):
            self.rows = index + 1
            if not checked.ok:
                ledger.settle(index, outcomes.invalid(checked))
                continue
            job, step = plan_row(index, checked, table, self._portal, self._journal)
            if step.entry is not None and step.action == "done":
                ledger.settle(index, outcomes.done_earlier(job, step.entry))
            elif step.entry is not None and step.action == "failed":
                ledger.settle(index, outcomes.failed_earlier(job, step.entry))
            else:
                yield job


def _open_journal(portal: PortalSettings, inp: InputSettings, log: Any) -> Journal | None:
    from bulkmail.journal.store import Journal

    if portal.state is None:
        return None
    journal = Journal.open(
        portal.state, portal.url, fresh=portal.fresh, argv=("import", str(inp.path))
    )
    if journal.took_over_from:
        log.warning("journal.lock_taken_over", previous=journal.took_over_from)
    return journal


async def _drive(
    runner: Runner,
    jobs: Iterator[Job],
    progress: RunProgress,
    grace: float,
    handle_signals: bool,
    log: Any,
) -> None:
    import anyio

    async with anyio.create_task_group() as tg:
        tg.start_soon(progress.ticker)
        with anyio.CancelScope() as pool:
            if handle_signals:
                # Started, not start_soon: the handlers are in place before the first request,
                # so a signal that follows any of the run's requests is never the default kill.
                await tg.start(_watch_signals, runner, pool, grace, log)
            await runner.run(jobs)
        tg.cancel_scope.cancel()


async def _watch_signals(
    runner: Runner,
    pool: anyio.CancelScope,
    grace: float,
    log: Any,
    *,
    task_status: TaskStatus[None],
) -> None:
    """First Ctrl-C/SIGTERM: stop handing out rows, cancel after `grace`; second: at once."""
    import anyio

    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for signum in signals:
            if runner.state.interrupted:
                pool.cancel()
                return
            runner.stop(f"interrupted by {signal.Signals(signum).name}")
            log.warning("run.interrupted", signal=signal.Signals(signum).name, grace_s=grace)
            pool.deadline = min(pool.deadline, anyio.current_time() + grace)
