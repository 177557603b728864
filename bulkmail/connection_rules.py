"""Connection rules of the validator: the incoming (IMAP/POP3) and SMTP settings of a row.

What a blank port, encryption, protocol or SMTP login means given the other cells, and
settings that contradict each other (port vs encryption, port vs protocol). Pure: no I/O,
no logging, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from bulkmail.cell_rules import (
    IMAP_PORTS,
    PLAIN_PORTS,
    POP3_PORTS,
    SMTP_PORTS,
    SSL_PORTS,
    Findings,
    check_host,
    check_secret,
    parse_auth,
    parse_bool,
    parse_encryption,
    parse_port,
    require,
)
from bulkmail.fields import AUTH, ENCRYPTION, ENCRYPTION_NAMES, default_port

_SSL, _STARTTLS, _PLAIN = ENCRYPTION["ssl"], ENCRYPTION["starttls"], ENCRYPTION["none"]
_NO_AUTH, _LOGIN, _OAUTH2, _NTLM = AUTH["none"], AUTH["login"], AUTH["oauth2"], AUTH["ntlm"]
_T = TypeVar("_T")
_IMAP_WORDS = {"imap": True, "pop": False, "pop3": False}
_REQUIRED_HINTS = {
    "server": "fill in the IMAP/POP3 host, or give all rows one with --set server=HOST",
    "smtp_server": "fill in the SMTP host, or give all rows one with --set smtp_server=HOST",
}


@dataclass(frozen=True, slots=True)
class Side:
    """One connection of the account, incoming or SMTP (placeholders where a cell is wrong)."""

    server: str
    port: int
    encryption: int
    auth: int
    login: str
    password: str


def _required(values: Mapping[str, str], column: str, found: Findings) -> str:
    return require(column, values.get(column, ""), found, _REQUIRED_HINTS[column])


def incoming_side(
    values: Mapping[str, str], found: Findings, login: str, password: str
) -> tuple[bool, Side]:
    """Return (imap, incoming side)."""
    server = _required(values, "server", found)
    if server:
        check_host("server", server, found, "port")
    port_text = values.get("port", "")
    port = parse_port("port", port_text, found)
    bad_port = bool(port_text.strip()) and port is None
    imap = _imap(values, port, bad_port, found)
    encryption = _encryption(values, "incoming_encryption_type", port, bad_port, found)
    if port is None and not bad_port and encryption is not None and imap is not None:
        port = _default(found, "port", "imap" if imap else "pop3", encryption)
    auth = _incoming_auth(values, imap, found)
    if port is not None:
        _check_port(found, "port", port, encryption)
        _check_incoming_protocol(found, port, imap)
    side = Side(server, port or 0, _or(encryption, _SSL), auth, login, password)
    return _or(imap, True), side


def _or(value: _T | None, placeholder: _T) -> _T:
    # Only rows blocked by an error ever hold a placeholder, and they are never sent.
    return placeholder if value is None else value


def _imap(
    values: Mapping[str, str], port: int | None, bad_port: bool, found: Findings
) -> bool | None:
    """Return whether the row is IMAP; None when the cell is wrong or nothing tells."""
    text = values.get("imap", "")
    if text.strip() or bad_port:
        return parse_bool("imap", text, found, _IMAP_WORDS) if text.strip() else None
    if port in POP3_PORTS:
        found.info("imap", f"POP3 assumed from port {port}")
        return False
    found.info("imap", "IMAP assumed" + (f" with port {port}" if port else ""))
    return True


def _encryption(
    values: Mapping[str, str], column: str, port: int | None, bad_port: bool, found: Findings
) -> int | None:
    """Return the EncryptionType, inferred from the port when blank; None when unknowable."""
    text = values.get(column, "")
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


def _incoming_auth(values: Mapping[str, str], imap: bool | None, found: Findings) -> int:
    text = values.get("auth_type_in", "")
    auth = parse_auth("auth_type_in", text, found)
    if auth == _OAUTH2:
        _oauth2(found, "auth_type_in", text)
    elif auth == _NTLM and imap is False:
        found.error(
            "auth_type_in",
            "ntlm-pop3",
            f'"{text}" (Ntlm) does not work with POP3: the portal fails on it',
            "use Login for POP3, or switch the row to IMAP",
        )
    return _or(auth, _LOGIN)


def _oauth2(found: Findings, column: str, text: str) -> None:
    found.error(
        column,
        "oauth2-unsupported",
        f'"{text}" is OAuth2, which the API cannot create with a password',
        "connect this mailbox by hand in the portal's Mail settings",
    )


def _check_port(found: Findings, column: str, port: int, encryption: int | None) -> None:
    """Warn when the port is a well-known one for another encryption."""
    if encryption is None:
        return
    if port in SSL_PORTS and encryption != _SSL:
        found.warning(
            column,
            "port-encryption-mismatch",
            f"port {port} expects SSL, encryption is {ENCRYPTION_NAMES[encryption]}",
            "set the encryption to SSL, or check the port",
        )
    elif port in PLAIN_PORTS and encryption == _SSL:
        found.warning(
            column,
            "port-encryption-mismatch",
            f"port {port} expects StartTLS or None, encryption is SSL",
            "set the encryption to StartTLS, or check the port",
        )


def _check_incoming_protocol(found: Findings, port: int, imap: bool | None) -> None:
    if imap is True and port in POP3_PORTS:
        found.warning(
            "imap",
            "protocol-port-mismatch",
            f"port {port} is POP3's, imap is true",
            "set imap to false for POP3, or use the IMAP port (993 or 143)",
        )
    elif imap is False and port in IMAP_PORTS:
        found.warning(
            "imap",
            "protocol-port-mismatch",
            f"port {port} is IMAP's, imap is false",
            "set imap to true for IMAP, or use the POP3 port (995 or 110)",
        )
    elif port in SMTP_PORTS:
        found.warning(
            "port",
            "protocol-port-mismatch",
            f"port {port} is an SMTP port",
            "use the IMAP or POP3 port here, e.g. 993 or 995",
        )


def outgoing_side(values: Mapping[str, str], found: Findings, incoming: Side) -> tuple[bool, Side]:
    """Return (smtp_auth, SMTP side)."""
    server = _required(values, "smtp_server", found)
    if server:
        check_host("smtp_server", server, found, "smtp_port")
    port_text = values.get("smtp_port", "")
    port = parse_port("smtp_port", port_text, found)
    bad_port = bool(port_text.strip()) and port is None
    encryption = _encryption(values, "outcoming_encryption_type", port, bad_port, found)
    if port is None and not bad_port and encryption is not None:
        port = _default(found, "smtp_port", "smtp", encryption)
    smtp_auth, auth = _smtp_auth(values, found)
    login, password = _smtp_credentials(values, found, smtp_auth, incoming)
    if port is not None:
        _check_port(found, "smtp_port", port, encryption)
        if port in IMAP_PORTS | POP3_PORTS:
            found.warning(
                "smtp_port",
                "protocol-port-mismatch",
                f"port {port} is not SMTP's",
                "use the SMTP port here, e.g. 465 or 587",
            )
    return smtp_auth, Side(server, port or 0, _or(encryption, _SSL), auth, login, password)


def _smtp_auth(values: Mapping[str, str], found: Findings) -> tuple[bool, int]:
    """Return (smtp_auth, auth_type_smtp) with their blank defaults and contradictions."""
    text = values.get("auth_type_smtp", "")
    auth = parse_auth("auth_type_smtp", text, found)
    flag = parse_bool("smtp_auth", values.get("smtp_auth", ""), found)
    if flag is None:  # blank: like the portal's own form, auth None means no SMTP login
        flag = auth != _NO_AUTH
    if auth is None:
        return flag, _LOGIN if flag else _NO_AUTH
    if not flag and auth != _NO_AUTH:
        found.warning(
            "auth_type_smtp",
            "smtp-auth-ignored",
            f'"{text}" is ignored: smtp_auth is false',
            "set smtp_auth to true if the SMTP server needs a login, or clear auth_type_smtp",
        )
    elif flag and auth == _NO_AUTH:
        found.warning(
            "auth_type_smtp",
            "smtp-auth-none",
            f'smtp_auth is true but "{text}" means no SMTP login',
            "set auth_type_smtp to Login, or smtp_auth to false",
        )
    elif flag and auth == _OAUTH2:
        _oauth2(found, "auth_type_smtp", text)
    return flag, auth


def _smtp_credentials(
    values: Mapping[str, str], found: Findings, smtp_auth: bool, incoming: Side
) -> tuple[str, str]:
    """Return the SMTP (login, password); blank ones are the incoming ones when auth is on."""
    login = values.get("smtp_account", "").strip()
    password = values.get("smtp_password", "")
    if password.strip():
        check_secret("smtp_password", password, found)
    if not smtp_auth:
        return login, password
    if not login and incoming.login:
        login = incoming.login
        found.info("smtp_account", f"smtp_account taken from the incoming login {login}")
    if not password.strip() and incoming.password:
        password = incoming.password
        found.info("smtp_password", "smtp_password taken from the incoming password")
    return login, password
