"""The portal's capacity (served at once, a queue, 503 beyond it) and GET api/2.0/capabilities."""

from __future__ import annotations

import anyio
import httpx
import pytest
from test_simulator_accounts import ACCOUNTS, BODY
from test_simulator_auth import AUTH, Portal, portal_fixture, servers_fixture  # noqa: F401 (fixtures)

from bulkmail.simulator import SimConfig

pytestmark = pytest.mark.anyio
CAPABILITIES = "/api/2.0/capabilities"


@pytest.mark.parametrize("suffix", ["", ".json"])
async def test_capabilities_need_no_login(portal: Portal, suffix: str) -> None:
    async with portal(SimConfig(open_portal=False)) as client:
        answer = await client.get(CAPABILITIES + suffix)
    assert (answer.status_code, answer.headers["content-type"]) == (
        200,
        "application/json; charset=UTF-8",
    )
    assert answer.json() == {
        "count": 1,
        "status": 0,
        "statusCode": 200,
        "response": {
            "ldapEnabled": False, "oauthEnabled": False, "providers": [], "ssoLabel": "",
            "ssoUrl": "",
        },
    }  # fmt: skip


async def _creates_at_once(client: httpx.AsyncClient, n: int) -> list[httpx.Response]:
    login = await client.post(AUTH, json={"userName": "anna@corp.example", "password": "Pw-1"})
    client.cookies.clear()
    token = {"Authorization": login.json()["response"]["token"]}
    answers: list[httpx.Response] = []

    async def create(i: int) -> None:
        body = BODY | {"email": f"box{i}@corp.example"}
        answers.append(await client.post(ACCOUNTS, json=body, headers=token))

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(create, i)
    return answers


async def test_beyond_capacity_and_queue_the_portal_answers_503_with_retry_after(
    portal: Portal,
) -> None:
    # One served at once, none may wait: of three creates sent together, two are refused
    # while the first is served (it takes 500 ms, the refusals none).
    config = SimConfig(capacity=1, queue_limit=0, create_latency_ms=500, retry_after=4)
    async with portal(config) as client:
        answers = await _creates_at_once(client, 3)
        counters = (await client.get("/_sim/stats")).json()
    refused = [a for a in answers if a.status_code == 503]
    assert sorted(a.status_code for a in answers) == [201, 503, 503]
    assert {(a.text, a.headers["retry-after"]) for a in refused} == {("Service Unavailable", "4")}
    assert (counters["creates"], counters["faults"]) == (1, {"503": 2})


async def test_within_the_queue_requests_wait_their_turn(portal: Portal) -> None:
    config = SimConfig(capacity=1, queue_limit=2, create_latency_ms=100)
    async with portal(config) as client:
        answers = await _creates_at_once(client, 3)
        counters = (await client.get("/_sim/stats")).json()
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert (counters["creates"], counters["faults"], counters["most_waiting"]) == (3, {}, 2)
