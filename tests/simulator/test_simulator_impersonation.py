"""People and impersonation in the simulator (docs/portal-api.md §20), in process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from bulkmail.simulator import PortalUser, SimConfig, create_app
from bulkmail.simulator.config import Impersonation

pytestmark = pytest.mark.anyio
AUTH = "/api/2.0/authentication"
ACT = "/api/2.0/security/impersonate"
ON = Impersonation(config_key=True, enabled=True, enable_type="all-admins")
USERS = (
    PortalUser("owner@corp.example", "Owner-1", owner=True, admin=True),
    PortalUser("admin@corp.example", "Admin-1", admin=True, groups=("IT",)),
    PortalUser("other.admin@corp.example", "Admin-2", admin=True),
    PortalUser("mail.admin@corp.example", "Admin-3", module_admin=True),
    PortalUser("anna@corp.example", "Anna-1", groups=("IT",)),
    PortalUser("left@corp.example", "Left-1", status="terminated"),
    PortalUser("guest@corp.example", "Guest-1", visitor=True),
    PortalUser("boss@corp.example", "Boss-1", groups=("Board",)),
)


def portal_of(impersonation: Impersonation = ON) -> SimConfig:
    return SimConfig(users=USERS, open_portal=False, impersonation=impersonation)


@asynccontextmanager
async def client_of(config: SimConfig) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


async def token_of(client: httpx.AsyncClient, login: str, password: str) -> str:
    answer = await client.post(AUTH, json={"userName": login, "password": password})
    client.cookies.clear()
    token: str = answer.json()["response"]["token"]
    return token


async def user_id(client: httpx.AsyncClient, token: str, email: str) -> str:
    answer = await client.get("/api/2.0/people/email", params={"email": email},
                              headers={"Authorization": token})  # fmt: skip
    found: str = answer.json()["response"]["id"]
    return found


async def test_an_impersonation_gives_a_token_of_the_target_and_logout_by_cookie_ends_it() -> None:
    async with client_of(portal_of()) as client:
        admin = await token_of(client, "admin@corp.example", "Admin-1")
        anna = await user_id(client, admin, "ANNA@corp.example")
        check = await client.get(f"{ACT}/{anna}", headers={"Authorization": admin})
        opened = await client.post(f"{ACT}/{anna}.json", headers={"Authorization": admin})
        client.cookies.clear()
        token = opened.json()["response"]
        mine = await client.get("/api/2.0/mail/accounts", headers={"Authorization": token})
        by_header = await client.put(f"{ACT}/logout", headers={"Authorization": token})
        still = await client.get("/api/2.0/mail/accounts", headers={"Authorization": token})
        by_cookie = await client.put(f"{ACT}/logout", headers={"Cookie": f"asc_auth_key={token}"})
        client.cookies.clear()
        gone = await client.get("/api/2.0/mail/accounts", headers={"Authorization": token})
        admin_still = await client.get("/api/2.0/mail/accounts", headers={"Authorization": admin})
        stats = (await client.get("/_sim/stats")).json()
    assert check.json() == {"count": 1, "status": 0, "statusCode": 200, "response": True}
    assert (opened.status_code, opened.json()["count"], len(token) > 150) == (201, len(token), True)
    assert "asc_auth_key" in opened.headers["set-cookie"]
    assert [r.status_code for r in (mine, by_header, still, by_cookie, gone, admin_still)] == [
        200, 200, 200, 200, 401, 200,
    ]  # fmt: skip
    assert (stats["impersonations"], stats["impersonations_ended"]) == (1, 1)
    assert stats["users"]["anna@corp.example"]["impersonated"] == 1
    assert stats["impersonation"]["open_sessions"] == 0


@pytest.mark.parametrize(
    ("caller", "target", "status", "message"),
    [
        ("admin@corp.example", "owner@corp.example", 403, "Impossible to impersonate this user"),
        ("admin@corp.example", "other.admin@corp.example", 403,
         "Impossible to impersonate this user"),
        ("admin@corp.example", "mail.admin@corp.example", 403,
         "Impossible to impersonate this user"),
        ("admin@corp.example", "admin@corp.example", 403, "Impossible to impersonate this user"),
        ("anna@corp.example", "boss@corp.example", 403, "Impossible to impersonate this user"),
        ("admin@corp.example", "left@corp.example", 500, "account"),
        ("owner@corp.example", "other.admin@corp.example", 201, None),
        ("admin@corp.example", "guest@corp.example", 201, None),
    ],
)  # fmt: skip
async def test_who_may_impersonate_whom(
    caller: str, target: str, status: int, message: str | None
) -> None:
    passwords = {u.login: u.password for u in USERS}
    async with client_of(portal_of()) as client:
        token = await token_of(client, caller, passwords[caller])
        wanted = await user_id(client, token, target)
        answer = await client.post(f"{ACT}/{wanted}", headers={"Authorization": token})
    assert answer.status_code == status
    if message is not None:
        assert answer.json()["error"]["message"] == message


@pytest.mark.parametrize(
    ("switches", "expected"),
    [
        (Impersonation(), 403),  # as shipped: the config key is off
        (Impersonation(config_key=True), 403),  # the owner has not enabled it
        (Impersonation(config_key=True, enabled=True), 403),  # DisableForAdmins
        (Impersonation(config_key=True, enabled=True, enable_type="limited"), 403),
        (Impersonation(config_key=True, enabled=True, enable_type="limited",
                       allowed_admins=("admin@corp.example",)), 201),
        (Impersonation(config_key=True, enabled=True, enable_type="all-admins",
                       restricted_users=("anna@corp.example",)), 403),
        (Impersonation(config_key=True, enabled=True, enable_type="all-admins",
                       restricted_groups=("IT",)), 403),
        (Impersonation(config_key=True, enabled=True, enable_type="all-admins",
                       only_own_groups=True), 201),
    ],
)  # fmt: skip
async def test_the_switches_and_restrictions_decide(switches: Impersonation, expected: int) -> None:
    async with client_of(portal_of(switches)) as client:
        admin = await token_of(client, "admin@corp.example", "Admin-1")
        anna = await user_id(client, admin, "anna@corp.example")
        check = await client.get(f"{ACT}/{anna}", headers={"Authorization": admin})
        answer = await client.post(f"{ACT}/{anna}", headers={"Authorization": admin})
    assert (answer.status_code, check.json()["response"]) == (expected, expected == 201)


async def test_settings_are_the_owners_and_unknown_on_an_old_portal() -> None:
    async with client_of(portal_of()) as client:
        owner = await token_of(client, "owner@corp.example", "Owner-1")
        admin = await token_of(client, "admin@corp.example", "Admin-1")
        mine = await client.get(f"{ACT}/settings", headers={"Authorization": owner})
        theirs = await client.get(f"{ACT}/settings", headers={"Authorization": admin})
        off = await client.put(f"{ACT}/settings", json={"enable": False},
                               headers={"Authorization": owner})  # fmt: skip
    async with client_of(SimConfig(impersonation=Impersonation(routes=False))) as client:
        old = await client.get(f"{ACT}/settings")
    assert mine.json()["response"] == {
        "enabled": True, "enableType": 1, "onlyForOwnGroups": False,
        "allowedAdmins": None, "restrictionUsers": None, "restrictionGroups": None,
    }  # fmt: skip
    assert theirs.json()["error"]["message"] == "Setting available only for the owner"
    assert off.json()["response"]["enabled"] is False
    assert old.status_code == 404


async def test_people_lists_in_pages_and_an_unknown_login_is_404() -> None:
    async with client_of(portal_of()) as client:
        admin = await token_of(client, "admin@corp.example", "Admin-1")
        headers = {"Authorization": admin}
        first = await client.get("/api/2.0/people/filter", params={"count": 5}, headers=headers)
        rest = await client.get("/api/2.0/people/filter", params={"count": 5, "startIndex": 5},
                                headers=headers)  # fmt: skip
        missing = await client.get("/api/2.0/people/nobody@corp.example", headers=headers)
    emails = [u["email"] for u in first.json()["response"] + rest.json()["response"]]
    assert (first.json()["total"], len(emails), len(set(emails))) == (8, 8, 8)
    assert (missing.status_code, missing.json()["error"]["message"]) == (404, "User not found")


async def test_the_open_portal_has_an_admin_and_its_lookups_create_users() -> None:
    async with client_of(SimConfig()) as client:
        admin = await token_of(client, "admin@portal.sim", "anything")
        new = await user_id(client, admin, "newcomer@corp.example")
        opened = await client.post(f"{ACT}/{new}", headers={"Authorization": admin})
        own = await client.post(AUTH, json={"userName": "newcomer@corp.example",
                                             "password": "Own-1"})  # fmt: skip
    assert (opened.status_code, own.status_code) == (201, 201)
