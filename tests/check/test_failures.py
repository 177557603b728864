"""What each failed session means: the standard clients' exceptions -> the import's codes."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
import ssl

import pytest

from bulkmail.check.failures import classify
from bulkmail.check.protocols import Step
from bulkmail.check.targets import NONE, SSL, Target
from bulkmail.codes import Code

IMAP = Target("incoming", "IMAP", "imap.example.org", 993, SSL)
SMTP = Target("smtp", "SMTP", "smtp.example.org", 587, NONE)


def step(now: str) -> Step:
    at = Step()
    at.now = now
    return at


@pytest.mark.parametrize(
    ("err", "target", "now", "code"),
    [
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), IMAP, "connect",
         Code.MAILBOX_TLS_FAILED),
        (socket.gaierror(-2, "Name or service not known"), SMTP, "connect", Code.SMTP_UNREACHABLE),
        (ConnectionRefusedError(111, "Connection refused"), IMAP, "connect",
         Code.MAILBOX_UNREACHABLE),
        (TimeoutError("timed out"), SMTP, "login", Code.SMTP_TIMEOUT),
        # a plain client on a port that speaks TLS at once: no greeting ever comes
        (TimeoutError("timed out"), Target("incoming", "IMAP", "h", 993, NONE), "connect",
         Code.MAILBOX_TLS_FAILED),
        (imaplib.IMAP4.error(b"[AUTHENTICATIONFAILED] Invalid credentials"), IMAP, "login",
         Code.MAILBOX_LOGIN_REFUSED),
        (imaplib.IMAP4.error(b"[UNAVAILABLE] Too many simultaneous connections"), IMAP, "login",
         Code.MAILBOX_THROTTLED),
        (poplib.error_proto(b"-ERR [IN-USE] Mailbox locked"), IMAP, "login",
         Code.MAILBOX_THROTTLED),
        (smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"), SMTP, "login",
         Code.SMTP_LOGIN_REFUSED),
        (smtplib.SMTPAuthenticationError(454, b"4.7.0 Too many login attempts"), SMTP, "login",
         Code.SMTP_THROTTLED),
        (smtplib.SMTPConnectError(421, b"Service not available"), SMTP, "connect",
         Code.SMTP_THROTTLED),
        (smtplib.SMTPAuthenticationError(530, b"5.7.0 Must issue a STARTTLS command first"),
         SMTP, "login", Code.SMTP_TLS_FAILED),
        (smtplib.SMTPNotSupportedError("no AUTH"), SMTP, "login", Code.SMTP_AUTH_UNSUPPORTED),
        (ConnectionResetError(104, "Connection reset by peer"), IMAP, "login",
         Code.MAILBOX_TEST_FAILED),
        (UnicodeDecodeError("ascii", b"\xd0", 0, 1, "ordinal not in range"), IMAP, "connect",
         Code.MAILBOX_TEST_FAILED),
    ],
)  # fmt: skip
def test_classify(err: BaseException, target: Target, now: str, code: Code) -> None:
    found = classify(err, target, step(now))
    assert found.code is code
    assert found.message.startswith(target.where + ": ")


def test_a_refusal_quotes_the_servers_words_decoded() -> None:
    err = imaplib.IMAP4.error("[AUTHENTICATIONFAILED] Неверный пароль".encode())
    found = classify(err, IMAP, step("login"))
    assert found.message == (
        "IMAP imap.example.org:993 (SSL): login refused: [AUTHENTICATIONFAILED] Неверный пароль"
    )


def test_anything_else_is_a_bug_and_raised() -> None:
    with pytest.raises(KeyError):
        classify(KeyError("oops"), IMAP, step("login"))


@pytest.mark.parametrize("target", [IMAP, SMTP])
def test_a_password_the_client_cannot_send_is_said_without_any_of_its_characters(
    target: Target,
) -> None:
    # imaplib and smtplib send a login as ASCII; the error names the character and its place
    err = UnicodeEncodeError("ascii", 'a1 LOGIN anna "Pässwört"', 15, 16, "not in range(128)")
    finding = classify(err, target, step("login"))
    assert finding.code == (Code.SMTP_TEST_FAILED if target is SMTP else Code.MAILBOX_TEST_FAILED)
    assert "ä" not in finding.message and "xe4" not in finding.message
    assert "15" not in finding.message
    assert "ASCII" in finding.message


def test_no_tls_version_in_common_says_which_the_portal_speaks() -> None:
    err = ssl.SSLError(1, "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version")
    err.reason = "TLSV1_ALERT_PROTOCOL_VERSION"
    found = classify(err, IMAP, step("connect"))
    assert (found.code, found.message) == (
        Code.MAILBOX_TLS_FAILED,
        "IMAP imap.example.org:993 (SSL): TLS failed (TLSV1_ALERT_PROTOCOL_VERSION): the server "
        "speaks no TLS version from 1.0 to 1.2, the portal's",
    )
