"""The fake mail servers answer the portal's login test with MailKit's words."""

from __future__ import annotations

import pytest

from bulkmail.simulator import MailServer, SimConfig
from bulkmail.simulator.mailservers import Attempt, Registry

OPEN = Registry(SimConfig())
CONFIGURED = Registry(
    SimConfig(
        servers=(
            MailServer(
                "mail.example.com",
                protocols=frozenset({"imap", "smtp"}),
                tls=frozenset({"ssl", "starttls"}),
                accounts={"Anna@example.com": "Box-pw-1"},
                reject={"imap": "[AUTHENTICATIONFAILED] Nope"},
            ),
            MailServer("legacy.example.com", tls=frozenset({"plain"}), smtp_auth=False,
                       plain_ports=(110, 2525)),
            MailServer("slow.example.com", status="auth-timeout"),
        ),
        open_servers=False,
    )
)  # fmt: skip


def imap(
    host: str | None = "imap.example.org", port: int = 993, encryption: int = 1,
    login: str | None = "anna", password: str | None = "pw", auth: int = 1,
) -> Attempt:  # fmt: skip
    return Attempt("imap", host, port, encryption, login, password, auth)


def pop3(
    port: int = 995, encryption: int = 1, auth: int = 1, host: str = "pop.example.org"
) -> Attempt:
    return Attempt("pop3", host, port, encryption, "anna", "pw", auth)


def smtp(port: int = 465, encryption: int = 1, auth: int = 1, password: str = "pw",
         host: str = "smtp.example.org") -> Attempt:  # fmt: skip
    return Attempt("smtp", host, port, encryption, "anna", password, auth)


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (imap(), None),
        (imap(port=0), None),  # 0: MailKit's default port for SSL, 993
        (imap(port=143, encryption=0), None),
        (imap(port=143, encryption=2), None),
        (imap(password="Wrong-pw"), "Invalid credentials (Failure)"),
        (imap(password=""), "Invalid credentials (Failure)"),
        (imap(login=None), "Invalid credentials (Failure)"),
        (imap(host=None), "Value cannot be null.\nParameter name: host"),
        (imap(host=""), "The host name cannot be empty."),
        (imap(port=70000), "Specified argument was out of the range of valid values.\n"
                           "Parameter name: port"),
        (imap(port=9933), "Connection refused"),
        (imap(host="imap.example.invalid"), "Connection refused"),
        (imap(host="timeout.example.org"), "Imap.ConnectAsync timeout"),
        (imap(port=143, encryption=1), "The handshake failed due to an unexpected packet format."),
        (imap(port=993, encryption=0), "Imap.ConnectAsync timeout"),
        (pop3(), None),
        (pop3(port=110, encryption=0), None),
        (pop3(auth=7), "Object reference not set to an instance of an object"),
        (pop3(host="timeout.example.org"), "Pop.ConnectAsync timeout"),
        (smtp(), None),
        (smtp(port=587, encryption=2), None),
        (smtp(port=0, encryption=2), None),  # 0: MailKit's default for STARTTLS, 25
        (smtp(auth=0), "SmtpAuth is required (setup Authentication Type)"),
        (smtp(password="wrong"), "5.7.8 Username and Password not accepted"),
        (smtp(host="timeout.example.org"), "Smtp.ConnectAsync timeout"),
    ],
)  # fmt: skip
def test_open_servers(attempt: Attempt, expected: str | None) -> None:
    assert OPEN.test(attempt) == expected


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (imap("mail.example.com", login="ANNA@example.com", password="Box-pw-1"), None),
        (imap("mail.example.com", login="anna@example.com", password="box-pw-1"),
         "[AUTHENTICATIONFAILED] Nope"),
        (imap("mail.example.com", 143, 2, "anna@example.com", "Box-pw-1"), None),
        (imap("mail.example.com", 143, 0, "anna@example.com", "Box-pw-1"),
         "The LOGIN command is disabled."),
        (pop3(host="mail.example.com"), "Connection refused"),
        (smtp(host="mail.example.com", port=25, encryption=0),
         "The SMTP server does not support authentication."),
        (smtp(host="legacy.example.com", port=2525, encryption=0, auth=0), None),
        (smtp(host="legacy.example.com", port=25, encryption=0, auth=0), "Connection refused"),
        (smtp(host="legacy.example.com", port=2525, encryption=0),
         "The SMTP server does not support authentication."),
        (pop3(host="legacy.example.com", port=110, encryption=2), None),
        (smtp(host="slow.example.com"), "Smtp.AuthenticateAsync timeout"),
        (imap("imap.example.org"), "No such host is known"),
    ],
)  # fmt: skip
def test_configured_servers(attempt: Attempt, expected: str | None) -> None:
    assert CONFIGURED.test(attempt) == expected
