"""Connection rules of the validator: the incoming (IMAP/POP3) and SMTP settings of a row.

What a blank port, encryption or protocol means given the other cells, and settings that
contradict each other (port vs encryption, port vs protocol). Pure: no I/O, no logging, no
clock. The logins and passwords are `rows.py`'s.

A side's settings cells repeat across most rows of a sheet (one mail server, one port, one
encryption), so each distinct combination is checked once and its notes, which carry no row
number, are replayed into every row that has it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from bulkmail.codes import Code
from bulkmail.printable import cell_quoted
from bulkmail.schema import AUTH, ENCRYPTION, ENCRYPTION_NAMES, default_port
from bulkmail.validation.cells import (
    IMAP_PORTS,
    PLAIN_PORTS,
    POP3_PORTS,
    SMTP_PORTS,
    SSL_PORTS,
    Findings,
    Note,
    check_host,
    parse_auth,
    parse_bool,
    parse_encryption,
    parse_port,
    require,
)
from bulkmail.validation.identifiers import identifier

_SSL, _STARTTLS, _PLAIN = ENCRYPTION["ssl"], ENCRYPTION["starttls"], ENCRYPTION["none"]
_NO_AUTH, _LOGIN, _OAUTH2, _NTLM = AUTH["none"], AUTH["login"], AUTH["oauth2"], AUTH["ntlm"]
_T = TypeVar("_T")
_IMAP_WORDS = {"imap": True, "pop": False, "pop3": False}
_NOT_SMTP_PORTS = IMAP_PORTS | POP3_PORTS
_SERVER_HINT = "fill in the IMAP/POP3 host, or give all rows one with --set server=HOST"
_SMTP_SERVER_HINT = "fill in the SMTP host, or give all rows one with --set smtp_server=HOST"
# Distinct settings per side kept; a sheet with more only re-checks the ones it dropped.
_CACHED = 4096


@dataclass(frozen=True, slots=True)
class Settings:
    """One side's settings as the API takes them (placeholders where a cell is wrong)."""

    flag: bool  # incoming: imap (false = POP3); SMTP: smtp_auth
    server: str
    port: int
    encryption: int
    auth: int
    notes: tuple[Note, ...]  # what the cells raise, in the order they are checked
    late_notes: tuple[Note, ...] = ()  # SMTP port checks: reported after the SMTP login's


def incoming_settings(values: Mapping[str, str]) -> Settings:
    """Return what the incoming (IMAP/POP3) settings cells of a row mean."""
    get = values.get
    return _incoming(
        get("server", ""),
        get("port", ""),
        get("imap", ""),
        get("incoming_encryption_type", ""),
        get("auth_type_in", ""),
    )


@functools.lru_cache(maxsize=_CACHED)
def _incoming(
    server_text: str, port_text: str, imap_text: str, encryption_text: str, auth_text: str
) -> Settings:
    found = Findings(0)
    server, clean = identifier("server", server_text, found)
    server = require("server", server, found, _SERVER_HINT)
    if server and clean:
        check_host("server", server, found, "port")
    port = parse_port("port", port_text, found)
    bad_port = bool(port_text.strip()) and port is None
    imap = _imap(imap_text, port, bad_port, found)
    column = "incoming_encryption_type"
    encryption = _encryption(column, encryption_text, port, bad_port, found)
    if port is None and not bad_port and encryption is not None and imap is not None:
        port = _default(found, "port", "imap" if imap else "pop3", encryption)
    auth = _incoming_auth(auth_text, imap, found)
    if port is not None:
        _check_port(found, "port", port, encryption)
        _check_incoming_protocol(found, port, imap)
    return Settings(_or(imap, True), server, port or 0, _or(encryption, _SSL), auth, found.notes())


def _or(value: _T | None, placeholder: _T) -> _T:
    # Only rows blocked by an error ever hold a placeholder, and they are never sent.
    return placeholder if value is None else value


def _imap(text: str, port: int | None, bad_port: bool, found: Findings) -> bool | None:
    """Return whether the row is IMAP; None when the cell is wrong or nothing tells."""
    if text.strip() or bad_port:
        return parse_bool("imap", text, found, _IMAP_WORDS) if text.strip() else None
    if port in POP3_PORTS:
        found.info("imap", f"POP3 assumed from port {port}")
        return False
    found.info("imap", "IMAP assumed" + (f" with port {port}" if port else ""))
    return True


def _encryption(
    column: str, text: str, port: int | None, bad_port: bool, found: Findings
) -> int | None:
    """Return the EncryptionType, inferred from the port when blank; None when unknowable."""
    if text.strip() or bad_port:
        return parse_encryption(column, text, found) if text.strip() else None
    if port is None:
        found.info(column, "SSL assumed: no port given")
        return _SSL
    if port in SSL_PORTS:
        value, why = _SSL, f"from port {port}"
    elif port in PLAIN_PORTS:
        value, why = (_PLAIN if port == 25 else _STARTTLS), f"from port {port}"
    else:
        # The portal does StartTLS "when available", so on an unknown port it also works
        # against a plain server; SSL would fail unless the port really is implicit TLS.
        value, why = _STARTTLS, f"for port {port} (it falls back to plain if not offered)"
    found.info(column, f"{ENCRYPTION_NAMES[value]} assumed {why}")
    return value


def _default(
    found: Findings, column: str, protocol: Literal["imap", "pop3", "smtp"], encryption: int
) -> int:
    port = default_port(protocol, encryption)
    found.info(
        column, f"{port} assumed: the {protocol.upper()} port for {ENCRYPTION_NAMES[encryption]}"
    )
    return port


def _incoming_auth(text: str, imap: bool | None, found: Findings) -> int:
    auth = parse_auth("auth_type_in", text, found)
    if auth == _OAUTH2:
        _oauth2(found, "auth_type_in", text)
    elif auth == _NTLM and imap is False:
        found.add(
            "auth_type_in",
            Code.NTLM_POP3,
            f"{cell_quoted(text)} (Ntlm) does not work with POP3: the portal fails on it",
        )
    return _or(auth, _LOGIN)


def _oauth2(found: Findings, column: str, text: str) -> None:
    found.add(
        column,
        Code.OAUTH2_UNSUPPORTED,
        f"{cell_quoted(text)} is OAuth2, which the API cannot create with a password",
    )


def _check_port(found: Findings, column: str, port: int, encryption: int | None) -> None:
    """Warn when the port is a well-known one for another encryption."""
    if encryption is None:
        return
    if port in SSL_PORTS and encryption != _SSL:
        found.add(
            column,
            Code.PORT_ENCRYPTION_MISMATCH,
            f"port {port} expects SSL, encryption is {ENCRYPTION_NAMES[encryption]}",
            "set the encryption to SSL, or check the port",
        )
    elif port in PLAIN_PORTS and encryption == _SSL:
        found.add(
            column,
            Code.PORT_ENCRYPTION_MISMATCH,
            f"port {port} expects StartTLS or None, encryption is SSL",
            "set the encryption to StartTLS, or check the port",
        )


def _check_incoming_protocol(found: Findings, port: int, imap: bool | None) -> None:
    if imap is True and port in POP3_PORTS:
        found.add(
            "imap",
            Code.PROTOCOL_PORT_MISMATCH,
            f"port {port} is POP3's, imap is true",
            "set imap to false for POP3, or use the IMAP port (993 or 143)",
        )
    elif imap is False and port in IMAP_PORTS:
        found.add(
            "imap",
            Code.PROTOCOL_PORT_MISMATCH,
            f"port {port} is IMAP's, imap is false",
            "set imap to true for IMAP, or use the POP3 port (995 or 110)",
        )
    elif port in SMTP_PORTS:
        found.add(
            "port",
            Code.PROTOCOL_PORT_MISMATCH,
            f"port {port} is an SMTP port",
            "use the IMAP or POP3 port here, e.g. 993 or 995",
        )


def outgoing_settings(values: Mapping[str, str]) -> Settings:
    """Return what the SMTP settings cells of a row mean (its login and password aside)."""
    get = values.get
    return _outgoing(
        get("smtp_server", ""),
        get("smtp_port", ""),
        get("outcoming_encryption_type", ""),
        get("auth_type_smtp", ""),
        get("smtp_auth", ""),
    )


@functools.lru_cache(maxsize=_CACHED)
def _outgoing(
    server_text: str, port_text: str, encryption_text: str, auth_text: str, flag_text: str
) -> Settings:
    found = Findings(0)
    server, clean = identifier("smtp_server", server_text, found)
    server = require("smtp_server", server, found, _SMTP_SERVER_HINT)
    if server and clean:
        check_host("smtp_server", server, found, "smtp_port")
    port = parse_port("smtp_port", port_text, found)
    bad_port = bool(port_text.strip()) and port is None
    column = "outcoming_encryption_type"
    encryption = _encryption(column, encryption_text, port, bad_port, found)
    if port is None and not bad_port and encryption is not None:
        port = _default(found, "smtp_port", "smtp", encryption)
    smtp_auth, auth = _smtp_auth(auth_text, flag_text, found)
    late = Findings(0)
    if port is not None:
        _check_port(late, "smtp_port", port, encryption)
        if port in _NOT_SMTP_PORTS:
            late.add(
                "smtp_port",
                Code.PROTOCOL_PORT_MISMATCH,
                f"port {port} is not SMTP's",
                "use the SMTP port here, e.g. 465 or 587",
            )
    encryption = _or(encryption, _SSL)
    return Settings(smtp_auth, server, port or 0, encryption, auth, found.notes(), late.notes())


def _smtp_auth(text: str, flag_text: str, found: Findings) -> tuple[bool, int]:
    """Return (smtp_auth, auth_type_smtp) with their blank defaults and contradictions."""
    auth = parse_auth("auth_type_smtp", text, found)
    flag = parse_bool("smtp_auth", flag_text, found)
    if flag is None:  # blank: like the portal's own form, auth None means no SMTP login
        flag = auth != _NO_AUTH
    if auth is None:
        return flag, _LOGIN if flag else _NO_AUTH
    if not flag and auth != _NO_AUTH:
        found.add(
            "auth_type_smtp",
            Code.SMTP_AUTH_IGNORED,
            f"{cell_quoted(text)} is ignored: smtp_auth is false",
        )
    elif flag and auth == _NO_AUTH:
        found.add(
            "auth_type_smtp",
            Code.SMTP_AUTH_NONE,
            f"smtp_auth is true but {cell_quoted(text)} means no SMTP login",
        )
    elif flag and auth == _OAUTH2:
        _oauth2(found, "auth_type_smtp", text)
    return flag, auth
