"""The client against the simulator: each side's copy of the portal's numbers checks the other.

A row's cells, in the words a sheet uses, go through the client (the validator, then
`PortalClient.create`) into the simulator in process. The test reads back what the simulator
stored and names it with the simulator's own facts (`bulkmail.simulator.facts`). A wrong
number in the client's copy (`bulkmail.schema`, the validator's words) makes the stored
account mean something else than the row said, and the case fails; so does a wrong number
in the simulator's copy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from bulkmail.portal.client import Created, Identity, PortalClient, Token
from bulkmail.simulator import MailServer, SimConfig, create_app
from bulkmail.simulator.facts import ENCRYPTION_NAMES, SASL_NAMES
from bulkmail.validation.table import validate_row

pytestmark = pytest.mark.anyio
OWNER = Identity("anna@corp.example", "Portal-pw-1")
MAILBOX = {
    "email": "anna.berg@corp.example",
    "password": "Box-pw-1",
    "server": "mail.corp.example",
    "smtp_server": "mail.corp.example",
}

# (cells besides MAILBOX, what the stored account must mean): incoming protocol, encryption
# and auth, then SMTP encryption, whether SMTP logs in, and with what.
CASES: list[tuple[str, dict[str, str], tuple[str, ...]]] = [
    (
        "named-ssl",
        {"port": "993", "incoming_encryption_type": "SSL", "smtp_port": "465",
         "outcoming_encryption_type": "ssl"},
        ("imap", "SSL", "Login", "SSL", "on", "Login"),
    ),
    (
        "named-starttls",
        {"port": "143", "incoming_encryption_type": "StartTLS", "smtp_port": "587",
         "outcoming_encryption_type": "starttls"},
        ("imap", "StartTLS", "Login", "StartTLS", "on", "Login"),
    ),
    (
        "named-none",
        {"port": "143", "incoming_encryption_type": "None", "smtp_port": "25",
         "outcoming_encryption_type": "none"},
        ("imap", "None", "Login", "None", "on", "Login"),
    ),
    (
        "inferred-from-ports",
        {"port": "143", "smtp_port": "587"},
        ("imap", "StartTLS", "Login", "StartTLS", "on", "Login"),
    ),
    (
        "inferred-ssl-and-plain",
        {"port": "993", "smtp_port": "25"},
        ("imap", "SSL", "Login", "None", "on", "Login"),
    ),
    (
        "ports-from-encryption",
        {"incoming_encryption_type": "StartTLS", "outcoming_encryption_type": "StartTLS"},
        ("imap", "StartTLS", "Login", "StartTLS", "on", "Login"),
    ),
    (
        "named-pop3",
        {"imap": "false", "port": "995", "incoming_encryption_type": "SSL"},
        ("pop3", "SSL", "Login", "SSL", "on", "Login"),
    ),
    (
        "pop3-from-port",
        {"port": "110", "smtp_port": "465"},
        ("pop3", "StartTLS", "Login", "SSL", "on", "Login"),
    ),
    (
        "auth-crammd5",
        {"auth_type_in": "CramMd5", "auth_type_smtp": "CRAM-MD5"},
        ("imap", "SSL", "CramMd5", "SSL", "on", "CramMd5"),
    ),
    (
        "auth-ntlm",
        {"auth_type_in": "Ntlm", "auth_type_smtp": "ntlm"},
        ("imap", "SSL", "Ntlm", "SSL", "on", "Ntlm"),
    ),
    (
        "smtp-without-login",
        {"smtp_port": "25", "smtp_auth": "no"},
        ("imap", "SSL", "Login", "None", "off", "None"),
    ),
]  # fmt: skip
# The open portal's mail servers ask SMTP clients to log in; this one takes mail without.
NO_SMTP_AUTH = SimConfig(servers=(MailServer(MAILBOX["smtp_server"], smtp_auth=False),))


@asynccontextmanager
async def simulator(config: SimConfig) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
        yield http


def meaning(stored: dict[str, Any]) -> tuple[str, ...]:
    """Return what a stored account means, in the simulator's names for its numbers."""
    return (
        "imap" if stored["imap"] else "pop3",
        ENCRYPTION_NAMES.get(stored["incoming_encryption_type"], "undefined"),
        SASL_NAMES.get(stored["auth_type_in"], "undefined"),
        ENCRYPTION_NAMES.get(stored["outcoming_encryption_type"], "undefined"),
        "on" if stored["smtp_auth"] else "off",
        SASL_NAMES.get(stored["auth_type_smtp"], "undefined"),
    )


@pytest.mark.parametrize(("cells", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_the_simulator_stores_what_the_row_said(
    cells: dict[str, str], expected: tuple[str, ...]
) -> None:
    account, problems = validate_row(MAILBOX | cells, 2)
    assert account is not None, problems
    config = NO_SMTP_AUTH if expected[4] == "off" else SimConfig()
    async with simulator(config) as http:
        client = PortalClient(http)
        token = await client.login(OWNER)
        assert isinstance(token, Token), token
        created = await client.create(token, account.payload())
        assert isinstance(created, Created), created
        stored = (await http.get("/_sim/mailboxes")).json()
    assert [m["email"] for m in stored] == [MAILBOX["email"]]
    assert meaning(stored[0]) == expected
