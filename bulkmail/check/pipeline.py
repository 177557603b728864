"""read -> validate -> check -> report, for `bulkmail check`.

The same reading, validation and report as `validate` (bulkmail.pipeline), with each valid
row's mail servers checked from this machine (`checker`): invalid rows fail at validation,
the others end checked, not checked, failed at stage check, or not attempted.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

from bulkmail.check.checker import Checker
from bulkmail.check.probes import (
    Contexts,
    Probes,
    allow_legacy,
    as_portal,
    unverified_context,
)
from bulkmail.check.protocols import Live
from bulkmail.codes import Code
from bulkmail.errors import one_error
from bulkmail.files import ACCESS, ReportMode
from bulkmail.logs import get_logger
from bulkmail.models import Checked, Outcome, Status
from bulkmail.pipeline import Now, load, warn_of_owners
from bulkmail.portal.tls import trust_context
from bulkmail.report.collector import Collector, RunResult
from bulkmail.report.writer import ReportWriter, new_report_folder
from bulkmail.run import outcomes
from bulkmail.run.drive import STOPS, handlers_kept, report_first
from bulkmail.run.outcomes import Ledger
from bulkmail.run.servers import MailServers
from bulkmail.secrets import SECRET_FIELDS, register
from bulkmail.settings import DEFAULT_MAX_LOGIN_FAILURES, DEFAULT_PER_SERVER, InputSettings
from bulkmail.times import local_now
from bulkmail.validation.table import validate

if TYPE_CHECKING:
    from anyio.abc import TaskStatus

__all__ = ["CheckSettings", "check_async", "check_file"]

CONNECT_TIMEOUT = 15.0
"""Seconds per socket operation: the portal's own connect timeout (docs/portal-api.md §10)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckSettings:
    """How a check runs."""

    login: bool = False  # log in with each row's credentials too
    per_server: int = DEFAULT_PER_SERVER  # rows in flight at once per mail server
    max_login_failures: int = DEFAULT_MAX_LOGIN_FAILURES  # refused logins per server, then stop
    timeout: float = CONNECT_TIMEOUT  # seconds per socket operation
    concurrency: int = 16  # rows checked at once
    ca_bundle: Path | None = None  # CA certificates to trust besides the system's store
    run_user: str | None = None  # --user: owns rows without a portal_user (as validate)
    acting: bool = False  # --admin: a row with a portal_user needs no portal_password
    from_email: bool = False  # --portal-user-from email: rows without one are their email's


async def check_async(
    inp: InputSettings,
    report_dir: Path,
    settings: CheckSettings = CheckSettings(),  # frozen: shared safely
    *,
    report_mode: ReportMode = "owner",
    now: Now = local_now,
    handle_signals: bool = False,
) -> RunResult:
    """Read and validate `inp`, check every valid row's mail servers, write the report.

    Raises ConfigError (exit 2) for an input or CA file that cannot be used, before any
    connection is made. With `handle_signals`, Ctrl-C or SIGTERM ends the check at once
    (nothing waits on the servers: the check sends nothing that must finish), settles every
    row not checked as `not attempted`, and writes the report (exit 3).
    """
    log = get_logger()
    started, t0 = now(), time.perf_counter()
    register(*(v for k, v in inp.defaults.items() if k in SECRET_FIELDS))
    table = warn_of_owners(load(inp), inp, settings.run_user, settings.from_email)
    contexts = Contexts(  # TLS 1.0 to 1.2 at most, as the portal speaks (probes.as_portal)
        as_portal(trust_context(settings.ca_bundle)),
        as_portal(unverified_context()),
        allow_legacy(as_portal(trust_context(settings.ca_bundle))),
        allow_legacy(as_portal(unverified_context())),
    )
    access = ACCESS[report_mode]
    folder = new_report_folder(report_dir, "check", started, access)
    limiter = anyio.CapacityLimiter(settings.concurrency * 2)
    servers = MailServers(settings.per_server, settings.max_login_failures)
    live = Live()
    probes = Probes(contexts, settings.timeout, limiter, live)
    checker = Checker(
        servers,
        probes,
        contexts,
        login=settings.login,
        timeout=settings.timeout,
        limiter=limiter,
        live=live,
    )
    log.info("run.started", command="check", input=str(inp.path), login=settings.login)
    ending = contextlib.ExitStack()  # exits after the ReportWriter: report_first, to the end
    with ending, ReportWriter(folder, table.headers, table.fields, access=access) as writer:
        collect = Collector(writer, log, command="check")
        ledger = Ledger(collect)
        checked = validate(
            table, defaults=inp.defaults, run_user=settings.run_user, acting=settings.acting,
            from_email=settings.from_email, autofill=inp.autofill,
        )  # fmt: skip
        rows = iter(enumerate(checked))
        counted = _Counted(rows)
        stop = _Interrupt(live, log)
        with one_error():  # a row stream that stops part-way: its InputError, not a group
            async with anyio.create_task_group() as tg:
                with stop.scope:
                    if handle_signals:  # in place before the first connection
                        await tg.start(stop.watch)
                    async with anyio.create_task_group() as workers:
                        for _ in range(settings.concurrency):
                            workers.start_soon(_worker, counted, checker, ledger)
                tg.cancel_scope.cancel()  # the watcher ends: its receiver puts the handlers back
        # Nothing is checked from here on: while the rest is settled and the report written
        # and closed (seconds for a large sheet), a signal is logged, not a report cut in half.
        ending.enter_context(report_first(handle_signals, log))
        for index, left in counted:  # rows the interrupt left
            ledger.settle(index, _not_checked(left, NOT_REACHED))
        ledger.close(counted.rows)
        result = collect.finish(
            info=table.info,
            started=started,
            finished=now(),
            seconds=time.perf_counter() - t0,
            aborted=bool(stop.reason),
            header_problems=table.problems,
            extra={
                **({"error": f"{stop.reason}: {AGAIN}"} if stop.reason else {}),
                "interrupted": bool(stop.reason),
                "abort_reason": f"{stop.reason}: {AGAIN}" if stop.reason else None,
                "login": settings.login,
                "timeout": settings.timeout,
                "probes": probes.made,
                "logins": checker.logins,
                "mail_servers": servers.facts(),
            },
        )
        return result


def check_file(
    inp: InputSettings,
    report_dir: Path,
    settings: CheckSettings = CheckSettings(),  # frozen: shared safely
    *,
    report_mode: ReportMode = "owner",
    handle_signals: bool = False,
) -> RunResult:
    """The blocking form of `check_async`: it runs its own event loop."""

    async def body() -> RunResult:
        return await check_async(
            inp, report_dir, settings, report_mode=report_mode, handle_signals=handle_signals
        )

    return anyio.run(body)


class _Counted:
    """The checked rows, shared by the workers, counting how many were taken."""

    def __init__(self, rows: Iterator[tuple[int, Checked]]) -> None:
        self._rows, self.rows = rows, 0

    def __iter__(self) -> Iterator[tuple[int, Checked]]:
        for index, checked in self._rows:
            self.rows = index + 1
            yield index, checked


async def _worker(rows: _Counted, checker: Checker, ledger: Ledger) -> None:
    for index, checked in rows:
        if not checked.ok:
            ledger.settle(index, outcomes.invalid(checked))
        else:
            try:
                outcome = await checker.check(index, checked)
            except anyio.get_cancelled_exc_class():  # the interrupt, mid-row
                ledger.settle(index, _not_checked(checked, CUT_SHORT))
                raise
            ledger.settle(index, outcome)
        # After the row is settled, before the next is taken: a row whose servers were
        # probed already waits on nothing, and a sheet of such rows never let the
        # interrupt's watcher run (Ctrl-C was taken after the last row).
        await anyio.lowlevel.checkpoint()


AGAIN = "run the same command again to check the rest"
NOT_REACHED = "not checked: the check was interrupted before this row"
CUT_SHORT = "not checked: the check was interrupted while this row's servers were being checked"


def _not_checked(checked: Checked, message: str) -> Outcome:
    """Return a row's outcome when the interrupt came first: invalid, or not attempted."""
    if not checked.ok:
        return outcomes.invalid(checked)
    code = Code.NOT_ATTEMPTED
    account = checked.account
    return Outcome(
        row=checked.row,
        status=Status.NOT_ATTEMPTED,
        code=code,
        message=message,
        hint=AGAIN,
        problems=checked.problems,
        portal_user=(account.portal_user or "") if account else "",
        email=account.email if account else "",
        server=account.server if account else "",
    )


class _Interrupt:
    """Ctrl-C or SIGTERM during a check: cancel the workers, end every session at once."""

    def __init__(self, live: Live, log: Any) -> None:
        self.scope = anyio.CancelScope()  # the workers'
        self.reason = ""  # "interrupted by SIGINT" once one came
        self._live, self._log = live, log

    async def watch(self, *, task_status: TaskStatus[None]) -> None:
        """Wait for signals; the first stops the check, later ones are taken (no traceback)."""
        with handlers_kept(*STOPS), anyio.open_signal_receiver(*STOPS) as signals:
            task_status.started()
            async for signum in signals:
                if self.reason:
                    continue
                name = signal.Signals(signum).name
                self.reason = f"interrupted by {name}"
                self._log.warning("run.interrupted", signal=name)
                self._live.end_all()
                self.scope.cancel()
