"""The bounded worker pool that sends accounts to the portal, with retries and the journal.

A fixed number of workers, each with its own one-connection httpx client (one client with a
large pool does quadratic work per request: docs/performance.md §4), take the rows read a
bounded window ahead, so memory stays flat however many rows there are (§6). A worker is
handed only a row whose mail servers have room (run/servers.py, lookahead.py); a create a
mail server throttled is sent again later without using up --retries. Every job ends in
exactly one Outcome handed to `emit`, including the ones an interrupt leaves behind.

How many of the workers may have a create in flight is the `Concurrency` gate's to say
(fixed, or adaptive: run/concurrency.py); whether the portal can be reached at all is
`Health`'s (run/health.py): while it is down no worker takes a row, and when the run gives
up on it every row not sent is handed back as not attempted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Final

import anyio
import httpx
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from bulkmail.codes import Code
from bulkmail.errors import AbortError
from bulkmail.journal.store import Journal
from bulkmail.models import Outcome, Stage, Status
from bulkmail.portal.client import Created, Identity, PortalClient, Token, Verdict
from bulkmail.portal.lowering import mailbox_key
from bulkmail.run import outcomes
from bulkmail.run.concurrency import Concurrency, signal_of
from bulkmail.run.health import Health, Watched, probe
from bulkmail.run.identities import Acting, user_key
from bulkmail.run.jobs import Job
from bulkmail.run.lookahead import Lookahead, span, window
from bulkmail.run.retry import Backoff
from bulkmail.run.servers import MAX_THROTTLED, MailServers
from bulkmail.run.sessions import Sessions
from bulkmail.settings import PortalSettings

Emit = Callable[[int, Outcome], None]

MAX_OVERLOADS: Final = 20
"""Answers "busy, come back later" (429, 503) a create may get before it fails: they do not
use up --retries, since the portal did nothing with the request, and the concurrency
controller sends fewer at once after each."""
# Answers that say the request was not served: a proxy's or a gone portal's, or "busy".
_UNAVAILABLE: Final = frozenset({429, 502, 503, 504})
# Fatal answers of a login again after the portal ended a session (run/renewal.py).
_SESSION_LOST: Final = frozenset({Code.PORTAL_SESSION_ENDED, Code.PORTAL_LOGIN_FAILED})
PROBE_SECONDS: Final = 30.0  # the longest one mid-run probe of the portal may take


@dataclass(slots=True)
class RunState:
    """What the pool learned that outlives single rows."""

    aborted: bool = False
    reason: str = ""
    interrupted: bool = False
    servers: dict[str, Any] = field(default_factory=dict)  # MailServers.facts() at the end


class Runner:
    """Send every job through `settings.workers` workers; report each outcome once.

    `run_identity`: the run's --user when every row uses it; a refusal of its login then
    ends the run before any row is sent.
    """

    def __init__(
        self,
        settings: PortalSettings,
        client_factory: Callable[[], httpx.AsyncClient],
        emit: Emit,
        *,
        journal: Journal | None = None,
        backoff: Backoff | None = None,
        concurrency: Concurrency | None = None,
        health: Health | None = None,
        run_identity: Identity | None = None,
        acting: Acting | None = None,
        sessions: Sessions | None = None,
    ) -> None:
        self._settings = settings
        self._factory = client_factory
        self._emit = emit
        self._journal = journal
        self._backoff = backoff or Backoff()
        # Given when logins came before the run (--autofill portal): the same tokens, and a
        # refused login is not tried again.
        self._sessions = sessions or Sessions(self._backoff, settings.retries, acting)
        self._acting = acting
        self.concurrency = concurrency or Concurrency(settings)
        self.health = health or Health(settings.give_up_after)
        self._run_identity = run_identity
        self._stopping = anyio.Event()
        self._pending: dict[int, Job] = {}  # handed to the pool, no outcome yet
        self._sent: set[int] = set()  # rows in flight that sent a create at least once
        # seconds the portal took to answer the last create of each row in flight
        self._latency: dict[int, float] = {}
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
            self.health.release()  # workers waiting for a lost portal stop waiting
            self._servers.wake()  # workers may wait for a mail server's room

    def abort(self, reason: str) -> None:
        """End the run for `reason` (exit 3): no more rows are sent."""
        self.state.aborted = True
        self.state.reason = self.state.reason or reason
        self._stopping.set()
        self.health.release()
        self._servers.wake()

    def session_facts(self) -> dict[str, int]:
        """Return how many sessions the portal ended in the run and how many logins again
        replaced them (run/renewal.py), for summary.json."""
        return self._sessions.facts()

    async def run(self, jobs: Iterable[Job]) -> RunState:
        """Send `jobs` and return when every one has an outcome (or the run was stopped)."""
        await self._check_run_login()
        concurrency = self.concurrency.workers  # 1 or more: PortalSettings checks it
        # Portal users of the rows read, for warmers to log in and list before a worker needs
        # them. Rows are read at most a window ahead of the workers (lookahead.py), so few
        # wait here; each is sent once.
        users_send, users_receive = anyio.create_memory_object_stream[Identity](math.inf)
        ahead = self._lookahead(jobs, partial(self._read, users_send, set()))
        try:
            async with anyio.create_task_group() as warming:
                pool_scope = anyio.CancelScope()
                warming.start_soon(self.health.watch, self._probe, partial(self._gone, pool_scope))
                for _ in range(concurrency):
                    warming.start_soon(self._warmer, users_receive.clone())
                users_receive.close()
                with pool_scope:
                    async with users_send, anyio.create_task_group() as pool:
                        for _ in range(concurrency):
                            pool.start_soon(self._worker, ahead)
                warming.cancel_scope.cancel()  # every row has its outcome: nothing to warm
            for job in ahead.rest():  # the run stopped: the rest is never sent
                self._unsent(job)
        finally:
            # Jobs still queued when the pool was cancelled never reached a worker.
            for job in list(self._pending.values()):
                self._unsent(job)
            self.state.servers = self._servers.facts()
            await self._end_sessions()
        return self.state

    async def _end_sessions(self) -> None:
        """End the impersonated sessions still open, even after an interrupt (bounded)."""
        if self._acting is None or not self._acting.live:
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(PROBE_SECONDS):
            async with self._factory() as client:
                await self._sessions.end_all(PortalClient(client))

    def _gone(self, pool: anyio.CancelScope, reason: str) -> None:
        """End the run given up on the portal: workers still backing off between retries
        are cut short (their rows end not attempted or interrupted), since nothing they
        would send could be answered."""
        self.abort(reason)
        pool.cancel()

    async def _check_run_login(self) -> None:
        """Log the run's --user in before any row, when every row uses it: a refusal then
        ends the run, and each row fails with it, none sent."""
        if self._run_identity is None or self._stopping.is_set():
            return
        async with self._factory() as client:
            token = await self._sessions.token(Watched(client, self.health), self._run_identity)
        if isinstance(token, Verdict) and not token.retryable:
            self.abort(f"the portal refused the login of --user {self._run_identity.login}")

    async def _probe(self) -> object:
        async with self._factory() as client:
            return await probe(PortalClient(client), min(PROBE_SECONDS, self._settings.timeout))

    def _read(self, users_send: MemoryObjectSendStream[Identity], seen: set[str], job: Job) -> None:
        """Take `job` on as the run's, and have its portal user warmed once."""
        self._pending[job.index] = job
        user = user_key(job.identity.login)
        if user not in seen:
            seen.add(user)
            users_send.send_nowait(job.identity)

    def _lookahead(self, jobs: Iterable[Job], read: Callable[[Job], None]) -> Lookahead:
        """Return the rows to hand out, each let in on its mail servers (lookahead.py).

        Workers take rows from it themselves, so a row is let in only when a worker is free
        to send it: a row let in with no worker to send it would hold its servers' room while
        rows waiting to be sent again wait for that room, with every worker.
        """
        workers = self.concurrency.workers
        return Lookahead(
            iter(jobs),
            self._servers,
            window(workers),
            on_read=read,
            on_stopped=self._held_back,
            oldest=lambda: next(iter(self._pending), None),  # rows are taken on in input order
            span=span(workers),
        )

    async def _worker(self, ahead: Lookahead) -> None:
        async with AsyncExitStack() as stack:
            portal: PortalClient | None = None  # a client once there is work for it
            # While the portal is down no worker takes a row (health.py).
            while await self.health.ready() and (job := await ahead.next(self._stopping)):
                portal = portal or Watched(
                    await stack.enter_async_context(self._factory()), self.health
                )
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
                portal = portal or Watched(
                    await stack.enter_async_context(self._factory()), self.health
                )
                token = await self._sessions.token(portal, identity)
                if not isinstance(token, Verdict):
                    await self._sessions.existing(portal, identity, token)

    async def _guarded(self, portal: PortalClient, job: Job) -> None:
        started = time.perf_counter()
        try:
            outcome = await self._process(portal, job)
            while self._lost(outcome):
                # The portal went away under this row: wait for it, then send it again
                # (the portal keeps one account per address: a create that got through is
                # overwritten with the same settings, never doubled).
                if not await self.health.ready():
                    outcome = self._given_up(job, outcome)
                    break
                outcome = await self._process(portal, job)
        except anyio.get_cancelled_exc_class():
            if job.index in self._sent:  # a create may have reached the portal
                cut = outcomes.not_attempted(job, outcomes.CUT_SHORT, Code.INTERRUPTED)
            else:
                cut = outcomes.not_attempted(job, self.state.reason or outcomes.NOT_SENT)
            self._finish(job, cut)
            raise
        elapsed = round(time.perf_counter() - started, 3)
        outcome = replace(outcome, elapsed=elapsed, latency=self._latency.pop(job.index, 0.0))
        self._record(job, outcome)
        self._finish(job, outcome)
        await self._sessions.finished(portal, job.identity)

    def _lost(self, outcome: Outcome) -> bool:
        """Return whether `outcome` is a network failure (or a gateway's or an unavailable
        portal's answer) while the portal counts as down."""
        failed = outcome.status is Status.FAILED and (
            outcome.stage is Stage.NETWORK or outcome.http_status in _UNAVAILABLE
        )
        return failed and self.health.down

    def _given_up(self, job: Job, last: Outcome) -> Outcome:
        """Return the outcome of a row the run gave up on with the portal: not attempted, or
        interrupted when a create may have reached it (a re-run looks it up first)."""
        sent = last.attempts > 0 and last.code != Code.CONNECT_FAILED
        code = Code.INTERRUPTED if sent else Code.NOT_ATTEMPTED
        message = outcomes.CUT_SHORT if sent else self.state.reason or outcomes.NOT_SENT
        return outcomes.not_attempted(job, message, code)

    def _finish(self, job: Job, outcome: Outcome) -> None:
        self._pending.pop(job.index, None)
        self._latency.pop(job.index, None)
        self._sent.discard(job.index)
        self._servers.release(job.index)
        self._emit(job.index, outcome)

    async def _process(self, portal: PortalClient, job: Job) -> Outcome:
        token = await self._sessions.token(portal, job.identity)
        if isinstance(token, Verdict):
            return self._refused(job, token, attempts=0)
        existing = await self._sessions.existing(portal, job.identity, token)
        if isinstance(existing, Verdict):
            return self._failed(job, existing, attempts=0)
        email = mailbox_key(job.account.email)  # as list_accounts keys them
        own = existing.portal.get(email)
        if own is not None:  # whatever --if-exists says: the portal's own mail is not ours
            return outcomes.portal_own(job, own)
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
            outcome = outcomes.done(job, status, before)
        else:
            # An update goes to the address the portal lists: typed another way, the portal
            # might lower it to another address and add a look-alike account.
            typed = job.account.email
            address = typed if before is None else existing.address_for(typed)
            outcome = await self._create(portal, job, token, before, address)
        return outcomes.kept_disabled(outcome) if email in existing.disabled else outcome

    async def _create(
        self, portal: PortalClient, job: Job, token: Token, before: int | None, address: str
    ) -> Outcome:
        created = Status.UPDATED if before is not None else Status.CREATED
        payload = job.account.payload() | {"email": address}
        attempts, overloads, renewals, throttled, answer = 0, 0, 0, 0, None
        while True:
            earlier = answer  # the answer that stands if nothing more is sent (never a 401)
            if self._servers.stopped(job.account) is not None:
                return self._stopped_outcome(job)
            attempts += 1
            async with self.concurrency.slot(job.account.server) as slot:
                if self._stopping.is_set():  # stopped while it waited for a place: not sent
                    return self._not_sent(job, answer, attempts - 1)
                # Journaled as in flight only now, when nothing stands between it and the send.
                if not self._mark_in_flight(job):  # the journal failed: send nothing more
                    if isinstance(answer, Verdict):  # a retry's: the earlier answer stands
                        return outcomes.failed(job, answer, attempts - 1)
                    return outcomes.not_attempted(job, outcomes.JOURNAL_FAILED)
                self._sent.add(job.index)
                sent_at = time.perf_counter()
                slot.answer = answer = await portal.create(token, payload)
                self._latency[job.index] = round(time.perf_counter() - sent_at, 4)
            if isinstance(answer, Created):
                self._servers.succeeded(job.index)
                return outcomes.done(job, created, answer.mailbox_id, attempts=attempts)
            if answer.code is not Code.PORTAL_UNAUTHORIZED:
                renewals = 0  # the session lived to this answer: a later 401 is not at once
            if self._servers.failed(job.index, answer):  # throttled: not the row's fault
                if throttled >= MAX_THROTTLED:
                    return outcomes.failed(job, answer, attempts)
                if not await self._wait_for_room(job, throttled + 1):  # nothing was stored
                    return outcomes.not_attempted(job, self.state.reason or outcomes.NOT_SENT)
                throttled += 1
                continue
            if answer.code is Code.PORTAL_UNAUTHORIZED:
                # The portal ended the session (run/renewal.py) and did nothing with the
                # create: log in again (once for every worker) and send it again, not
                # counted as an attempt of the row.
                renewals, attempts = renewals + 1, attempts - 1  # 401s in a row
                session = self._sessions.session_of(job.identity)
                fresh = await session.replace(portal, token, renewals)
                if isinstance(fresh, Verdict):
                    return self._refused(job, fresh, attempts)
                token, answer = fresh, earlier  # the 401 did nothing: it is no row's answer
                continue
            if answer.fatal:
                return self._failed(job, answer, attempts)
            if answer.ambiguous and before is None:
                found = await self._sessions.session_of(job.identity).retried(
                    portal,
                    partial(_find, portal, email=job.account.email),
                    self._backoff,
                    self._settings.retries,
                    token,
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
            if signal_of(answer) == "overload" and overloads < MAX_OVERLOADS:
                overloads += 1  # "busy, come back later": not a failed attempt
            if not answer.retryable or attempts - overloads - throttled > self._settings.retries:
                return outcomes.failed(job, answer, attempts)
            if self._stopping.is_set():
                return outcomes.failed(job, answer, attempts)
            await anyio.sleep(self._backoff.delay(attempts, answer.retry_after))
            if not await self.health.ready():
                return outcomes.failed(job, answer, attempts)

    def _not_sent(self, job: Job, earlier: Created | Verdict | None, attempts: int) -> Outcome:
        """Return the outcome of a row whose next create is not sent: the run stopped. An
        earlier attempt's answer stands; with none, the row is not attempted."""
        if isinstance(earlier, Verdict):
            return outcomes.failed(job, earlier, attempts)
        return outcomes.not_attempted(job, self.state.reason or outcomes.NOT_SENT)

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

    def _failed(self, job: Job, answer: Verdict, attempts: int) -> Outcome:
        """Return `job` failed by `answer`; a fatal answer (a refused certificate, an unpaid
        portal), whether to a login, a listing or a create, stops the whole run. A session
        the portal ended and that cannot be had again (run/renewal.py) is not the row's
        fault: it is not attempted, and the same command sends it later."""
        if answer.fatal:
            self.abort(answer.message)
        if answer.code in _SESSION_LOST and answer.fatal:
            return outcomes.not_attempted(job, answer.message)
        return outcomes.failed(job, answer, attempts)

    def _refused(self, job: Job, answer: Verdict, attempts: int) -> Outcome:
        """Return the outcome of a row whose user has no token: the run's --user refused
        (again, after the portal ended its session) stops the run, as before any row."""
        run = self._run_identity
        ours = run is not None and user_key(run.login) == user_key(job.identity.login)
        if run is not None and ours and not answer.retryable and not answer.fatal:
            self.abort(f"the portal refused the login of --user {run.login}: {answer.message}")
        return self._failed(job, answer, attempts)

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

    def _unsent(self, job: Job) -> None:
        """Hand back `job`, never sent: failed if its user's login was refused, else not
        attempted (the same command sends it later)."""
        refused = self._sessions.refusal(job.identity)
        if refused is not None and not refused.fatal:  # a fatal one stopped the run
            self._finish(job, outcomes.failed(job, refused, attempts=0))
        else:
            self._not_attempted(job)

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
                stage=str(outcome.stage or ""),
            )
        except AbortError as err:  # the outcome stands; the row's in-flight mark is journaled
            self.abort(str(err))


def _find(portal: PortalClient, token: Token, *, email: str) -> Awaitable[int | Verdict | None]:
    return portal.find_account(token, email)


_JOURNALED = {
    Status.CREATED: "created",
    Status.UPDATED: "updated",
    Status.FAILED: "failed",
}
