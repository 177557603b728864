"""GET api/2.0/mail/accounts/setups: a mailbox's default settings, as the portal guesses them.

The portal looks the address's domain up in its seeded provider tables (`mail_mailbox_*`,
about 750 domains) and, with none, guesses from the domain's name (`MailboxEngine.
GetDefaultMailboxData`: docs/portal-api.md §21). The `action` says which protocol:
`get_imap_server[_full]` IMAP, `get_pop_server[_full]` POP3, `get_imap_pop_settings` the
provider's IMAP, else its POP3 or the POP3 guess; anything else (none) the IMAP guess without
looking the domain up. The simulator's table holds a few providers of the portal's seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from bulkmail.simulator import envelope
from bulkmail.simulator.accounts import _address
from bulkmail.simulator.auth import Auth
from bulkmail.simulator.binding import params_of
from bulkmail.simulator.state import begin_date

NONE, SSL = 0, 1  # EncryptionType
LOGIN = 1  # SaslMechanism.Login


@dataclass(frozen=True, slots=True)
class _Provider:
    """One provider's servers (host, port, encryption) and its login format."""

    imap: tuple[str, int, int] | None
    pop3: tuple[str, int, int] | None
    smtp: tuple[str, int, int]
    local_login: bool = False  # %EMAILLOCALPART%: the login is the address's local part


_GMAIL: Final = _Provider(
    ("imap.gmail.com", 993, SSL), ("pop.gmail.com", 995, SSL), ("smtp.gmail.com", 465, SSL)
)
PROVIDERS: Final[dict[str, _Provider]] = {
    "gmail.com": _GMAIL,
    "googlemail.com": _GMAIL,
    "yandex.ru": _Provider(
        ("imap.yandex.ru", 993, SSL),
        ("pop.yandex.ru", 995, SSL),
        ("smtp.yandex.ru", 465, SSL),
        local_login=True,
    ),
    "mail.ru": _Provider(
        ("imap.mail.ru", 993, SSL), ("pop.mail.ru", 995, SSL), ("smtp.mail.ru", 465, SSL)
    ),
}

IMAP_ACTIONS: Final = frozenset({"get_imap_server", "get_imap_server_full"})
POP_ACTIONS: Final = frozenset({"get_pop_server", "get_pop_server_full"})
EITHER: Final = "get_imap_pop_settings"


class Setups:
    """The `accounts/setups` endpoint."""

    def __init__(self, auth: Auth) -> None:
        self.auth = auth

    async def setups(self, request: Request) -> Response:
        """Answer GET mail/accounts/setups?email=&action=: MailBoxData of default settings."""
        params = await params_of(request)
        self.auth.mail_user(request, params)
        address = _address(params.text("email"))
        action = params.text("action") or ""
        return envelope.ok(200, defaults(address, action), count=1)


def defaults(address: str, action: str) -> dict[str, Any]:
    """Return the MailBoxData the portal answers for `address` and `action`."""
    domain = address.rpartition("@")[2].lower()
    provider = PROVIDERS.get(domain)
    if action in IMAP_ACTIONS or action in POP_ACTIONS or action == EITHER:
        has_imap = provider is not None and provider.imap is not None
        imap = action in IMAP_ACTIONS or (action == EITHER and has_imap)
        incoming = None
        if provider is not None:
            incoming = provider.imap if imap else provider.pop3
        if provider is not None and incoming is not None:
            login = address.partition("@")[0] if provider.local_login else address
            return _data(address, login, imap, incoming, provider.smtp)
        return _guess(address, domain, imap=imap)
    return _guess(address, domain, imap=True)  # no action: no look-up at all


def _guess(address: str, domain: str, *, imap: bool) -> dict[str, Any]:
    """The portal's guess from the domain's name (GetDefaultMailboxData's last branch)."""
    incoming = (f"imap.{domain}", 993, SSL) if imap else (f"pop.{domain}", 110, NONE)
    return _data(address, address, imap, incoming, (f"smtp.{domain}", 25, NONE))


def _data(
    address: str,
    login: str,
    imap: bool,
    incoming: tuple[str, int, int],
    smtp: tuple[str, int, int],
) -> dict[str, Any]:
    return {
        "id": 0,
        "email": address,
        "name": "",
        "account": login,
        "password": "",
        "server": incoming[0],
        "smtp_server": smtp[0],
        "smtp_port": str(smtp[1]),
        "smtp_account": login,
        "smtp_password": "",
        "smtp_auth": True,
        "port": str(incoming[1]),
        "incoming_encryption_type": incoming[2],
        "outcoming_encryption_type": smtp[2],
        "auth_type_in": LOGIN,
        "auth_type_smtp": LOGIN,
        "imap": imap,
        "begin_date": begin_date(True),
        "is_oauth": False,
        "restrict": True,
        "email_in_folder": None,
        "is_teamlab": False,
    }
