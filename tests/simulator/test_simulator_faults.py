"""Seeded faults: latency, 503/429 with Retry-After, a dropped and a late answer to a create."""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable

import anyio
import httpx
import pytest
from test_simulator_accounts import ACCOUNTS, BODY
from test_simulator_auth import AUTH, Portal, portal_fixture, servers_fixture  # noqa: F401 (fixtures)

from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.anyio
LOGIN = {"userName": "anna@corp.example", "password": "Portal-1"}
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


async def test_latency_with_jitter_delays_every_api_answer(portal: Portal) -> None:
    async with portal(SimConfig(latency_ms=120, jitter_ms=40)) as client:
        took = []
        for _ in range(3):
            started = time.perf_counter()
            await client.post(AUTH, json={"userName": "a@b.c", "password": "pw"})
            took.append(time.perf_counter() - started)
        started = time.perf_counter()
        await client.get("/_sim/stats")  # simulator-only endpoints are never delayed
        control = time.perf_counter() - started
    assert all(0.075 <= t < 0.5 for t in took), took
    assert control < 0.075


CREATE_ONLY = SimConfig(create_latency_ms=500)
SLOW_CREATES = SimConfig(create_latency_ms=5000)
BOTH_SET = SimConfig(latency_ms=5000, create_latency_ms=300)
BOTH_SET_SLOW_CREATES = SimConfig(latency_ms=300, create_latency_ms=5000)


async def _timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    answer = await request
    return answer, time.perf_counter() - started


async def test_create_latency_delays_a_create(portal: Portal) -> None:
    async with portal(CREATE_ONLY) as client:
        created, took = await _timed(client.post(ACCOUNTS, json=BODY, headers=BASIC))
    assert created.status_code == 201
    assert took >= 0.5


async def test_create_latency_leaves_logins_and_listings_alone(portal: Portal) -> None:
    # Creates would take 5 s: a login and a listing answered in well under that did not wait.
    async with portal(SLOW_CREATES) as client:
        login, login_took = await _timed(client.post(AUTH, json=LOGIN))
        listed, list_took = await _timed(client.get(ACCOUNTS, headers=BASIC))
    assert (login.status_code, listed.status_code) == (201, 200)
    assert login_took < 2.5 and list_took < 2.5, (login_took, list_took)


async def test_create_latency_replaces_the_latency_for_creates_only(portal: Portal) -> None:
    # latency 5 s, creates 0.3 s: a create answered in well under 5 s did not add both.
    async with portal(BOTH_SET) as client:
        created, took = await _timed(client.post(ACCOUNTS, json=BODY, headers=BASIC))
    assert created.status_code == 201
    assert 0.3 <= took < 2.5, took
    # latency 0.3 s, creates 5 s: logins and listings keep the latency.
    async with portal(BOTH_SET_SLOW_CREATES) as client:
        login, login_took = await _timed(client.post(AUTH, json=LOGIN))
        listed, list_took = await _timed(client.get(ACCOUNTS, headers=BASIC))
    assert (login.status_code, listed.status_code) == (201, 200)
    assert 0.3 <= login_took < 2.5 and 0.3 <= list_took < 2.5, (login_took, list_took)


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
    config = SimConfig(slow_after_create=1.0, slow_seconds=30)
    started = time.perf_counter()
    with running(config) as url, httpx.Client(base_url=url, headers=BASIC) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post(ACCOUNTS, json=BODY, timeout=0.3)
        listed = client.get(ACCOUNTS).json()["response"]
    # The server notices that the client left, so stopping it does not wait for the 30 s.
    assert time.perf_counter() - started < 5
    assert [m["mailboxId"] for m in listed] == [1]


async def test_latency_holds_the_answer_not_the_work(portal: Portal) -> None:
    # A portal "answering in 300 ms" answers in 300 ms, its own work included: the account
    # is stored at once and the answer waits for the deadline.
    async with portal(SimConfig(latency_ms=300)) as client, anyio.create_task_group() as tg:
        answers: list[httpx.Response] = []

        async def create() -> None:
            answers.append(await client.post(ACCOUNTS, json=BODY, headers=BASIC))

        tg.start_soon(create)
        await anyio.sleep(0.15)
        stored = (await client.get("/_sim/mailboxes")).json()
        assert (answers, [m["email"] for m in stored]) == ([], ["anna.berg@corp.example"])
    assert answers[0].status_code == 201
