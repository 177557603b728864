"""TLS as organisations run it: a portal whose certificate comes from the organisation's own CA.

The portal is the simulator served over HTTPS by uvicorn on 127.0.0.1, with a certificate
from a CA made in the test (trustme), which no trust store on this machine knows. The CLI
runs in this process, so SSL_CERT_FILE set with monkeypatch reaches OpenSSL as it would
from a shell.
"""

from __future__ import annotations

import csv
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
import trustme
import uvicorn

from bulkmail.cli import main
from bulkmail.cli.importing import _warn_if_plaintext
from bulkmail.errors import ConfigError
from bulkmail.portal.http import tls_proxies
from bulkmail.portal.tls import is_loopback, trust_context
from bulkmail.simulator import SimConfig
from bulkmail.simulator.app import create_app

pytestmark = pytest.mark.slow

HEADER = "portal_user,portal_password,email,password,server,smtp_server"


def rows(user: str) -> list[str]:
    """Three rows of `user`'s: each test its own user, as the portal outlives a test."""
    return [
        f"{user}@corp.example.org,Portal-pw-1,box{n}@mail.example.org,Mailbox-pw-{n},"
        "imap.mail.example.org,smtp.mail.example.org"
        for n in range(3)
    ]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="Corp internal CA")


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "corp-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _serve_tls(cert: trustme.LeafCert, folder: Path) -> Iterator[str]:
    """Serve the simulator over HTTPS with `cert`; yield its URL."""
    keyfile, certfile = folder / "key.pem", folder / "cert.pem"
    cert.private_key_pem.write_to_path(str(keyfile))
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    config = uvicorn.Config(
        create_app(SimConfig()),
        ssl_keyfile=str(keyfile),
        ssl_certfile=str(certfile),
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:  # the event is uvicorn's flag; a dead thread ends the wait
        assert thread.is_alive(), "the TLS simulator did not start"
        thread.join(0.01)
    try:
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


@pytest.fixture(scope="module")
def portal(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A portal whose certificate (for 127.0.0.1) the organisation's CA signed."""
    yield from _serve_tls(ca.issue_cert("127.0.0.1"), tmp_path_factory.mktemp("portal"))


@pytest.fixture(scope="module")
def misnamed(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A portal on 127.0.0.1 whose certificate names another host."""
    yield from _serve_tls(ca.issue_cert("portal.example.org"), tmp_path_factory.mktemp("other"))


def run_import(tmp_path: Path, url: str, *extra: str) -> int:
    tmp_path.mkdir(exist_ok=True)
    sheet = tmp_path / "accounts.csv"
    user = "".join(filter(str.isalnum, str(tmp_path.relative_to(tmp_path.parent.parent))))
    sheet.write_text("\n".join([HEADER, *rows(user)]) + "\n", encoding="utf-8")
    return main(
        [
            "import",
            str(sheet),
            "--portal",
            url,
            "--report-dir",
            str(tmp_path / "reports"),
            "--state",
            str(tmp_path / "journal.sqlite"),
            *extra,
        ]
    )


def outcomes(tmp_path: Path) -> list[tuple[str, str]]:
    """Return (outcome, code) of every row of the last run's report, in input order."""
    folder = sorted((tmp_path / "reports").iterdir())[-1]  # `..._import` before `..._import-2`
    rows = []
    for name in ("succeeded.csv", "failed.csv"):
        with (folder / name).open(encoding="utf-8-sig", newline="") as f:
            rows += [(int(r["row"]), r["outcome"], r.get("code", "")) for r in csv.DictReader(f)]
    return [(outcome, code) for _, outcome, code in sorted(rows)]


@pytest.fixture(autouse=True)
def _no_ssl_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_an_untrusted_certificate_stops_the_run_naming_the_fix(
    tmp_path: Path, portal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The check of --portal before the first row meets the certificate: nothing is sent.
    code = run_import(tmp_path, portal)
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    assert err.strip().splitlines()[-1] == (
        f"bulkmail: error: --portal {portal}: the portal's TLS certificate is not trusted "
        "(unable to get local issuer certificate) (if the portal's certificate comes from your "
        "organisation's own CA, give that CA's certificate with --ca-bundle FILE (or set "
        "SSL_CERT_FILE), or add it to this machine's trust store)"
    )
    (summary,) = (tmp_path / "reports").glob("*/*")  # the error's summary.json: nothing sent
    assert json.loads(summary.read_text())["error"] == err.strip().removeprefix("bulkmail: error: ")


def test_the_same_command_with_the_fix_finishes_the_run(
    tmp_path: Path, portal: str, ca_file: Path
) -> None:
    assert run_import(tmp_path, portal, "-q") == 2
    assert run_import(tmp_path, portal, "-q", "--ca-bundle", str(ca_file)) == 0
    assert outcomes(tmp_path) == [("created", "")] * 3


def test_ca_bundle_trusts_the_organisations_ca(tmp_path: Path, portal: str, ca_file: Path) -> None:
    assert run_import(tmp_path, portal, "--ca-bundle", str(ca_file), "--quiet") == 0
    assert outcomes(tmp_path) == [("created", "")] * 3


def test_ssl_cert_file_trusts_the_organisations_ca(
    tmp_path: Path, portal: str, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    assert run_import(tmp_path, portal, "--quiet") == 0
    assert outcomes(tmp_path) == [("created", "")] * 3


def test_dry_run_uses_the_ca_bundle_too(tmp_path: Path, portal: str, ca_file: Path) -> None:
    assert run_import(tmp_path, portal, "--ca-bundle", str(ca_file), "--dry-run", "-q") == 0
    assert outcomes(tmp_path) == [("would create", "")] * 3


def test_a_certificate_for_another_name_says_to_use_that_name(
    tmp_path: Path, misnamed: str, ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_import(tmp_path, misnamed, "--ca-bundle", str(ca_file)) == 2
    out = capsys.readouterr().err
    assert (
        "the portal's TLS certificate is for another name (IP address "
        "mismatch, certificate is not valid for '127.0.0.1'.)"
    ) in out
    assert "(use in --portal the host name the portal's certificate was issued for)" in out


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "No such file or directory"),
        ("not a certificate\n", "no PEM certificate"),
    ],
)
def test_a_ca_bundle_that_cannot_be_used_is_one_line_and_exit_2(
    tmp_path: Path,
    portal: str,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    why: str,
) -> None:
    bundle = tmp_path / "corp-ca.pem"
    if content is not None:
        bundle.write_text(content, encoding="utf-8")
    assert run_import(tmp_path, portal, "--ca-bundle", str(bundle)) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        f"bulkmail: error: --ca-bundle: cannot use {bundle} as CA certificates ({why}) "
        "(give a file of PEM certificates (-----BEGIN CERTIFICATE-----): the CA that signed "
        "the portal's certificate)"
    )
    (summary,) = (tmp_path / "reports").glob("*/*")  # nothing was attempted: the error only
    assert json.loads(summary.read_text())["exit_code"] == 2


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs `openssl rehash`")
def test_ssl_cert_dir_trusts_the_organisations_ca(
    tmp_path: Path, portal: str, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "certs"
    folder.mkdir()
    shutil.copy(ca_file, folder / "corp-ca.pem")
    subprocess.run(["openssl", "rehash", str(folder)], check=True)  # names it by its hash
    monkeypatch.setenv("SSL_CERT_DIR", str(folder))
    assert run_import(tmp_path, portal, "--quiet") == 0
    assert outcomes(tmp_path) == [("created", "")] * 3


@pytest.mark.parametrize(
    ("content", "why"),
    [(None, "No such file or directory"), ("-----BEGIN NOTHING-----\n", "no PEM certificate")],
)
def test_an_ssl_cert_file_that_cannot_be_used_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None, why: str
) -> None:
    # OpenSSL itself would skip it without a word, and every certificate would be refused.
    path = tmp_path / "corp-ca.pem"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    with pytest.raises(ConfigError) as refused:
        trust_context()
    assert str(refused.value).startswith(
        f"SSL_CERT_FILE: cannot use {path} as CA certificates ({why})"
    )


def test_ssl_cert_dir_that_is_not_a_folder_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"SSL_CERT_DIR names .*nowhere, which is not a folder"):
        trust_context()


def test_the_system_store_is_loaded_without_any_option() -> None:
    # On this Linux: the distribution's bundle, through OpenSSL's default paths.
    context = trust_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    if ssl.get_default_verify_paths().cafile is None:  # a folder only: read as needed
        pytest.skip("this system's OpenSSL keeps its CAs in a folder only")
    assert context.cert_store_stats()["x509_ca"] > 0


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://127.9.9.9", True),
        ("http://localhost:8080", True),
        ("http://portal.localhost", True),
        ("http://[::1]:8080", True),
        ("http://portal.example.org", False),
        ("http://10.0.0.5", False),
        ("http://localhost.example.org", False),
        ("http://[::ffff:10.0.0.1]", False),
    ],
)
def test_loopback_urls(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://portal.example.org", True),
        ("HTTP://portal.example.org", True),
        ("https://portal.example.org", False),
        ("http://127.0.0.1:8080", False),
    ],
)
def test_plain_http_beyond_this_machine_is_warned_about(url: str, warned: bool) -> None:
    structlog.reset_defaults()  # an earlier run in this process may have left --quiet's level
    with structlog.testing.capture_logs() as logs:
        _warn_if_plaintext(url)
    expected = {
        "event": "portal.plaintext",
        "log_level": "warning",
        "portal": url,
        "message": "the portal is reached over plain http://: every portal and mailbox "
        "password of this run travels in clear text on the network",
        "hint": "use the portal's https:// address",
    }
    assert logs == ([expected] if warned else [])


def test_an_import_over_plain_http_says_so_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The name is never resolved (".invalid", RFC 2606): the check of --portal gives up at
    # once (exit 3), and the warning came before it.
    monkeypatch.setenv("BULKMAIL_PASSWORD", "Portal-pw-1")
    sheet = tmp_path / "accounts.csv"
    sheet.write_text("email,password,server,smtp_server\nnot-an-address,pw,imap.x,smtp.x\n")
    args = ["--report-dir", str(tmp_path / "r"), "--state", str(tmp_path / "j.sqlite")]
    portal = ["--portal", "http://portal.invalid", "--user", "me@example.org"]
    assert main(["import", str(sheet), *portal, *args, "--give-up-after", "0.01"]) == 3
    err = capsys.readouterr().err
    assert err.index("[warning  ] portal.plaintext ") < err.index("run.aborted")
    assert "every portal and mailbox password of this run travels in clear text" in err


@pytest.fixture
def through_tls_proxy(portal: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Send plain-http portal requests through a proxy reached over TLS (the HTTPS
    simulator, which serves the absolute-form requests a proxy receives itself)."""
    for name in ("HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", portal)
    monkeypatch.delenv("http_proxy", raising=False)


@pytest.mark.usefixtures("through_tls_proxy")
def test_a_proxy_reached_over_tls_is_verified_with_the_same_trust(
    tmp_path: Path, ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://portal.example.org"  # never resolved: the proxy answers for it
    assert run_import(tmp_path / "trusted", url, "--ca-bundle", str(ca_file), "-q") == 0
    assert outcomes(tmp_path / "trusted") == [("created", "")] * 3
    assert run_import(tmp_path / "untrusted", url) == 2
    assert "the portal's TLS certificate is not trusted" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("no_proxy", "expected"),
    [("", (("https://", "https://proxy.corp:3129"),)), ("intra.corp, *", ())],
)
def test_only_proxies_reached_over_tls_get_the_runs_context(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str, expected: tuple[tuple[str, str], ...]
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.corp:3129")
    monkeypatch.setenv("ALL_PROXY", "")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert tls_proxies() == expected
