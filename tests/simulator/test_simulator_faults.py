"""Seeded faults: latency, 503/429 with Retry-After, a dropped and a late answer to a create."""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable

import anyio
import httpx
import pytest
from starlette.responses import JSONResponse
from starlette.types import Message
from test_simulator_accounts import ACCOUNTS, BODY
from test_simulator_auth import AUTH, Portal, portal_fixture, servers_fixture  # noqa: F401 (fixtures)

from bulkmail.simulator import SimConfig, create_app, running
from bulkmail.simulator.faults import Faults, Late

pytestmark = pytest.mark.anyio
LOGIN = {"userName": "anna@corp.example", "password": "Portal-1"}
HOUR_MS = 3_600_000
HANG = 60  # seconds: waiting this long for what must happen means it never will
BASIC = {"Authorization": "Basic " + base64.b64encode(b"anna@corp.example:Portal-1").decode()}


async def stats(client: httpx.AsyncClient) -> dict[str, object]:
    return dict((await client.get("/_sim/stats")).json())


@pytest.mark.parametrize(
    ("config", "status", "text"),
    [
        (SimConfig(fail_503=1.0, retry_after=7), 503, "Service Unavailable"),
        (SimConfig(fail_429=1.0, retry_after=7), 429, "Too Many Requests"),
    ],
)
async def test_refusals_are_bare_with_retry_after_and_do_nothing(
    portal: Portal, config: SimConfig, status: int, text: str
) -> None:
    async with portal(config) as client:
        logged_in = await client.post(AUTH, json={"userName": "a@b.c", "password": "pw"})
        created = await client.post(ACCOUNTS, json=BODY, headers=BASIC)
        counters = await stats(client)
    for answer in (logged_in, created):
        assert (answer.status_code, answer.text, answer.headers["retry-after"]) == (
            status,
            text,
            "7",
        )
    assert (counters["creates"], counters["logins"], counters["faults"]) == (0, 0, {str(status): 2})


SEEDED = {seed: SimConfig(fail_503=0.3, fail_429=0.3, seed=seed) for seed in (7, 8)}


async def _statuses(portal: Portal, seed: int) -> list[int]:
    async with portal(SEEDED[seed]) as client:
        return [
            (await client.post(ACCOUNTS, json=BODY, headers=BASIC)).status_code for _ in range(12)
        ]


async def test_the_same_seed_gives_the_same_faults(portal: Portal) -> None:
    first, again, other = (
        await _statuses(portal, 7),
        await _statuses(portal, 7),
        await _statuses(portal, 8),
    )
    assert first == again != other
    assert {201, 429, 503} <= set(first)


def test_latency_with_jitter_stays_inside_its_bounds_and_varies() -> None:
    faults = Faults(SimConfig(latency_ms=120, jitter_ms=40))
    delays = [faults.delay() for _ in range(200)]
    assert all(0.08 <= d <= 0.16 for d in delays)
    assert len(set(delays)) > 100


async def test_latency_delays_every_api_answer(portal: Portal) -> None:
    async with portal(SimConfig(latency_ms=120, jitter_ms=40)) as client:
        took = []
        for _ in range(3):
            started = time.perf_counter()
            await client.post(AUTH, json={"userName": "a@b.c", "password": "pw"})
            took.append(time.perf_counter() - started)
    # A lower bound only: an answer is never early, but a busy machine may make it late.
    assert all(t >= 0.08 for t in took), took


async def test_simulator_only_endpoints_are_never_delayed(portal: Portal) -> None:
    async with portal(SimConfig(latency_ms=HOUR_MS)) as client:
        with anyio.fail_after(HANG):  # an hour's latency would trip it
            answer = await client.get("/_sim/stats")
    assert answer.status_code == 200


async def _timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    """Await `request` under the hang guard; return the answer and the seconds it took."""
    started = time.perf_counter()
    with anyio.fail_after(HANG):  # an hour's latency would trip it
        answer = await request
    return answer, time.perf_counter() - started


async def test_create_latency_delays_a_create(portal: Portal) -> None:
    async with portal(SimConfig(create_latency_ms=500)) as client:
        created, took = await _timed(client.post(ACCOUNTS, json=BODY, headers=BASIC))
    assert created.status_code == 201
    assert took >= 0.5  # a lower bound only: a busy machine may make it late


async def test_create_latency_leaves_logins_and_listings_alone(portal: Portal) -> None:
    # Creates would take an hour: a login and a listing answered at all did not wait.
    async with portal(SimConfig(create_latency_ms=HOUR_MS)) as client:
        login, _ = await _timed(client.post(AUTH, json=LOGIN))
        listed, _ = await _timed(client.get(ACCOUNTS, headers=BASIC))
    assert (login.status_code, listed.status_code) == (201, 200)


async def test_create_latency_replaces_the_latency_for_creates_only(portal: Portal) -> None:
    # Everything else an hour, creates 0.3 s: a create answered at all did not add both.
    async with portal(SimConfig(latency_ms=HOUR_MS, create_latency_ms=300)) as client:
        created, took = await _timed(client.post(ACCOUNTS, json=BODY, headers=BASIC))
    assert created.status_code == 201
    assert took >= 0.3
    # Everything else 0.3 s, creates an hour: logins and listings keep the latency.
    async with portal(SimConfig(latency_ms=300, create_latency_ms=HOUR_MS)) as client:
        login, login_took = await _timed(client.post(AUTH, json=LOGIN))
        listed, list_took = await _timed(client.get(ACCOUNTS, headers=BASIC))
    assert (login.status_code, listed.status_code) == (201, 200)
    assert login_took >= 0.3 and list_took >= 0.3, (login_took, list_took)


async def test_a_dropped_answer_is_a_transport_error_yet_the_account_exists(portal: Portal) -> None:
    async with portal(SimConfig(drop_after_create=1.0)) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(ACCOUNTS, json=BODY, headers=BASIC)
        listed = (await client.get(ACCOUNTS, headers=BASIC)).json()["response"]
        counters = await stats(client)
    assert [m["email"] for m in listed] == ["anna.berg@corp.example"]
    assert (counters["creates"], counters["faults"]) == (1, {"drop": 1})


async def test_a_late_answer_arrives_after_slow_seconds(portal: Portal) -> None:
    async with portal(SimConfig(slow_after_create=1.0, slow_seconds=0.3)) as client:
        started = time.perf_counter()
        answer = await client.post(ACCOUNTS, json=BODY, headers=BASIC)
        took = time.perf_counter() - started
    assert (answer.status_code, answer.json()["response"]["mailboxId"]) == (201, 1)
    assert took >= 0.3


@pytest.mark.slow
def test_a_late_answer_outlasts_the_client_timeout_and_the_account_exists() -> None:
    config = SimConfig(slow_after_create=1.0, slow_seconds=HOUR_MS / 1000)
    with running(config) as url, httpx.Client(base_url=url, headers=BASIC) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post(ACCOUNTS, json=BODY, timeout=0.3)
        listed = client.get(ACCOUNTS).json()["response"]
    assert [m["mailboxId"] for m in listed] == [1]


async def test_a_late_answer_is_given_up_as_soon_as_the_client_leaves() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    late = Late(JSONResponse({"response": "late"}), seconds=HOUR_MS / 1000)
    with anyio.fail_after(HANG):  # waiting out the hour would trip it
        await late({"type": "http"}, receive, send)
    assert sent == []


async def test_latency_holds_the_answer_not_the_work() -> None:
    # A portal "answering in an hour" answers in an hour, its own work included: the account
    # is stored at once and the answer waits for the deadline. In process only: over HTTP
    # the held answer would hold the shared server's shutdown.
    app = create_app(SimConfig(latency_ms=HOUR_MS))
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client,
        anyio.create_task_group() as tg,
    ):
        answers: list[httpx.Response] = []

        async def create() -> None:
            answers.append(await client.post(ACCOUNTS, json=BODY, headers=BASIC))

        async def stored() -> list[str]:
            return [m["email"] for m in (await client.get("/_sim/mailboxes")).json()]

        tg.start_soon(create)
        with anyio.fail_after(HANG):
            while not await stored():
                await anyio.sleep(0.01)
        assert (answers, await stored()) == ([], ["anna.berg@corp.example"])
        tg.cancel_scope.cancel()
