"""Blocking sessions with one mail server through Python's standard clients (run in threads).

`probe` connects as the row says (TCP, then TLS on connect for SSL, or STARTTLS when the
server offers it for StartTLS, as the portal's MailKit does: docs/portal-api.md §10), reads
what the server offers (IMAP CAPABILITY, POP3 CAPA, SMTP EHLO) and leaves. `login` does the same and
logs in (IMAP LOGIN, or AUTHENTICATE PLAIN where LOGIN is disabled; POP3 USER/PASS; SMTP AUTH
with the first mechanism smtplib speaks that the server offers:
CRAM-MD5, PLAIN, LOGIN; one attempt), then logs out. Every socket
operation is bounded by `timeout` seconds. Errors are the clients' own exceptions:
`failures.classify` turns them into codes.
"""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import smtplib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bulkmail.check.targets import SSL, STARTTLS, Target

__all__ = ["Offer", "Step", "login", "probe"]


@dataclass(frozen=True, slots=True)
class Offer:
    """What a server offered in its session (capability words upper-cased)."""

    capabilities: frozenset[str]
    auth: frozenset[str]  # SASL mechanisms offered (after STARTTLS, when used)
    starttls: bool  # STARTTLS / STLS offered on the plain connection
    tls: bool  # the session ran over TLS


class Step:
    """Where a session is, so a failure can say when it happened (a mutable marker)."""

    def __init__(self) -> None:
        self.now = "connect"  # connect (TCP, TLS, greeting), starttls, login


def probe(target: Target, context: ssl.SSLContext, timeout: float, step: Step) -> Offer:
    """Connect to `target`, read its offer, leave; return the offer."""
    return _SESSIONS[target.protocol](target, context, timeout, step, None)


def login(
    target: Target,
    context: ssl.SSLContext,
    timeout: float,
    step: Step,
    credentials: tuple[str, str],
) -> Offer:
    """Connect to `target`, log in with (user, password), log out; return the offer."""
    return _SESSIONS[target.protocol](target, context, timeout, step, credentials)


def _imap(
    t: Target, ctx: ssl.SSLContext, timeout: float, step: Step, cred: tuple[str, str] | None
) -> Offer:
    if t.encryption == SSL:
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(t.host, t.port, ssl_context=ctx, timeout=timeout)
    else:
        client = imaplib.IMAP4(t.host, t.port, timeout=timeout)
    with _closing(client.shutdown):
        offered = "STARTTLS" in client.capabilities
        if t.encryption == STARTTLS and offered:
            step.now = "starttls"
            client.starttls(ssl_context=ctx)
        caps = frozenset(c.upper() for c in client.capabilities)
        offer = _offer(caps, {c[5:] for c in caps if c.startswith("AUTH=")}, offered, t, client)
        if cred is not None:
            step.now = "login"
            if "LOGINDISABLED" in caps and "PLAIN" in offer.auth:
                plain = f"\0{cred[0]}\0{cred[1]}".encode()
                client.authenticate("PLAIN", lambda _: plain)
            else:
                client.login(*cred)
        step.now = "logout"
        client.logout()
        return offer


def _pop3(
    t: Target, ctx: ssl.SSLContext, timeout: float, step: Step, cred: tuple[str, str] | None
) -> Offer:
    if t.encryption == SSL:
        client: poplib.POP3 = poplib.POP3_SSL(t.host, t.port, timeout=timeout, context=ctx)
    else:
        client = poplib.POP3(t.host, t.port, timeout=timeout)
    with _closing(client.close):
        capa = _capa(client)
        offered = "STLS" in capa
        if t.encryption == STARTTLS and offered:
            step.now = "starttls"
            client.stls(context=ctx)
            capa = _capa(client)
        auth = frozenset(" ".join(capa.get("SASL", [])).upper().split())
        offer = _offer(frozenset(capa), auth, offered, t, client)
        if cred is not None:
            step.now = "login"
            client.user(cred[0])
            client.pass_(cred[1])
        step.now = "logout"
        client.quit()
        return offer


def _capa(client: poplib.POP3) -> dict[str, list[str]]:
    """Return the server's CAPA answer, keys upper-cased; {} when it has no CAPA (RFC 1939)."""
    try:
        return {k.upper(): v for k, v in client.capa().items()}
    except poplib.error_proto:
        return {}


def _smtp(
    t: Target, ctx: ssl.SSLContext, timeout: float, step: Step, cred: tuple[str, str] | None
) -> Offer:
    if t.encryption == SSL:
        client: smtplib.SMTP = smtplib.SMTP_SSL(t.host, t.port, timeout=timeout, context=ctx)
    else:
        client = smtplib.SMTP(t.host, t.port, timeout=timeout)
    with _closing(client.close):
        client.ehlo()
        offered = client.has_extn("starttls")
        if t.encryption == STARTTLS and offered:
            step.now = "starttls"
            client.starttls(context=ctx)
            client.ehlo()
        auth = frozenset(client.esmtp_features.get("auth", "").upper().split())
        offer = _offer(
            frozenset(k.upper() for k in client.esmtp_features), auth, offered, t, client
        )
        if cred is not None:
            step.now = "login"
            _smtp_login(client, auth, cred)
        step.now = "logout"
        client.quit()
        return offer


# smtplib's own order of preference; `SMTP.login` would try the next mechanism after a refusal,
# and each refusal counts as a failed login on the server: one mechanism is tried, once.
_SMTP_MECHANISMS = ("CRAM-MD5", "PLAIN", "LOGIN")


def _smtp_login(client: smtplib.SMTP, offered: frozenset[str], cred: tuple[str, str]) -> None:
    """Log in with the first mechanism both sides speak, one attempt; raise
    SMTPNotSupportedError when there is none."""
    for mechanism in _SMTP_MECHANISMS:
        if mechanism in offered:
            client.user, client.password = cred
            method = getattr(client, "auth_" + mechanism.lower().replace("-", "_"))
            client.auth(mechanism, method)
            return
    raise smtplib.SMTPNotSupportedError("no AUTH mechanism that smtplib speaks")


def _offer(caps: frozenset[str], auth: Any, offered: bool, t: Target, client: Any) -> Offer:
    sock = getattr(client, "sock", None)
    return Offer(caps, frozenset(auth), offered, isinstance(sock, ssl.SSLSocket))


@contextlib.contextmanager
def _closing(close: Callable[[], object]) -> Iterator[None]:
    """Call `close` on leaving, whatever happened: a failed session leaves no socket open."""
    try:
        yield
    finally:
        # The session's own error, if any, is what the caller reports.
        with contextlib.suppress(OSError, EOFError, imaplib.IMAP4.error, smtplib.SMTPException):
            close()


_SESSIONS: dict[
    str,
    Callable[[Target, ssl.SSLContext, float, Step, tuple[str, str] | None], Offer],
] = {"IMAP": _imap, "POP3": _pop3, "SMTP": _smtp}
