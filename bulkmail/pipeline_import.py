"""The import end to end: read -> validate -> send -> report. The CLI calls it.

`import_file` sends the valid rows through the worker pool (`validating.validate_file` is the
dry run without network). Rows stream: read, checked, sent and written one by one.
"""

from __future__ import annotations

import signal
import ssl
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import certifi
import httpx

from bulkmail.portal import transport
from bulkmail._version import __version__
from bulkmail.run.retry import Backoff
from bulkmail.report.collector import Collector, RunResult
from bulkmail.errors import ConfigError
from bulkmail.journal.store import Journal, row_digest
from bulkmail.logs import get_logger
from bulkmail.models import Account, Checked, Outcome, Stage, Status, Table
from bulkmail.run.order import Reorder
from bulkmail.portal.client import CookielessClient, Identity
from bulkmail.run.progress import RunProgress
from bulkmail.report.writer import ReportWriter, new_report_folder
from bulkmail.journal.plan import Plan, plan
from bulkmail.run.pool import Job, Runner
from bulkmail.settings import InputSettings, PortalSettings
from bulkmail.pipeline import Now, invalid, load, utcnow
from bulkmail.validation.table import validate


def make_client_factory(portal: PortalSettings) -> Callable[[], httpx.AsyncClient]:
    """Return a factory of one-connection clients for the portal (one per worker)."""
    timeout = httpx.Timeout(portal.timeout, connect=min(30.0, portal.timeout))
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    headers = {"User-Agent": f"bulkmail/{__version__}", "Accept": "application/json"}
    # The lean transport does not speak to proxies: with one configured in the environment
    # (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY...), httpx's own transport honours it and NO_PROXY.
    lean = transport.AVAILABLE and not urllib.request.getproxies()
    # One TLS context for every worker: building one loads the CA bundle (~50 ms of CPU),
    # which at 50 workers delayed the first create by seconds. A plain-http portal (the
    # simulator) through the lean transport never needs one.
    https = portal.url.lower().startswith("https:")
    tls = ssl.create_default_context(cafile=certifi.where()) if https or not lean else None

    def factory() -> httpx.AsyncClient:
        # With a transport given, httpx uses neither `limits` nor `verify` (nor builds a context).
        return CookielessClient(
            base_url=portal.url,
            timeout=timeout,
            limits=limits,
            headers=headers,
            follow_redirects=False,
            verify=tls if tls is not None else True,
            transport=transport.LeanTransport(verify=tls) if lean else None,
        )

    return factory


def import_file(
    inp: InputSettings,
    portal: PortalSettings,
    report_dir: Path,
    *,
    client_factory: Callable[[], httpx.AsyncClient] | None = None,
    handle_signals: bool = False,
    backoff: Backoff | None = None,
    now: Now = utcnow,
) -> RunResult:
    """Validate `inp` and create its accounts on the portal; write the report."""
    return anyio.run(
        lambda: import_async(
            inp,
            portal,
            report_dir,
            client_factory=client_factory,
            handle_signals=handle_signals,
            backoff=backoff,
            now=now,
        )
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
    """The async body of `import_file`, for callers that already run an event loop."""
    log = get_logger()
    started, t0 = now(), time.perf_counter()
    table = load(inp)
    if table.column_of("portal_user") is None and not portal.user:
        raise ConfigError(
            "the sheet has no portal_user column and no --user was given",
            "add a portal_user column, or run as one portal user with --user",
        )
    journal = _open_journal(portal, inp, log)
    folder = new_report_folder(report_dir, "import", started)
    bar = portal.progress and sys.stderr.isatty()
    try:
        with (
            ReportWriter(folder, table.headers, table.fields) as writer,
            RunProgress(log, total=table.size_hint, bar=bar) as progress,
        ):
            collect = Collector(writer, log, command="import", progress=progress)
            reorder = Reorder(collect)
            runner = Runner(
                portal,
                client_factory or make_client_factory(portal),
                reorder.push,
                journal=journal,
                backoff=backoff,
            )
            jobs = _jobs(table, inp, portal, journal, reorder.push)
            log.info(
                "run.started",
                command="import",
                input=str(inp.path),
                portal=portal.url,
                concurrency=portal.concurrency,
                dry_run=portal.dry_run,
                if_exists=portal.if_exists,
            )
            await _drive(runner, jobs, progress, portal.grace, handle_signals, log)
            for job in jobs:  # rows the run never reached
                runner.not_attempted(job)
            state = runner.state
            extra = {
                "portal": portal.url,
                "concurrency": portal.concurrency,
                "dry_run": portal.dry_run,
                "if_exists": portal.if_exists,
                "interrupted": state.interrupted,
                "abort_reason": state.reason or None,
            }
            return collect.finish(
                info=table.info,
                started=started,
                finished=now(),
                seconds=time.perf_counter() - t0,
                aborted=state.aborted or state.interrupted,
                header_problems=table.problems,
                extra=extra,
            )
    finally:
        if journal is not None:
            journal.close()


def _open_journal(portal: PortalSettings, inp: InputSettings, log: Any) -> Journal | None:
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
    async with anyio.create_task_group() as tg:
        tg.start_soon(progress.ticker)
        with anyio.CancelScope() as pool:
            if handle_signals:
                tg.start_soon(_watch_signals, runner, pool, grace, log)
            await runner.run(jobs)
        tg.cancel_scope.cancel()


async def _watch_signals(runner: Runner, pool: anyio.CancelScope, grace: float, log: Any) -> None:
    """First Ctrl-C/SIGTERM: stop handing out rows, cancel after `grace`; second: at once."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            if runner.state.interrupted:
                pool.cancel()
                return
            runner.stop(f"interrupted by {signal.Signals(signum).name}")
            log.warning(
                "run.interrupted",
                signal=signal.Signals(signum).name,
                grace_s=grace,
            )
            pool.deadline = min(pool.deadline, anyio.current_time() + grace)


def _jobs(
    table: Table,
    inp: InputSettings,
    portal: PortalSettings,
    journal: Journal | None,
    emit: Callable[[int, Outcome], None],
) -> Iterator[Job]:
    """Yield a Job per row to send; emit the rows that validation or the journal settle."""
    checked_rows = validate(table, defaults=inp.defaults, run_user=portal.user)
    for index, checked in enumerate(checked_rows):
        account = checked.account
        if account is None:
            emit(index, invalid(checked))
            continue
        login = account.portal_user or portal.user or ""
        identity = Identity(login, account.portal_password or portal.password or "")
        if journal is None:
            yield Job(index, checked.row, account, identity, problems=checked.problems)
            continue
        digest = row_digest(journal.digest_key, _digest_values(account, identity))
        step = plan(journal.lookup(login, account.email), digest)
        if step.entry is not None and step.action in ("done", "failed"):
            emit(index, _settled_earlier(checked, account, login, step))
            continue
        yield Job(
            index,
            checked.row,
            account,
            identity,
            digest=digest,
            check_first=step.action == "check",
            cells=dict(table.values(checked.row)),
            problems=checked.problems,
        )


def _digest_values(account: Account, identity: Identity) -> dict[str, str]:
    """Return what identifies a row's content for the journal (secrets included, hashed)."""
    values = {k: str(v) for k, v in account.payload().items()}
    values |= {"portal_user": identity.login.casefold(), "portal_password": identity.password}
    return values


def _settled_earlier(checked: Checked, account: Account, login: str, step: Plan) -> Outcome:
    """Return the outcome of a row an earlier run created, or failed for good."""
    entry = step.entry
    assert entry is not None  # "done" and "failed" plans always carry their entry
    if step.action == "done":
        return Outcome(
            row=checked.row,
            status=Status.SKIPPED,
            code="done-earlier",
            message=f"created by an earlier run ({entry.updated_at})",
            mailbox_id=entry.mailbox_id,
            done_at=entry.updated_at,
            portal_user=login,
            email=account.email,
            problems=checked.problems,
        )
    return Outcome(
        row=checked.row,
        status=Status.FAILED,
        stage=Stage.PORTAL,
        code=entry.code,
        message=entry.message,
        hint="failed the same way in an earlier run; fix the row (or use --fresh) and "
        "bulkmail will send it again",
        portal_user=login,
        email=account.email,
        problems=checked.problems,
    )
