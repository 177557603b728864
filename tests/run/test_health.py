"""A portal lost mid-run, and the check of --portal before the first row (httpx.MockTransport).

Outcomes are asserted, never times: the pauses are short so that the tests end soon, and
every wait is on an answer or an event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest
from test_runner import HANG, _job

from bulkmail.codes import Code
from bulkmail.errors import ConfigError
from bulkmail.models import Outcome, Status
from bulkmail.portal.client import Verdict
from bulkmail.run.health import Health
from bulkmail.run.pool import Runner
from bulkmail.run.preflight import check_portal
from bulkmail.run.retry import Backoff
from bulkmail.settings import PortalSettings

pytestmark = pytest.mark.anyio
USER, PASSWORD = "u@corp.test", "p"


def _ok(status: int, response: Any) -> httpx.Response:
    return httpx.Response(status, json={"status": 0, "statusCode": status, "response": response})


@dataclass
class Outage:
    """A portal that stops answering after `answered` creates and is back after `down_for`
    requests that got no answer (never, when None)."""

    answered: int
    down_for: int | None = None
    creates: int = 0
    unanswered: int = 0
    probes: int = 0
    created: set[str] = field(default_factory=set)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/capabilities"):
            self.probes += 1
        if self.creates >= self.answered and (
            self.down_for is None or self.unanswered < self.down_for
        ):
            self.unanswered += 1
            raise httpx.ConnectError("Connection refused", request=request)
        if path.endswith("/authentication"):
            return _ok(201, {"token": "tok", "expires": "2027-01-01T00:00:00.0000000+03:00"})
        if path.endswith("/capabilities"):
            return _ok(200, {"ldapEnabled": False})
        if request.method == "GET":
            return _ok(200, [])
        self.creates += 1
        email = json.loads(request.content)["email"]
        self.created.add(email)
        return _ok(201, {"mailboxId": self.creates, "email": email})


def _runner(portal: Outage, **settings: Any) -> tuple[Runner, dict[int, Outcome]]:
    outcomes: dict[int, Outcome] = {}

    def emit(index: int, outcome: Outcome) -> None:
        assert index not in outcomes, f"row {index} reported twice"
        outcomes[index] = outcome

    transport = httpx.MockTransport(portal)
    settings = {"concurrency": 2, "retries": 1, "give_up_after": 0.05} | settings
    runner = Runner(
        PortalSettings(url="http://portal.test", state=None, **settings),
        lambda: httpx.AsyncClient(transport=transport, base_url="http://portal.test"),
        emit,
        backoff=Backoff(base=0.001),
        health=Health(settings["give_up_after"], failures=3, every=0.001),
    )
    return runner, outcomes


def _answering(
    portal: Callable[[httpx.Request], httpx.Response], health: Health
) -> tuple[Runner, dict[int, Outcome]]:
    """Return a runner of two workers over `portal`, watched by `health`, and its outcomes."""
    outcomes: dict[int, Outcome] = {}
    transport = httpx.MockTransport(portal)
    runner = Runner(
        PortalSettings(url="http://portal.test", state=None, concurrency=2),
        lambda: httpx.AsyncClient(transport=transport, base_url="http://portal.test"),
        outcomes.__setitem__,
        backoff=Backoff(base=0.001, cap=0.001),
        health=health,
    )
    return runner, outcomes


async def test_a_portal_lost_mid_run_ends_it_with_every_unsent_row_not_attempted() -> None:
    portal = Outage(answered=4)
    runner, outcomes = _runner(portal)
    jobs = [_job(i, USER, PASSWORD, f"box{i}@mail.test") for i in range(30)]
    with anyio.fail_after(HANG):
        state = await runner.run(jobs)
    assert state.aborted and "did not answer" in state.reason
    assert runner.health.gave_up and portal.probes >= 1
    created = {i for i, o in outcomes.items() if o.status is Status.CREATED}
    assert len(created) == 4 and len(outcomes) == 30
    others = {(o.status, o.code) for i, o in outcomes.items() if i not in created}
    # connect-failed: no create reached the portal, so none is "interrupted".
    assert others == {(Status.NOT_ATTEMPTED, Code.NOT_ATTEMPTED)}


async def test_a_portal_back_within_the_limit_loses_no_row() -> None:
    portal = Outage(answered=4, down_for=12)
    runner, outcomes = _runner(portal, give_up_after=HANG)
    jobs = [_job(i, USER, PASSWORD, f"box{i}@mail.test") for i in range(20)]
    with anyio.fail_after(HANG):
        state = await runner.run(jobs)
    assert not state.aborted and runner.health.outages == 1
    assert {o.status for o in outcomes.values()} == {Status.CREATED}
    assert len(portal.created) == 20 and portal.creates == 20  # each sent once it got through


def _preflight_factory(answer: Callable[[httpx.Request], httpx.Response]) -> Any:
    transport = httpx.MockTransport(answer)
    return lambda: httpx.AsyncClient(transport=transport, base_url="http://portal.test/x")


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (httpx.Response(404, text="Not Found"), "HTTP 404"),
        (httpx.Response(200, html="<html>login</html>"), "not JSON (text/html)"),
        (
            httpx.Response(302, headers={"Location": "http://portal.test/Auth.aspx"}),
            "to http://portal.test/Auth.aspx",
        ),
    ],
)
async def test_an_address_that_is_not_the_portals_api_is_refused(
    answer: httpx.Response, said: str
) -> None:
    factory = _preflight_factory(lambda request: answer)
    with pytest.raises(ConfigError) as refused:
        await check_portal(factory, "http://portal.test/x", 10.0)
    assert str(refused.value).startswith("--portal http://portal.test/x is not the portal's API")
    assert said in str(refused.value)


@pytest.mark.parametrize(
    "answer",
    [_ok(200, {"ldapEnabled": False}), httpx.Response(401, text="Unauthorized")],
)
async def test_an_answer_from_the_portal_lets_the_run_go_on(answer: httpx.Response) -> None:
    assert await check_portal(_preflight_factory(lambda request: answer), "http://p", 10.0) is None


async def test_no_answer_is_retried_until_the_time_is_up_then_returned() -> None:
    now, asked = [0.0], []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    def refuse(request: httpx.Request) -> httpx.Response:
        asked.append(now[0])
        raise httpx.ConnectError("Connection refused", request=request)

    verdict = await check_portal(
        _preflight_factory(refuse), "http://p", 10.0, sleep=sleep, clock=lambda: now[0]
    )
    assert isinstance(verdict, Verdict) and verdict.code is Code.CONNECT_FAILED
    assert len(asked) >= 4 and asked[-1] <= 10.0 <= now[0]


async def test_a_busy_portal_is_waited_for_as_it_asks() -> None:
    now, answers = [0.0], [httpx.Response(503, headers={"Retry-After": "3"}), _ok(200, {})]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    factory = _preflight_factory(lambda request: answers.pop(0))
    assert await check_portal(factory, "http://p", 10.0, sleep=sleep, clock=lambda: now[0]) is None
    assert now[0] == 3.0 and answers == []


async def test_an_interrupt_during_an_outage_does_not_wait_for_the_portal() -> None:
    portal = Outage(answered=3)
    runner, outcomes = _runner(portal, give_up_after=HANG)
    jobs = [_job(i, USER, PASSWORD, f"box{i}@mail.test") for i in range(20)]
    with anyio.fail_after(HANG):
        async with anyio.create_task_group() as tg:
            tg.start_soon(runner.run, jobs)
            while not runner.health.down:  # the workers now wait for the portal
                await anyio.sleep(0.001)
            runner.stop("interrupted by SIGINT")
    assert runner.state.interrupted and not runner.health.gave_up
    assert {o.status for i, o in outcomes.items() if i >= 3} == {Status.NOT_ATTEMPTED}
    assert len(outcomes) == 20 and portal.creates == 3


async def test_no_look_up_is_retried_once_the_run_gave_up_on_the_portal() -> None:
    # Each create's answer is lost (a read timeout: it may have got through), then nothing
    # answers: the look-ups that would settle those rows must stop at the give-up, not spend
    # their --retries, each up to --timeout long (with the defaults, 4 x 180 s past the limit).
    lookups_after: list[str] = []
    runner: Runner | None = None

    def portal(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/authentication"):
            return _ok(201, {"token": "tok", "expires": "2027-01-01T00:00:00.0000000+03:00"})
        if request.method == "GET" and path.endswith("/accounts"):
            return _ok(200, [])
        if request.method == "POST":
            raise httpx.ReadTimeout("no answer", request=request)
        if runner is not None and runner.health.gave_up and not path.endswith("/capabilities"):
            lookups_after.append(path)
        raise httpx.ConnectError("Connection refused", request=request)

    outcomes: dict[int, Outcome] = {}
    transport = httpx.MockTransport(portal)
    runner = Runner(
        PortalSettings(url="http://portal.test", state=None, concurrency=2, retries=40),
        lambda: httpx.AsyncClient(transport=transport, base_url="http://portal.test"),
        outcomes.__setitem__,
        backoff=Backoff(base=0.001, cap=0.001),
        health=Health(0.05, failures=3, every=0.001),
    )
    jobs = [_job(i, USER, PASSWORD, f"box{i}@mail.test") for i in range(4)]
    with anyio.fail_after(HANG):
        state = await runner.run(jobs)
    assert state.aborted and runner.health.gave_up
    assert lookups_after == []
    codes = [o.code for o in outcomes.values()]
    assert Code.INTERRUPTED in codes and set(codes) <= {Code.INTERRUPTED, Code.NOT_ATTEMPTED}
    assert len(outcomes) == 4


async def test_a_portal_that_answers_only_503_without_retry_after_is_an_outage() -> None:
    # A portal in maintenance, or a proxy whose portal is gone, answers 503 to everything and
    # names no time to come back. Before, each row spent its busy answers and --retries (with
    # delays up to a minute each) and the run went on for hours past --give-up-after.
    creates: list[str] = []

    def portal(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if len(creates) >= 3:
            return httpx.Response(503, text="<html>Service Unavailable</html>")
        if path.endswith("/authentication"):
            return _ok(201, {"token": "tok", "expires": "2027-01-01T00:00:00.0000000+03:00"})
        if request.method == "GET":
            return _ok(200, [])
        creates.append(json.loads(request.content)["email"])
        return _ok(201, {"mailboxId": len(creates), "email": creates[-1]})

    runner, outcomes = _answering(portal, Health(0.05, failures=3, every=0.001))
    jobs = [_job(i, USER, PASSWORD, f"box{i}@mail.test") for i in range(30)]
    with anyio.fail_after(HANG):
        state = await runner.run(jobs)
    assert state.aborted and runner.health.gave_up and "did not answer" in state.reason
    assert len(outcomes) == 30
    assert sum(o.status is Status.CREATED for o in outcomes.values()) == 3
    assert sum(o.status is Status.NOT_ATTEMPTED for o in outcomes.values()) == 27


async def test_a_busy_portal_that_names_its_time_is_load_not_an_outage() -> None:
    answers = iter([503] * 8)

    def portal(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/authentication"):
            return _ok(201, {"token": "tok", "expires": "2027-01-01T00:00:00.0000000+03:00"})
        if request.method == "GET":
            return _ok(200, [])
        if next(answers, None):
            return httpx.Response(503, headers={"Retry-After": "0"}, text="busy")
        return _ok(201, {"mailboxId": 1, "email": json.loads(request.content)["email"]})

    still = Health(0.05, failures=3, every=0.001, clock=lambda: 0.0)  # time stands still
    runner, outcomes = _answering(portal, still)
    with anyio.fail_after(HANG):
        state = await runner.run([_job(i, USER, PASSWORD, f"b{i}@mail.test") for i in range(4)])
    assert not state.aborted and runner.health.outages == 0
    assert {o.status for o in outcomes.values()} == {Status.CREATED}


@pytest.mark.parametrize("status", [429, 503])
async def test_a_portal_that_is_only_busy_for_too_long_is_given_up_on(status: int) -> None:
    # A maintenance page that names a time, again and again: each row would wait out its
    # busy answers (up to 20, each as long as the portal asks) for hours.
    creates: list[str] = []
    ticks = iter(range(10_000))  # seconds: one passes each time the run looks at the clock

    def portal(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/authentication"):
            return _ok(201, {"token": "tok", "expires": "2027-01-01T00:00:00.0000000+03:00"})
        if request.method == "GET":
            return _ok(200, [])
        if len(creates) >= 3:
            return httpx.Response(status, headers={"Retry-After": "0"}, text="busy")
        creates.append(json.loads(request.content)["email"])
        return _ok(201, {"mailboxId": len(creates), "email": creates[-1]})

    ticking = Health(30.0, failures=3, every=0.001, clock=lambda: float(next(ticks)))
    runner, outcomes = _answering(portal, ticking)
    jobs = [_job(i, USER, PASSWORD, f"box{i}@mail.test") for i in range(30)]
    with anyio.fail_after(HANG):
        state = await runner.run(jobs)
    assert state.aborted and runner.health.gave_up and "only that it is busy" in state.reason
    assert len(outcomes) == 30
    assert sum(o.status is Status.CREATED for o in outcomes.values()) == 3
    assert sum(o.status is Status.NOT_ATTEMPTED for o in outcomes.values()) == 27


async def test_a_portal_whose_probe_answers_but_whose_api_does_not_is_given_up_on() -> None:
    # The capabilities answer (a cheap static page), every other request fails: an outage
    # "over" at each probe must not restart --give-up-after, or rows fail one by one for hours.
    def portal(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/capabilities"):
            return _ok(200, {"ldapEnabled": False})
        raise httpx.RemoteProtocolError("Server disconnected", request=request)

    runner, outcomes = _answering(portal, Health(0.05, failures=3, every=0.001))
    jobs = [_job(i, USER, PASSWORD, f"box{i}@mail.test") for i in range(400)]
    with anyio.fail_after(HANG):
        state = await runner.run(jobs)
    assert state.aborted and runner.health.gave_up and len(outcomes) == 400
    assert sum(o.status is Status.NOT_ATTEMPTED for o in outcomes.values()) > 300


async def test_the_run_ends_at_the_give_up_even_while_rows_back_off() -> None:
    # Workers sleeping between retries (up to a minute each with the real backoff) must not
    # hold the run past the give-up: nothing they could send would be answered.
    portal = Outage(answered=0)
    outcomes: dict[int, Outcome] = {}
    transport = httpx.MockTransport(portal)
    runner = Runner(
        PortalSettings(url="http://portal.test", state=None, concurrency=4, retries=3),
        lambda: httpx.AsyncClient(transport=transport, base_url="http://portal.test"),
        outcomes.__setitem__,
        backoff=Backoff(base=10 * HANG, cap=10 * HANG),  # a retry would outlast the test
        health=Health(0.05, failures=3, every=0.001),
    )
    jobs = [_job(i, f"u{i}@corp.test", PASSWORD, f"box{i}@mail.test") for i in range(10)]
    with anyio.fail_after(HANG):
        state = await runner.run(jobs)
    assert state.aborted and runner.health.gave_up and len(outcomes) == 10
    # No create was sent, so none is "interrupted" (a re-run would look each one up first).
    assert {(o.status, o.code) for o in outcomes.values()} == {
        (Status.NOT_ATTEMPTED, Code.NOT_ATTEMPTED)
    }
    assert portal.creates == 0
