"""Cell rules of the validator: one parser per kind of cell, each recording what it finds.

`rows.py` combines cells into a row, `table.py` rows into a
file; nothing here looks at a second cell except through its arguments. Pure: no I/O, no
logging, no clock.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Final

from bulkmail.codes import Code
from bulkmail.models import Problem, Severity
from bulkmail.printable import cell_cut, cell_quoted
from bulkmail.schema import (
    AUTH_NAMES,
    ENCRYPTION_NAMES,
    FALSE_WORDS,
    MASK,
    SECRET_FIELDS,
    TRUE_WORDS,
    fold,
)

SSL_PORTS = frozenset({993, 995, 465})
PLAIN_PORTS = frozenset({143, 110, 587, 25})
POP3_PORTS = frozenset({995, 110})
IMAP_PORTS = frozenset({993, 143})
SMTP_PORTS = frozenset({465, 587, 25})

_DIGITS: Final = 18  # a longer whole number is out of every range a cell has
_HUGE: Final = 10**_DIGITS
_INT = re.compile(r"[+-]?[0-9]+(?:\.0*)?")  # ASCII digits only: int() takes any script's
# A label of a host or mail domain: letters (any script, for IDNs), digits, inner hyphens.
# Underscores are tolerated inside: some internal hosts have them and DNS resolves them.
_LABEL = re.compile(r"[^\W_](?:[\w-]*[^\W_])?")
SPACE = re.compile(r"\s")
# Four groups of four lowercase letters or digits, single spaces between, at least one letter.
_APP_PASSWORD = re.compile(r"(?=.*[a-z])[a-z0-9]{4}(?: [a-z0-9]{4}){3}")
# The mail servers' passwords, where an app password goes; not the portal's own.
_MAILBOX_SECRETS = SECRET_FIELDS - {"portal_password"}

_ENCRYPTION_WORDS = {
    "none": 0,
    "plain": 0,
    "no": 0,
    "ssl": 1,
    "ssltls": 1,
    "tlsssl": 1,
    "starttls": 2,
}
# Thunderbird's labels too ("Normal password", "Encrypted password"): admins copy them.
_AUTH_WORDS = {
    "none": 0,
    "login": 1,
    "plain": 1,
    "normalpassword": 1,
    "crammd5": 4,
    "encryptedpassword": 4,
    "oauth": 5,
    "oauth2": 5,
    "xoauth2": 5,
    "ntlm": 7,
}

Note = tuple[str, str, Severity, str, str]
"""A problem without its row: (column, code, severity, message, hint)."""

# Bound once: most rows get notes, and a member looked up on its enum class costs a
# Python-level call (0.1 us).
_DEFAULTED, _INFO, _ERROR = Code.DEFAULTED, Severity.INFO, Severity.ERROR


@dataclass(slots=True)
class Findings:
    """The problems found so far in one row."""

    row: int
    problems: list[Problem] = field(default_factory=list)
    blocked: bool = False  # an error was found: the row will not be sent

    def add(self, column: str, code: Code, message: str, hint: str | None = None) -> None:
        """Record one problem of `column` with its code's severity; `hint` replaces the code's."""
        severity = code.severity
        self.blocked = self.blocked or severity is _ERROR
        self.problems.append(
            Problem(self.row, column, code, severity, message, code.hint if hint is None else hint)
        )

    def info(self, column: str, message: str) -> None:
        """Record a value that bulkmail filled in or inferred."""
        # Two or more notes on most rows: one call less each is worth the repetition.
        self.problems.append(Problem(self.row, column, _DEFAULTED, _INFO, message, ""))

    def notes(self) -> tuple[Note, ...]:
        """Return the problems so far without their row, to record in other rows."""
        return tuple((p.column, p.code, p.severity, p.message, p.hint) for p in self.problems)

    def extend(self, notes: tuple[Note, ...]) -> None:
        """Record `notes` as problems of this row."""
        for column, code, severity, message, hint in notes:
            # Only add() records errors, so an error note is one that blocked its row.
            self.blocked = self.blocked or severity is _ERROR
            self.problems.append(Problem(self.row, column, code, severity, message, hint))


def require(column: str, text: str, found: Findings, hint: str) -> str:
    """Return the cell's value, recording `required` when it is blank."""
    if text.strip():
        # Secrets are sent exactly as typed: a space may belong to the password.
        return text if column in SECRET_FIELDS else text.strip()
    found.add(column, Code.REQUIRED, f"{column} is blank", hint)
    return ""


def as_int(text: str) -> int | None:
    """Return the whole number in `text` ("993" or a spreadsheet's "993.0"), else None."""
    text = text.strip()
    if not _INT.fullmatch(text):
        return None
    whole = text.split(".")[0]
    if len(whole.lstrip("+-0")) > _DIGITS:  # int() refuses past 4,300 digits (ValueError)
        return -_HUGE if whole.startswith("-") else _HUGE
    return int(whole)


def parse_port(column: str, text: str, found: Findings) -> int | None:
    """Return the port in `text`; None when blank or wrong (wrong is recorded)."""
    if not text.strip():
        return None
    port = as_int(text)
    if port is None:
        found.add(column, Code.PORT_INVALID, f"{cell_quoted(text)} is not a whole port number")
        return None
    if not 1 <= port <= 65535:
        shown = cell_cut(text.strip().split(".")[0].lstrip("+"))  # the cell, not _HUGE
        found.add(column, Code.PORT_OUT_OF_RANGE, f"port {shown} is outside 1..65535")
        return None
    return port


def _enum(text: str, words: dict[str, int], numbers: dict[int, str]) -> int | None:
    number = as_int(text)
    if number is not None:
        return number if number in numbers else None
    return words.get(fold(text))


def parse_encryption(column: str, text: str, found: Findings) -> int | None:
    """Return the EncryptionType number of `text`; None when blank or wrong."""
    if not text.strip():
        return None
    value = _enum(text, _ENCRYPTION_WORDS, ENCRYPTION_NAMES)
    if value is None:
        hint = None
        if fold(text) == "tls":  # ambiguous: both SSL and StartTLS end up as TLS
            hint = "use SSL for port 993, 995 or 465 and StartTLS for 143, 110 or 587"
        message = f"{cell_quoted(text)} is not an encryption type"
        found.add(column, Code.ENCRYPTION_INVALID, message, hint)
    return value


def parse_auth(column: str, text: str, found: Findings) -> int | None:
    """Return the SaslMechanism number of `text`; None when blank or wrong."""
    if not text.strip():
        return None
    value = _enum(text, _AUTH_WORDS, AUTH_NAMES)
    if value is None:
        found.add(column, Code.AUTH_INVALID, f"{cell_quoted(text)} is not an authentication type")
    return value


def parse_bool(
    column: str, text: str, found: Findings, extra: dict[str, bool] | None = None
) -> bool | None:
    """Return the boolean in `text` (`extra` adds column-specific words); None if blank/wrong."""
    word = text.strip().casefold()
    if not word:
        return None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    if extra and word in extra:
        return extra[word]
    found.add(column, Code.BOOL_INVALID, f"{cell_quoted(text)} is not true or false")
    return None


def check_secret(column: str, text: str, found: Findings) -> str:
    """Return the secret as typed after recording what is wrong with it, never its value."""
    if text == MASK:
        found.add(column, Code.PASSWORD_MASKED, f"{column} is the mask {MASK}, not a password")
        return text
    if text != text.strip():
        found.add(column, Code.PASSWORD_WHITESPACE, f"{column} starts or ends with a space")
    if column in _MAILBOX_SECRETS and is_grouped_app_password(text.strip()):
        found.add(
            column,
            Code.APP_PASSWORD_SPACES,
            f"{column} is four groups of four letters, the way providers show an app password: "
            "the spaces are probably not part of it",
        )
    return text


def is_grouped_app_password(text: str) -> bool:
    """Return whether `text` is an app password as a provider shows it: `abcd efgh ijkl mnop`.

    Google, Yandex and Mail.ru show 16 lowercase letters in four groups for reading; some
    providers mix in digits. Anything else (three or five groups, two spaces, hyphens as
    Apple's, capitals as a person's passphrase, digits only) is not taken for one.
    """
    return len(text) == 19 and text[4] == " " and bool(_APP_PASSWORD.fullmatch(text))


# Hosts and mail domains repeat across thousands of rows: remember the verdicts.
@functools.lru_cache(maxsize=4096)
def domain_problem(domain: str) -> str:
    """Return what is wrong with a mail domain or host name, or "" when it is fine."""
    name = domain.removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or any(len(label) > 63 for label in labels):
        return "is too long for a host name"
    if "" in labels:
        return "has an empty part between dots"
    if not all(_LABEL.fullmatch(label) for label in labels):
        return "has characters a host name cannot have"
    if all(label.isdigit() for label in labels):
        return "is not a valid IP address"
    return ""


def is_ip(text: str) -> bool:
    """Return whether `text` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def check_host(column: str, text: str, found: Findings, port_column: str) -> None:
    """Record what is wrong with a server host name or IP (blank is the caller's business)."""
    value = text.strip()
    message, hint = _host_problem(value, port_column)
    if message:
        found.add(column, Code.HOST_INVALID, f"{cell_quoted(value)} {message}", hint)


@functools.lru_cache(maxsize=4096)
def _host_problem(value: str, port_column: str) -> tuple[str, str]:
    plain = Code.HOST_INVALID.hint  # "write only the host name, e.g. imap.example.org"
    if "://" in value:
        rest = value.partition("://")[2].rstrip("/")
        return "has a scheme", f"drop the scheme: write {cell_cut(rest)}" if rest else plain
    if SPACE.search(value):
        return "has spaces", plain
    if "@" in value:
        return "is an address, not a host name", plain
    if is_ip(value) or (value.startswith("[") and value.endswith("]") and is_ip(value[1:-1])):
        return "", ""
    host, _, tail = value.rpartition(":")
    if host and tail.isascii() and tail.isdigit():
        return "has a port in it", (
            f"put {cell_cut(tail)} in {port_column} and only {cell_cut(host)} here"
        )
    if "/" in value or ":" in value:
        return "is not a host name", plain
    problem = domain_problem(value)
    return (problem, plain) if problem else ("", "")
