"""The portal's numbers and rules that the simulator relies on: its own copy, from the docs.

Written from `docs/portal-api.md` (section numbers below are that file's). The client keeps
its own copy of the same facts (`bulkmail.schema`, `bulkmail.validation`, `bulkmail.portal`);
nothing in `bulkmail.simulator` imports those, so a test that runs the client against the
simulator fails when either copy has a number wrong (tests/simulator/test_simulator_client.py,
and test_simulator_imports.py keeps the two apart). This is the one repetition the package
allows: change a value here because the portal behaves so, never to agree with the client.

The portal's words (error texts, HRESULTs, localised headers) are in `texts.py`.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Final

# EncryptionType and SaslMechanism as the portal declares them (§8).
ENCRYPTION_TYPE: Final = MappingProxyType({"None": 0, "SSL": 1, "StartTLS": 2})
SASL_MECHANISM: Final = MappingProxyType(
    {"None": 0, "Login": 1, "CramMd5": 4, "OAuth2": 5, "Ntlm": 7}
)
PLAIN: Final = ENCRYPTION_TYPE["None"]
SSL: Final = ENCRYPTION_TYPE["SSL"]
STARTTLS: Final = ENCRYPTION_TYPE["StartTLS"]
NO_AUTH: Final = SASL_MECHANISM["None"]
NTLM: Final = SASL_MECHANISM["Ntlm"]


def _by_lower_name(declared: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType({name.lower(): value for name, value in declared.items()})


# The binder takes a member's name in any case (§7): lower-cased name -> number.
ENCRYPTION_BY_NAME: Final = _by_lower_name(ENCRYPTION_TYPE)
SASL_BY_NAME: Final = _by_lower_name(SASL_MECHANISM)
# Number -> the member's name, for people reading what the simulator stored.
ENCRYPTION_NAMES: Final = MappingProxyType({v: k for k, v in ENCRYPTION_TYPE.items()})
SASL_NAMES: Final = MappingProxyType({v: k for k, v in SASL_MECHANISM.items()})

# What the create's save step accepts (§6, §8): OAuth2 and undefined numbers fail there.
SAVABLE_ENCRYPTION: Final = frozenset(ENCRYPTION_TYPE.values())
SAVABLE_AUTH: Final = frozenset(SASL_MECHANISM.values()) - {SASL_MECHANISM["OAuth2"]}

# MailKit's port for port 0 (§10): (with SSL, otherwise). StartTLS keeps the plain port.
MAILKIT_PORTS: Final = MappingProxyType({"imap": (993, 143), "pop3": (995, 110), "smtp": (465, 25)})


def default_port(protocol: str, encryption: int) -> int:
    """Return the port the portal's test login uses when the row's port is 0."""
    with_ssl, otherwise = MAILKIT_PORTS[protocol]
    return with_ssl if encryption == SSL else otherwise


def lower_invariant(text: str) -> str:
    """Return `text` as .NET's ToLowerInvariant lowers it, the key of the portal's upsert
    (§12): each character alone by its simple Unicode mapping. Not Python's str.lower, whose
    Final_Sigma rule makes "ΟΔΟΣ" "οδος" (the portal: "οδοσ") and which expands "İ"."""
    return "".join(_simple_lower(c) for c in text)


def _simple_lower(char: str) -> str:
    lowered = char.lower()
    return lowered[0] if len(lowered) > 1 else lowered  # U+0130 alone expands: simply "i"


MAX_PAGE: Final = 1000  # items per list page, the default and the most `count` asks (§13)

# The brute-force guard (§4): attempts per window per (userName, IP), then a block.
LOGIN_ATTEMPTS: Final = 5
LOGIN_WINDOW: Final = 60.0  # seconds
LOGIN_BLOCK: Final = 60.0  # seconds

# GET api/2.0/capabilities (§19): what a portal without LDAP, OAuth or SSO answers, to anyone.
CAPABILITIES: Final = MappingProxyType(
    {"ldapEnabled": False, "oauthEnabled": False, "providers": (), "ssoLabel": "", "ssoUrl": ""}
)

TOKEN_LIFETIME: Final = timedelta(days=365)  # a login token's default life (§2)
RESTRICTED_HISTORY: Final = timedelta(days=30)  # `restrict`: mail from 30 days back (§6)
FULL_HISTORY_START: Final = "1975-01-01T00:00:00"  # otherwise everything, from this date

# The address rule (§9): the stricter reading of what .NET's MailAddress takes, written from
# the rule in docs, apart from the client's validator (tests/test_address_rule.py holds the
# two to one table). The address is matched by its shape: each non-ASCII letter, mark or
# digit stands in as "a", any other non-ASCII character as NUL, which no pattern takes.
LOCAL_BYTES: Final = 64  # the local part in UTF-8
DOMAIN_CHARS: Final = 253  # the domain in ASCII form (punycode labels)
LABEL_CHARS: Final = 63
ADDRESS_BYTES: Final = 254
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_NAME}(?:\.{_NAME})*")
_LITERAL = re.compile(r"\[(?:([0-9]{1,3}(?:\.[0-9]{1,3}){3})|[Ii][Pp][Vv]6:([0-9A-Fa-f:.]+))\]")
_NAMED = re.compile(r'(?:"(?:[^"\\\x00-\x1f]|\\.)*"|[^<>"@(),;\x00-\x1f]*)[ \t]*<([^<>]*)>')


def parse_address(value: str) -> str | None:
    """Return the address in `value` as the portal's MailAddress reads it (§9), or None."""
    text = value.strip(" \t")
    named = _NAMED.fullmatch(text)
    address = named[1].strip(" \t") if named else text
    local, at, domain = address.rpartition("@")
    if not at or len(local.encode()) > LOCAL_BYTES or not _LOCAL.fullmatch(_shape(local)):
        return None
    wire = _wire_domain(domain)
    if wire is None or len(local.encode()) + 1 + len(wire) > ADDRESS_BYTES:
        return None
    return address


def _shape(text: str) -> str:
    return "".join(c if c.isascii() else "a" if _international(c) else "\x00" for c in text)


def _international(char: str) -> bool:
    kind = unicodedata.category(char)
    return kind[0] in "LM" or kind == "Nd"


def _wire_domain(domain: str) -> str | None:
    """Return the domain as DNS carries it (punycode labels), or None when it breaks the rule."""
    literal = _LITERAL.fullmatch(domain)
    if literal:
        return domain if _is_ip(*literal.groups()) else None
    if not _DOMAIN.fullmatch(_shape(domain)) or domain.rpartition(".")[2].isdigit():
        return None
    labels = [_punycode(label) for label in domain.split(".")]
    wire = ".".join(labels)
    return wire if len(wire) <= DOMAIN_CHARS and max(map(len, labels)) <= LABEL_CHARS else None


def _punycode(label: str) -> str:
    return label if label.isascii() else "xn--" + label.lower().encode("punycode").decode()


def _is_ip(v4: str | None, v6: str | None) -> bool:
    try:
        ipaddress.IPv4Address(v4) if v4 else ipaddress.IPv6Address(v6)
    except ValueError:
        return False
    return True
