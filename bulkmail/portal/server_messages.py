"""The portal's test logins to a row's mail servers: clean their messages and say what failed.

Before saving an account the portal logs in to the row's incoming (IMAP/POP3) and SMTP
servers; when either refuses, the create answers 500 with an HTML-ish, localised message:
`<span class="attempt_header">IMAP response:</span><br/>Invalid credentials (Failure)`, the
SMTP part after CRLF (docs/portal-api.md §11). This module turns that into one readable line and a
stable code per side.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["CleanMessage", "Diagnosis", "Part", "clean_message", "diagnose"]

Side = Literal["incoming", "smtp"]

_MAX_PART: Final = 240  # per side, so that both sides of a long message survive
_BREAK: Final = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG: Final = re.compile(r"<[^<>]*>")
_HEADER: Final = re.compile(
    r"(?:\b(IMAP|POP3?|SMTP)\s+response|Ответ\s+сервера\s+(IMAP|POP3?|SMTP))\s*:",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Part:
    """One side of a failed test login: the protocol named by its header and the server's text."""

    protocol: str  # "IMAP", "POP3" or "SMTP"
    text: str

    @property
    def side(self) -> Side:
        return "smtp" if self.protocol == "SMTP" else "incoming"


@dataclass(frozen=True, slots=True)
class CleanMessage:
    """A portal error message without markup, split per test login when it names any."""

    text: str  # one line: "IMAP: Invalid credentials (Failure); SMTP: 5.7.8 ..."
    parts: tuple[Part, ...] = ()  # empty when no IMAP/POP3/SMTP header was found


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_message(message: str) -> CleanMessage:
    """Strip the markup and entities of a portal message and split it per protocol header."""
    # Entities are decoded after the tags are removed, so an escaped "&lt;x&gt;" in a server's
    # text stays visible instead of being taken for a tag.
    text = html.unescape(_TAG.sub(" ", _BREAK.sub(" ", message)))
    text = " ".join(text.split())
    headers = list(_HEADER.finditer(text))
    if not headers:
        return CleanMessage(text)
    parts = []
    for header, following in zip(headers, [*headers[1:], None], strict=True):
        end = following.start() if following else len(text)
        protocol = (header.group(1) or header.group(2)).upper()
        detail = text[header.end() : end].strip() or "no detail given"
        parts.append(Part("POP3" if protocol == "POP" else protocol, _clip(detail, _MAX_PART)))
    return CleanMessage("; ".join(f"{p.protocol}: {p.text}" for p in parts), tuple(parts))


# Checked in order, first match wins: a "Must issue a STARTTLS command first" refusal is a
# TLS setting problem, not bad credentials, so TLS comes before the login patterns.
_KINDS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("timeout", r"timeout|timed out"),
        ("auth-required", r"smtpauth is required"),
        ("auth-unsupported", r"does not support authentication"),
        ("tls", r"\b(ssl|tls|starttls|handshake|certificate)\b|remote party has closed"),
        (
            "unreachable",
            r"connection refused|no such host|not known|unreachable|no route to host"
            r"|host name cannot be empty|parameter name: (host|port)|could not resolve",
        ),
        (
            "refused",
            r"invalid credentials|authenticat\w* (failed|unsuccessful)|login failed"
            r"|login command is disabled|logindisabled|not accepted|\b535\b|\b5\.7\.\d+"
            r"|(incorrect|invalid|wrong) (user|login|password)|bad credentials|password required",
        ),
    )
)
_SUFFIX: Final = {"refused": "login-refused", "tls": "tls-failed", "other": "test-failed"}
_TRANSIENT: Final = frozenset({"timeout"})

TEST_HINTS: Final[dict[str, str]] = {
    "mailbox-login-refused": "check the row's account and password; many providers (Gmail, "
    "Yandex, Mail.ru, Outlook) need an app password and IMAP/POP access turned on",
    "smtp-login-refused": "check smtp_account and smtp_password (blank = the incoming login "
    "and password); many providers need an app password for SMTP",
    "mailbox-unreachable": "check server and port, and that the portal's server can reach it "
    "(DNS, firewall)",
    "smtp-unreachable": "check smtp_server and smtp_port, and that the portal's server can "
    "reach it (DNS, firewall)",
    "mailbox-timeout": "the server did not answer the portal in time: bulkmail retries; if it "
    "repeats, check server, port and the firewall in front of it",
    "smtp-timeout": "the SMTP server did not answer the portal in time: bulkmail retries; if it "
    "repeats, check smtp_server, smtp_port and the firewall in front of it",
    "mailbox-tls-failed": "match incoming_encryption_type to the port: SSL is usually 993 "
    "(IMAP) or 995 (POP3), StartTLS or None 143 or 110",
    "smtp-tls-failed": "match outcoming_encryption_type to smtp_port: SSL is usually 465, "
    "StartTLS 587 or 25",
    "smtp-auth-required": "the SMTP server wants a login: set smtp_auth to true and "
    "auth_type_smtp to Login",
    "smtp-auth-unsupported": "the SMTP server offers no login: set smtp_auth to false",
    "mailbox-test-failed": "the incoming server refused the portal's test login: read its "
    "message and check the row's incoming settings",
    "smtp-test-failed": "the SMTP server refused the portal's test login: read its message and "
    "check the row's smtp_* settings",
}


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """What a failed test login means: the code of the first failing side, hint, retry."""

    code: str
    hint: str
    retryable: bool


def _kind(part: Part) -> str:
    kind = next((k for k, pattern in _KINDS if pattern.search(part.text)), "other")
    # The SMTP-only findings mean nothing on the incoming side.
    if part.side == "incoming" and kind.startswith("auth-"):
        return "other"
    return kind


def diagnose(message: CleanMessage) -> Diagnosis | None:
    """Return the verdict parts of a failed test login, or None when no side is named."""
    if not message.parts:
        return None
    kinds = [_kind(part) for part in message.parts]
    codes = [
        ("mailbox-" if part.side == "incoming" else "smtp-") + _SUFFIX.get(kind, kind)
        for part, kind in zip(message.parts, kinds, strict=True)
    ]
    hints = dict.fromkeys(TEST_HINTS[code] for code in codes)  # ordered, without repeats
    # Retrying helps only when every failing side merely timed out.
    return Diagnosis(codes[0], "; ".join(hints), all(k in _TRANSIENT for k in kinds))
