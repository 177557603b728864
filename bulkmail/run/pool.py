"""The bounded worker pool that sends accounts to the portal, with retries and the journal.

A fixed number of workers, each with its own one-connection httpx client (one client with a
large pool does quadratic work per request: docs/performance.md §4), take the rows read a
bounded window ahead, so memory stays flat however many rows there are (§6). A worker is
handed only a row whose mail servers have room (run/servers.py, lookahead.py);
a create a mail server throttled is sent again later without using up --retries. Every job
ends in exactly one Outcome handed to `emit`, including the ones an interrupt leaves behind.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import anyio
import httpx
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from bulkmail.codes import Code
from bulkmail.journal.store import Journal
from bulkmail.models import Outcome, Status
from bulkmail.portal.client import Created, Identity, PortalClient, Token, Verdict
from bulkmail.run import outcomes
from bulkmail.run.jobs import Job
from bulkmail.run.lookahead import Lookahead, span, window
from bulkmail.run.retry import Backoff, with_retries
from bulkmail.run.servers import MAX_THROTTLED, MailServers
from bulkmail.run.sessions import Sessions
from bulkmail.settings import PortalSettings

Emit = Callable[[int, Outcome], None]


@dataclass(slots=True)
class RunState:
    """What the pool learned that outlives single rows."""

    aborted: bool = False
    reason: str = ""
    interrupted: bool = False
    servers: dict[str, Any] = field(default_factory=dict)  # MailServers.facts() at the end


class Runner:
    """Send every job through `settings.concurrency` workers; report each outcome once."""

    def __init__(
        self,
        settings: PortalSettings,
        client_factory: Callable[[], httpx.AsyncClient],
        emit: Emit,
        *,
        journal: Journal | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self._settings = settings
        self._factory = client_factory
        self._emit = emit
        self._journal = journal
        self._backoff = backoff or Backoff()
        self._sessions = Sessions(self._backoff, settings.retries)
        self._stopping = anyio.Event()
        self._pending: dict[int, Job] = {}  # handed to the pool, no outcome yet
        self._servers = MailServers(
            settings.per_server, settings.max_login_failures, enabled=not settings.dry_run
        )
        self.state = RunState()

    def stop(self, reason: str = "interrupted") -> None:
        """Stop handing out rows; in-flight creates may still finish."""
        if not self._stopping.is_set():
            self.state.interrupted = True
            self.state.reason = self.state.reason or reason
            self._stopping.set()
            self._servers.wake()  # workers may wait for a mail server's room

    async def run(self, jobs: Iterable[Job]) -> RunState:
        """Send `jobs` and return when every one has an outcome (or the run was stopped)."""
        concurrency = self._settings.concurrency  # 1 or more: PortalSettings checks it
        # Portal users of the rows read, for warmers to log in and list before a worker needs
        # them. Rows are read at most a window ahead of the workers (lookahead.py), so few
        # wait here; each is sent once.
        users_send, users_receive = anyio.create_memory_object_stream[Identity](math.inf)
        ahead = self._lookahead(jobs, partial(self._read, users_send, set()))
        try:
            async with anyio.create_task_group() as warming:
                for _ in range(concurrency):
                    warming.start_soon(self._warmer, users_receive.clone())
                users_receive.close()
                async with users_send, anyio.create_task_group() as pool:
                    for _ in range(concurrency):
                        pool.start_soon(self._worker, ahead)
                warming.cancel_scope.cancel()  # every row has its outcome: nothing to warm
            for job in ahead.rest():  # the run stopped: the rest is never sent
                self._not_attempted(job)
        finally:
            # Jobs still queued when the pool was cancelled never reached a worker.
            for job in list(self._pending.values()):
                self._not_attempted(job)
            self.state.servers = self._servers.facts()
        return self.state

    def _read(self, users_send: MemoryObjectSendStream[Identity], seen: set[str], job: Job) -> None:
        """Take `job` on as the run's, and have its portal user warmed once."""
        self._pending[job.index] = job
        user = job.identity.login.casefold()
        if user not in seen:
            seen.add(user)
            users_send.send_nowait(job.identity)

    def _lookahead(self, jobs: Iterable[Job], read: Callable[[Job], None]) -> Lookahead:
        """Return the rows to hand out, each let in on its mail servers (lookahead.py).

        Workers take rows from it themselves, so a row is let in only when a worker is free
        to send it: a row let in with no worker to send it would hold its servers' room while
        rows waiting to be sent again wait for that room, with every worker.
        """
        concurrency = self._settings.concurrency
        return Lookahead(
            iter(jobs),
            self._servers,
            window(concurrency),
            on_read=read,
            on_stopped=self._held_back,
            oldest=lambda: next(iter(self._pending), None),  # rows are taken on in input order
            span=span(concurrency),
        )

    async def _worker(self, ahead: Lookahead) -> None:
        async with AsyncExitStack() as stack:
            portal: PortalClient | None = None  # a client once there is work for it
            while (job := await ahead.next(self._stopping)) is not None:
                portal = portal or PortalClient(await stack.enter_async_context(self._factory()))
                await self._guarded(portal, job)

    async def _warmer(self, receive: MemoryObjectReceiveStream[Identity]) -> None:
        """Log users in and list their accounts ahead of their rows, beside the workers.

        A sheet with a row per user would otherwise spend a login and a listing before
        every create, in the worker's time. Sessions keeps one login per user whoever asks
        first, so warming never adds a request, and a refused login is still tried once.
        """
        async with receive, AsyncExitStack() as stack:
            portal: PortalClient | None = None
            async for identity in receive:
                if self._stopping.is_set():
                    return
                portal = portal or PortalClient(await stack.enter_async_context(self._factory()))
                token = await self._sessions.token(portal, identity)
                if not isinstance(token, Verdict):
                    await self._sessions.existing(portal, identity, token)

    async def _guarded(self, portal: PortalClient, job: Job) -> None:
        started = time.perf_counter()
        try:
            outcome = await self._process(portal, job)
        except anyio.get_cancelled_exc_class():
            self._finish(job, outcomes.not_attempted(job, outcomes.CUT_SHORT, Code.INTERRUPTED))
            raise
        outcome = replace(outcome, elapsed=round(time.perf_counter() - started, 3))
        self._record(job, outcome)
        self._finish(job, outcome)

    def _finish(self, job: Job, outcome: Outcome) -> None:
        self._pending.pop(job.index, None)
        self._servers.release(job.index)
        self._emit(job.index, outcome)

    async def _process(self, portal: PortalClient, job: Job) -> Outcome:
        token = await self._sessions.token(portal, job.identity)
        if isinstance(token, Verdict):
            return outcomes.failed(job, token, attempts=0)
        existing = await self._sessions.existing(portal, job.identity, token)
        if isinstance(existing, Verdict):
            return outcomes.failed(job, existing, attempts=0)
        email = job.account.email.casefold()
        before = existing.get(email)
        if before is not None and job.check_first:
            return outcomes.done(
                job,
                Status.CREATED,
                before,
                code=Code.RESUMED,
                message="created by an earlier run that was cut short",
            )
        if before is not None and self._settings.if_exists == "skip":
            return outcomes.done(
                job,
                Status.SKIPPED,
                before,
                code=Code.EXISTS,
                message="the portal user already has this account",
            )
        if self._settings.dry_run:
            status = Status.WOULD_UPDATE if before is not None else Status.WOULD_CREATE
            return outcomes.done(job, status, before)
        return await self._create(portal, job, token, before)

    async def _create(
        self, portal: PortalClient, job: Job, token: Token, before: int | None
    ) -> Outcome:
        created = Status.UPDATED if before is not None else Status.CREATED
        attempts, relogged, throttled = 0, False, 0
        while True:
            if self._servers.stopped(job.account) is not None:
                return self._stopped_outcome(job)
            attempts += 1
            if self._journal is not None:
                self._journal.mark_in_flight(
                    job.identity.login,
                    job.account.email,
                    row=job.row.number,
                    digest=job.digest,
                )
            answer = await portal.create(token, job.account.payload())
            if isinstance(answer, Created):
                self._servers.succeeded(job.index)
                return outcomes.done(job, created, answer.mailbox_id, attempts=attempts)
            if self._servers.failed(job.index, answer):  # throttled: not the row's fault
                if throttled >= MAX_THROTTLED or not await self._wait_for_room(job, throttled + 1):
                    return outcomes.failed(job, answer, attempts)
                throttled += 1
                continue
            if answer.code is Code.PORTAL_UNAUTHORIZED and not relogged:
                relogged = True
                self._sessions.invalidate(job.identity, token)
                fresh = await self._sessions.token(portal, job.identity)
                if isinstance(fresh, Verdict):
                    return outcomes.failed(job, fresh, attempts)
                token = fresh
                continue
            if answer.fatal:
                self.state.aborted = True
                self.stop(answer.message)
                return outcomes.failed(job, answer, attempts)
            if answer.ambiguous and before is None:
                found = await with_retries(
                    partial(portal.find_account, token, job.account.email),
                    self._backoff,
                    self._settings.retries,
                )
                if isinstance(found, int):
                    return outcomes.done(
                        job,
                        created,
                        found,
                        attempts=attempts,
                        code=Code.FOUND_AFTER_LOSS,
                        message=f"its answer was lost ({answer.message}); the portal has it",
                    )
            if not answer.retryable or attempts - throttled > self._settings.retries:
                return outcomes.failed(job, answer, attempts)
            if self._stopping.is_set():
                return outcomes.failed(job, answer, attempts)
            await anyio.sleep(self._backoff.delay(attempts, answer.retry_after))

    async def _wait_for_room(self, job: Job, throttled: int) -> bool:
        """Give back the row's room, back off, and wait for room again (ahead of fresh rows);
        return False when the run is stopping instead, True to go on."""
        self._servers.release(job.index)
        await anyio.sleep(self._backoff.delay(throttled))
        if self._stopping.is_set():
            return False
        # Not let in when a server of the row stopped meanwhile: the loop's check says so.
        return await self._servers.take(job.index, job.account, self._stopping) or (
            self._servers.stopped(job.account) is not None
        )

    def _stopped_outcome(self, job: Job) -> Outcome:
        """Return the outcome of a row held back: its mail server's login budget is spent."""
        host = self._servers.stopped(job.account) or ""
        refused = self._settings.max_login_failures
        message = (
            f"not sent: the mail server {host} refused {refused} logins in this run, so its "
            "rows were held back before it bans the portal's address"
        )
        return outcomes.not_attempted(job, message, Code.LOGIN_FAILURES_LIMIT)

    def _held_back(self, job: Job, host: str) -> None:
        """Settle a row never handed out: its mail server's login budget is spent."""
        self._finish(job, self._stopped_outcome(job))

    def _not_attempted(self, job: Job, message: str = outcomes.NOT_SENT) -> None:
        """Hand back `job` as never sent because the run stopped."""
        self._finish(job, outcomes.not_attempted(job, message))

    def _record(self, job: Job, outcome: Outcome) -> None:
        if self._journal is None or self._settings.dry_run or outcome.status not in _JOURNALED:
            return
        permanent = outcome.status is Status.FAILED and not outcome.transient
        self._journal.record(
            job.identity.login,
            job.account.email,
            state=_JOURNALED[outcome.status],
            row=job.row.number,
            digest=job.digest,
            mailbox_id=outcome.mailbox_id,
            code=outcome.code,
            message=outcome.message,
            permanent=permanent,
            attempts=outcome.attempts,
            cells=job.cells,
        )


_JOURNALED = {
    Status.CREATED: "created",
    Status.UPDATED: "updated",
    Status.FAILED: "failed",
}
