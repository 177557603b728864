"""`bulkmail check` against servers the portal reaches and Python's defaults do not judge as
the portal does: a TLS 1.1-only server (reached, with a warning) and an IMAP PREAUTH greeting
(a failure of its own, no login spent)."""

from __future__ import annotations

import ssl
import warnings
from pathlib import Path
from typing import Any

import pytest
import trustme

from bulkmail.check import checker as checker_module
from bulkmail.check.probes import allow_legacy, unverified_context
from tests.check.mailservers import Mail, MailServers
from tests.check.test_check_e2e import (
    SMTP_GOOD,
    accounts,
    check,
    failure,
    row,
    smtp_accounts,
)

pytestmark = pytest.mark.slow


def _tls11_only(authority: trustme.CA) -> ssl.SSLContext:
    """Return a server context that speaks TLS 1.1 and nothing else."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def _handshakes(server: ssl.SSLContext) -> bool:
    """Whether this machine's OpenSSL completes a TLS 1.1 handshake with itself (in memory)."""
    client_context = allow_legacy(unverified_context())
    if client_context is None:
        return False
    client_in, client_out, server_in, server_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_context.wrap_bio(client_in, client_out)
    peer = server.wrap_bio(server_in, server_out, server_side=True)
    for _ in range(10):  # a handshake is a few flights each way
        finished = 0
        for side in (client, peer):
            try:
                side.do_handshake()
                finished += 1
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError:
                return False
        server_in.write(client_out.read())
        client_in.write(server_out.read())
        if finished == 2:
            return client.version() == "TLSv1.1"
    return False


@pytest.fixture(scope="module")
def tls11(ca: trustme.CA) -> ssl.SSLContext:
    try:
        context = _tls11_only(ca)
    except (ValueError, ssl.SSLError) as err:
        pytest.skip(f"this machine's OpenSSL cannot serve TLS 1.1 ({err})")
    if not _handshakes(context):
        pytest.skip(f"{ssl.OPENSSL_VERSION} cannot do a TLS 1.1 handshake (even at SECLEVEL=0)")
    return context


def test_a_tls_1_1_server_is_reached_as_the_portal_would_with_a_warning(
    world: MailServers,
    tls11: ssl.SSLContext,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls11, implicit_tls=True))
    smtp = world.smtp(Mail(smtp_accounts(), tls=tls, starttls=True))
    rows = [row("anna@example.org", imap, smtp)]
    result = check(tmp_path, rows, "--login", "--ca-bundle", str(ca_file), capsys=capsys)
    assert (result.code, [f["message"] for f in result.failed]) == (0, [])
    (checked,) = result.succeeded
    assert checked["outcome"] == "checked"
    assert checked["notes"] == (
        f"mail-tls-legacy: IMAP 127.0.0.1:{imap.port} (SSL): the server speaks TLSv1.1 only, "
        "below TLS 1.2"
    )
    assert imap.logins == ["anna@example.org"]  # the login went over TLS 1.1 too


def test_a_tls_1_1_server_with_an_untrusted_certificate_has_both_warnings(
    world: MailServers,
    tls11: ssl.SSLContext,
    tls: ssl.SSLContext,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls11, implicit_tls=True))
    smtp = world.smtp(Mail(smtp_accounts()))
    rows = [row("anna@example.org", imap, smtp, smtp_enc="None")]
    result = check(tmp_path, rows, "--login", capsys=capsys)  # the CA is not trusted
    (checked,) = result.succeeded
    codes = [note.partition(":")[0] for note in checked["notes"].split("; ")]
    assert codes == ["mail-certificate-untrusted", "mail-tls-legacy"]
    assert imap.logins == ["anna@example.org"]


def test_a_preauth_greeting_fails_the_row_without_a_login_or_the_budget(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emails = [f"user{n}@example.org" for n in range(3)]
    imap = world.imap(Mail(accounts(), preauth=True))
    smtp = world.smtp(Mail(dict.fromkeys(emails, SMTP_GOOD), tls=tls, starttls=True))
    rows = [row(e, imap, smtp, enc="None") for e in emails]
    result = check(
        tmp_path,
        rows,
        "--login",
        "--max-login-failures",
        "1",
        "--ca-bundle",
        str(ca_file),
        capsys=capsys,
    )
    assert result.code == 1
    assert [(r["outcome"], r["stage"], r["code"]) for r in result.failed] == [
        ("failed", "check", "imap-preauth")
    ] * 3  # each row judged; none held back by a spent budget
    assert result.failed[0]["message"].startswith(
        f"IMAP 127.0.0.1:{imap.port} (no encryption): the server greets with PREAUTH"
    )
    assert imap.logins == [] and imap.connections == 1  # one shared probe, no login
    assert sorted(smtp.logins) == emails  # the SMTP side of each row was still logged in to


def test_a_preauth_greeting_fails_without_login_too(
    world: MailServers,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), preauth=True))
    smtp = world.smtp(Mail(smtp_accounts(), auth=False))
    rows = [row("anna@example.org", imap, smtp, enc="None", smtp_enc="None", smtp_auth=False)]
    result = check(tmp_path, rows, capsys=capsys)  # no --login: the greeting alone tells
    assert failure(result) == ("failed", "check", "imap-preauth")


def test_a_tls_1_3_only_server_fails_as_it_fails_for_the_portal(
    world: MailServers,
    ca: trustme.CA,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The portal speaks TLS 1.0 to 1.2: a server of TLS 1.3 alone is out of its reach."""
    tls13 = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(tls13)
    tls13.minimum_version = ssl.TLSVersion.TLSv1_3
    imap = world.imap(Mail(accounts(), tls=tls13, implicit_tls=True))
    smtp = world.smtp(Mail(smtp_accounts()))
    rows = [row("anna@example.org", imap, smtp, smtp_enc="None")]
    result = check(tmp_path, rows, "--login", "--ca-bundle", str(ca_file), capsys=capsys)
    assert failure(result) == ("failed", "check", "mailbox-tls-failed")
    # asyncio's TLS server hangs up where OpenSSL servers (Dovecot, Postfix) send a
    # protocol_version alert: test_failures reads that alert's message
    assert result.failed[0]["message"].startswith(f"IMAP 127.0.0.1:{imap.port} (SSL): TLS failed")
    assert imap.logins == []


def test_a_tls_handshake_that_fails_once_is_not_taken_for_an_old_server(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A first handshake that failed (not TLS came back), then TLS 1.2: the retry that allows
    TLS 1.0 and 1.1 got TLS 1.2, which the server spoke all along. It was said to speak
    "TLSv1.2 only, below TLS 1.2", and the logins went with TLS 1.0 and old ciphers allowed."""
    imap = world.imap(Mail(accounts(), tls=tls, implicit_tls=True, drop_first=1))
    smtp = world.smtp(Mail(smtp_accounts()))
    rows = [row("anna@example.org", imap, smtp, smtp_enc="None")]
    modern = []
    real = checker_module._login_blocking

    def login(target: Any, context: ssl.SSLContext, *args: Any) -> Any:
        modern.append(context.minimum_version >= ssl.TLSVersion.TLSv1_2)
        return real(target, context, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checker_module, "_login_blocking", login)
        result = check(tmp_path, rows, "--login", "--ca-bundle", str(ca_file), capsys=capsys)
    assert (result.code, [f["message"] for f in result.failed]) == (0, [])
    (checked,) = result.succeeded
    assert "mail-tls-legacy" not in checked["notes"]
    assert modern == [True, True]  # both logins without TLS 1.0/1.1 allowed
    assert imap.logins == ["anna@example.org"]
