"""The worker pool against a scripted in-memory portal (httpx.MockTransport).

The fake here is deliberately small: each email has a script of answers per attempt, so a
test states exactly which failures happen and checks what the pool did about them. The
end-to-end behaviour against the real simulator is in test_import_e2e.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from bulkmail.journal.store import Journal
from bulkmail.models import Account, Outcome, Row, Stage, Status
from bulkmail.portal.client import Identity
from bulkmail.run.jobs import Job
from bulkmail.run.pool import MAX_OVERLOADS, Runner
from bulkmail.run.retry import Backoff
from bulkmail.run.servers import MAX_THROTTLED
from bulkmail.secrets import scrub
from bulkmail.settings import START_CONCURRENCY, PortalSettings

pytestmark = pytest.mark.anyio
HANG = 60  # seconds: a test that waits this long for its run is hung, not slow

OK_LOGIN = {
    "count": 1,
    "status": 0,
    "statusCode": 201,
    "response": {"token": "tok-{user}", "expires": "2027-01-01T00:00:00.0000000+03:00"},
}


def _error(status: int, message: str) -> httpx.Response:
    body = {
        "status": 1,
        "statusCode": status,
        "error": {"message": message, "hresult": -2146233088, "data": {}},
    }
    return httpx.Response(status, json=body)


@dataclass
class FakePortal:
    passwords: dict[str, str]
    scripts: dict[str, list[str]] = field(default_factory=dict)  # email -> answers per attempt
    existing: dict[str, dict[str, int]] = field(default_factory=dict)  # user -> email -> id
    delay: float = 0.0
    together: int = 0  # creates wait until this many are in flight at once
    after: str = ""  # creates wait until this entry is in the log
    on_created: Callable[[str], None] | None = None  # told each stored email, before answering
    logins: Counter[str] = field(default_factory=Counter)
    creates: Counter[tuple[str, str]] = field(default_factory=Counter)
    in_flight: Counter[tuple[str, str]] = field(default_factory=Counter)
    max_same_key: int = 0
    max_concurrent: int = 0
    clients: int = 0  # clients the runner built
    log: list[str] = field(default_factory=list)  # logins, listings and finished creates
    _concurrent: int = 0
    _next_id: int = 100
    _go: anyio.Event | None = None  # set once `together` and `after` are met

    def _note(self, entry: str) -> None:
        self.log.append(entry)
        self._check()

    def _check(self) -> None:
        if self._go is None:
            self._go = anyio.Event()
        if self._concurrent >= self.together and (not self.after or self.after in self.log):
            self._go.set()

    def _user(self, request: httpx.Request) -> str | None:
        token = request.headers.get("authorization", "")
        return token.removeprefix("tok-") if token.startswith("tok-") else None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/authentication"):
            body = json.loads(request.content)
            self.logins[body["userName"]] += 1
            self._note(f"login {body['userName']}")
            if self.passwords.get(body["userName"]) != body["password"]:
                return _error(500, "User authentication failed")
            return httpx.Response(
                201, json=json.loads(json.dumps(OK_LOGIN).replace("{user}", body["userName"]))
            )
        user = self._user(request)
        if user is None:
            return httpx.Response(401, text="Unauthorized")
        mine = self.existing.setdefault(user, {})
        if path.endswith("/accounts/single"):
            email = request.url.params["email"].lower()
            if email in mine:
                return httpx.Response(200, json={"status": 0, "response": {"id": mine[email]}})
            return _error(500, f"Account wasn't found by email: {email}")
        if request.method == "GET":
            self._note(f"list {user}")
            items = [
                {"mailboxId": i, "email": e, "isAlias": False, "isGroup": False}
                for e, i in mine.items()
            ]
            return httpx.Response(200, json={"status": 0, "statusCode": 200, "response": items})
        return await self._create(user, json.loads(request.content))

    async def _create(self, user: str, body: dict[str, Any]) -> httpx.Response:
        key = (user, body["email"].lower())
        self.in_flight[key] += 1
        self._concurrent += 1
        self.max_same_key = max(self.max_same_key, self.in_flight[key])
        self.max_concurrent = max(self.max_concurrent, self._concurrent)
        try:
            self._check()
            assert self._go is not None
            await self._go.wait()
            await anyio.sleep(self.delay)
            script = self.scripts.get(key[1], [])
            answer = script.pop(0) if script else "ok"
            if answer == "402":
                return _error(402, "PaymentRequired")
            if answer == "401":  # the portal ended the session: the token is dead
                return httpx.Response(401, text="Unauthorized")
            if answer in ("502", "503"):
                return httpx.Response(int(answer), headers={"Retry-After": "0"}, text="busy")
            if answer == "throttled":
                return _error(
                    500,
                    '<span class="attempt_header">IMAP response:</span><br/>'
                    "[ALERT] Too many simultaneous connections. (Failure)",
                )
            if answer == "refused":
                return _error(
                    500,
                    '<span class="attempt_header">IMAP response:</span><br/>'
                    "Invalid credentials (Failure)",
                )
            self.creates[key] += 1
            self._note(f"created {key[1]}")
            self._next_id += 1
            self.existing[user][key[1]] = self._next_id
            if self.on_created is not None:
                self.on_created(key[1])
            if answer == "drop":  # saved, then the connection dies before the answer
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            return httpx.Response(
                201,
                json={
                    "count": 1,
                    "status": 0,
                    "statusCode": 201,
                    "response": {"mailboxId": self._next_id, "email": body["email"]},
                },
            )
        finally:
            self.in_flight[key] -= 1
            self._concurrent -= 1


def _job(index: int, user: str, password: str, email: str, host: str = "") -> Job:
    """Return the job of row `index`; its mail servers are its own unless `host` names them
    (mail.example.org for both sides), so the per-server limits bind only where a test says."""
    host = host or f"mail{index}.example.org"
    account = Account(
        email=email,
        name="",
        account=email,
        password="mailbox-pass",
        server=host,
        port=993,
        imap=True,
        incoming_encryption_type=1,
        auth_type_in=1,
        smtp_server=host.upper(),  # the same server, as a host name is case-insensitive
        smtp_port=465,
        smtp_auth=True,
        smtp_account=email,
        smtp_password="mailbox-pass",
        outcoming_encryption_type=1,
        auth_type_smtp=1,
        restrict=False,
        portal_user=user,
        portal_password=password,
    )
    return Job(
        index=index, row=Row(index + 2, ()), account=account, identity=Identity(user, password)
    )


def _runner(
    portal: FakePortal, journal: Journal | None = None, **settings: Any
) -> tuple[Runner, dict[int, Outcome]]:
    """Return a runner over `portal` and the outcomes it reports, each row at most once."""
    outcomes: dict[int, Outcome] = {}

    def emit(index: int, outcome: Outcome) -> None:
        assert index not in outcomes, f"row {index} reported twice"
        outcomes[index] = outcome

    transport = httpx.MockTransport(portal)

    def client() -> httpx.AsyncClient:
        portal.clients += 1
        return httpx.AsyncClient(transport=transport, base_url="http://portal.test")

    runner = Runner(
        PortalSettings(url="http://portal.test", state=None, **settings),
        client,
        emit,
        journal=journal,
        backoff=Backoff(base=0.001),
    )
    return runner, outcomes


async def _run(portal: FakePortal, jobs: list[Job], **settings: Any) -> dict[int, Outcome]:
    runner, outcomes = _runner(portal, **settings)
    await runner.run(jobs)
    return outcomes


async def test_every_row_is_created_once_and_logins_happen_once_per_user() -> None:
    # No create is answered before 8 are in flight: a pool of fewer workers would hang.
    portal = FakePortal({"anna@corp.test": "pa", "ivan@corp.test": "pi"}, together=8)
    jobs = [
        _job(
            i,
            "anna@corp.test" if i % 2 else "ivan@corp.test",
            "pa" if i % 2 else "pi",
            f"box{i}@mail.test",
        )
        for i in range(40)
    ]
    with anyio.fail_after(HANG):
        outcomes = await _run(portal, jobs, concurrency=8)
    assert sorted(outcomes) == list(range(40))
    assert {o.status for o in outcomes.values()} == {Status.CREATED}
    assert sum(portal.creates.values()) == 40 and set(portal.creates.values()) == {1}
    assert portal.logins == Counter({"anna@corp.test": 1, "ivan@corp.test": 1})
    assert portal.max_concurrent == 8


async def test_later_users_are_logged_in_and_listed_while_earlier_rows_are_created() -> None:
    users = ["anna", "ivan", "olga"]
    # No create is answered before olga is listed: with one worker and no warmers, anna's
    # create would wait for ever.
    portal = FakePortal({f"{u}@corp.test": "pw" for u in users}, after="list olga@corp.test")
    jobs = [_job(i, f"{u}@corp.test", "pw", f"{u}@mail.test") for i, u in enumerate(users)]
    with anyio.fail_after(HANG):
        outcomes = await _run(portal, jobs, concurrency=1)
    assert {o.status for o in outcomes.values()} == {Status.CREATED}
    assert portal.log.index("list olga@corp.test") < portal.log.index("created anna@mail.test")
    assert portal.logins == Counter({f"{u}@corp.test": 1 for u in users})
    assert [e for e in portal.log if e.startswith("list")] == [f"list {u}@corp.test" for u in users]


async def test_clients_are_built_for_work_not_for_every_slot() -> None:
    portal = FakePortal({"anna@corp.test": "pw"})
    await _run(portal, [_job(0, "anna@corp.test", "pw", "a@mail.test")], concurrency=50)
    assert portal.clients == 2  # the worker that got the row, the warmer that got its user


async def test_a_wrong_portal_password_is_tried_exactly_once() -> None:
    portal = FakePortal({"anna@corp.test": "right"})
    jobs = [_job(i, "anna@corp.test", "wrong", f"box{i}@mail.test") for i in range(6)]
    outcomes = await _run(portal, jobs, concurrency=4, retries=5)
    assert portal.logins["anna@corp.test"] == 1
    assert {(o.status, o.stage, o.code) for o in outcomes.values()} == {
        (Status.FAILED, Stage.LOGIN, "portal-login-failed")
    }
    assert not portal.creates


async def test_503_with_retry_after_is_retried_until_created() -> None:
    portal = FakePortal({"u@corp.test": "p"}, scripts={"a@mail.test": ["503", "503"]})
    outcomes = await _run(portal, [_job(0, "u@corp.test", "p", "a@mail.test")], retries=3)
    assert outcomes[0].status is Status.CREATED and outcomes[0].attempts == 3
    assert portal.creates[("u@corp.test", "a@mail.test")] == 1


async def test_a_session_that_ends_again_after_busy_answers_is_logged_in_again() -> None:
    """Each 401 after a busy answer and its wait is a session that ended again (a short
    session lifetime, a portal under load), not a new session refused at once: the row is
    created, with a login each time, and the run goes on."""
    script = ["401", "503", "401", "503", "401", "503", "401", "ok"]
    portal = FakePortal({"u@corp.test": "p"}, scripts={"a@mail.test": script})
    runner, outcomes = _runner(portal, retries=3)
    with anyio.fail_after(HANG):
        state = await runner.run([_job(0, "u@corp.test", "p", "a@mail.test")])
    assert not state.aborted, state.reason
    assert (outcomes[0].status, outcomes[0].attempts) == (Status.CREATED, 4)
    assert portal.logins["u@corp.test"] == 5  # the first, and one for each 401


async def test_retries_stop_at_the_limit_and_report_the_last_answer() -> None:
    portal = FakePortal({"u@corp.test": "p"}, scripts={"a@mail.test": ["502"] * 5})
    outcomes = await _run(portal, [_job(0, "u@corp.test", "p", "a@mail.test")], retries=2)
    failed = outcomes[0]
    assert (failed.status, failed.code, failed.attempts, failed.http_status) == (
        Status.FAILED,
        "portal-unavailable",
        3,
        502,
    )
    assert failed.transient


async def test_busy_answers_do_not_use_up_retries_but_have_their_own_limit() -> None:
    script = ["503"] * (MAX_OVERLOADS + 3) + ["ok"]
    portal = FakePortal({"u@corp.test": "p"}, scripts={"a@mail.test": list(script)})
    outcomes = await _run(portal, [_job(0, "u@corp.test", "p", "a@mail.test")], retries=2)
    failed = outcomes[0]  # 20 busy answers are free, the next three use up the retries
    assert (failed.status, failed.code, failed.attempts) == (
        Status.FAILED,
        "portal-unavailable",
        MAX_OVERLOADS + 3,
    )
    portal = FakePortal({"u@corp.test": "p"}, scripts={"a@mail.test": script[3:]})
    outcomes = await _run(portal, [_job(0, "u@corp.test", "p", "a@mail.test")], retries=2)
    assert (outcomes[0].status, outcomes[0].attempts) == (Status.CREATED, MAX_OVERLOADS + 1)


async def test_a_dropped_answer_after_the_create_is_found_not_sent_again() -> None:
    portal = FakePortal({"u@corp.test": "p"}, scripts={"a@mail.test": ["drop"]})
    outcomes = await _run(portal, [_job(0, "u@corp.test", "p", "a@mail.test")])
    assert outcomes[0].status is Status.CREATED
    assert outcomes[0].mailbox_id == portal.existing["u@corp.test"]["a@mail.test"]
    assert portal.creates[("u@corp.test", "a@mail.test")] == 1
    # The report says how it was found: the answer was lost, the look-up found the account.
    assert outcomes[0].code == "found-after-loss"
    assert outcomes[0].message.startswith("its answer was lost (the connection to the portal")


async def test_a_refused_mailbox_login_is_not_retried() -> None:
    portal = FakePortal({"u@corp.test": "p"}, scripts={"a@mail.test": ["refused"] * 3})
    outcomes = await _run(portal, [_job(0, "u@corp.test", "p", "a@mail.test")], retries=3)
    assert (outcomes[0].code, outcomes[0].attempts, outcomes[0].stage) == (
        "mailbox-login-refused",
        1,
        Stage.PORTAL,
    )
    assert portal.scripts["a@mail.test"] == ["refused", "refused"]  # two answers never asked


async def test_existing_accounts_are_skipped_or_updated_as_asked() -> None:
    existing = {"u@corp.test": {"old@mail.test": 7}}
    portal = FakePortal({"u@corp.test": "p"}, existing={k: dict(v) for k, v in existing.items()})
    jobs = [
        _job(0, "u@corp.test", "p", "Old@Mail.test"),
        _job(1, "u@corp.test", "p", "new@mail.test"),
    ]
    skipped = await _run(portal, jobs)
    assert (skipped[0].status, skipped[0].mailbox_id) == (Status.SKIPPED, 7)
    assert skipped[1].status is Status.CREATED

    portal = FakePortal({"u@corp.test": "p"}, existing={k: dict(v) for k, v in existing.items()})
    updated = await _run(portal, jobs[:1], if_exists="update")
    assert updated[0].status is Status.UPDATED
    assert portal.creates[("u@corp.test", "old@mail.test")] == 1


async def test_dry_run_creates_nothing_and_says_what_it_would_do() -> None:
    portal = FakePortal({"u@corp.test": "p"}, existing={"u@corp.test": {"old@mail.test": 7}})
    jobs = [
        _job(0, "u@corp.test", "p", "old@mail.test"),
        _job(1, "u@corp.test", "p", "n@mail.test"),
    ]
    outcomes = await _run(portal, jobs, dry_run=True)
    assert [outcomes[i].status for i in (0, 1)] == [Status.SKIPPED, Status.WOULD_CREATE]
    assert not portal.creates


async def test_a_stop_reports_the_rest_as_not_attempted() -> None:
    portal = FakePortal({"u@corp.test": "p"})
    jobs = [_job(i, "u@corp.test", "p", f"b{i}@mail.test") for i in range(30)]
    runner, outcomes = _runner(portal, concurrency=2)
    portal.on_created = lambda email: runner.stop()  # stop while the first create is answered
    await runner.run(jobs)
    statuses = Counter(o.status for o in outcomes.values())
    assert sorted(outcomes) == list(range(30))
    # The one that stopped the run and the other worker's, if it was in flight: both finish.
    assert 1 <= statuses[Status.CREATED] == sum(portal.creates.values()) <= 2
    assert statuses[Status.NOT_ATTEMPTED] == 30 - statuses[Status.CREATED]
    assert runner.state.interrupted


async def test_a_portal_that_is_not_paid_aborts_the_run() -> None:
    portal = FakePortal({"u@corp.test": "p"}, scripts={"b0@mail.test": ["402"]}, delay=0.01)
    jobs = [_job(i, "u@corp.test", "p", f"b{i}@mail.test") for i in range(20)]
    runner, outcomes = _runner(portal, concurrency=1)
    state = await runner.run(jobs)
    assert state.aborted and "PaymentRequired" in state.reason
    assert (outcomes[0].status, outcomes[0].code) == (Status.FAILED, "portal-not-paid")
    assert {o.status for i, o in outcomes.items() if i} == {Status.NOT_ATTEMPTED}
    assert sorted(outcomes) == list(range(20)) and not portal.creates


async def test_the_in_flight_mark_is_committed_before_each_create_is_sent(tmp_path: Path) -> None:
    """Marks are gathered into shared commits, but none may be sent before its commit."""
    journal_path = tmp_path / "journal.sqlite"
    seen: list[bool] = []

    class Watching(FakePortal):
        async def _create(self, user: str, body: dict[str, Any]) -> httpx.Response:
            with sqlite3.connect(journal_path) as other:  # sees committed data only
                rows = other.execute("SELECT email FROM entries WHERE state = 'in-flight'")
                seen.append(body["email"].lower() in {r[0] for r in rows})
            return await super()._create(user, body)

    portal = Watching({"u@corp.test": "p"}, delay=0.005)
    jobs = [_job(i, "u@corp.test", "p", f"b{i}@mail.test") for i in range(40)]
    with Journal.open(journal_path, "http://portal.test") as journal:
        runner, outcomes = _runner(portal, journal, concurrency=8)
        await runner.run(jobs)
    assert len(seen) == 40 and all(seen)
    assert {o.status for o in outcomes.values()} == {Status.CREATED}


async def test_each_token_a_login_returns_is_masked_in_every_output_from_then_on() -> None:
    portal = FakePortal({"anna@corp.test": "pa", "ivan@corp.test": "pi"})
    jobs = [_job(0, "anna@corp.test", "pa", "a@x.org"), _job(1, "ivan@corp.test", "pi", "b@x.org")]
    assert scrub("tok-anna@corp.test") == "tok-anna@corp.test"
    await _run(portal, jobs)
    assert scrub("echo tok-anna@corp.test, tok-ivan@corp.test") == "echo ********, ********"


async def test_a_throttled_row_is_sent_again_without_using_up_its_retries() -> None:
    script = ["throttled"] * 4 + ["503", "throttled"]
    portal = FakePortal({"u@corp.test": "p"}, scripts={"b0@mail.test": script})
    outcomes = await _run(portal, [_job(0, "u@corp.test", "p", "b0@mail.test")], retries=1)
    assert (outcomes[0].status, outcomes[0].attempts) == (Status.CREATED, 7)
    assert sum(portal.creates.values()) == 1


async def test_a_row_throttled_past_the_bound_ends_failed_and_transient() -> None:
    script = ["throttled"] * (MAX_THROTTLED + 5)
    portal = FakePortal({"u@corp.test": "p"}, scripts={"b0@mail.test": script})
    runner, outcomes = _runner(portal, retries=3)
    state = await runner.run([_job(0, "u@corp.test", "p", "b0@mail.test")])
    failed = outcomes[0]
    assert (failed.status, failed.code, failed.transient) == (
        Status.FAILED,
        "mailbox-throttled",
        True,
    )
    assert failed.attempts == MAX_THROTTLED + 1 and not portal.creates
    assert state.servers["eventful"]["mail0.example.org"]["throttled"] == MAX_THROTTLED + 1


async def test_refused_logins_stop_a_server_at_its_budget_and_hold_back_its_rows() -> None:
    """Ten rows of one mail server with stale passwords and one row elsewhere: the server
    refuses two logins, then its other rows are not sent."""
    bad = {f"b{i}@mail.test": ["refused"] for i in range(10)}
    portal = FakePortal({"u@corp.test": "p"}, scripts=bad)
    jobs = [
        _job(i, "u@corp.test", "p", f"b{i}@mail.test", host="Stale.example.org") for i in range(10)
    ]
    jobs.append(_job(10, "u@corp.test", "p", "fine@mail.test"))
    runner, outcomes = _runner(portal, concurrency=8, per_server=8, max_login_failures=2)
    state = await runner.run(jobs)
    codes = Counter(o.code for o in outcomes.values())
    # A server starts at one row and goes back to one after a refusal: two were sent.
    assert codes == Counter({"mailbox-login-refused": 2, "login-failures-limit": 8, "": 1})
    held = [o for o in outcomes.values() if o.code == "login-failures-limit"]
    assert {o.status for o in held} == {Status.NOT_ATTEMPTED}
    assert "stale.example.org refused 2 logins" in held[0].message
    assert "passwords" in held[0].hint
    assert outcomes[10].status is Status.CREATED
    assert state.servers["stopped"] == ["stale.example.org"]


async def test_rows_waiting_to_be_sent_again_never_wait_on_a_row_no_worker_holds() -> None:
    """Two workers, one server: every row is throttled once. While both workers back off, a
    row must not be let in on the server without a worker to send it, or they wait for ever."""
    throttled_once = {f"b{i}@mail.test": ["throttled"] for i in range(6)}
    portal = FakePortal({"u@corp.test": "p"}, scripts=throttled_once)
    jobs = [
        _job(i, "u@corp.test", "p", f"b{i}@mail.test", host="one.example.org") for i in range(6)
    ]
    runner, outcomes = _runner(portal, concurrency=2, per_server=2)
    with anyio.fail_after(HANG):
        await runner.run(jobs)
    assert {o.status for o in outcomes.values()} == {Status.CREATED}


@dataclass
class StoppingPortal(FakePortal):
    """A FakePortal that stops `runner` as each create is answered."""

    runner: Runner | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        answer = await super().__call__(request)
        create = request.method == "POST" and request.url.path.endswith("/mail/accounts")
        if create and self.runner is not None:
            self.runner.stop("interrupted by SIGINT")
        return answer


async def test_a_row_throttled_when_the_run_is_stopped_is_not_attempted_not_failed() -> None:
    """A throttling answer means the portal stored nothing and the row did not fail: when an
    interrupt ends its wait to be sent again, it is not attempted (a re-run sends it)."""
    portal = StoppingPortal({"u@corp.test": "p"}, scripts={"b0@mail.test": ["throttled"] * 3})
    runner, outcomes = _runner(portal)
    portal.runner = runner  # stopped while the row waits to be sent again
    with anyio.fail_after(HANG):
        await runner.run([_job(0, "u@corp.test", "p", "b0@mail.test")])
    assert (outcomes[0].status, outcomes[0].code) == (Status.NOT_ATTEMPTED, "not-attempted")
    assert not portal.creates


async def test_a_row_stopped_after_a_401_is_not_attempted_not_failed_by_the_401(
    tmp_path: Path,
) -> None:
    """A 401 means the session ended and the portal did nothing: when the run stops before
    the create is sent again, the row is not attempted (kept in flight: the same command
    checks and sends it), never failed for good with the 401."""
    portal = StoppingPortal({"u@corp.test": "p"}, scripts={"b0@mail.test": ["401"]})
    with Journal.open(tmp_path / "journal.sqlite", "http://portal.test") as journal:
        runner, outcomes = _runner(portal, journal)
        portal.runner = runner  # stopped as the 401 is answered, before the create again
        with anyio.fail_after(HANG):
            await runner.run([_job(0, "u@corp.test", "p", "b0@mail.test")])
        entry = journal.lookup("u@corp.test", "b0@mail.test")
    assert (outcomes[0].status, outcomes[0].code) == (Status.NOT_ATTEMPTED, "not-attempted")
    assert entry is not None and entry.state == "in-flight"
    assert not portal.creates


async def test_rows_waiting_for_a_place_in_flight_are_not_sent_once_the_run_stops() -> None:
    """Adaptive concurrency runs more workers than it lets send: those waiting at the gate
    when the run stops (Ctrl-C, a fatal answer) must not send their rows afterwards."""
    portal = StoppingPortal({"u@corp.test": "p"}, together=START_CONCURRENCY)
    jobs = [_job(i, "u@corp.test", "p", f"b{i}@mail.test") for i in range(40)]
    runner, outcomes = _runner(portal, concurrency=None, max_concurrency=4 * START_CONCURRENCY)
    portal.runner = runner  # stopped as the first create is answered
    with anyio.fail_after(HANG):
        await runner.run(jobs)
    statuses = Counter(o.status for o in outcomes.values())
    assert sum(portal.creates.values()) == statuses[Status.CREATED] == START_CONCURRENCY
    assert statuses[Status.NOT_ATTEMPTED] == 40 - START_CONCURRENCY


async def test_rows_stopped_at_the_gate_are_never_journaled_in_flight(tmp_path: Path) -> None:
    """A row journaled in flight makes a re-run look it up first, as if a create may have
    reached the portal: only a row past the gate, about to be sent, may be marked so."""
    portal = StoppingPortal({"u@corp.test": "p"}, together=START_CONCURRENCY)
    jobs = [_job(i, "u@corp.test", "p", f"b{i}@mail.test") for i in range(40)]
    with Journal.open(tmp_path / "journal.sqlite", "http://portal.test") as journal:
        runner, _ = _runner(
            portal, journal, concurrency=None, max_concurrency=4 * START_CONCURRENCY
        )
        portal.runner = runner
        with anyio.fail_after(HANG):
            await runner.run(jobs)
        assert journal.stats() == {"created": START_CONCURRENCY}


async def test_each_sent_row_carries_the_portal_s_answer_time_to_its_create() -> None:
    portal = FakePortal({"u@corp.test": "p"}, delay=0.05)  # each create answered 50 ms late
    jobs = [_job(0, "u@corp.test", "p", "a@mail.test"), _job(1, "x@corp.test", "p", "b@mail.test")]
    outcomes = await _run(portal, jobs)
    sent, refused = outcomes[0], outcomes[1]
    assert sent.status is Status.CREATED and 0.05 <= sent.latency <= sent.elapsed
    assert (refused.stage, refused.latency) == (Stage.LOGIN, 0.0)  # no create was sent
