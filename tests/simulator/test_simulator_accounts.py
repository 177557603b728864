"""The mail account endpoints, in process and over real HTTP on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from test_simulator_auth import Portal, login, portal_fixture, servers_fixture  # noqa: F401 (fixtures)

from bulkmail.simulator import SimConfig

pytestmark = pytest.mark.anyio
ACCOUNTS = "/api/2.0/mail/accounts"
BODY: dict[str, Any] = {
    "name": "Anna Berg", "email": "Anna.Berg@corp.example", "account": "anna",
    "password": "Box-pw-1", "server": "imap.corp.example", "port": 993, "imap": True,
    "incoming_encryption_type": 1, "auth_type_in": 1, "smtp_server": "smtp.corp.example",
    "smtp_port": 465, "smtp_auth": True, "smtp_account": "anna", "smtp_password": "Box-pw-1",
    "outcoming_encryption_type": 1, "auth_type_smtp": 1, "restrict": False,
}  # fmt: skip
OPEN = SimConfig()
MIN = "0001-01-01T00:00:00"
GENERIC = "Some unexpected error has occurred. Please try again later."


@asynccontextmanager
async def signed_in(
    portal: Portal, user: str = "anna@corp.example"
) -> AsyncIterator[httpx.AsyncClient]:
    """Yield a client of a fresh open portal, logged in as `user` with a raw token header."""
    async with portal(OPEN) as client:
        token = (await login(client, user, "Portal-1")).json()["response"]["token"]
        client.headers["Authorization"] = token
        yield client


def account_data(mailbox_id: int, email: str, name: str | None, **changed: Any) -> dict[str, Any]:
    """Return MailAccountData as the portal writes it."""
    return {
        "mailboxId": mailbox_id, "email": email, "enabled": True, "name": name,
        "oAuthConnection": False,
        "signature": {"mailboxId": mailbox_id, "html": "", "isActive": False},
        "autoreply": {"mailboxId": mailbox_id, "turnOn": False, "onlyContacts": False,
                      "turnOnToDate": False, "fromDate": MIN, "toDate": MIN, "subject": "",
                      "html": ""},
        "eMailInFolder": None, "quotaError": False, "authError": False, "isGroup": False,
        "isAlias": False, "isTeamlabMailbox": False, "isDefault": False,
        "isSharedDomainMailbox": False, "dateCreated": None,
    } | changed  # fmt: skip


def error(status: int, message: str, hresult: int) -> dict[str, Any]:
    return {
        "status": 1,
        "statusCode": status,
        "error": {"message": message, "hresult": hresult, "data": {}},
    }


@pytest.mark.parametrize("path", [ACCOUNTS, f"{ACCOUNTS}.json", f"{ACCOUNTS}.xml"])
async def test_a_create_answers_201_with_the_account(portal: Portal, path: str) -> None:
    async with signed_in(portal) as client:
        answer = await client.post(path, json=BODY)
    assert (answer.status_code, answer.headers["content-type"]) == (
        201,
        "application/json; charset=UTF-8",
    )
    assert answer.json() == {
        "count": 1,
        "status": 0,
        "statusCode": 201,
        "response": account_data(1, "Anna.Berg@corp.example", "Anna Berg"),
    }


async def test_a_form_with_any_case_keys_binds_like_json(portal: Portal) -> None:
    form = {key.upper(): str(value).lower() for key, value in BODY.items()}
    async with signed_in(portal) as client:
        created = await client.post(ACCOUNTS, data=form)
        stored = await client.get(f"{ACCOUNTS}/single", params={"email": "anna.berg@corp.example"})
    assert created.status_code == 201
    assert stored.json()["response"] | {"begin_date": ""} == {
        "id": 1, "email": "anna.berg@corp.example", "name": "anna berg", "account": "anna",
        "password": "", "server": "imap.corp.example", "smtp_server": "smtp.corp.example",
        "smtp_port": "465", "smtp_account": "anna", "smtp_password": "", "smtp_auth": True,
        "port": "993", "incoming_encryption_type": 1, "outcoming_encryption_type": 1,
        "auth_type_in": 1, "auth_type_smtp": 1, "imap": True, "begin_date": "", "is_oauth": False,
        "restrict": False, "email_in_folder": None, "is_teamlab": False,
    }  # fmt: skip


async def test_a_json_body_without_its_content_type_binds_nothing(portal: Portal) -> None:
    async with signed_in(portal) as client:
        answer = await client.post(ACCOUNTS, content=httpx.Request("POST", "/", json=BODY).content,
                                   headers={"Content-Type": "text/plain"})  # fmt: skip
    assert (answer.status_code, answer.json()) == (
        400,
        error(400, "Value cannot be null.\nParameter name: address", -2147467261),
    )


@pytest.mark.parametrize(
    ("changes", "status", "message", "hresult"),
    [
        ({"port": "993a"}, 400, "Input string was not in a correct format.", -2146233033),
        ({"smtp_port": 25.5}, 400, "Input string was not in a correct format.", -2146233033),
        ({"imap": 1}, 400, "String was not recognized as a valid Boolean.", -2146233033),
        ({"smtp_auth": "yes"}, 400, "String was not recognized as a valid Boolean.", -2146233033),
        ({"incoming_encryption_type": "TLS"}, 400, "Requested value 'TLS' was not found.",
         -2147024809),
        ({"auth_type_smtp": "Plain"}, 400, "Requested value 'Plain' was not found.", -2147024809),
        ({"email": None}, 400, "The parameter 'address' cannot be an empty string.\n"
                               "Parameter name: address", -2147024809),
        ({"email": ""}, 400, "The parameter 'address' cannot be an empty string.\n"
                             "Parameter name: address", -2147024809),
        ({"email": "anna.corp.example"}, 500,
         "The specified string is not in the form required for an e-mail address.", -2146233033),
    ],
)  # fmt: skip
async def test_bad_values_are_answered_as_the_binder_and_mailaddress_do(
    portal: Portal, changes: dict[str, Any], status: int, message: str, hresult: int
) -> None:
    async with signed_in(portal) as client:
        answer = await client.post(ACCOUNTS, json=BODY | changes)
        listed = await client.get(ACCOUNTS)
    assert (answer.status_code, answer.json()) == (status, error(status, message, hresult))
    assert listed.json()["response"] == []


async def test_a_missing_email_is_400_argument_null(portal: Portal) -> None:
    async with signed_in(portal) as client:
        answer = await client.post(ACCOUNTS, json={k: v for k, v in BODY.items() if k != "email"})
    assert answer.json() == error(
        400, "Value cannot be null.\nParameter name: address", -2147467261
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "wrong-pw"}, "IMAP response:</span><br/>Invalid credentials (Failure)"),
        ({"imap": False, "port": 995, "password": "wrong"},
         "POP3 response:</span><br/>Authentication failed."),
        ({"smtp_password": "wrong"},
         "SMTP response:</span><br/>5.7.8 Username and Password not accepted"),
        ({"password": "wrong", "smtp_server": "smtp.corp.invalid"},
         'IMAP response:</span><br/>Invalid credentials (Failure)\r\n<span class="attempt_header">'
         "SMTP response:</span><br/>Connection refused"),
        ({"server": "timeout.corp.example"}, "IMAP response:</span><br/>Imap.ConnectAsync timeout"),
        ({"smtp_auth": False},
         "SMTP response:</span><br/>SmtpAuth is required (setup Authentication Type)"),
        ({"port": 143},
         "IMAP response:</span><br/>The handshake failed due to an unexpected packet format."),
        ({"server": ""}, "IMAP response:</span><br/>The host name cannot be empty."),
    ],
)  # fmt: skip
async def test_a_failed_login_test_is_500_with_the_portal_text_and_saves_nothing(
    portal: Portal, changes: dict[str, Any], message: str
) -> None:
    async with signed_in(portal) as client:
        answer = await client.post(ACCOUNTS, json=BODY | changes)
        listed = await client.get(ACCOUNTS)
    expected = f'<span class="attempt_header">{message}'
    assert (answer.status_code, answer.json()) == (500, error(500, expected, -2146233088))
    assert listed.json() == {"status": 0, "statusCode": 200, "response": []}
    assert "<\\/span><br\\/>" in answer.text  # the portal's writer escapes "/"


async def test_a_russian_user_gets_russian_headers(portal: Portal) -> None:
    async with signed_in(portal, "ivan@corp.example.ru") as client:
        answer = await client.post(
            ACCOUNTS, json=BODY | {"password": "wrong", "smtp_password": "wrong"}
        )
    assert answer.json()["error"]["message"] == (
        '<span class="attempt_header">Ответ сервера IMAP:</span><br/>Invalid credentials (Failure)'
        '\r\n<span class="attempt_header">Ответ сервера SMTP:</span><br/>'
        "5.7.8 Username and Password not accepted"
    )


@pytest.mark.parametrize(
    ("user", "changes", "message"),
    [
        ("anna@corp.example", {"auth_type_in": "OAuth2"}, GENERIC),
        ("anna@corp.example", {"auth_type_smtp": 5}, GENERIC),
        ("anna@corp.example", {"auth_type_in": 9}, GENERIC),
        ("anna@corp.example", {"incoming_encryption_type": "SSL,StartTLS"}, GENERIC),
        ("ivan@corp.example.ru", {"auth_type_in": 5},
         "Произошла непредвиденная ошибка. Пожалуйста, повторите попытку позже."),
    ],
)  # fmt: skip
async def test_values_the_portal_cannot_save_fail_after_the_test_with_the_generic_500(
    portal: Portal, user: str, changes: dict[str, Any], message: str
) -> None:
    async with signed_in(portal, user) as client:
        answer = await client.post(ACCOUNTS, json=BODY | changes)
        listed = await client.get(ACCOUNTS)
    assert (answer.status_code, answer.json()) == (500, error(500, message, -2146233088))
    assert listed.json()["response"] == []
