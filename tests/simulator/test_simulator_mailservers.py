"""The fake mail servers answer the portal's login test with MailKit's words."""

from __future__ import annotations

from collections import Counter

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


BUSY_IMAP = "[ALERT] Too many simultaneous connections. (Failure)"
BUSY_SMTP = "4.7.0 Try again later, closing connection."


def limited(**server: object) -> Registry:
    return Registry(SimConfig(servers=(MailServer("mail.limited.test", **server),)))  # type: ignore[arg-type]


def create(registry: Registry, now: float, password: str = "pw", tally: Counter[str] | None = None,
           smtp_host: str = "MAIL.limited.test") -> list[str | None]:  # fmt: skip
    sides = [
        imap(host="mail.limited.test", password=password),
        smtp(password=password, host=smtp_host),
    ]
    return registry.connect(
        sides, now=now, until=now + 10, tally=tally if tally is not None else Counter()
    )


def test_a_server_serves_its_limit_of_logins_at_once_and_turns_the_next_away() -> None:
    registry, tally = limited(max_logins=2), Counter[str]()
    # A create's two sides on one server are one of its logins.
    assert create(registry, 0, tally=tally) == [None, None]
    assert create(registry, 1, tally=tally) == [None, None]
    assert create(registry, 2, tally=tally) == [BUSY_IMAP, BUSY_SMTP]
    assert create(registry, 10.5, tally=tally) == [None, None]  # the first one's answer went out
    assert tally == Counter({"mail-throttled": 2})


def test_each_server_counts_its_own_logins() -> None:
    registry = Registry(SimConfig(servers=(MailServer("mail.limited.test", max_logins=1),)))
    assert create(registry, 0, smtp_host="smtp.open.test") == [None, None]
    assert create(registry, 1, smtp_host="smtp.open.test") == [BUSY_IMAP, None]


def test_dovecots_words_name_the_servers_own_limit() -> None:
    registry = limited(max_logins=1)
    sides = [pop3(host="mail.limited.test")]
    assert registry.connect(sides, now=0, until=5, tally=Counter()) == [None]
    assert registry.connect(sides, now=1, until=5, tally=Counter()) == [
        "Maximum number of connections from user+IP exceeded (mail_max_userip_connections=1)"
    ]


def test_a_server_bans_the_portal_after_its_refused_logins_good_ones_too() -> None:
    registry, tally = limited(ban_after=3), Counter[str]()
    refused = ["Invalid credentials (Failure)", "5.7.8 Username and Password not accepted"]
    assert create(registry, 0, password="wrong-1", tally=tally) == refused  # two refused logins
    assert create(registry, 1, tally=tally) == [None, None]
    assert create(registry, 2, password="wrong-2", tally=tally) == [
        refused[0],
        "Connection refused",
    ]
    assert create(registry, 3, tally=tally) == ["Connection refused", "Connection refused"]
    assert tally == Counter({"mail-banned": 3})
