"""What `bulkmail check` connects to: a row's two mail servers, as the row says to reach them.

A `Target` is one side of a row (incoming or SMTP): protocol, host, port and encryption, the
settings the portal's test login uses (docs/portal-api.md §10). Two rows
with the same target share one unauthenticated probe; each login is its own connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from bulkmail.models import Account
from bulkmail.run.servers import host_name

__all__ = ["NONE", "NTLM", "SSL", "STARTTLS", "Protocol", "Target", "targets"]

NONE, SSL, STARTTLS = 0, 1, 2  # EncryptionType (docs/portal-api.md §8)
NTLM: Final = 7  # SaslMechanism.Ntlm (docs/portal-api.md §8)
AUTH_NONE: Final = 0
IMPLICIT_TLS_PORTS: Final = frozenset({993, 995, 465})  # ports that speak TLS from the start

Protocol = Literal["IMAP", "POP3", "SMTP"]
Side = Literal["incoming", "smtp"]


@dataclass(frozen=True, slots=True)
class Target:
    """One mail server as a row reaches it."""

    side: Side
    protocol: Protocol
    host: str
    port: int
    encryption: int  # NONE, SSL or STARTTLS

    @property
    def key(self) -> tuple[str, str, int, int]:
        """Return what makes two rows' probes the same: protocol, host name, port, encryption."""
        return (self.protocol, host_name(self.host), self.port, self.encryption)

    @property
    def where(self) -> str:
        """Return e.g. `IMAP imap.example.org:993 (SSL)` for messages."""
        how = ("no encryption", "SSL", "StartTLS")[self.encryption]
        return f"{self.protocol} {self.host}:{self.port} ({how})"


def targets(account: Account) -> tuple[Target, Target]:
    """Return the row's incoming and SMTP targets."""
    incoming = Target(
        "incoming",
        "IMAP" if account.imap else "POP3",
        account.server,
        account.port,
        account.incoming_encryption_type,
    )
    smtp = Target(
        "smtp", "SMTP", account.smtp_server, account.smtp_port, account.outcoming_encryption_type
    )
    return incoming, smtp
