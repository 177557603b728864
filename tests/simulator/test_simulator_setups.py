"""GET mail/accounts/setups in the simulator: a provider's settings, else the portal's guess."""

from __future__ import annotations

from typing import Any

import pytest
from test_simulator_accounts import error, signed_in
from test_simulator_auth import Portal, portal_fixture, servers_fixture  # noqa: F401 (fixtures)

from bulkmail.simulator import SimConfig

pytestmark = pytest.mark.anyio
SETUPS = "/api/2.0/mail/accounts/setups"


def settings(
    email: str, login: str, imap: bool, incoming: tuple[str, int, int], smtp: tuple[str, int, int]
) -> dict[str, Any]:
    """The answer's settings (begin_date aside: it is now minus 30 days)."""
    return {
        "id": 0, "email": email, "name": "", "account": login, "password": "",
        "server": incoming[0], "smtp_server": smtp[0], "smtp_port": str(smtp[1]),
        "smtp_account": login, "smtp_password": "", "smtp_auth": True, "port": str(incoming[1]),
        "incoming_encryption_type": incoming[2], "outcoming_encryption_type": smtp[2],
        "auth_type_in": 1, "auth_type_smtp": 1, "imap": imap, "is_oauth": False,
        "restrict": True, "email_in_folder": None, "is_teamlab": False,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("email", "action", "expected"),
    [
        ("Anna@Gmail.com", "get_imap_server", settings(
            "Anna@Gmail.com", "Anna@Gmail.com", True, ("imap.gmail.com", 993, 1),
            ("smtp.gmail.com", 465, 1))),
        ("anna@gmail.com", "get_pop_server_full", settings(
            "anna@gmail.com", "anna@gmail.com", False, ("pop.gmail.com", 995, 1),
            ("smtp.gmail.com", 465, 1))),
        ("ivan@yandex.ru", "get_imap_server", settings(  # the login is the local part
            "ivan@yandex.ru", "ivan", True, ("imap.yandex.ru", 993, 1),
            ("smtp.yandex.ru", 465, 1))),
        ("bob@corp.example", "get_imap_server", settings(  # unknown: the guess
            "bob@corp.example", "bob@corp.example", True, ("imap.corp.example", 993, 1),
            ("smtp.corp.example", 25, 0))),
        ("bob@corp.example", "get_pop_server", settings(
            "bob@corp.example", "bob@corp.example", False, ("pop.corp.example", 110, 0),
            ("smtp.corp.example", 25, 0))),
        ("bob@corp.example", "get_imap_pop_settings", settings(  # no IMAP known: POP's guess
            "bob@corp.example", "bob@corp.example", False, ("pop.corp.example", 110, 0),
            ("smtp.corp.example", 25, 0))),
        ("anna@gmail.com", "", settings(  # no action: the guess, nothing looked up
            "anna@gmail.com", "anna@gmail.com", True, ("imap.gmail.com", 993, 1),
            ("smtp.gmail.com", 25, 0))),
    ],
)  # fmt: skip
async def test_setups_answer_the_providers_settings_or_the_portals_guess(
    portal: Portal, email: str, action: str, expected: dict[str, Any]
) -> None:
    async with signed_in(portal) as client:
        answer = await client.get(SETUPS, params={"email": email, "action": action})
    assert answer.status_code == 200
    body = answer.json()
    begin = body["response"].pop("begin_date")
    assert body == {"count": 1, "status": 0, "statusCode": 200, "response": expected}
    assert begin > "2000-01-01"  # now minus 30 days


@pytest.mark.parametrize(
    ("params", "status", "message", "hresult"),
    [
        ({}, 400, "Value cannot be null.\nParameter name: address", -2147467261),
        ({"email": ""}, 400, "The parameter 'address' cannot be an empty string.\n"
         "Parameter name: address", -2147024809),
        ({"email": "not an address"}, 500,
         "The specified string is not in the form required for an e-mail address.", -2146233033),
    ],
)  # fmt: skip
async def test_setups_refuse_a_missing_or_malformed_email(
    portal: Portal, params: dict[str, str], status: int, message: str, hresult: int
) -> None:
    async with signed_in(portal) as client:
        answer = await client.get(SETUPS, params=params)
    assert (answer.status_code, answer.json()) == (status, error(status, message, hresult))


async def test_setups_need_a_login(portal: Portal) -> None:
    async with portal(SimConfig()) as client:
        answer = await client.get(SETUPS, params={"email": "anna@gmail.com"})
    assert (answer.status_code, answer.text) == (401, "Unauthorized")
