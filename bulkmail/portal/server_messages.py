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

from bulkmail.codes import Code

__all__ = ["CleanMessage", "Diagnosis", "Part", "Side", "clean_message", "diagnose"]

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


# A server turning the portal away for now, not refusing the row: Gmail's "[ALERT] Too many
# simultaneous connections. (Failure)" and "454 4.7.0 Too many login attempts, please try
# again later.", Dovecot's "Maximum number of connections from user+IP exceeded
# (mail_max_userip_connections=10)", the IMAP response codes [UNAVAILABLE] and [LIMIT]
# (RFC 5530) and POP3's [IN-USE] (RFC 2449), SMTP's 421 and 4.x.x replies (RFC 5321 §4.2.1,
# RFC 3463: 4 is a transient failure) and the Russian servers' words for the same. The portal
# quotes SMTP text without its reply code (docs/portal-api.md §11), so the enhanced code
# (4.7.0) counts as much as a leading 421 or 454.
_THROTTLED = "|".join(
    (
        r"\[(unavailable|limit|in-?use|throttled)\]",  # RFC 5530, RFC 2449 response codes
        r"too many (\w+ ){0,2}(connections|logins|login attempts|sessions|attempts|requests)",
        r"maximum number of (\w+ ){0,2}connections|mail_max_userip_connections",
        r"connection limit|rate limit|(login|connection|session)s? limit (exceeded|reached)",
        r"try again later",
        r"^(421|454)\b|^4\.\d{1,3}\.\d{1,3}\b|\b4[25]\d 4\.\d{1,3}\.\d{1,3}\b",  # SMTP 4xx
        r"слишком много|превышен\w* (\w+ ){0,2}(числ|количеств|лимит)",
        r"(повторите|попробуйте) (\w+ ){0,2}позже",
    )
)

# What a side's text means: (pattern, code for the incoming side, code for SMTP). Checked in
# order, first match wins: a throttled login is no verdict on the row, so it comes first; a
# "Must issue a STARTTLS command first" refusal is a TLS setting problem, not bad
# credentials, so TLS comes before the login patterns. The SMTP-only findings mean nothing on
# the incoming side: there they are a plain failed test.
_TEST_FAILURES: Final[tuple[tuple[re.Pattern[str], Code, Code], ...]] = tuple(
    (re.compile(pattern, re.IGNORECASE), incoming, smtp)
    for pattern, incoming, smtp in (
        (_THROTTLED, Code.MAILBOX_THROTTLED, Code.SMTP_THROTTLED),
        (r"timeout|timed out", Code.MAILBOX_TIMEOUT, Code.SMTP_TIMEOUT),
        (r"smtpauth is required", Code.MAILBOX_TEST_FAILED, Code.SMTP_AUTH_REQUIRED),
        (
            r"does not support authentication",
            Code.MAILBOX_TEST_FAILED,
            Code.SMTP_AUTH_UNSUPPORTED,
        ),
        (
            r"\b(ssl|tls|starttls|handshake|certificate)\b|remote party has closed",
            Code.MAILBOX_TLS_FAILED,
            Code.SMTP_TLS_FAILED,
        ),
        (
            r"connection refused|no such host|not known|unreachable|no route to host"
            r"|host name cannot be empty|parameter name: (host|port)|could not resolve",
            Code.MAILBOX_UNREACHABLE,
            Code.SMTP_UNREACHABLE,
        ),
        (
            r"invalid credentials|authenticat\w* (failed|unsuccessful)|login failed"
            r"|login command is disabled|logindisabled|not accepted|\b535\b|\b5\.7\.\d+"
            r"|(incorrect|invalid|wrong) (user|login|password)|bad credentials|password required",
            Code.MAILBOX_LOGIN_REFUSED,
            Code.SMTP_LOGIN_REFUSED,
        ),
    )
)


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """What a failed test login means: the code of the first failing side, hint, retry."""

    code: Code
    hint: str  # the hints of every failing side
    retryable: bool
    sides: tuple[tuple[Side, Code], ...] = ()  # each failing side and its code, in order


def _code(part: Part) -> Code:
    """Return the code of one side's failed test login."""
    smtp = part.side == "smtp"
    for pattern, incoming_code, smtp_code in _TEST_FAILURES:
        if pattern.search(part.text):
            return smtp_code if smtp else incoming_code
    return Code.SMTP_TEST_FAILED if smtp else Code.MAILBOX_TEST_FAILED


def diagnose(message: CleanMessage) -> Diagnosis | None:
    """Return the verdict parts of a failed test login, or None when no side is named."""
    if not message.parts:
        return None
    codes = [_code(part) for part in message.parts]
    hints = dict.fromkeys(code.hint for code in codes)  # ordered, without repeats
    sides = tuple((part.side, code) for part, code in zip(message.parts, codes, strict=True))
    # Retrying helps only when every failing side merely timed out or was throttled.
    return Diagnosis(codes[0], "; ".join(hints), all(code.retryable for code in codes), sides)
