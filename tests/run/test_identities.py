"""--admin's rules from People data, and how few People calls it makes (in process)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest

from bulkmail.codes import Code
from bulkmail.portal.client import Identity, PortalClient, Token
from bulkmail.run.admin import AT_ONCE, LOOKUPS, find_people, log_in, prepare
from bulkmail.run.identities import Acting, Person, person_of, refusal_of_person
from bulkmail.run.renewal import Renewal
from bulkmail.run.retry import Backoff
from bulkmail.simulator import PortalUser, SimConfig, create_app
from bulkmail.simulator.config import Impersonation

pytestmark = pytest.mark.anyio
ADMIN = Person("a", "admin", "admin@x", 1, admin=True, owner=False, visitor=False,
               module_admin=False)  # fmt: skip
OWNER = Person("o", "owner", "owner@x", 1, admin=True, owner=True, visitor=False,
               module_admin=False)  # fmt: skip
PLAIN = Person("p", "anna", "anna@x", 1, admin=False, owner=False, visitor=False,
               module_admin=False)  # fmt: skip


@pytest.mark.parametrize(
    ("target", "caller", "code"),
    [
        (None, ADMIN, Code.PORTAL_USER_UNKNOWN),
        (OWNER, ADMIN, Code.IMPERSONATION_OWNER),
        (ADMIN, ADMIN, Code.IMPERSONATION_ADMIN),
        (ADMIN, OWNER, None),  # the owner may act as admins
        (Person("m", "m", "m@x", 1, False, False, False, module_admin=True), ADMIN,
         Code.IMPERSONATION_ADMIN),
        (Person("t", "t", "t@x", 2, False, False, False, False), ADMIN, Code.PORTAL_USER_DISABLED),
        (Person("l", "l", "l@x", 4, False, False, False, False), OWNER, Code.PORTAL_USER_DISABLED),
        (Person("g", "g", "g@x", 1, False, False, True, False), ADMIN, Code.PORTAL_USER_GUEST),
        (PLAIN, ADMIN, None),
    ],
)  # fmt: skip
def test_who_cannot_be_acted_for_is_told_from_people(
    target: Person | None, caller: Person, code: Code | None
) -> None:
    verdict = refusal_of_person(target, "someone", caller)
    assert (verdict.code if verdict else None) == code


def test_a_people_record_is_read_and_module_admins_are_seen() -> None:
    record = {"id": "x", "userName": "anna", "email": "Anna@x", "status": 1, "isAdmin": False,
              "isOwner": False, "isVisitor": False, "listAdminModules": ["mail"]}  # fmt: skip
    assert person_of(record) == Person("x", "anna", "Anna@x", 1, False, False, False, True)
    assert person_of({"userName": "no id"}) is None


USERS = tuple(PortalUser(f"u{i}@corp.example", "pw") for i in range(30))
CONFIG = SimConfig(users=(PortalUser("boss@corp.example", "pw", owner=True), *USERS),
                   open_portal=False)  # fmt: skip


def _session(token: Token) -> Renewal:
    """The admin's session of `token`, which these tests never log in again."""

    async def no_login(portal: PortalClient) -> Token:
        raise AssertionError("logged in again")

    return Renewal("--admin boss@corp.example", no_login, token)


@asynccontextmanager
async def portal_client() -> AsyncIterator[tuple[PortalClient, httpx.AsyncClient]]:
    transport = httpx.ASGITransport(app=create_app(CONFIG))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield PortalClient(client), client


@pytest.mark.parametrize(("wanted", "calls"), [(3, 3), (30, 1)])
async def test_few_users_are_looked_up_and_many_listed(wanted: int, calls: int) -> None:
    async with portal_client() as (portal, raw):
        token = await log_in(portal, Identity("boss@corp.example", "pw"), None, Backoff(), 0)
        assert isinstance(token, Token)
        logins = [f"U{i}@corp.example" for i in range(wanted)]
        found = await find_people(
            portal, _session(token), [*logins, "nobody@corp.example"], Backoff(), 0
        )
        stats = (await raw.get("/_sim/stats")).json()
    assert isinstance(found, dict)
    assert found.pop("nobody@corp.example") is None
    assert sorted(p.email for p in found.values() if p) == sorted(login.lower() for login in logins)
    assert stats["people_requests"] == calls + 1  # and the one lookup the listing lacked


async def test_a_login_that_names_a_people_route_is_nobody_not_a_failed_run() -> None:
    """`people/filter` is People's listing, not a user named "filter": that row's user is
    unknown, and the other users are still found."""
    async with portal_client() as (portal, _):
        token = await log_in(portal, Identity("boss@corp.example", "pw"), None, Backoff(), 0)
        assert isinstance(token, Token)
        found = await find_people(
            portal, _session(token), ["filter", "u1@corp.example"], Backoff(), 0
        )
    assert isinstance(found, dict)
    assert found["filter"] is None
    assert found["u1@corp.example"] is not None


class _Elsewhere:
    """A portal whose every lookup answers with one other user's record (as a lookup by
    user id, or a portal that ignores the email asked about, would)."""

    async def person(self, token: Token, login: str) -> dict[str, object]:
        return {"id": "e", "userName": "someone.else", "email": "someone.else@x"}


async def test_a_lookup_that_answers_with_another_user_finds_nobody() -> None:
    portal: Any = _Elsewhere()
    found = await find_people(portal, _session(Token("t")), ["anna@x", "anna"], Backoff(), 0)
    assert found == {"anna": None, "anna@x": None}


class _BusyChecks:
    """The simulator, answering the first `busy` check-route questions with 429."""

    def __init__(self, config: SimConfig, busy: int) -> None:
        self.app, self.busy = create_app(config), busy

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and self.busy > 0
            and (path.startswith("/api/2.0/security/impersonate/") and "settings" not in path)
        ):
            self.busy -= 1
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"retry-after", b"0")]})  # fmt: skip
            await send({"type": "http.response.body", "body": b"Too Many Requests"})
            return
        await self.app(scope, receive, send)


async def test_a_busy_check_route_is_asked_again_not_taken_for_impersonation_off() -> None:
    """An admin who is not the owner cannot read the switch, so the check route is asked:
    a 429 there is a busy portal, not a "no" (three of them said "impersonation is off")."""
    on = Impersonation(config_key=True, enabled=True, enable_type="all-admins")
    config = SimConfig(users=(PortalUser("boss@corp.example", "pw", owner=True),
                              PortalUser("adm@corp.example", "pw", admin=True), *USERS[:3]),
                       open_portal=False, impersonation=on)  # fmt: skip
    transport = httpx.ASGITransport(app=_BusyChecks(config, busy=3))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        acting = await prepare(
            PortalClient(client), Identity("adm@corp.example", "pw"),
            Counter(f"u{i}@corp.example" for i in range(3)), ask_code=None, dry_run=False,
            backoff=Backoff(base=0.0), retries=3,
        )  # fmt: skip
    assert isinstance(acting, Acting)
    assert acting.off is None
    assert acting.acts_for("u0@corp.example")


class _Gathering:
    """A portal whose lookups each wait until `together` of them are in flight at once: a
    find_people that asks one user at a time never gets its first answer."""

    def __init__(self, together: int) -> None:
        self.together, self.in_flight, self.most = together, 0, 0
        self.all_there = anyio.Event()

    async def person(self, token: Token, login: str) -> dict[str, object]:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight >= self.together:
            self.all_there.set()
        await self.all_there.wait()
        self.in_flight -= 1
        return {"id": login, "userName": login, "email": login}


async def test_users_the_listing_lacks_are_looked_up_several_at_a_time() -> None:
    """One lookup at a time, a dry run of 625 users took 256 s against a portal answering in
    200 ms: the lookups go one per client given, AT_ONCE of them as start_acting opens."""
    portal: Any = _Gathering(together=AT_ONCE)
    logins = [f"u{i}@x" for i in range(LOOKUPS)]  # looked up one each, no listing
    with anyio.fail_after(60):  # bounds a regression; the answer comes at once when it works
        found = await find_people(
            portal, _session(Token("t")), logins, Backoff(), 0, more=[portal] * (AT_ONCE - 1)
        )
    assert isinstance(found, dict) and sorted(found) == sorted(logins)
    assert all(person is not None for person in found.values())
    assert portal.most == AT_ONCE
