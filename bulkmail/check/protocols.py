"""Blocking sessions with one mail server through Python's standard clients (run in threads).

`probe` connects as the row says (TCP, then TLS on connect for SSL, or STARTTLS when the
server offers it for StartTLS, as the portal's MailKit does: docs/portal-api.md §10), reads
what the server offers (IMAP CAPABILITY, POP3 CAPA, SMTP EHLO) and leaves. `login` does the same and
logs in (IMAP LOGIN, or AUTHENTICATE PLAIN where LOGIN is disabled, and no login at all after
a PREAUTH greeting, which `Offer.preauth` tells; POP3 USER/PASS; SMTP AUTH
with the first mechanism smtplib speaks that the server offers:
CRAM-MD5, PLAIN, LOGIN; one attempt), then logs out. Every socket
operation is bounded by `timeout` seconds, and a whole session by `SESSION_TIMEOUTS` times
that and `SESSION_BYTES` read (the clients bound a line, not a session: a server that
trickles a byte at a time, or answers with lines without end, would hold a session for ever
or fill memory). Errors are the clients' own exceptions, `TimeoutError` for a session past
its time and `TooMuch` for one past its bytes (`limits`): `failures.classify` turns them
into codes.
"""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from bulkmail.check.limits import (
    IMAP4,
    IMAP4_SSL,
    POP3,
    POP3_SSL,
    SESSION_BYTES,
    SESSION_TIMEOUTS,
    SMTP,
    SMTP_SSL,
    Limits,
    Live,
    TooMuch,
)
from bulkmail.check.targets import SSL, STARTTLS, Target

__all__ = [
    "SESSION_BYTES",
    "SESSION_TIMEOUTS",
    "Live",
    "NotEncrypted",
    "Offer",
    "Step",
    "TooMuch",
    "login",
    "probe",
]


@dataclass(frozen=True, slots=True)
class Offer:
    """What a server offered in its session (capability words upper-cased)."""

    capabilities: frozenset[str]
    auth: frozenset[str]  # SASL mechanisms offered (after STARTTLS, when used)
    starttls: bool  # STARTTLS / STLS offered on the plain connection
    tls: bool  # the session ran over TLS
    tls_version: str = ""  # the TLS version the session used ("TLSv1.1"); "" without TLS
    preauth: bool = False  # IMAP: the greeting was PREAUTH (RFC 9051 §7.1.4), no login made


class NotEncrypted(Exception):
    """A login session left unencrypted where the server's probe was offered STARTTLS (a man
    in the middle may strip it): the password is not sent."""


class Step:
    """Where a session is, so a failure can say when it happened (a mutable marker)."""

    def __init__(self) -> None:
        self.now = "connect"  # connect (TCP, TLS, greeting), starttls, login


def probe(
    target: Target, context: ssl.SSLContext, timeout: float, step: Step, live: Live | None = None
) -> Offer:
    """Connect to `target`, read its offer, leave; return the offer."""
    return _bounded(target, context, timeout, step, None, live)


def login(
    target: Target,
    context: ssl.SSLContext,
    timeout: float,
    step: Step,
    credentials: tuple[str, str],
    live: Live | None = None,
    *,
    starttls: bool = False,
) -> Offer:
    """Connect to `target`, log in with (user, password), log out; return the offer.

    `starttls`: the server offered STARTTLS to the probe, so a StartTLS row's login goes over
    it or not at all (NotEncrypted): offered to the probe and not to the login, it was taken
    away on the way, and the password would have gone in the clear."""
    return _bounded(target, context, timeout, step, credentials, live, starttls)


def _bounded(
    t: Target,
    ctx: ssl.SSLContext,
    timeout: float,
    step: Step,
    cred: tuple[str, str] | None,
    live: Live | None,
    starttls: bool = False,
) -> Offer:
    limits = Limits(timeout)
    running = live.running(limits) if live is not None else contextlib.nullcontext()
    with running, limits.watching():
        return _SESSIONS[t.protocol](t, ctx, timeout, step, cred, limits, starttls)


def _imap(
    t: Target,
    ctx: ssl.SSLContext,
    timeout: float,
    step: Step,
    cred: tuple[str, str] | None,
    limits: Limits,
    starttls: bool,
) -> Offer:
    if t.encryption == SSL:
        client: imaplib.IMAP4 = IMAP4_SSL(limits, t.host, t.port, ssl_context=ctx, timeout=timeout)
    else:
        client = IMAP4(limits, t.host, t.port, timeout=timeout)
    with _closing(client.shutdown):
        # A PREAUTH greeting: the session is logged in already, and STARTTLS and LOGIN are
        # commands of the state before (RFC 9051 §6.2), which imaplib refuses to send.
        preauth = client.state == "AUTH"
        offered = "STARTTLS" in client.capabilities
        if t.encryption == STARTTLS and offered and not preauth:
            step.now = "starttls"
            client.starttls(ssl_context=ctx)
        caps = frozenset(c.upper() for c in client.capabilities)
        offer = _offer(caps, {c[5:] for c in caps if c.startswith("AUTH=")}, offered, t, client)
        if preauth:
            offer = replace(offer, preauth=True)
        elif cred is not None:
            _encrypted(offer, t, starttls)
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
    t: Target,
    ctx: ssl.SSLContext,
    timeout: float,
    step: Step,
    cred: tuple[str, str] | None,
    limits: Limits,
    starttls: bool,
) -> Offer:
    if t.encryption == SSL:
        client: poplib.POP3 = POP3_SSL(limits, t.host, t.port, timeout=timeout, context=ctx)
    else:
        client = POP3(limits, t.host, t.port, timeout=timeout)
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
            _encrypted(offer, t, starttls)
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
    t: Target,
    ctx: ssl.SSLContext,
    timeout: float,
    step: Step,
    cred: tuple[str, str] | None,
    limits: Limits,
    starttls: bool,
) -> Offer:
    # A name for now (smtplib would ask DNS for this machine's, past any --timeout); the EHLO
    # names this end by its address, as MailKit does when no LocalDomain is set.
    here = {"local_hostname": "localhost", "timeout": timeout}
    if t.encryption == SSL:
        client: smtplib.SMTP = SMTP_SSL(limits, t.host, t.port, context=ctx, **here)
    else:
        client = SMTP(limits, t.host, t.port, **here)
    assert client.sock is not None  # the constructor connected it
    client.local_hostname = _address_literal(client.sock)
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
            _encrypted(offer, t, starttls)
            step.now = "login"
            _smtp_login(client, auth, cred)
        step.now = "logout"
        client.quit()
        return offer


def _encrypted(offer: Offer, t: Target, starttls: bool) -> None:
    """Raise NotEncrypted before a StartTLS row's login in the clear when the probe was
    offered STARTTLS."""
    if starttls and t.encryption == STARTTLS and not offer.tls:
        raise NotEncrypted(
            "STARTTLS was offered to the probe, not to this login's connection (taken away on "
            "the way?): the password was not sent unencrypted"
        )


def _address_literal(sock: socket.socket) -> str:
    """Return this end's address as an EHLO address literal (RFC 5321 §4.1.3)."""
    address = sock.getsockname()[0]
    return f"[IPv6:{address}]" if sock.family == socket.AF_INET6 else f"[{address}]"


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
    tls = isinstance(sock, ssl.SSLSocket)
    version = (sock.version() or "") if isinstance(sock, ssl.SSLSocket) else ""
    return Offer(caps, frozenset(auth), offered, tls, version)


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
    Callable[[Target, ssl.SSLContext, float, Step, tuple[str, str] | None, Limits, bool], Offer],
] = {"IMAP": _imap, "POP3": _pop3, "SMTP": _smtp}
