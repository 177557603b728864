"""Stored mailboxes: upsert, list, read one, remove, and the simulator-only endpoints."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from test_simulator_accounts import ACCOUNTS, BODY, account_data, error, signed_in
from test_simulator_auth import Portal, login, portal_fixture, servers_fixture  # noqa: F401 (fixtures)

from bulkmail.errors import ConfigError
from bulkmail.simulator import MailServer, PortalUser, SimConfig

pytestmark = pytest.mark.anyio
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


async def test_a_second_post_overwrites_keeping_the_id(portal: Portal) -> None:
    unnamed = {k: v for k, v in BODY.items() if k != "name"}  # a missing name is null
    async with signed_in(portal) as client:
        first = await client.post(ACCOUNTS, json=BODY)
        other = await client.post(ACCOUNTS, json=BODY | {"email": "other@corp.example"})
        again = await client.post(ACCOUNTS, json=unnamed | {"email": "ANNA.BERG@corp.example"})
        listed = (await client.get(ACCOUNTS)).json()
        stats = (await client.get("/_sim/stats")).json()
    assert [a.json()["response"]["mailboxId"] for a in (first, other, again)] == [1, 2, 1]
    assert again.json()["response"] == account_data(1, "ANNA.BERG@corp.example", None)
    created = [item.pop("dateCreated") for item in listed["response"]]
    assert all(ISO.fullmatch(c) for c in created)
    assert listed == {
        "count": 2,
        "status": 0,
        "statusCode": 200,
        "response": [
            {k: v for k, v in account_data(1, "anna.berg@corp.example", None).items()
             if k != "dateCreated"},
            {k: v for k, v in account_data(2, "other@corp.example", "Anna Berg").items()
             if k != "dateCreated"},
        ],
    }  # fmt: skip
    assert (stats["requests"], stats["creates"], stats["overwrites"], stats["logins"]) == (
        5,
        2,
        1,
        1,
    )
    assert stats["users"] == {
        "anna@corp.example": {"requests": 5, "creates": 2, "overwrites": 1, "impersonated": 0}
    }


@pytest.mark.parametrize(
    ("typed", "same", "other"),
    [
        # .NET lowers one character at a time: no Final_Sigma ("ΟΔΟΣ" is "οδοσ", not "οδος")
        ("ΟΔΟΣ@corp.example", "οδοσ@corp.example", "οδος@corp.example"),
        # and lowers, never folds: "straße" and "strasse" are two addresses
        ("STRAẞE@corp.example", "straße@corp.example", "strasse@corp.example"),
        ("İNFO@corp.example", "info@corp.example", "i\u0307nfo@corp.example"),
    ],
)
async def test_the_upsert_key_is_the_address_lowered_as_dotnet_lowers_it(
    portal: Portal, typed: str, same: str, other: str
) -> None:
    async with signed_in(portal) as client:
        first = await client.post(ACCOUNTS, json=BODY | {"email": typed})
        again = await client.post(ACCOUNTS, json=BODY | {"email": same})
        apart = await client.post(ACCOUNTS, json=BODY | {"email": other})
        listed = (await client.get(ACCOUNTS)).json()["response"]
        single = await client.get(f"{ACCOUNTS}/single", params={"email": typed})
    ids = [a.json()["response"]["mailboxId"] for a in (first, again, apart)]
    assert ids == [1, 1, 2]
    assert [(item["mailboxId"], item["email"]) for item in listed] == [
        (1, same),
        (2, other),
    ]
    assert single.json()["response"]["id"] == 1


async def test_mailboxes_belong_to_the_user_who_created_them(portal: Portal) -> None:
    async with signed_in(portal) as client:
        await client.post(ACCOUNTS, json=BODY)
        token = (await login(client, "ben@corp.example", "Portal-2")).json()["response"]["token"]
        client.headers["Authorization"] = token
        empty = await client.get(ACCOUNTS)
        own = await client.post(ACCOUNTS, json=BODY)
    assert empty.json() == {"status": 0, "statusCode": 200, "response": []}  # no "count"
    assert own.json()["response"]["mailboxId"] == 2


@pytest.mark.parametrize(
    ("query", "emails", "paging"),
    [
        ({}, ["box0@corp.example", "box1@corp.example", "box2@corp.example"], {"count": 3}),
        ({"count": "2"}, ["box0@corp.example", "box1@corp.example"], {"count": 2, "nextIndex": 2}),
        ({"startIndex": "2"}, ["box2@corp.example"], {"count": 1, "startIndex": 2}),
        ({"startIndex": "9"}, [], {"startIndex": 9}),  # an empty page has no "count"
    ],
)
async def test_the_list_pages_like_the_portal(
    portal: Portal, query: dict[str, str], emails: list[str], paging: dict[str, int]
) -> None:
    async with signed_in(portal) as client:
        for i in range(3):
            await client.post(ACCOUNTS, json=BODY | {"email": f"box{i}@corp.example"})
        listed = (await client.get(ACCOUNTS, params=query | {"fields": "email"})).json()
    assert listed == paging | {
        "status": 0,
        "statusCode": 200,
        "response": [{"email": e} for e in emails],
    }
    assert list(listed) == [*paging, "status", "statusCode", "response"]


async def test_single_gives_the_stored_settings_without_passwords(portal: Portal) -> None:
    async with signed_in(portal) as client:
        await client.post(ACCOUNTS, json=BODY | {"restrict": True, "smtp_auth": True})
        answer = await client.get(f"{ACCOUNTS}/single", params={"email": "ANNA.berg@corp.example"})
    body = answer.json()
    assert ISO.fullmatch(body["response"].pop("begin_date"))
    assert body == {
        "count": 1, "status": 0, "statusCode": 200,
        "response": {
            "id": 1, "email": "anna.berg@corp.example", "name": "Anna Berg", "account": "anna",
            "password": "", "server": "imap.corp.example", "smtp_server": "smtp.corp.example",
            "smtp_port": "465", "smtp_account": "anna", "smtp_password": "", "smtp_auth": True,
            "port": "993", "incoming_encryption_type": 1, "outcoming_encryption_type": 1,
            "auth_type_in": 1, "auth_type_smtp": 1, "imap": True, "is_oauth": False,
            "restrict": True, "email_in_folder": None, "is_teamlab": False,
        },
    }  # fmt: skip
    assert "Box-pw-1" not in answer.text


@pytest.mark.parametrize("method", ["GET single", "DELETE"])
@pytest.mark.parametrize(
    ("email", "status", "message", "hresult"),
    [
        ("", 400, "Email empty", -2147024809),
        ("nobody@corp.example", 500, "Account wasn't found by email: nobody@corp.example",
         -2147467261),
        ("nobody", 500, "The specified string is not in the form required for an e-mail address.",
         -2146233033),
    ],
)  # fmt: skip
async def test_single_and_delete_refuse_what_is_not_there(
    portal: Portal, method: str, email: str, status: int, message: str, hresult: int
) -> None:
    path = f"{ACCOUNTS}/single" if method == "GET single" else ACCOUNTS
    async with signed_in(portal) as client:
        answer = await client.request(method.split()[0], path, params={"email": email})
    assert (answer.status_code, answer.json()) == (status, error(status, message, hresult))


async def test_delete_removes_the_mailbox_through_an_operation(portal: Portal) -> None:
    async with signed_in(portal) as client:
        await client.post(ACCOUNTS, json=BODY)
        removed = await client.delete(ACCOUNTS, params={"email": "anna.berg@corp.example"})
        operation = removed.json()["response"]["id"]
        polled = await client.get(f"/api/2.0/mail/operations/{operation}")
        listed = await client.get(ACCOUNTS)
        again = await client.delete(ACCOUNTS, params={"email": "anna.berg@corp.example"})
        recreated = await client.post(ACCOUNTS, json=BODY)
        everything = (await client.get("/_sim/mailboxes")).json()

    def status(done: bool) -> dict[str, Any]:
        return {
            "completed": done, "id": operation, "status": "Finished" if done else "Started",
            "error": "", "percents": 100 if done else 0, "source": "1", "operationType": 2,
            "operation": "RemoveMailbox",
        }  # fmt: skip

    assert removed.json() == {"count": 1, "status": 0, "statusCode": 200, "response": status(False)}
    assert polled.json() == {"count": 1, "status": 0, "statusCode": 200, "response": status(True)}
    assert listed.json()["response"] == []
    assert again.status_code == 500
    assert recreated.json()["response"]["mailboxId"] == 2
    assert [(m["id"], m["removed"]) for m in everything] == [(1, True), (2, False)]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", ACCOUNTS),
        ("POST", f"{ACCOUNTS}/single"),
        ("GET", "/api/2.0/authentication"),
        ("GET", "/api/2.0/mail/nothing"),
        ("GET", f"{ACCOUNTS}.yaml"),
        ("GET", "/"),
    ],
)
async def test_unknown_paths_and_verbs_are_a_plain_404(
    portal: Portal, method: str, path: str
) -> None:
    async with signed_in(portal) as client:
        answer = await client.request(method, path)
    assert (answer.status_code, answer.text) == (404, "Not Found")


async def test_sim_mailboxes_never_hold_passwords_and_reset_forgets_everything(
    portal: Portal,
) -> None:
    async with signed_in(portal) as client:
        await client.post(ACCOUNTS, json=BODY)
        everything = await client.get("/_sim/mailboxes")
        reset = await client.post("/_sim/reset")
        after = (await client.get("/_sim/stats")).json()
        token_after = await client.get(ACCOUNTS)
    (mailbox,) = everything.json()
    assert (mailbox["user"], mailbox["email"], mailbox["smtp_account"]) == (
        "anna@corp.example",
        "anna.berg@corp.example",
        "anna",
    )
    assert "Box-pw-1" not in everything.text and "password" not in mailbox
    assert reset.json() == {"reset": True}
    assert after == {
        "requests": 0, "creates": 0, "overwrites": 0, "logins": 0, "login_failures": 0,
        "people_requests": 0, "impersonations": 0, "impersonations_ended": 0,
        "impersonation_refusals": 0, "logouts": 0, "sessions_ended": 0,
        "faults": {}, "users": {}, "most_waiting": 0,
        "impersonation": after["impersonation"],
    }  # fmt: skip
    assert after["impersonation"]["open_sessions"] == 0
    assert token_after.status_code == 401


async def test_reset_lifts_a_mail_servers_ban_of_the_portal(portal: Portal) -> None:
    # A rehearsal resets the simulator between scenarios: a ban earned in the last one must
    # not turn every login of the next one away as "Connection refused".
    banning = SimConfig(servers=(MailServer("imap.corp.example", ban_after=1),))
    bad = BODY | {"password": "wrong-1", "smtp_password": "wrong-1"}
    async with portal(banning) as client:
        client.headers["Authorization"] = await _token(client)
        refused = await client.post(ACCOUNTS, json=bad)
        banned = await client.post(ACCOUNTS, json=BODY)
        (await client.post("/_sim/reset")).raise_for_status()
        client.headers["Authorization"] = await _token(client)  # reset forgot the token
        after = await client.post(ACCOUNTS, json=BODY)
    assert "Invalid credentials" in refused.text and "Connection refused" in banned.text
    assert after.status_code == 201, after.text


async def _token(client: httpx.AsyncClient) -> str:
    token: str = (await login(client, "anna@corp.example", "Portal-1")).json()["response"]["token"]
    return token


OLGA = PortalUser(
    "olga@corp.example",
    "Portal-9",
    portal_mailboxes=("Olga@Corp.Example",),
    aliases=("o.petrova@corp.example",),
    mail_groups=("sales@corp.example",),
)
OWN_MAIL = SimConfig(users=(OLGA,))


async def test_the_list_holds_the_users_portal_mailbox_its_aliases_and_groups(
    portal: Portal,
) -> None:
    async with portal(OWN_MAIL) as client:
        token = (await login(client, OLGA.login, OLGA.password)).json()["response"]["token"]
        client.headers["Authorization"] = token
        created = await client.post(ACCOUNTS, json=BODY)
        listed = (await client.get(ACCOUNTS)).json()["response"]
        removed = await client.delete(ACCOUNTS, params={"email": "olga@corp.example"})
        # What the sources say of an upsert: the user's mailbox of that address is overwritten,
        # the portal's own included; an alias is no mailbox, so a new one is made.
        over = await client.post(ACCOUNTS, json=BODY | {"email": "OLGA@corp.example"})
        alias = await client.post(ACCOUNTS, json=BODY | {"email": "o.petrova@corp.example"})
        stats = (await client.get("/_sim/stats")).json()
    flags = ("isTeamlabMailbox", "isAlias", "isGroup")
    assert [(i["mailboxId"], i["email"], *(i[f] for f in flags)) for i in listed] == [
        (1, "olga@corp.example", True, False, False),
        (2, "anna.berg@corp.example", False, False, False),
        (1, "o.petrova@corp.example", False, True, False),
        (1, "sales@corp.example", False, False, True),
    ]
    assert created.json()["response"]["mailboxId"] == 2
    assert removed.status_code == 400
    assert removed.json() == error(
        400, "Mailbox with specified email can't be deleted", -2147024809
    )
    assert over.json()["response"]["mailboxId"] == 1
    assert alias.json()["response"]["mailboxId"] == 3
    assert (stats["creates"], stats["overwrites"]) == (2, 1)


def test_aliases_need_a_portal_mailbox() -> None:
    with pytest.raises(ConfigError, match="need a portal_mailboxes"):
        PortalUser("olga@corp.example", "pw", aliases=("o@corp.example",))


async def test_a_create_over_a_switched_off_mailbox_answers_enabled_and_keeps_it_off(
    portal: Portal,
) -> None:
    async with signed_in(portal) as client:
        await client.post(ACCOUNTS, json=BODY)
        off = await client.put(
            f"{ACCOUNTS}/state", json={"email": "anna.berg@corp.example", "state": False}
        )
        again = await client.post(ACCOUNTS, json=BODY)
        listed = (await client.get(ACCOUNTS)).json()["response"]
        unknown = await client.put(
            f"{ACCOUNTS}/state", json={"email": "x@corp.example", "state": True}
        )
        on = await client.put(
            f"{ACCOUNTS}/state", json={"email": "Anna.Berg@corp.example", "state": True}
        )
        relisted = (await client.get(ACCOUNTS)).json()["response"]
    assert off.json() == {"count": 1, "status": 0, "statusCode": 200, "response": 1}
    assert again.json()["response"]["enabled"] is True  # what the create answers, always
    assert [(i["mailboxId"], i["enabled"]) for i in listed] == [(1, False)]  # what it keeps
    assert unknown.status_code == 500
    assert on.status_code == 200 and [i["enabled"] for i in relisted] == [True]
