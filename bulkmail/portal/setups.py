"""The portal's default settings for an address: GET api/2.0/mail/accounts/setups, read.

The answer is MailBoxData (docs/portal-api.md §21): `server`, `port` (a string), the
encryption and login, and the same for SMTP. The portal takes it from its seeded provider
tables when it knows the domain, and otherwise guesses from the domain's name
(`MailboxEngine.GetDefaultMailboxData`): `imap.<domain>`:993 SSL, or `pop.<domain>`:110 with
no encryption, and `smtp.<domain>`:25 with none, the login the whole address. An answer of
that pattern is a guess: nobody looked it up. Pure: no I/O (the call is `PortalClient.setups`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["IMAP_ACTION", "POP_ACTION", "Setup", "read_setup"]

IMAP_ACTION: Final = "get_imap_server"
"""The provider's IMAP settings, else the IMAP guess (docs/portal-api.md §21)."""
POP_ACTION: Final = "get_pop_server"
"""The provider's POP3 settings, else the POP3 guess."""

_NONE, _SSL = 0, 1  # EncryptionType (docs/portal-api.md §8)


@dataclass(frozen=True, slots=True)
class Setup:
    """The portal's default settings for one domain and protocol."""

    server: str
    port: int
    encryption: int  # EncryptionType: 0 None, 1 SSL, 2 StartTLS
    smtp_server: str
    smtp_port: int
    smtp_encryption: int
    local_login: bool  # the login is the address's local part, not the whole address
    guess: bool  # the portal's pattern from the domain's name: not looked up


def read_setup(data: Mapping[str, Any], email: str, *, pop3: bool) -> Setup | None:
    """Return the settings in `data`, the answer for `email`; None when it is not MailBoxData
    with a server, a port and an encryption on each side."""
    server, smtp_server = data.get("server"), data.get("smtp_server")
    port, smtp_port = _port(data.get("port")), _port(data.get("smtp_port"))
    encryption = _encryption(data.get("incoming_encryption_type"))
    smtp_encryption = _encryption(data.get("outcoming_encryption_type"))
    if not (isinstance(server, str) and server.strip() and isinstance(smtp_server, str)):
        return None
    if not smtp_server.strip() or None in (port, smtp_port, encryption, smtp_encryption):
        return None
    assert port is not None and smtp_port is not None  # for mypy: checked just above
    assert encryption is not None and smtp_encryption is not None
    local, _, domain = email.rpartition("@")
    account = data.get("account")
    incoming = (server.strip(), port, encryption)
    smtp = (smtp_server.strip(), smtp_port, smtp_encryption)
    return Setup(
        *incoming,
        *smtp,
        local_login=isinstance(account, str) and account.casefold() == local.casefold(),
        guess=_guessed(domain.casefold(), incoming, smtp, pop3=pop3),
    )


def _guessed(
    domain: str, incoming: tuple[str, int, int], smtp: tuple[str, int, int], *, pop3: bool
) -> bool:
    """Whether the settings are the portal's pattern for `domain` (GetDefaultMailboxData)."""
    pattern = (f"pop.{domain}", 110, _NONE) if pop3 else (f"imap.{domain}", 993, _SSL)
    host, port, encryption = incoming
    same = (host.casefold().rstrip("."), port, encryption) == pattern
    smtp_host, smtp_port, smtp_encryption = smtp
    return same and (smtp_host.casefold().rstrip("."), smtp_port, smtp_encryption) == (
        f"smtp.{domain}",
        25,
        _NONE,
    )


def _port(value: Any) -> int | None:
    """Return a port the answer gives as a string ("993") or a number; None otherwise."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, int | str) else ""
    return int(text) if text.isascii() and text.isdigit() and 1 <= int(text) <= 65535 else None


def _encryption(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value in (0, 1, 2) else None
