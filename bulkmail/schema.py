"""The sheet's vocabulary: canonical columns, their aliases, enums and protocol defaults.

One table that the reader (header matching), the validator (rules), the template (dropdowns
and help) and the report (its own columns) all read, so a column is described once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["text", "email", "host", "secret", "port", "bool", "encryption", "auth"]


@dataclass(frozen=True, slots=True)
class Field:
    """One canonical column: its API name, kind, aliases and a one-line help."""

    name: str
    kind: Kind
    help: str
    aliases: tuple[str, ...] = ()


FIELDS: Final[tuple[Field, ...]] = (
    Field(
        "portal_user",
        "text",
        "Portal login (usually the employee's email) that owns the account",
        (
            "portal login",
            "portal email",
            "portal username",
            "owner",
            "employee",
            "пользователь портала",
            "логин портала",
            "владелец",
            "владелец ящика",
        ),
    ),
    Field(
        "portal_password",
        "secret",
        "That portal user's password",
        (
            "portal pass",
            "portal pwd",
            "user password",
            "пароль портала",
            "пароль пользователя портала",
        ),
    ),
    Field(
        "name",
        "text",
        "Display name shown in the portal's Mail",
        (
            "display name",
            "full name",
            "sender name",
            "имя",
            "фио",
            "отображаемое имя",
            "имя отправителя",
            "полное имя",
        ),
    ),
    Field(
        "email",
        "email",
        "The mailbox address to connect",
        (
            "e-mail",
            "mail",
            "email address",
            "mailbox",
            "address",
            "почта",
            "адрес",
            "электронная почта",
            "эл. почта",
            "адрес электронной почты",
            "адрес почты",
            "почтовый ящик",
            "e-mail адрес",
        ),
    ),
    Field(
        "account",
        "text",
        "Incoming (IMAP/POP3) login; blank = the email",
        (
            "login",
            "username",
            "user name",
            "imap login",
            "imap user",
            "pop login",
            "incoming login",
            "логин",
            "логин почты",
            "логин imap",
            "логин pop3",
            "логин входящей почты",
            "имя пользователя",
            "учетная запись",
        ),
    ),
    Field(
        "password",
        "secret",
        "Incoming (IMAP/POP3) password",
        (
            "pass",
            "pwd",
            "imap password",
            "pop password",
            "incoming password",
            "mailbox password",
            "пароль",
            "пароль почты",
            "пароль ящика",
            "пароль imap",
            "пароль pop3",
            "пароль входящей почты",
        ),
    ),
    Field(
        "server",
        "host",
        "Incoming server host name",
        (
            "imap server",
            "imap host",
            "pop server",
            "pop3 server",
            "pop host",
            "incoming server",
            "incoming host",
            "host",
            "server imap",
            "сервер",
            "imap сервер",
            "imap-сервер",
            "сервер imap",
            "сервер входящей почты",
            "входящий сервер",
            "сервер pop3",
            "pop3 сервер",
            "хост",
            "хост imap",
        ),
    ),
    Field(
        "port",
        "port",
        "Incoming port (blank = 993 for SSL, 143 otherwise; POP3 995/110)",
        (
            "imap port",
            "pop port",
            "pop3 port",
            "incoming port",
            "порт",
            "imap порт",
            "порт imap",
            "порт pop3",
            "порт входящей почты",
            "порт входящего сервера",
        ),
    ),
    Field(
        "imap",
        "bool",
        "true = IMAP, false = POP3 (blank = IMAP unless the port is POP3's)",
        ("is imap", "use imap", "protocol imap"),
    ),
    Field(
        "incoming_encryption_type",
        "encryption",
        "Incoming encryption: None, SSL or StartTLS",
        (
            "incoming encryption",
            "encryption",
            "imap encryption",
            "imap ssl",
            "ssl",
            "security",
            "incoming security",
            "шифрование",
            "тип шифрования",
            "шифрование входящей почты",
            "шифрование imap",
            "защита соединения",
        ),
    ),
    Field(
        "auth_type_in",
        "auth",
        "Incoming authentication: Login, CramMd5 or Ntlm",
        (
            "incoming auth",
            "imap auth",
            "auth type",
            "authentication",
            "auth in",
            "аутентификация",
            "тип аутентификации",
            "метод аутентификации",
            "аутентификация входящей почты",
        ),
    ),
    Field(
        "smtp_server",
        "host",
        "Outgoing (SMTP) server host name",
        (
            "smtp host",
            "outgoing server",
            "outgoing host",
            "smtp",
            "server smtp",
            "smtp сервер",
            "smtp-сервер",
            "сервер smtp",
            "сервер исходящей почты",
            "исходящий сервер",
            "сервер отправки",
            "хост smtp",
        ),
    ),
    Field(
        "smtp_port",
        "port",
        "SMTP port (blank = 465 for SSL, 587 for StartTLS, 25 otherwise)",
        (
            "outgoing port",
            "smtp порт",
            "порт smtp",
            "порт исходящей почты",
            "порт исходящего сервера",
        ),
    ),
    Field(
        "smtp_auth",
        "bool",
        "Does the SMTP server require a login? (blank = true)",
        ("smtp authentication", "smtp requires auth", "outgoing auth required"),
    ),
    Field(
        "smtp_account",
        "text",
        "SMTP login; blank = the incoming login",
        (
            "smtp login",
            "smtp user",
            "smtp username",
            "outgoing login",
            "логин smtp",
            "логин исходящей почты",
        ),
    ),
    Field(
        "smtp_password",
        "secret",
        "SMTP password; blank = the incoming password",
        (
            "smtp pass",
            "smtp pwd",
            "outgoing password",
            "пароль smtp",
            "пароль исходящей почты",
        ),
    ),
    Field(
        "outcoming_encryption_type",
        "encryption",
        "SMTP encryption: None, SSL or StartTLS",
        (
            "outgoing encryption",
            "smtp encryption",
            "smtp ssl",
            "smtp security",
            "outgoing encryption type",
            "шифрование smtp",
            "шифрование исходящей почты",
        ),
    ),
    Field(
        "auth_type_smtp",
        "auth",
        "SMTP authentication: None, Login, CramMd5 or Ntlm",
        (
            "smtp auth type",
            "outgoing auth",
            "smtp authentication type",
            "аутентификация smtp",
            "аутентификация исходящей почты",
        ),
    ),
    Field(
        "restrict",
        "bool",
        "true = fetch only the last 30 days of mail (blank = false)",
        ("last 30 days", "restrict download", "limit history"),
    ),
)

BY_NAME: Final[dict[str, Field]] = {f.name: f for f in FIELDS}
API_FIELDS: Final[tuple[str, ...]] = tuple(
    f.name for f in FIELDS if f.name not in ("portal_user", "portal_password")
)
SECRET_FIELDS: Final[frozenset[str]] = frozenset(f.name for f in FIELDS if f.kind == "secret")
# Columns whose values are text by nature: a spreadsheet that turned one into a number or a
# date changed what was typed (a 16-digit password kept to 15 digits, a login read as a date).
TEXT_FIELDS: Final[frozenset[str]] = SECRET_FIELDS | {
    "account",
    "smtp_account",
    "email",
    "portal_user",
}
# Columns without which no row can be sent (unless a default fills them).
REQUIRED_FIELDS: Final[tuple[str, ...]] = ("email", "password", "server", "smtp_server")

# Columns that bulkmail's own reports add; ignored silently when a report is fed back as input.
REPORT_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "row",
        "source_row",
        "outcome",
        "status",
        "stage",
        "code",
        "codes",
        "message",
        "messages",
        "hint",
        "hints",
        "attempts",
        "http_status",
        "mailbox_id",
        "mailboxid",
        "elapsed",
        "elapsed_s",
        "notes",
        "warnings",
        "done_at",
    }
)

MASK: Final = "********"
"""What a secret looks like in every report; a re-fed sheet reads it as 'take from original'."""

ENCRYPTION: Final[dict[str, int]] = {"none": 0, "ssl": 1, "starttls": 2}
AUTH: Final[dict[str, int]] = {"none": 0, "login": 1, "crammd5": 4, "oauth2": 5, "ntlm": 7}
ENCRYPTION_NAMES: Final[dict[int, str]] = {0: "None", 1: "SSL", 2: "StartTLS"}
AUTH_NAMES: Final[dict[int, str]] = {0: "None", 1: "Login", 4: "CramMd5", 5: "OAuth2", 7: "Ntlm"}
TRUE_WORDS: Final = frozenset({"true", "yes", "y", "1", "on", "да", "д", "истина"})
FALSE_WORDS: Final = frozenset({"false", "no", "n", "0", "off", "нет", "н", "ложь"})


def default_port(protocol: Literal["imap", "pop3", "smtp"], encryption: int) -> int:
    """Return the port a blank cell means for this protocol and encryption."""
    ssl = encryption == ENCRYPTION["ssl"]
    if protocol == "imap":
        return 993 if ssl else 143
    if protocol == "pop3":
        return 995 if ssl else 110
    if ssl:
        return 465
    return 587 if encryption == ENCRYPTION["starttls"] else 25


_FOLD = re.compile(r"[\s_\-./()]+")


def fold(header: str) -> str:
    """Fold a header for matching: case-, space-, dash- and underscore-insensitive, ё as е."""
    return _FOLD.sub("", header.strip().casefold()).replace("ё", "е")


def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for f in FIELDS:
        for key in (f.name, *f.aliases):
            table.setdefault(fold(key), f.name)
    return table


ALIASES: Final[dict[str, str]] = _alias_table()
"""Folded header -> canonical field name."""

SMTP_TWINS: Final[dict[str, str]] = {
    "server": "smtp_server",
    "port": "smtp_port",
    "incoming_encryption_type": "outcoming_encryption_type",
    "account": "smtp_account",
    "password": "smtp_password",
    "auth_type_in": "auth_type_smtp",
}
"""Incoming field -> its outgoing (SMTP) twin: the meaning of a repeated Host, Port..."""


def _near_table() -> tuple[dict[str, set[tuple[str, int]]], dict[str, set[str]]]:
    """Return the slips of each known header: (field, where) by the key with one character
    left out at `where`, and fields by each long enough start of a key.

    Only keys of 5 characters or more take part in the one-character rules: `post`,
    `sport` and `host` are one letter from `port` and mean something else.
    """
    dropped: dict[str, set[tuple[str, int]]] = {}
    starts: dict[str, set[str]] = {}
    for key, field in ALIASES.items():
        if len(key) >= 5:
            for i in range(len(key)):
                dropped.setdefault(key[:i] + key[i + 1 :], set()).add((field, i))
        for end in range(max(4, -(-len(key) * 3 // 4)), len(key)):
            starts.setdefault(key[:end], set()).add(field)
    return dropped, starts


_DROPPED, _STARTS = _near_table()
_LONGEST: Final = max(map(len, ALIASES))
_NUMBERED: Final = re.compile(r"(.+?)(?:\d+|s)")


def near_field(header: str) -> str | None:
    """Return the one field an unknown header is probably a slip for, or None.

    A slip is, in this order: a known header numbered or made plural (`Host2`, `Ports`); cut
    short to three quarters of it or more (`SMTP serv`); one typo away from a known header
    of 5 letters or more: a letter missing, added, replaced or two side by side swapped
    (`Pasword`, `Emial`, `Servr`). Headers that are merely alike (`Surname` and `username`,
    `Passport` and `password`, `Sport` and `port`) are not slips; nor is one that could be
    a slip for two fields.
    """
    key = fold(header)
    if not key or key in ALIASES:
        return None
    numbered = _NUMBERED.fullmatch(key)
    if numbered and numbered[1] in ALIASES:
        return ALIASES[numbered[1]]
    if len(key) > _LONGEST + 1:  # longer than any header with one letter added
        return None
    missing = {field for field, _ in _DROPPED.get(key, ())}
    added, replaced = set(), set()
    for j in range(len(key)):
        shorter = key[:j] + key[j + 1 :]
        if len(shorter) >= 5 and shorter in ALIASES:
            added.add(ALIASES[shorter])
        replaced |= {field for field, i in _DROPPED.get(shorter, ()) if abs(i - j) <= 1}
    for fields in (_STARTS.get(key, set()), missing | added, replaced):
        if fields:
            return next(iter(fields)) if len(fields) == 1 else None
    return None


REPORT_KEYS: Final = frozenset(fold(name) for name in REPORT_FIELDS)
"""The report's own columns, folded as headers are for matching."""
