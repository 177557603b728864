"""Whom bulkmail trusts over TLS: the system's certificate store, built into one context a run.

Every TLS connection bulkmail makes (the portal, through httpx) verifies the server against:

- the operating system's store. On macOS and Windows that is the system's own verifier,
  through `truststore` (as pip does). On Linux and other OpenSSL systems it is OpenSSL's
  default locations, which is all truststore does there: `SSL_CERT_FILE` and `SSL_CERT_DIR`
  when set, else the distribution's bundle, where `update-ca-certificates` or
  `update-ca-trust` put an organisation's own CA; failing those, the bundle files the major
  distributions use. We load them ourselves because truststore reloads them on every new
  connection: 20 ms of CPU each on the event loop here, against 0.7 ms for a connection
  through a context loaded once (docs/performance.md §5). certifi's bundle is the last resort,
  for a system with no store at all;
- `SSL_CERT_FILE` / `SSL_CERT_DIR`, read at the start of the run: on macOS and Windows they
  are added to the system's trust; a file that cannot be read or holds no PEM certificate,
  or a folder that does not exist, stops the run (exit 2), where OpenSSL would say nothing;
- `--ca-bundle FILE` (PEM): trusted besides all of the above.

A certificate the context refuses is named with its fix by `certificate_problem`.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import sys
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from bulkmail.errors import ConfigError

__all__ = ["certificate_problem", "is_loopback", "trust_context"]

CERT_FILE_ENV: Final = "SSL_CERT_FILE"
CERT_DIR_ENV: Final = "SSL_CERT_DIR"

# Where distributions keep their bundle, for a Python whose OpenSSL was built to look
# elsewhere (python.org or uv builds): Debian/Ubuntu, Fedora/RHEL, the BSDs/Alpine/Arch, SUSE.
_SYSTEM_BUNDLES: Final = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
)
_HASHED: Final = re.compile(r"[0-9a-fA-F]{8}\.\d+")  # how a CA directory names its certificates
_OS_VERIFIER: Final = sys.platform in ("darwin", "win32")


def trust_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """Return a client context verifying servers against the system's store and `ca_bundle`.

    Build it once per run and share it (~20 ms of CPU on Linux). Raises ConfigError, naming
    the file and the fix, when `ca_bundle`, SSL_CERT_FILE or SSL_CERT_DIR cannot be used.
    """
    cert_file, cert_dir = os.environ.get(CERT_FILE_ENV), os.environ.get(CERT_DIR_ENV)
    if cert_file:  # OpenSSL skips a file it cannot read without a word: say it instead
        _check_pem(Path(cert_file), CERT_FILE_ENV)
    if cert_dir and not Path(cert_dir).is_dir():
        raise ConfigError(
            f"{CERT_DIR_ENV} names {cert_dir}, which is not a folder",
            f"point {CERT_DIR_ENV} at a folder of CA certificates, or unset it",
        )
    if _OS_VERIFIER:
        import truststore  # only where it asks the operating system

        context: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if cert_file:  # extra anchors beside the system's own
            _load(context, Path(cert_file), CERT_FILE_ENV)
        if cert_dir:
            context.load_verify_locations(capath=cert_dir)
    else:
        # OpenSSL's defaults, SSL_CERT_FILE and SSL_CERT_DIR first: loaded here, once.
        context = ssl.create_default_context()
        if not _system_store_found():
            _load(context, _first_bundle(), "the system's CA bundle")
    if ca_bundle is not None:
        _load(context, ca_bundle, "--ca-bundle")
    return context


def _system_store_found() -> bool:
    """Return whether OpenSSL's default file or folder (after SSL_CERT_*) holds certificates."""
    paths = ssl.get_default_verify_paths()  # None where the file or folder does not exist
    if paths.cafile:
        return True
    try:
        return paths.capath is not None and any(map(_HASHED.fullmatch, os.listdir(paths.capath)))
    except OSError:
        return False


def _first_bundle() -> Path:
    """Return the first distribution bundle that exists, else certifi's."""
    for candidate in _SYSTEM_BUNDLES:
        if os.path.isfile(candidate):
            return Path(candidate)
    import certifi  # a system without any store: a container without ca-certificates

    return Path(certifi.where())


_PEM_CERTIFICATE: Final = re.compile(rb"-----BEGIN (?:TRUSTED )?CERTIFICATE-----")


def _check_pem(path: Path, what: str) -> None:
    """Raise ConfigError unless `path` is a readable file holding a PEM certificate."""
    try:
        found = _PEM_CERTIFICATE.search(path.read_bytes()) is not None
    except OSError as err:
        raise _unusable(path, what, err.strerror or "cannot be read") from None
    if not found:
        raise _unusable(path, what, "no PEM certificate")


def _unusable(path: Path, what: str, why: str) -> ConfigError:
    return ConfigError(
        f"{what}: cannot use {path} as CA certificates ({why})",
        "give a file of PEM certificates (-----BEGIN CERTIFICATE-----): the CA that "
        "signed the portal's certificate",
    )


def _load(context: ssl.SSLContext, path: Path, what: str) -> None:
    """Trust the PEM certificates in `path`, or raise ConfigError naming `what` and the fix."""
    try:
        context.load_verify_locations(cafile=path)
    except OSError as err:  # ssl.SSLError is one too: a file without a PEM certificate
        ssl_error = isinstance(err, ssl.SSLError)
        why = "no PEM certificate" if ssl_error or not err.strerror else err.strerror
        raise _unusable(path, what, why) from None


# OpenSSL's verify results (x509_vfy.h) and what to do about each.
_UNTRUSTED: Final = frozenset({2, 18, 19, 20, 21})  # unknown issuer, self-signed
_EXPIRED: Final = frozenset({9, 10})  # not yet valid, expired
_WRONG_NAME: Final = frozenset({62, 64})  # host name, IP address
_TRUST_FIX: Final = (
    "if the portal's certificate comes from your organisation's own CA, give that CA's "
    "certificate with --ca-bundle FILE (or set SSL_CERT_FILE), or add it to this machine's "
    "trust store"
)


def certificate_problem(err: ssl.SSLCertVerificationError) -> tuple[str, str]:
    """Return (message, hint) for a portal certificate that failed verification, one line each.

    The message says what OpenSSL found (unknown CA, expired, another name); the hint the fix:
    `--ca-bundle` or SSL_CERT_FILE for a CA this machine does not know.
    """
    # Set by the ssl module on a failed handshake; one built by hand has neither.
    code = getattr(err, "verify_code", None)
    said = getattr(err, "verify_message", None) or getattr(err, "reason", None) or err.strerror
    said = " ".join(str(said).split())
    if code in _WRONG_NAME:
        return (
            f"the portal's TLS certificate is for another name ({said})",
            "use in --portal the host name the portal's certificate was issued for",
        )
    if code in _EXPIRED:
        return (
            f"the portal's TLS certificate is not valid now ({said})",
            "the portal's certificate must be renewed; check this machine's clock too",
        )
    lead = "is not trusted" if code in _UNTRUSTED else "was refused"
    return f"the portal's TLS certificate {lead} ({said})", _TRUST_FIX


def is_loopback(url: str) -> bool:
    """Return whether `url`'s host is this machine: localhost, 127.0.0.0/8 or ::1."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761 §6.3
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
