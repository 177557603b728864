"""read -> validate -> plan -> run -> report, for `validate` and `import`.

The one place that guarantees every input row ends as exactly one outcome: each row is
settled in a `Ledger` by whoever decides it (validation, the journal, the worker pool, an
interrupt), and the Ledger refuses a second outcome or a run that leaves a row without one.
Rows stream: read, checked, sent and written one by one.

`validate_file` never loads the HTTP stack; `import_async` imports it when it runs.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, ParamSpec, TypeVar, Unpack

from bulkmail.codes import Code
from bulkmail.errors import AbortError, ConfigError
from bulkmail.files import ACCESS, ReportMode
from bulkmail.library import ImportOptions, InputOptions, Source, input_settings, portal_settings
from bulkmail.logs import get_logger
from bulkmail.models import Problem, Severity, Table
from bulkmail.reader.refeed import fill_secrets, report_fed
from bulkmail.reader.table import read
from bulkmail.report.collector import Collector, RunResult
from bulkmail.report.results import RowResultMaker
from bulkmail.report.writer import ReportWriteError, ReportWriter, new_report_folder
from bulkmail.run import outcomes
from bulkmail.run.outcomes import Ledger
from bulkmail.secrets import SECRET_FIELDS, register
from bulkmail.settings import PREFLIGHT_SECONDS, InputSettings, PortalSettings
from bulkmail.times import local_now
from bulkmail.validation.autofill import PortalSetups
from bulkmail.validation.table import check_columns, validate

if TYPE_CHECKING:
    import httpx

    from bulkmail.journal.store import Journal
    from bulkmail.portal.client import Identity
    from bulkmail.run.identities import Acting
    from bulkmail.run.pool import Runner
    from bulkmail.run.retry import Backoff

Now = Callable[[], datetime]
DEFAULT_REPORT_DIR: Final = Path("reports")
"""Where a run's report folder goes: the command line's --report-dir default too."""
P = ParamSpec("P")
T = TypeVar("T")


def utcnow() -> datetime:
    """Return now in UTC (runs use `bulkmail.times.local_now`: local time with its offset)."""
    return datetime.now(UTC)


def read_input(inp: InputSettings) -> Table:
    """Read the input (the file, or the rows given from Python), masked secrets filled from
    an original sheet.

    A bulkmail report.xlsx fed back is read from its Failed sheet (reader/sheet.py) and says
    so in a `report-fed` note among the header findings.
    """
    if inp.source is not None:
        table = inp.source()
    else:
        table = read(inp.path, sheet=inp.sheet, encoding=inp.encoding, delimiter=inp.delimiter)
    if table.info.report:
        table = replace(table, problems=(*table.problems, report_fed(table, inp)))
    if inp.secrets_from is not None:
        table = fill_secrets(table, read(inp.secrets_from))
    return table


def owners_unknown(table: Table, inp: InputSettings, user: str | None, from_email: bool) -> bool:
    """True when nothing says who owns the rows: no portal_user column, none in --set or
    --defaults, no --user, no --portal-user-from email. The import refuses it (exit 2)."""
    given = table.column_of("portal_user") is not None or _owner_in_defaults(inp)
    return not (given or user or from_email)


def _owner_in_defaults(inp: InputSettings) -> bool:
    """Return whether --set or --defaults give a portal_user: a blank one (`--set
    portal_user=`) fills no cell (validation drops blank defaults), so it names no owner."""
    return bool(inp.defaults.get("portal_user", "").strip())


def warn_of_owners(table: Table, inp: InputSettings, user: str | None, from_email: bool) -> Table:
    """Return `table` with the `portal-user-column-missing` warning when `owners_unknown`:
    `validate` and `check` take such a sheet, but their exit 0 must not hide that the
    import run as they were will refuse it."""
    if not owners_unknown(table, inp, user, from_email):
        return table
    code = Code.PORTAL_USER_COLUMN_MISSING
    warning = Problem(table.header_row, "", code, Severity.WARNING, code.meaning, code.hint)
    return replace(table, problems=(*table.problems, warning))


def load(inp: InputSettings) -> Table:
    """Read the input (`read_input`) and check its required columns."""
    table = read_input(inp)
    check_columns(table, inp.defaults, inp.autofill)
    return table


def validate_file(
    source: Source,
    report_dir: str | os.PathLike[str] = DEFAULT_REPORT_DIR,
    *,
    run_user: str | None = None,
    admin: str | None = None,
    portal_user_from: Literal["email"] | None = None,
    report_mode: ReportMode = "owner",
    now: Now = local_now,
    keep_rows: bool = True,
    **options: Unpack[InputOptions],
) -> RunResult:
    """Read and validate `source`, write the report, send nothing.

    `source`: a file path, the rows (a list of mappings, a pandas DataFrame, a Table) or an
    InputSettings; `options` are the input's (`sheet`, `defaults`, `autofill`...: the
    command line's option names), not given with an InputSettings. `report_dir` holds the
    run's report folder (default "reports"). `run_user`, `admin` and `portal_user_from`
    judge the rows' portal identity as the import with the same --user, --admin and
    --portal-user-from would (`admin`: rows with a portal_user need no portal_password; no
    password is asked, nothing is sent). `report_mode`: "owner" makes the report folder
    0700 and its files 0600, "group" 0750 and 0640 (bulkmail.files). `keep_rows`: the
    result's `rows` hold every row's RowResult (the command line keeps none). Raises
    InputError or ConfigError for an input that cannot be used (exit code 2).
    """
    inp = input_settings(source, options, "validate_file")
    _check_run(report_dir, report_mode, "validate_file")
    _check_owners(admin, portal_user_from, "validate_file")
    log = get_logger()
    started, t0 = now(), time.perf_counter()
    table = warn_of_owners(load(inp), inp, run_user, portal_user_from == "email")
    access = ACCESS[report_mode]
    folder = new_report_folder(Path(report_dir), "validate", started, access)
    with ReportWriter(folder, table.headers, table.fields, access=access) as writer:
        collect = Collector(writer, log, command="validate", results=_maker(table, keep_rows))
        ledger = Ledger(collect)
        rows = 0
        for rows, checked in enumerate(
            validate(
                table, defaults=inp.defaults, run_user=run_user, acting=admin is not None,
                from_email=portal_user_from == "email", autofill=inp.autofill,
            ), 1,
        ):  # fmt: skip
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
    source: Source,
    portal: str | PortalSettings | None = None,
    report_dir: str | os.PathLike[str] = DEFAULT_REPORT_DIR,
    *,
    client_factory: Callable[[], httpx.AsyncClient] | None = None,
    handle_signals: bool = False,
    backoff: Backoff | None = None,
    report_mode: ReportMode = "owner",
    now: Now = local_now,
    ask_code: Callable[[str], str] | None = None,
    keep_rows: bool = True,
    **options: Unpack[ImportOptions],
) -> RunResult:
    """Validate `source` and create its accounts on the portal; write the report.

    `source` as for `validate_file`; `portal`: the portal's URL, with the portal's options
    as keywords named as the command line's (`user`, `password`, `dry_run`, `concurrency`,
    `state`...), or a PortalSettings. `options` mixes the input's and the portal's; none is
    given with the settings object it belongs to (ConfigError). `keep_rows` as for
    `validate_file`. For callers that already run an event loop; `import_file` is the
    blocking form.
    `ask_code(prompt)` returns --admin's two-factor code (None: no terminal to ask on).
    `report_mode` as for `validate_file`. A journal that fails part-way stops the run
    (exit 3) and is the result's `error`; a report that cannot be written raises AbortError
    saying that the journal holds every outcome and a re-run writes the report.
    """
    # The HTTP stack and the progress bar: loaded by the command that uses them.
    from bulkmail.portal.http import make_client_factory
    from bulkmail.run.drive import Router, drive, open_journal, report_first
    from bulkmail.run.pool import Runner
    from bulkmail.run.preflight import check_portal
    from bulkmail.run.progress import RunProgress
    from bulkmail.run.setups import ask_setups, asks_portal, before_asking

    inp = input_settings(source, options, "import_file")
    portal = portal_settings(portal, options, "import_file")
    _check_run(report_dir, report_mode, "import_file")
    log = get_logger()
    started, t0 = now(), time.perf_counter()
    # Library callers too: the run's passwords are masked in every output from here on.
    register(portal.password, portal.admin_password)
    register(*(v for k, v in inp.defaults.items() if k in SECRET_FIELDS))
    table = load(inp)
    if owners_unknown(table, inp, portal.user, portal.portal_user_from == "email"):
        raise ConfigError(
            "the sheet has no portal_user column and no --user was given",
            "add a portal_user column, or run as one portal user with --user"
            + (", or give each mailbox to its address's user: --portal-user-from email"
               if portal.admin else ""),
        )  # fmt: skip
    portal_autofill = asks_portal(inp, portal)  # --autofill portal; ConfigError without --user
    # Before the journal and the report folder: a CA file that cannot be used stops here.
    factory = client_factory or make_client_factory(portal)
    # Before the journal and the report: a URL that is not the portal's API is exit 2.
    unreachable = await check_portal(
        factory, portal.url, min(PREFLIGHT_SECONDS, portal.give_up_after)
    )
    acting = None
    if portal.admin and unreachable is None:
        from bulkmail.run.admin import start_acting

        acting = await start_acting(
            factory, load(inp), before_asking(inp), portal, ask_code, backoff
        )
    sessions = None
    if portal_autofill:  # the portal's settings for the rows' domains, before any row
        asked = await ask_setups(factory, load(inp), inp, portal, acting, unreachable, backoff)
        inp, sessions = asked
    journal = open_journal(portal, inp, log)
    ending = contextlib.ExitStack()  # once the pool has ended: report_first, to the very end
    try:
        access = ACCESS[report_mode]
        folder = new_report_folder(Path(report_dir), "import", started, access)
        bar = portal.progress and sys.stderr.isatty()
        with (
            ReportWriter(folder, table.headers, table.fields, access=access) as writer,
            RunProgress(
                log, total=table.size_hint, bar=bar, every=portal.progress_every
            ) as progress,
        ):
            collect = Collector(
                writer, log, command="import", progress=progress,
                results=_maker(table, keep_rows),
            )  # fmt: skip
            ledger = Ledger(collect)
            run_identity = _run_identity(table, inp, portal)
            runner = Runner(
                portal, factory, ledger.settle, journal=journal, backoff=backoff,
                run_identity=run_identity, acting=None if isinstance(acting, str) else acting,
                sessions=sessions,
            )  # fmt: skip
            writer.on_failure = runner.abort  # no more creates that no report would show
            progress.limit = lambda: runner.concurrency.limit
            _log_start(log, inp, portal)
            if unreachable is not None:
                runner.abort(f"the portal at {portal.url} did not answer ({unreachable})")
            if isinstance(inp.autofill, PortalSetups) and inp.autofill.outage:
                runner.abort(inp.autofill.outage)  # --autofill portal's questions stopped
            if isinstance(acting, str):  # the admin refused, or no row can go
                runner.abort(acting)
                acting = None
            route = Router(table, inp, portal, journal, ledger, runner.abort, acting)
            jobs = route.jobs()
            await drive(runner, jobs, progress, portal.grace, handle_signals, log)
            # Nothing is sent from here on: a signal is logged, and the rest settled, the
            # journal committed and closed and the report written whole, as they would be.
            ending.enter_context(report_first(handle_signals, log))
            for job in jobs:  # rows the run never reached
                ledger.settle(job.index, outcomes.not_attempted(job))
            if runner.state.aborted:
                log.error("run.aborted", reason=runner.state.reason)
            if acting is not None:  # the portal audits each: the log says how many
                log.info("run.impersonations", **acting.facts())
            ledger.close(route.rows)
            _commit(journal, runner)  # before the report says what the journal holds
            with _report_lost_says(journal):
                result = collect.finish(
                    info=table.info,
                    started=started,
                    finished=now(),
                    seconds=time.perf_counter() - t0,
                    aborted=runner.state.aborted or runner.state.interrupted,
                    header_problems=table.problems,
                    extra=_run_facts(portal, runner, acting),
                )
            return replace(result, error=journal.failure if journal else None)
    finally:
        if journal is not None:
            journal.close()
        ending.close()


def _check_owners(admin: object, portal_user_from: object, caller: str) -> None:
    """Raise ConfigError for an `admin` or `portal_user_from` of the wrong kind."""
    from bulkmail.keywords import check_kind

    check_kind("admin", admin, f"{caller}()")
    check_kind("portal_user_from", portal_user_from, f"{caller}()")


def _check_run(report_dir: object, report_mode: object, caller: str) -> None:
    """Raise ConfigError for a report folder or mode of the wrong kind (bulkmail.keywords)."""
    from bulkmail.keywords import check_kind

    check_kind("report_dir", report_dir, f"{caller}()")
    check_kind("report_mode", report_mode, f"{caller}()")


def _maker(table: Table, keep_rows: bool) -> RowResultMaker | None:
    return RowResultMaker(table.headers, table.fields) if keep_rows else None


def _commit(journal: Journal | None, runner: Runner) -> None:
    """Commit the journal's last outcomes; if it cannot, the run ends aborted (exit 3)."""
    if journal is None:
        return
    with contextlib.suppress(AbortError):  # kept in journal.failure
        journal.flush()
    if journal.failure is not None:
        runner.abort(journal.failure.message)


@contextlib.contextmanager
def _report_lost_says(journal: Journal | None) -> Iterator[None]:
    """Turn a report that could not be written into the run's one line: where the outcomes
    are, and that running the same command again writes the report."""
    try:
        yield
    except ReportWriteError as err:
        if journal is None or journal.failure is not None:
            raise
        lost = AbortError(
            f"{err.message}; the journal {journal.path} holds every outcome",
            "free some space or fix the folder, then run the same command again: "
            "it writes the report",
        )
        lost.report_folder = err.report_folder
        raise lost from None


def _log_start(log: Any, inp: InputSettings, portal: PortalSettings) -> None:
    log.info(
        "run.started",
        command="import",
        input=str(inp.path),
        portal=portal.url,
        concurrency=portal.concurrency or "auto",
        max_concurrency=portal.max_concurrency,
        dry_run=portal.dry_run,
        if_exists=portal.if_exists,
    )


def _run_identity(table: Table, inp: InputSettings, portal: PortalSettings) -> Identity | None:
    """Return the run's --user when every row uses it (no portal_user column, none given by
    --set or --defaults), else None."""
    if not portal.user or portal.admin or table.column_of("portal_user") is not None:
        return None
    if _owner_in_defaults(inp):
        return None
    from bulkmail.portal.client import Identity

    return Identity(portal.user, portal.password or "")


def _run_facts(portal: PortalSettings, runner: Runner, acting: Acting | None) -> dict[str, Any]:
    """Return what summary.json says about an import beyond the counts."""
    state = runner.state
    acted: dict[str, Any] = {"impersonation": acting.facts()} if acting is not None else {}
    if (state.aborted or state.interrupted) and state.reason:
        acted["error"] = state.reason  # as in every stopped run's summary.json (report.failure)
    sessions = runner.session_facts()
    if sessions["ended"]:  # the portal ended sessions mid-run (run/renewal.py)
        acted["portal_sessions"] = sessions
    return acted | {
        "portal": portal.url,
        "concurrency": portal.concurrency or "auto",
        "concurrency_limit": runner.concurrency.facts(),
        "portal_outages": runner.health.outages,
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
        import sniffio

        try:
            running = sniffio.current_async_library()
        except sniffio.AsyncLibraryNotFoundError:
            return anyio.run(functools.partial(body, *args, **kwargs))
        name = body.__name__.replace("_async", "_file")
        raise ConfigError(
            f"{name}() runs its own event loop, and this thread runs {running}'s already "
            "(a Jupyter notebook, an async program)",
            f"await bulkmail.{body.__name__}(...) there instead, with the same arguments",
        )

    return run


import_file = _blocking(import_async)
import_file.__doc__ = """Validate `source` and create its accounts on the portal; write the report.

The blocking form of `import_async`, with the same arguments: it runs its own event loop.
`import_file("accounts.xlsx", portal="https://portal.example.org", user=..., password=...,
dry_run=True)`; the settings objects are taken too: `import_file(inp, portal_settings, dir)`.
"""
import_file.__name__ = import_file.__qualname__ = "import_file"
