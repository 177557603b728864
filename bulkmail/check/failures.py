"""A failed session with a mail server -> the code the import would report, and a message.

The codes are the import's (a check judges as the portal does, docs/portal-api.md §10): a
server that cannot be reached, a TLS handshake that fails (the encryption does not fit the port), a
refused or throttled login, an SMTP server whose AUTH does not fit the row. A refused login's
text is read by the same rules as the portal's messages (`portal.server_messages.diagnose`),
so a "too many connections" is throttling here as there. Certificate errors are not
failures: `checker` retries without verification and notes them.
"""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
import ssl
from dataclasses import dataclass

from bulkmail.check.protocols import NotEncrypted, Step
from bulkmail.check.targets import IMPLICIT_TLS_PORTS, SSL, Target
from bulkmail.codes import Code
from bulkmail.portal.server_messages import CleanMessage, Part, diagnose
from bulkmail.printable import printable

__all__ = ["Finding", "classify", "hint"]

_CODES: dict[str, tuple[Code, Code]] = {  # kind -> (incoming code, SMTP code)
    "unreachable": (Code.MAILBOX_UNREACHABLE, Code.SMTP_UNREACHABLE),
    "timeout": (Code.MAILBOX_TIMEOUT, Code.SMTP_TIMEOUT),
    "tls": (Code.MAILBOX_TLS_FAILED, Code.SMTP_TLS_FAILED),
    "refused": (Code.MAILBOX_LOGIN_REFUSED, Code.SMTP_LOGIN_REFUSED),
    "throttled": (Code.MAILBOX_THROTTLED, Code.SMTP_THROTTLED),
    "failed": (Code.MAILBOX_TEST_FAILED, Code.SMTP_TEST_FAILED),
}
_LOGIN_ERRORS = (imaplib.IMAP4.error, poplib.error_proto, smtplib.SMTPException)
# OpenSSL's reasons for a handshake that found no TLS version both sides speak.
_NO_COMMON_VERSION = frozenset(
    {"TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE"}
)


# The registry's hints that speak of the portal's own test, said of this machine's check.
_HINTS: dict[Code, str] = {
    Code.MAILBOX_UNREACHABLE: "check server and port, and the DNS and firewall between this "
    "machine and the server",
    Code.SMTP_UNREACHABLE: "check smtp_server and smtp_port, and the DNS and firewall between "
    "this machine and the server",
    Code.MAILBOX_TIMEOUT: "the server did not answer in time: check server, port and the "
    "firewall in front of it, or give more --timeout",
    Code.SMTP_TIMEOUT: "the SMTP server did not answer in time: check smtp_server, smtp_port "
    "and the firewall in front of it, or give more --timeout",
    Code.MAILBOX_THROTTLED: "the server limits connections from one address: lower "
    "--per-server, or check again later",
    Code.SMTP_THROTTLED: "the SMTP server limits connections from one address: lower "
    "--per-server, or check again later",
    Code.MAILBOX_TEST_FAILED: "read the server's answer in the message and check the row's "
    "incoming settings",
    Code.SMTP_TEST_FAILED: "read the server's answer in the message and check the row's "
    "smtp_* settings",
}


def hint(code: Code) -> str:
    """Return what to do about `code` found by a check."""
    return _HINTS.get(code, code.hint)


@dataclass(frozen=True, slots=True)
class Finding:
    """One side's failure: its code and a one-line message naming the server."""

    code: Code
    message: str


def finding(target: Target, kind: str, said: str) -> Finding:
    """Return the finding of `kind` on `target`'s side, the message naming the server."""
    incoming, smtp = _CODES[kind]
    code = smtp if target.side == "smtp" else incoming
    return Finding(code, f"{target.where}: {printable(said, limit=240)}")


def classify(err: BaseException, target: Target, step: Step) -> Finding:
    """Return what a session's exception means. A bug (anything else) is raised again."""
    if isinstance(err, ssl.SSLError):
        said = f"TLS failed ({_reason(err)})"
        if getattr(err, "reason", None) in _NO_COMMON_VERSION:  # not set on every SSLError
            said += ": the server speaks no TLS version from 1.0 to 1.2, the portal's"
        return finding(target, "tls", said)
    if isinstance(err, NotEncrypted):
        return finding(target, "tls", str(err))
    if isinstance(err, TimeoutError) or (
        # smtplib reports a read that timed out as a disconnection
        isinstance(err, smtplib.SMTPServerDisconnected)
        and isinstance(err.__context__, TimeoutError)
    ):
        return _timeout(target, step)
    if isinstance(err, socket.gaierror):
        return finding(target, "unreachable", f"unknown host ({err.strerror})")
    if isinstance(err, ConnectionRefusedError):
        return finding(target, "unreachable", "connection refused")
    if isinstance(err, smtplib.SMTPNotSupportedError) or (
        isinstance(err, smtplib.SMTPException) and "authentication method" in str(err)
    ):
        code = Code.SMTP_AUTH_UNSUPPORTED
        return Finding(code, f"{target.where}: the server offers no login bulkmail speaks")
    if isinstance(err, _LOGIN_ERRORS):
        return _refusal(err, target, step)
    if isinstance(err, UnicodeEncodeError):  # the error names a character of the password
        said = "the login or password has characters the client sends as ASCII only"
        return finding(target, "failed", f"{step.now}: {said}")
    if isinstance(err, UnicodeError):  # imaplib reads some answers as ASCII only
        return finding(target, "failed", f"{step.now}: an answer the client cannot read ({err})")
    if isinstance(err, OSError | EOFError):  # reset, unreachable network, closed early
        kind = "unreachable" if step.now == "connect" and _no_route(err) else "failed"
        return finding(target, kind, f"{step.now}: {_reason(err)}")
    raise err


def _timeout(target: Target, step: Step) -> Finding:
    # A plain client on a port that speaks TLS from the start waits for a greeting that never
    # comes (the server waits for the TLS hello): the encryption does not fit the port.
    if step.now == "connect" and target.encryption != SSL and target.port in IMPLICIT_TLS_PORTS:
        return finding(
            target, "tls", "no greeting: the port speaks TLS from the start, the row says no SSL"
        )
    return finding(target, "timeout", f"no answer in time ({step.now})")


def _refusal(err: BaseException, target: Target, step: Step) -> Finding:
    said = _reason(err)
    if isinstance(err, smtplib.SMTPResponseException):
        said = f"{err.smtp_code} {_text(err.smtp_error)}"
    code = diagnose(CleanMessage(said, (Part(target.protocol, said),)))
    if code is not None and code.code in (Code.MAILBOX_THROTTLED, Code.SMTP_THROTTLED):
        return finding(target, "throttled", said)
    if step.now == "login":
        if code is not None and code.code in (Code.MAILBOX_TLS_FAILED, Code.SMTP_TLS_FAILED):
            return finding(target, "tls", said)
        return finding(target, "refused", f"login refused: {said}")
    return finding(target, "failed", f"{step.now}: {said}")


def _no_route(err: BaseException) -> bool:
    return isinstance(err, OSError) and not isinstance(err, ConnectionResetError | EOFError)


def _reason(err: BaseException) -> str:
    text = (
        getattr(err, "reason", None) or " ".join(_text(a) for a in err.args) or type(err).__name__
    )
    return " ".join(str(text).split())


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
