"""The portal ends sessions: its session lifetime, the owner's "log out from all active
connections", a password change (docs/portal-api.md §5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bulkmail.errors import ConfigError
from bulkmail.simulator import PortalUser, SimConfig, create_app, load_config
from bulkmail.simulator.config import Impersonation

pytestmark = pytest.mark.anyio
AUTH = "/api/2.0/authentication"
ACCOUNTS = "/api/2.0/mail/accounts"
USERS = (PortalUser("anna@corp.example", "Anna-pw"), PortalUser("boss@corp.example", "Boss-pw",
         owner=True, admin=True))  # fmt: skip
ON = Impersonation(config_key=True, enabled=True, enable_type="all-admins")
BOX = {
    "email": "a@mail.example.org", "account": "a", "password": "Box-pw-1",
    "server": "imap.mail.example.org", "port": 993, "imap": True, "incoming_encryption_type": 1,
    "auth_type_in": 1, "smtp_server": "smtp.mail.example.org", "smtp_port": 465,
    "smtp_auth": True, "smtp_account": "a", "smtp_password": "Box-pw-1",
    "outcoming_encryption_type": 1, "auth_type_smtp": 1,
}  # fmt: skip


@asynccontextmanager
async def portal(**extra: object) -> AsyncIterator[httpx.AsyncClient]:
    config = SimConfig(users=USERS, open_portal=False, impersonation=ON, **extra)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=create_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


async def login(client: httpx.AsyncClient, user: str, password: str) -> str:
    answer = await client.post(AUTH, json={"userName": user, "password": password})
    assert answer.status_code == 201, answer.text
    client.cookies.clear()  # the portal reads its cookie before the header: name users by token
    return str(answer.json()["response"]["token"])


async def listing(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(ACCOUNTS, headers={"Authorization": token})


def is_unauthorized(answer: httpx.Response) -> bool:
    return answer.status_code == 401 and answer.text == "Unauthorized"


async def test_a_logout_of_all_kills_every_token_and_logins_work_again() -> None:
    async with portal() as client:
        anna, boss = (
            await login(client, "anna@corp.example", "Anna-pw"),
            await login(client, "boss@corp.example", "Boss-pw"),
        )
        people = await client.get("/api/2.0/people/email", params={"email": "anna@corp.example"},
                                  headers={"Authorization": boss})  # fmt: skip
        acted = await client.post(
            f"/api/2.0/security/impersonate/{people.json()['response']['id']}",
            headers={"Authorization": boss},
        )
        client.cookies.clear()
        as_anna = acted.json()["response"]
        assert (await listing(client, as_anna)).status_code == 200

        ended = (await client.post("/_sim/logout-all")).json()

        assert ended == {"ended": 3}
        for token in (anna, boss, as_anna):  # impersonated sessions are tokens too
            assert is_unauthorized(await listing(client, token))
        fresh = await login(client, "anna@corp.example", "Anna-pw")
        assert (await listing(client, fresh)).status_code == 200
        stats = (await client.get("/_sim/stats")).json()
    assert (stats["logouts"], stats["sessions_ended"]) == (1, 3)
    assert stats["impersonation"]["open_sessions"] == 0


async def test_a_password_change_ends_that_users_sessions_and_refuses_the_old_password() -> None:
    async with portal() as client:
        anna, boss = (
            await login(client, "anna@corp.example", "Anna-pw"),
            await login(client, "boss@corp.example", "Boss-pw"),
        )
        changed = await client.post(
            "/_sim/password", json={"login": "Anna@corp.example", "password": "New-pw"}
        )
        assert changed.json() == {"ended": 1}
        assert is_unauthorized(await listing(client, anna))
        assert (await listing(client, boss)).status_code == 200
        old = await client.post(AUTH, json={"userName": "anna@corp.example", "password": "Anna-pw"})
        assert old.status_code == 500
        assert await login(client, "anna@corp.example", "New-pw")


async def test_logout_every_n_creates_kills_the_tokens_after_the_nth_answer() -> None:
    async with portal(logout_every=2) as client:
        token = await login(client, "anna@corp.example", "Anna-pw")
        headers = {"Authorization": token}
        first = await client.post(ACCOUNTS, json=BOX, headers=headers)
        second = await client.post(ACCOUNTS, json={**BOX, "email": "b@mail.example.org"},
                                   headers=headers)  # fmt: skip
        third = await client.post(ACCOUNTS, json={**BOX, "email": "c@mail.example.org"},
                                  headers=headers)  # fmt: skip
        stats = (await client.get("/_sim/stats")).json()
    assert (first.status_code, second.status_code) == (201, 201)  # the 2nd is answered
    assert is_unauthorized(third)  # and nothing done with it
    assert (stats["creates"], stats["logouts"]) == (2, 1)


async def test_a_session_lifetime_of_zero_ends_every_token_at_once_and_says_when() -> None:
    async with portal(session_lifetime=0.0) as client:
        answer = await client.post(
            AUTH, json={"userName": "anna@corp.example", "password": "Anna-pw"}
        )
        token = answer.json()["response"]["token"]
        assert is_unauthorized(await listing(client, token))
    async with portal(session_lifetime=30.0) as client:
        answer = await client.post(
            AUTH, json={"userName": "anna@corp.example", "password": "Anna-pw"}
        )
        client.cookies.clear()
        token, expires = answer.json()["response"]["token"], answer.json()["response"]["expires"]
        assert (await listing(client, token)).status_code == 200
    # The answer says when the token dies: 30 minutes after its login, not a year.
    left = datetime.fromisoformat(expires[:26] + expires[27:]) - datetime.now(UTC)
    assert timedelta(minutes=29) < left <= timedelta(minutes=30)


def test_the_session_knobs_come_from_a_file_and_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text("[faults]\nsession_lifetime = 30\nlogout_every = 100\n", encoding="utf-8")
    config = load_config(path)
    assert (config.session_lifetime, config.logout_every) == (30.0, 100)
    assert load_config(None).session_lifetime is None  # the portal's own: a year
    with pytest.raises(ConfigError, match="must not be negative"):
        SimConfig(session_lifetime=-1)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1]",
        b'{"login": "anna@corp.example"}',
        b'{"login": 1, "password": "x"}',
        b'{"login": "anna@corp.example", "password": ""}',
    ],
    ids=["not-json", "not-an-object", "no-password", "login-not-text", "empty-password"],
)
async def test_a_password_change_the_simulator_cannot_read_is_400_and_changes_nothing(
    body: bytes,
) -> None:
    async with portal() as client:
        anna = await login(client, "anna@corp.example", "Anna-pw")
        answer = await client.post("/_sim/password", content=body)
        assert answer.status_code == 400
        assert "login" in answer.json()["error"] and "password" in answer.json()["error"]
        assert (await listing(client, anna)).status_code == 200  # no session ended
        assert await login(client, "anna@corp.example", "Anna-pw")  # the password is the same


@pytest.mark.parametrize("name", ["session_lifetime", "latency_ms", "slow_seconds"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_a_knob_that_is_not_a_finite_number_is_refused(name: str, value: float) -> None:
    # nan compares false with everything: a nan session lifetime ended every token at once.
    with pytest.raises(ConfigError, match=f"{name} must be a finite number"):
        SimConfig(**{name: value})  # type: ignore[arg-type]
