"""The bounded worker pool that sends accounts to the portal, with retries and the journal.

A fixed number of workers, each with its own one-connection httpx client (one client with a
large pool does quadratic work per request: docs/performance.md §4), read jobs from a bounded
memory stream, so memory stays flat however many rows there are (§6). Every job ends in
exactly one Outcome handed to `emit`, including the ones an interrupt leaves behind.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from functools import partial

import anyio
import httpx
from anyio.streams.memory import MemoryObjectReceiveStream

from bulkmail.codes import Code
from bulkmail.errors import AbortError
from bulkmail.journal.store import Journal
from bulkmail.models import Outcome, Status
from bulkmail.portal.client import Created, Identity, PortalClient, Token, Verdict
from bulkmail.run import outcomes
from bulkmail.run.jobs import Job
from bulkmail.run.retry import Backoff, with_retries
from bulkmail.run.sessions import Sessions
from bulkmail.settings import PortalSettings

Emit = Callable[[int, Outcome], None]


@dataclass(slots=True)
class RunState:
    """What the pool learned that outlives single rows."""

    aborted: bool = False
    reason: str = ""
    interrupted: bool = False


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
        self.state = RunState()

    def stop(self, reason: str = "interrupted") -> None:
        """Stop handing out rows; in-flight creates may still finish."""
        if not self._stopping.is_set():
            self.state.interrupted = True
            self.state.reason = self.state.reason or reason
            self._stopping.set()

    async def run(self, jobs: Iterable[Job]) -> RunState:
        """Send `jobs` and return when every one has an outcome (or the run was stopped)."""
        concurrency = self._settings.concurrency  # 1 or more: PortalSettings checks it
        send, receive = anyio.create_memory_object_stream[Job](concurrency)
        # Portal users of the rows handed out, for warmers to log in and list before a worker
        # needs them. The feeder runs at most a stream's length ahead of the workers, so few
        # wait here; each is sent once.
        users_send, users_receive = anyio.create_memory_object_stream[Identity](math.inf)
        seen: set[str] = set()
        try:
            async with anyio.create_task_group() as warming:
                for _ in range(concurrency):
                    warming.start_soon(self._warmer, users_receive.clone())
                users_receive.close()
                async with anyio.create_task_group() as pool:
                    for _ in range(concurrency):
                        pool.start_soon(self._worker, receive.clone())
                    receive.close()
                    async with send, users_send:
                        for job in jobs:
                            if self._stopping.is_set():
                                self._not_attempted(job)
                                continue
                            self._pending[job.index] = job
                            user = job.identity.login.casefold()
                            if user not in seen:
                                seen.add(user)
                                users_send.send_nowait(job.identity)
                            await send.send(job)
                warming.cancel_scope.cancel()  # every row has its outcome: nothing to warm
        finally:
            # Jobs still queued when the pool was cancelled never reached a worker.
            for job in list(self._pending.values()):
                self._not_attempted(job)
        return self.state

    async def _worker(self, receive: MemoryObjectReceiveStream[Job]) -> None:
        async with receive, AsyncExitStack() as stack:
            portal: PortalClient | None = None  # a client once there is work for it
            async for job in receive:
                if self._stopping.is_set():
                    self._not_attempted(job)
                    continue
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
        self._emit(job.index, outcome)

    async def _process(self, portal: PortalClient, job: Job) -> Outcome:
        token = await self._sessions.token(portal, job.identity)
        if isinstance(token, Verdict):
            return self._failed(job, token, attempts=0)
        existing = await self._sessions.existing(portal, job.identity, token)
        if isinstance(existing, Verdict):
            return self._failed(job, existing, attempts=0)
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
        attempts, relogged, answer = 0, False, None
        while True:
            attempts += 1
            if not self._mark_in_flight(job):  # the journal failed: send nothing more
                if isinstance(answer, Verdict):  # a retry's: the earlier answer stands
                    return outcomes.failed(job, answer, attempts - 1)
                return outcomes.not_attempted(job, outcomes.JOURNAL_FAILED)
            answer = await portal.create(token, job.account.payload())
            if isinstance(answer, Created):
                return outcomes.done(job, created, answer.mailbox_id, attempts=attempts)
            if answer.code is Code.PORTAL_UNAUTHORIZED and not relogged:
                relogged = True
                self._sessions.invalidate(job.identity, token)
                fresh = await self._sessions.token(portal, job.identity)
                if isinstance(fresh, Verdict):
                    return outcomes.failed(job, fresh, attempts)
                token = fresh
                continue
            if answer.fatal:
                return self._failed(job, answer, attempts)
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
            if not answer.retryable or attempts > self._settings.retries:
                return outcomes.failed(job, answer, attempts)
            if self._stopping.is_set():
                return outcomes.failed(job, answer, attempts)
            await anyio.sleep(self._backoff.delay(attempts, answer.retry_after))

    def _mark_in_flight(self, job: Job) -> bool:
        """Journal the create about to be sent; False (and the run stops) if it cannot be."""
        if self._journal is None:
            return True
        try:
            self._journal.mark_in_flight(
                job.identity.login, job.account.email, row=job.row.number, digest=job.digest
            )
        except AbortError as err:
            self.abort(str(err))
            return False
        return True

    def abort(self, reason: str) -> None:
        """Stop the run for good (exit 3), as a fatal answer does: no more rows are sent;
        the creates in flight finish."""
        self.state.aborted = True
        self.stop(reason)

    def _failed(self, job: Job, answer: Verdict, attempts: int) -> Outcome:
        """Return `job` failed by `answer`; a fatal answer (a refused certificate, an unpaid
        portal), whether to a login, a listing or a create, stops the whole run."""
        if answer.fatal:
            self.abort(answer.message)
        return outcomes.failed(job, answer, attempts)

    def _not_attempted(self, job: Job, message: str = outcomes.NOT_SENT) -> None:
        """Hand back `job` as never sent because the run stopped."""
        self._finish(job, outcomes.not_attempted(job, message))

    def _record(self, job: Job, outcome: Outcome) -> None:
        journal = self._journal
        if journal is None or self._settings.dry_run or outcome.status not in _JOURNALED:
            return
        permanent = outcome.status is Status.FAILED and not outcome.transient
        try:
            journal.record(
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
        except AbortError as err:  # the outcome stands; the row's in-flight mark is journaled
            self.abort(str(err))


_JOURNALED = {
    Status.CREATED: "created",
    Status.UPDATED: "updated",
    Status.FAILED: "failed",
}
