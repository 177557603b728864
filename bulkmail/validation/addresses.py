"""The address rule: what the validator takes for a mailbox address (docs/portal-api.md §9).

The portal parses `email` with .NET's `MailAddress` and answers 500 when it cannot. The rule
here is the one §9 writes down, the stricter reading wherever the sources are silent: one
`local@domain`, no quotes, no comments, no address literal but `[192.0.2.1]` and
`[IPv6:2001:db8::1]`, no dot at either end or twice in a row, no trailing dot after the
domain, RFC 5321's lengths. So an address that passes here is one the portal takes. The
simulator keeps its own model of the same rule (`bulkmail.simulator.facts.parse_address`);
tests/test_address_rule.py runs both over one table. Beyond the portal's rule, a display
name around the address is refused: the name belongs in the name column, and the address
is what duplicates are found by.

Invisible and look-alike characters are `identifiers`' business and are found before this
rule runs. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
import string
import unicodedata

from bulkmail.codes import Code
from bulkmail.printable import cell_quoted
from bulkmail.validation.cells import Findings

__all__ = ["ADDRESS_MAX", "DOMAIN_MAX", "LABEL_MAX", "LOCAL_MAX", "address_problem", "check_email"]

# RFC 5321 §4.5.3.1: octets before the @, characters of a domain's ASCII form (DNS's 253, not
# the 255 on the wire: the stricter one), characters of one label, octets of the whole address.
LOCAL_MAX, DOMAIN_MAX, LABEL_MAX, ADDRESS_MAX = 64, 253, 63, 254

_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# The common address, all ASCII: dot-atoms, a domain of two or more labels, the last not all
# digits. With the lengths checked beside it, one that matches passes every rule below.
_PLAIN_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+(?![0-9]+\Z){_LABEL}")


def check_email(column: str, text: str, found: Findings) -> None:
    """Record what is wrong with a mailbox address (blank is the caller's business)."""
    value = text.strip()
    if len(value) <= ADDRESS_MAX and _PLAIN_EMAIL.fullmatch(value) and value.find("@") <= LOCAL_MAX:
        return  # the common case: none of the checks below would find anything
    if "<" in value or ">" in value:
        found.add(
            column,
            Code.EMAIL_INVALID,
            f"{cell_quoted(value)} is a name and an address",
            "keep only the address here and put the name in the name column",
        )
        return
    problem = address_problem(value)
    if problem:
        found.add(column, Code.EMAIL_INVALID, f"{cell_quoted(value)} {problem}")
    elif "." not in value.rpartition("@")[2]:
        found.add(column, Code.EMAIL_NO_TLD, f"domain of {cell_quoted(value)} has no dot")


def address_problem(value: str) -> str:
    """Return what keeps `value` from being one address by the rule (§9), or "" when none does."""
    if '"' in value:
        return "has quotes: write the address without them"
    if "(" in value or ")" in value:
        return "has a comment in parentheses"
    if any(c in ",;" or c.isspace() for c in value):
        return "is more than one address or has spaces"
    if value.count("@") != 1:
        return "has no @" if "@" not in value else "has more than one @"
    local, _, domain = value.partition("@")
    problem = _local_problem(local) or _domain_problem(domain)
    if problem:
        return problem
    if len(local.encode()) + 1 + len(ascii_domain(domain)) > ADDRESS_MAX:
        return f"is longer than {ADDRESS_MAX} bytes"
    return ""


def _local_problem(local: str) -> str:
    if not local:
        return "has nothing before the @"
    if len(local.encode()) > LOCAL_MAX:
        return f"has more than {LOCAL_MAX} bytes before the @"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "has a misplaced dot before the @"
    bad = next((c for c in local if c != "." and c not in _ATEXT and not _letter(c)), "")
    return f"has {_named(bad)} before the @, which an address cannot have" if bad else ""


def _domain_problem(domain: str) -> str:
    if not domain:
        return "has nothing after the @"
    if domain.startswith("["):
        return "" if _literal(domain) else "has a bad address literal after the @"
    if domain.endswith("."):
        return "ends with a dot"
    labels = domain.split(".")
    if "" in labels:
        return "has an empty part between dots after the @"
    for label in labels:
        problem = _label_problem(label)
        if problem:
            return problem
    if len(ascii_domain(domain)) > DOMAIN_MAX:
        return f"has a domain longer than {DOMAIN_MAX} characters"
    if labels[-1].isdigit():
        return (
            "has an IP address after the @: write it in brackets"
            if _is_ipv4(domain)
            else ("has a domain whose last part is only digits")
        )
    return ""


def _label_problem(label: str) -> str:
    bad = next((c for c in label if not _domain_char(c)), "")
    if bad:
        return f"has {_named(bad)} after the @, which a mail domain cannot have"
    if label.startswith("-") or label.endswith("-"):
        return "has a part after the @ that starts or ends with a hyphen"
    if len(ascii_domain(label)) > LABEL_MAX:
        return f"has a part after the @ longer than {LABEL_MAX} characters"
    return ""


def _domain_char(char: str) -> bool:
    return char == "-" or (char.isascii() and char.isalnum()) or _letter(char)


def _letter(char: str) -> bool:
    """Return whether a non-ASCII `char` is a letter, mark or digit (RFC 6531's addresses)."""
    kind = unicodedata.category(char)
    return not char.isascii() and (kind[0] in "LM" or kind == "Nd")


def _named(char: str) -> str:
    return f'"{char}"' if char.isascii() else f"U+{ord(char):04X} {unicodedata.name(char, '')}"


def ascii_domain(domain: str) -> str:
    """Return the domain as DNS carries it: each non-ASCII label as xn-- and its punycode."""
    if domain.isascii():
        return domain
    return ".".join(_ascii_label(label) for label in domain.split("."))


def _ascii_label(label: str) -> str:
    return label if label.isascii() else "xn--" + label.lower().encode("punycode").decode()


def _literal(domain: str) -> bool:
    """Return whether `domain` is [IPv4] or [IPv6:address], the literals RFC 5321 defines."""
    if not domain.endswith("]"):
        return False
    inner = domain[1:-1]
    if inner[:5].lower() == "ipv6:":
        try:
            ipaddress.IPv6Address(inner[5:])
        except ValueError:
            return False
        return True
    return _is_ipv4(inner)


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True
