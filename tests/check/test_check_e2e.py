"""`bulkmail check` end to end, against real IMAP, POP3 and SMTP servers on 127.0.0.1.

SMTP is aiosmtpd; IMAP and POP3 are the small servers of `mailservers.py`; TLS certificates
come from a throwaway CA (trustme), given with --ca-bundle when a test wants them trusted.
Each test runs the command line in this process and reads the report it wrote.
"""

from __future__ import annotations

import csv
import json
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest

from bulkmail.cli import main
from tests.check.mailservers import Mail, MailServers

pytestmark = pytest.mark.slow

HEADER = (
    "email,password,server,port,imap,incoming_encryption_type,auth_type_in,"
    "smtp_server,smtp_port,outcoming_encryption_type,smtp_auth,smtp_password"
)
GOOD, SMTP_GOOD = "Mailbox-pw-1", "Smtp-pw-1"


@dataclass
class Result:
    code: int
    out: str
    err: str
    succeeded: list[dict[str, str]]
    failed: list[dict[str, str]]
    summary: dict[str, object]
    files: str  # every report file's text, for secrets


def row(
    email: str,
    incoming: Mail,
    smtp: Mail,
    *,
    password: str = GOOD,
    smtp_password: str = SMTP_GOOD,
    imap: bool = True,
    enc: str = "SSL",
    smtp_enc: str = "StartTLS",
    auth: str = "Login",
    smtp_auth: bool = True,
) -> str:
    return (
        f"{email},{password},127.0.0.1,{incoming.port},{imap},{enc},{auth},"
        f"127.0.0.1,{smtp.port},{smtp_enc},{smtp_auth},{smtp_password}"
    )


def check(
    tmp_path: Path,
    rows: list[str],
    *options: str,
    capsys: pytest.CaptureFixture[str],
) -> Result:
    tmp_path.mkdir(exist_ok=True)
    sheet = tmp_path / "accounts.csv"
    sheet.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    reports = tmp_path / "reports"
    code = main(["check", str(sheet), "--report-dir", str(reports), "--timeout", "5", *options])
    out, err = capsys.readouterr()
    (folder,) = reports.iterdir()
    return Result(
        code,
        out,
        err,
        _rows(folder / "succeeded.csv"),
        _rows(folder / "failed.csv"),
        json.loads((folder / "summary.json").read_text(encoding="utf-8")),
        "".join(p.read_text(encoding="utf-8-sig") for p in folder.iterdir() if p.suffix != ".xlsx"),
    )


def _rows(path: Path) -> list[dict[str, str]]:
    """Return the CSV's rows, their notes without validation's `defaulted` ones."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if "notes" in r:
            kept = [n for n in r["notes"].split("; ") if not n.startswith("defaulted:")]
            r["notes"] = "; ".join(kept)
    return rows


def accounts(**extra: str) -> dict[str, str]:
    return {"anna@example.org": GOOD, "bob@example.org": GOOD, **extra}


def smtp_accounts() -> dict[str, str]:
    return {"anna@example.org": SMTP_GOOD, "bob@example.org": SMTP_GOOD}


def closed_port() -> int:
    """Return a loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- a mailbox that works --------------------------------------------------------------------


def test_a_good_row_is_checked_with_logins_over_tls(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls, implicit_tls=True))
    smtp = world.smtp(Mail(smtp_accounts(), tls=tls, starttls=True))
    result = check(
        tmp_path,
        [row("anna@example.org", imap, smtp)],
        "--login",
        "--ca-bundle",
        str(ca_file),
        capsys=capsys,
    )
    assert (result.code, result.failed) == (0, [])
    assert [(r["row"], r["outcome"], r["notes"]) for r in result.succeeded] == [
        ("2", "checked", "")
    ]
    assert imap.logins == ["anna@example.org"] and smtp.logins == ["anna@example.org"]
    assert (result.summary["probes"], result.summary["logins"]) == (2, 2)
    assert result.summary["command"] == "check"
    assert "run.finished" in result.err and "row.checked" in result.err  # the logs are seen
    assert GOOD not in result.files + result.out + result.err
    assert SMTP_GOOD not in result.files + result.out + result.err


def test_pop3_with_stls_logs_in(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pop = world.pop3(Mail(accounts(), tls=tls, starttls=True))
    smtp = world.smtp(Mail(smtp_accounts(), tls=tls, implicit_tls=True))
    rows = [row("anna@example.org", pop, smtp, imap=False, enc="StartTLS", smtp_enc="SSL")]
    result = check(tmp_path, rows, "--login", "--ca-bundle", str(ca_file), capsys=capsys)
    assert [(r["outcome"], r["notes"]) for r in result.succeeded] == [("checked", "")]
    assert pop.logins == ["anna@example.org"]


def test_an_untrusted_certificate_is_a_warning_not_a_failure(
    world: MailServers, tls: ssl.SSLContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls, implicit_tls=True))
    smtp = world.smtp(Mail(smtp_accounts(), tls=tls, starttls=True))
    result = check(tmp_path, [row("anna@example.org", imap, smtp)], "--login", capsys=capsys)
    assert (result.code, result.failed) == (0, [])
    (checked,) = result.succeeded
    assert checked["outcome"] == "checked"
    assert checked["notes"].count("mail-certificate-untrusted:") == 2
    assert imap.logins == ["anna@example.org"]  # logged in without verification, as the portal


def test_starttls_not_offered_is_a_warning(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts()))
    smtp = world.smtp(Mail(smtp_accounts(), tls=tls, starttls=True))
    rows = [row("anna@example.org", imap, smtp, enc="StartTLS")]
    result = check(tmp_path, rows, "--login", "--ca-bundle", str(ca_file), capsys=capsys)
    (checked,) = result.succeeded
    assert checked["notes"].startswith("starttls-not-offered: IMAP 127.0.0.1:")
    assert result.code == 0
    # The row asked for encryption and the server offers none: the check sends no password
    # in clear from this machine (the portal would; its create tests that login itself).
    assert imap.logins == []
    assert checked["outcome"] == "not checked"
    assert "cleartext-login-not-tried: IMAP 127.0.0.1:" in checked["notes"]
    assert smtp.logins == ["anna@example.org"]  # the SMTP side offers STARTTLS: checked


@pytest.mark.parametrize("protocol", ["IMAP", "POP3", "SMTP"])
def test_starttls_offered_to_the_probe_and_not_to_a_login_sends_no_password(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    protocol: str,
) -> None:
    """The probe saw STARTTLS; a login connection that is not offered it (a man in the
    middle strips it) must not log in in the clear: the check's own downgrade, unnoticed, sent
    the password unencrypted and said nothing."""
    stripped = Mail(accounts(), tls=tls, starttls=True, starttls_first=1)  # the probe's only
    if protocol == "SMTP":
        incoming = world.imap(Mail(accounts(), tls=tls, implicit_tls=True))
        smtp = world.smtp(stripped)
        stripped.accounts = smtp_accounts()
        line = row("anna@example.org", incoming, smtp, enc="SSL", smtp_enc="StartTLS")
        code = "smtp-tls-failed"
    else:
        server = world.imap(stripped) if protocol == "IMAP" else world.pop3(stripped)
        smtp = world.smtp(Mail(smtp_accounts(), tls=tls, implicit_tls=True))
        line = row("anna@example.org", server, smtp, imap=protocol == "IMAP", enc="StartTLS",
                   smtp_enc="SSL")  # fmt: skip
        code = "mailbox-tls-failed"
    result = check(tmp_path, [line], "--login", "--ca-bundle", str(ca_file), capsys=capsys)
    assert stripped.logins == []  # the password was not sent
    assert (result.code, [r["code"] for r in result.failed]) == (1, [code])
    message = result.failed[0]["message"]
    assert f"{protocol} 127.0.0.1:{stripped.port}" in message
    assert "STARTTLS" in message and "the password was not sent" in message
    assert "starttls-not-offered" not in result.files  # the probe saw it offered


def test_an_ntlm_row_is_not_checked(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls, implicit_tls=True))
    smtp = world.smtp(Mail(smtp_accounts(), tls=tls, starttls=True))
    rows = [row("anna@example.org", imap, smtp, auth="Ntlm")]
    result = check(tmp_path, rows, "--login", "--ca-bundle", str(ca_file), capsys=capsys)
    (checked,) = result.succeeded
    assert checked["outcome"] == "not checked"
    assert checked["notes"].startswith("ntlm-not-checked:")
    assert (imap.logins, smtp.logins) == ([], ["anna@example.org"])
    assert result.code == 0


# --- each failure's code ---------------------------------------------------------------------


def failure(result: Result) -> tuple[str, str, str]:
    (failed,) = result.failed
    return failed["outcome"], failed["stage"], failed["code"]


def test_a_wrong_password_is_mailbox_login_refused(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls, implicit_tls=True))
    smtp = world.smtp(Mail(smtp_accounts(), tls=tls, starttls=True))
    rows = [row("anna@example.org", imap, smtp, password="Stale-pw-9")]
    result = check(tmp_path, rows, "--login", "--ca-bundle", str(ca_file), capsys=capsys)
    assert result.code == 1
    assert failure(result) == ("failed", "check", "mailbox-login-refused")
    assert "Invalid credentials" in result.failed[0]["message"]
    assert "Stale-pw-9" not in result.files + result.out + result.err


def test_a_wrong_smtp_password_is_smtp_login_refused(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls, implicit_tls=True))
    smtp = world.smtp(Mail(smtp_accounts(), tls=tls, starttls=True))
    rows = [row("anna@example.org", imap, smtp, smtp_password="Stale-pw-9")]
    result = check(tmp_path, rows, "--login", "--ca-bundle", str(ca_file), capsys=capsys)
    assert failure(result) == ("failed", "check", "smtp-login-refused")
    assert smtp.logins == ["anna@example.org"]  # one mechanism, tried once


def test_a_closed_port_is_unreachable(
    world: MailServers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    smtp = world.smtp(Mail(smtp_accounts(), auth=False))
    nobody = Mail({}, port=closed_port())
    rows = [row("anna@example.org", nobody, smtp, enc="None", smtp_enc="None", smtp_auth=False)]
    result = check(tmp_path, rows, capsys=capsys)
    assert failure(result) == ("failed", "check", "mailbox-unreachable")
    assert "connection refused" in result.failed[0]["message"]
    assert "between this machine and the server" in result.failed[0]["hint"]  # not the portal


def test_ssl_on_a_plain_port_is_tls_failed(
    world: MailServers, tls: ssl.SSLContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imap = world.imap(Mail(accounts()))
    smtp = world.smtp(Mail(smtp_accounts()))
    rows = [row("anna@example.org", imap, smtp, enc="SSL", smtp_enc="SSL")]
    result = check(tmp_path, rows, capsys=capsys)
    assert failure(result) == ("failed", "check", "mailbox-tls-failed")
    assert "smtp-tls-failed" not in result.failed[0]["message"]  # the message names servers
    assert result.failed[0]["message"].count("TLS failed") == 2


def test_smtp_without_auth_for_a_row_that_logs_in_is_auth_unsupported(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls, implicit_tls=True))
    smtp = world.smtp(Mail(smtp_accounts(), auth=False))
    rows = [row("anna@example.org", imap, smtp, smtp_enc="None")]
    result = check(tmp_path, rows, "--ca-bundle", str(ca_file), capsys=capsys)
    assert failure(result) == ("failed", "check", "smtp-auth-unsupported")


def test_smtp_offering_auth_to_a_row_without_login_is_auth_required(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls, implicit_tls=True))
    smtp = world.smtp(Mail(smtp_accounts(), tls=tls, starttls=True))
    rows = [row("anna@example.org", imap, smtp, smtp_auth=False)]
    result = check(tmp_path, rows, "--ca-bundle", str(ca_file), capsys=capsys)
    assert failure(result) == ("failed", "check", "smtp-auth-required")


def test_too_many_connections_is_throttled(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls, implicit_tls=True, throttle=True))
    smtp = world.smtp(Mail(smtp_accounts(), tls=tls, starttls=True, throttle=True))
    rows = [row("anna@example.org", imap, smtp)]
    result = check(tmp_path, rows, "--login", "--ca-bundle", str(ca_file), capsys=capsys)
    assert failure(result) == ("failed", "check", "mailbox-throttled")
    assert "smtp" in result.failed[0]["hint"].casefold()  # both sides' hints


def test_a_server_that_never_greets_times_out(
    world: MailServers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imap = world.imap(Mail(accounts(), silent=True))
    smtp = world.smtp(Mail(smtp_accounts(), auth=False))
    rows = [row("anna@example.org", imap, smtp, enc="None", smtp_enc="None", smtp_auth=False)]
    result = check(tmp_path, rows, "--timeout", "0.3", capsys=capsys)
    assert failure(result) == ("failed", "check", "mailbox-timeout")


# --- shared probes, the budget ---------------------------------------------------------------


def test_probes_are_shared_per_server_and_logins_are_one_connection_each(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls, implicit_tls=True))
    smtp = world.smtp(Mail(smtp_accounts(), tls=tls, starttls=True))
    rows = [row(f"box{n}@example.org", imap, smtp) for n in range(5)]
    result = check(tmp_path / "probe", rows, "--ca-bundle", str(ca_file), capsys=capsys)
    assert [r["outcome"] for r in result.succeeded] == ["checked"] * 5
    assert (imap.connections, smtp.connections, result.summary["probes"]) == (1, 1, 2)
    imap.connections = smtp.connections = 0
    rows = [row(n, imap, smtp) for n in ("anna@example.org", "bob@example.org")]
    result = check(tmp_path / "login", rows, "--login", "--ca-bundle", str(ca_file), capsys=capsys)
    assert [r["outcome"] for r in result.succeeded] == ["checked"] * 2
    assert (imap.connections, smtp.connections) == (1 + 2, 1 + 2)


def test_refused_logins_stop_at_the_budget(
    world: MailServers,
    tls: ssl.SSLContext,
    ca_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls, implicit_tls=True))
    boxes = {f"box{n}@example.org": SMTP_GOOD for n in range(6)}  # SMTP takes each login
    smtp = world.smtp(Mail(boxes, tls=tls, starttls=True))
    rows = [row(f"box{n}@example.org", imap, smtp, password=f"Stale-{n}") for n in range(6)]
    options = ("--login", "--max-login-failures", "2", "--per-server", "4")
    result = check(tmp_path, rows, *options, "--ca-bundle", str(ca_file), capsys=capsys)
    assert len(imap.logins) == 2  # the server saw no more refused logins than the budget
    assert [(r["outcome"], r["code"]) for r in result.failed] == [
        ("failed", "mailbox-login-refused")
    ] * 2 + [("not attempted", "login-failures-limit")] * 4
    servers = result.summary["mail_servers"]
    assert isinstance(servers, dict) and servers["stopped"] == ["127.0.0.1"]
    assert result.code == 1


def test_invalid_rows_fail_validation_and_are_not_checked(
    world: MailServers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imap = world.imap(Mail(accounts()))
    smtp = world.smtp(Mail(smtp_accounts(), auth=False))
    bad = row("not-an-address", imap, smtp, enc="None", smtp_enc="None", smtp_auth=False)
    result = check(tmp_path, [bad], "--login", capsys=capsys)
    assert failure(result) == ("failed", "validation", "email-invalid")
    assert (imap.connections, smtp.connections) == (0, 0)


def test_imap_starttls_and_a_refused_pop3_login(
    world: MailServers,
    tls: ssl.SSLContext,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    imap = world.imap(Mail(accounts(), tls=tls, starttls=True))
    pop = world.pop3(Mail(accounts(), tls=tls, implicit_tls=True))
    smtp = world.smtp(Mail(smtp_accounts(), tls=tls, starttls=True))
    rows = [
        row("anna@example.org", imap, smtp, enc="StartTLS"),
        row("bob@example.org", pop, smtp, imap=False, password="Stale-pw-9"),
    ]
    # Without --ca-bundle: the certificate warning shows that STARTTLS was made.
    result = check(tmp_path, rows, "--login", capsys=capsys)
    assert [(r["row"], r["outcome"]) for r in result.succeeded] == [("2", "checked")]
    assert "mail-certificate-untrusted: IMAP 127.0.0.1" in result.succeeded[0]["notes"]
    assert imap.logins == ["anna@example.org"]
    assert [(r["row"], r["code"]) for r in result.failed] == [("3", "mailbox-login-refused")]
    assert "POP3" in result.failed[0]["message"] and "[AUTH]" in result.failed[0]["message"]
