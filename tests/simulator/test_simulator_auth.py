"""Portal logins and credentials, in process and over real HTTP on a loopback port."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, ExitStack, asynccontextmanager

import httpx
import pytest

from bulkmail.simulator import PortalUser, SimConfig, create_app, running

pytestmark = pytest.mark.anyio
AUTH = "/api/2.0/authentication"
ACCOUNTS = "/api/2.0/mail/accounts"
FAILED = {
    "status": 1,
    "statusCode": 500,
    "error": {"message": "User authentication failed", "hresult": -2146233087, "data": {}},
}
CLOSED = SimConfig(
    users=(
        PortalUser("anna@example.com", "Portal-1"),
        PortalUser("boss@example.com", "Portal-2", tfa="tfa"),
        PortalUser("cfo@example.com", "Portal-3", tfa="sms"),
        PortalUser("guest@example.com", "Portal-4", mail_enabled=False),
        PortalUser("visitor@example.com", "Portal-5", visitor=True),
    ),
    open_portal=False,
)


# Every behaviour runs in process and over real HTTP (marked slow: it starts servers).
MODES = ["in-process", pytest.param("http", marks=pytest.mark.slow)]
Portal = Callable[[SimConfig], AbstractAsyncContextManager[httpx.AsyncClient]]


class Servers:
    """Simulators on loopback ports, one per config object, reset before each use.

    Starting and stopping uvicorn costs about 0.2 s, so a module's tests share them; the
    reset (POST /_sim/reset) makes each test see a fresh portal.
    """

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._started: dict[int, tuple[SimConfig, str]] = {}

    def url(self, config: SimConfig) -> str:
        if id(config) not in self._started:
            self._started[id(config)] = (config, self._stack.enter_context(running(config)))
        return self._started[id(config)][1]

    def close(self) -> None:
        self._stack.close()


def make_portal(mode: str, servers: Servers) -> Portal:
    """Return a function giving a client of a fresh simulator, in process or over HTTP."""

    @asynccontextmanager
    async def portal(config: SimConfig) -> AsyncIterator[httpx.AsyncClient]:
        if mode == "in-process":
            transport = httpx.ASGITransport(app=create_app(config))
            async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as c:
                yield c
        else:
            async with httpx.AsyncClient(base_url=servers.url(config)) as c:
                (await c.post("/_sim/reset")).raise_for_status()
                yield c

    return portal


# Named fixtures, so that the other simulator test modules can import them.
@pytest.fixture(scope="module", name="servers")
def servers_fixture() -> Iterator[Servers]:
    shared = Servers()
    yield shared
    shared.close()


@pytest.fixture(params=MODES, name="portal")
def portal_fixture(request: pytest.FixtureRequest, servers: Servers) -> Portal:
    return make_portal(request.param, servers)


async def login(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    """Log in; the cookie the answer sets is dropped so each test says how it authenticates."""
    answer = await client.post(AUTH, json={"userName": name, "password": password})
    client.cookies.clear()
    return answer


async def test_a_login_answers_201_with_a_token_and_its_cookie(portal: Portal) -> None:
    async with portal(CLOSED) as client:
        answer = await client.post(
            AUTH, json={"userName": "Anna@Example.com", "password": "Portal-1"}
        )
    body = answer.json()
    token = body["response"]["token"]
    assert (answer.status_code, answer.headers["content-type"]) == (
        201,
        "application/json; charset=UTF-8",
    )
    assert body == {
        "count": 1,
        "status": 0,
        "statusCode": 201,
        "response": {"token": token, "expires": body["response"]["expires"]},
    }
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+03:00", body["response"]["expires"]
    )
    assert answer.headers["set-cookie"] == f"asc_auth_key={token}; path=/; HttpOnly"


@pytest.mark.parametrize(
    "form",
    [
        {"userName": "anna@example.com", "password": "Portal-2"},
        {"userName": "nobody@example.com", "password": "Portal-1"},
        {"userName": "anna@example.com"},
        {"password": "Portal-1"},
        {},
    ],
)
async def test_a_failed_login_is_500_user_authentication_failed(
    portal: Portal, form: dict[str, str]
) -> None:
    async with portal(CLOSED) as client:
        answer = await client.post(AUTH, json=form)
    assert (answer.status_code, answer.json()) == (500, FAILED)
    assert "set-cookie" not in answer.headers


async def test_the_open_portal_provisions_a_user_with_its_first_password(portal: Portal) -> None:
    async with portal(SimConfig()) as client:
        refused = await login(client, "new@corp.example", "wrong-one")
        first = await login(client, "new@corp.example", "First-pw")
        again = await login(client, "NEW@corp.example", "First-pw")
        other = await login(client, "new@corp.example", "Other-pw")
        stats = (await client.get("/_sim/stats")).json()
    assert [a.status_code for a in (refused, first, again, other)] == [500, 201, 201, 500]
    assert (refused.json(), other.json()) == (FAILED, FAILED)
    assert (stats["logins"], stats["login_failures"]) == (2, 2)


async def test_five_failures_in_a_minute_lock_the_login(portal: Portal) -> None:
    async with portal(CLOSED) as client:
        failures = [await login(client, "anna@example.com", "bad") for _ in range(5)]
        locked = await login(client, "anna@example.com", "Portal-1")
        other = await login(client, "boss@example.com", "Portal-2")
    assert [a.json() for a in failures] == [FAILED] * 5
    assert (locked.status_code, locked.json()["error"]["message"]) == (
        500,
        "Login Fail. Too many attempts",
    )
    assert other.status_code == 201


async def test_successful_logins_do_not_count_towards_the_lock(portal: Portal) -> None:
    async with portal(CLOSED) as client:
        answers = [await login(client, "anna@example.com", "Portal-1") for _ in range(8)]
    assert [a.status_code for a in answers] == [201] * 8


@pytest.mark.parametrize(
    ("name", "password", "response"),
    [
        ("boss@example.com", "Portal-2", {"tfa": True}),
        ("cfo@example.com", "Portal-3", {"sms": True}),
    ],
)
async def test_a_two_factor_user_gets_no_token(
    portal: Portal, name: str, password: str, response: dict[str, bool]
) -> None:
    async with portal(CLOSED) as client:
        answer = await client.post(AUTH, json={"userName": name, "password": password})
    assert (answer.status_code, answer.json()) == (
        201,
        {"count": 1, "status": 0, "statusCode": 201, "response": response},
    )
    assert "set-cookie" not in answer.headers


def _basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


@pytest.mark.parametrize("way", ["raw header", "bearer", "cookie", "query", "form", "basic"])
async def test_every_way_of_sending_credentials_works(portal: Portal, way: str) -> None:
    async with portal(CLOSED) as client:
        token = (await login(client, "anna@example.com", "Portal-1")).json()["response"]["token"]
        request = {
            "raw header": {"headers": {"Authorization": token}},
            "bearer": {"headers": {"Authorization": f"Bearer {token}"}},
            "cookie": {"headers": {"Cookie": f"asc_auth_key={token}"}},
            "query": {"params": {"asc_auth_key": token}},
            "form": {"data": {"asc_auth_key": token, "email": "x@example.com"}},
            "basic": {"headers": {"Authorization": _basic("anna@example.com", "Portal-1")}},
        }[way]
        method = "DELETE" if way == "form" else "GET"  # a form needs a body
        answer = await client.request(method, ACCOUNTS, **request)  # type: ignore[arg-type]
    expected = 500 if way == "form" else 200  # 500: authenticated, but no such mailbox
    assert answer.status_code == expected
    assert answer.json()["statusCode"] == expected


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, False),
        ({"Authorization": "not-a-token"}, True),
        ({"Authorization": "Bearer not-a-token"}, True),
        ({"Authorization": _basic("anna@example.com", "bad")}, True),
        ({"Authorization": _basic("anna@example.com:x", "Portal-1")}, True),
        ({"Cookie": "asc_auth_key=not-a-token"}, False),
    ],
)
async def test_no_valid_credential_is_a_bare_401(
    portal: Portal, headers: dict[str, str], challenge: bool
) -> None:
    async with portal(CLOSED) as client:
        answer = await client.get(ACCOUNTS, headers=headers)
        host = client.base_url.host
    assert (answer.status_code, answer.text) == (401, "Unauthorized")
    expected = f'Basic Realm="{host}"' if challenge else None
    assert answer.headers.get("www-authenticate") == expected


@pytest.mark.parametrize("name", ["guest@example.com", "visitor@example.com"])
async def test_a_user_without_mail_gets_403_forbidden(portal: Portal, name: str) -> None:
    async with portal(CLOSED) as client:
        password = {"guest@example.com": "Portal-4", "visitor@example.com": "Portal-5"}[name]
        token = (await login(client, name, password)).json()["response"]["token"]
        answer = await client.get(ACCOUNTS, headers={"Authorization": token})
    assert (answer.status_code, answer.json()) == (
        403,
        {
            "status": 1,
            "statusCode": 403,
            "error": {"message": "Forbidden", "hresult": -2147467259, "data": {}},
        },
    )
