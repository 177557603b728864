"""One table of addresses, run against the validator and the simulator's model of the portal.

The validator (`bulkmail.validation`) and the simulator (`bulkmail.simulator.facts`) each
keep their own copy of the address rule of docs/portal-api.md §9 (the stricter reading where
the portal's sources are silent); this table holds them to each other. Each row says whether
the validator lets the cell through and whether the portal takes it. They differ only where
the validator is stricter on purpose (a display name, a look-alike letter) or cleans the
cell first (an invisible character at an end), and never the other way: whatever the
validator lets through, the portal takes as sent. So `validate` exit 0 means the portal will
not refuse the address.
"""

from __future__ import annotations

import pytest

from bulkmail.models import Severity
from bulkmail.printable import cell_quoted
from bulkmail.simulator.facts import parse_address
from bulkmail.validation.addresses import address_problem
from bulkmail.validation.table import validate_row

ROW = {
    "account": "anna.login",
    "password": "Imap-Secret-1",
    "server": "imap.example.org",
    "smtp_server": "smtp.example.org",
}
DOMAIN_252 = ".".join(["d" * 62] * 4) + "o"  # 4 labels, the last of 63: 252 characters
CYRILLIC_57 = "ж" * 57  # "xn--" and its punycode: 63 characters
CYRILLIC_58 = "ж" * 58  # 64 characters in ASCII form, though 58 as typed

# (cell, the validator lets it through, the portal takes it, why)
ADDRESSES = [
    # plain addresses
    ("anna@example.org", True, True, "the common case"),
    ("first.last@example.org", True, True, "dots between atoms"),
    ("first.last+news@example.org", True, True, "a plus tag"),
    ("o'hara@example.org", True, True, "an apostrophe is atext"),
    ("!#$%&'*+-/=?^_`{|}~@example.org", True, True, "every ASCII special of atext"),
    ("1234@example.org", True, True, "digits only before the @"),
    ("anna@123.example.org", True, True, "a label of digits, not the last"),
    ("anna@sub-domain.example.org", True, True, "a hyphen inside a label"),
    ("  anna@example.org  ", True, True, "spaces around are stripped"),
    ("a@b", True, True, "no dot after the @: §9 names it accepted (a warning)"),
    ("anna@localhost", True, True, "no dot after the @ (a warning)"),
    # international
    ("иван@почта.рф", True, True, "Cyrillic on both sides (RFC 6531, IDN)"),
    ("josé@bücher.example", True, True, "accented letters"),
    ("user@例え.jp", True, True, "a CJK domain"),
    ("user@exa\u0301mple.org", True, True, "a combining mark is part of a letter"),
    ("user@xn--80a1acny.xn--p1ai", True, True, "a domain already in punycode"),
    # address literals
    ("anna@[192.0.2.1]", True, True, "an IPv4 literal"),
    ("anna@[IPv6:2001:db8::1]", True, True, "an IPv6 literal with its tag"),
    ("anna@[ipv6:::1]", True, True, "the tag in any case"),
    ("anna@[192.0.2.999]", False, False, "not an IPv4 address"),
    ("anna@[2001:db8::1]", False, False, "IPv6 without the IPv6: tag (RFC 5321)"),
    ("anna@[mail.example.org]", False, False, "a literal that is no address"),
    ("anna@192.0.2.1", False, False, "an IP needs brackets"),
    # lengths: 64 bytes before the @, 63 per label, 253 per domain, 254 in all
    ("a" * 64 + "@example.org", True, True, "64 bytes before the @"),
    ("a" * 65 + "@example.org", False, False, "65 bytes before the @"),
    ("ж" * 32 + "@example.org", True, True, "32 Cyrillic letters are 64 bytes"),
    ("ж" * 33 + "@example.org", False, False, "33 Cyrillic letters are 66 bytes"),
    ("anna@" + "a" * 63 + ".org", True, True, "a 63-character label"),
    ("anna@" + "a" * 64 + ".org", False, False, "a 64-character label"),
    (f"anna@{CYRILLIC_57}.рф", True, True, "a label of 63 characters in ASCII form"),
    (f"anna@{CYRILLIC_58}.рф", False, False, "a label of 64 characters in ASCII form"),
    ("a@" + DOMAIN_252, True, True, "254 bytes in all"),
    ("ab@" + DOMAIN_252, False, False, "255 bytes in all"),
    ("a@d" + DOMAIN_252, False, False, "a 253-character domain makes 255 in all"),
    # dots (.NET takes most of these; the stricter reading does not)
    (".anna@example.org", False, False, "a dot first"),
    ("anna.@example.org", False, False, "a dot last before the @"),
    ("an..na@example.org", False, False, "two dots in a row before the @"),
    ("anna@example.org.", False, False, "a dot after the domain"),
    ("anna@example..org", False, False, "an empty label"),
    ("anna@.example.org", False, False, "a dot first after the @"),
    # labels
    ("anna@-example.org", False, False, "a hyphen first in a label"),
    ("anna@example-.org", False, False, "a hyphen last in a label"),
    ("anna@mail_host.example.org", False, False, "an underscore in a mail domain"),
    ("anna@example.123", False, False, "a last label of digits only"),
    # not one address
    ("", False, False, "blank (the portal answers 400)"),
    ("anna.example.org", False, False, "no @"),
    ("anna@@example.org", False, False, "two @"),
    ("anna@", False, False, "nothing after the @"),
    ("@example.org", False, False, "nothing before the @"),
    ("anna berg@example.org", False, False, "a space"),
    ("a@example.org, b@example.org", False, False, "two addresses"),
    ("a@example.org;b@example.org", False, False, "two addresses"),
    ('"anna"@example.org', False, False, "a quoted local part"),
    ('"anna berg"@example.org', False, False, "a quoted local part with a space"),
    ("anna(work)@example.org", False, False, "a comment"),
    ("(work)anna@example.org", False, False, "a comment first"),
    ("anna@example.org(work)", False, False, "a comment last"),
    ("anna<@example.org", False, False, "an angle bracket"),
    ("anna@example.org>", False, False, "a stray angle bracket"),
    ("anna\\@example.org", False, False, "a backslash"),
    ("anna@exa mple.org", False, False, "a space after the @"),
    ("anna\u2122@example.org", False, False, "a symbol is no letter"),
    # display names: the portal takes them; the validator wants the name in its own column
    ("Anna Berg <anna@example.org>", False, True, "a display name"),
    ('"Berg, Anna" <anna@example.org>', False, True, "a quoted display name"),
    ("<anna@example.org>", False, True, "angle brackets alone"),
    ("Anna <anna.@example.org>", False, False, "a display name around a bad address"),
    ("Berg, Anna <anna@example.org>", False, False, "an unquoted comma in the name"),
    ("Anna <anna@example.org", False, False, "an unclosed angle bracket"),
    # invisible and look-alike characters
    ("\u200banna@example.org", True, False, "the validator removes it; the portal gets it bare"),
    ("anna@example.org\ufeff", True, False, "the validator removes it; the portal gets it bare"),
    ("anna\u200b@example.org", False, False, "a zero-width space inside"),
    ("anna@exam\u00adple.org", False, False, "a soft hyphen inside"),
    ("anna\u00a0b@example.org", False, False, "a no-break space inside"),
    ("anna\uff20example.org", False, False, "a full-width @ is no @"),
    ("anna@example\u3002org", False, False, "an ideographic full stop is no dot"),
    ("anna@example\u2024org", False, False, "a dot leader is no dot"),
    ("\u0430nna@example.org", False, True, "a Cyrillic а in a Latin word: a letter to the portal"),
    ("\uff41nna@example.org", False, True, "a full-width a: a letter to the portal"),
]


def test_the_table_is_wide() -> None:
    assert len(ADDRESSES) >= 40
    assert len({cell for cell, *_ in ADDRESSES}) == len(ADDRESSES)


@pytest.mark.parametrize(("cell", "valid", "portal", "why"), ADDRESSES)
def test_the_validator_and_the_portal_model_read_each_address_as_the_table_says(
    cell: str, valid: bool, portal: bool, why: str
) -> None:
    account, problems = validate_row({**ROW, "email": cell}, 2)
    errors = [p for p in problems if p.column == "email" and p.severity is Severity.ERROR]
    assert (not errors) is valid, (why, errors)
    assert (parse_address(cell) is not None) is portal, why
    if valid:
        # What is sent is what passed: the portal takes it and reads back the same address.
        assert account is not None
        assert parse_address(account.email) == account.email == bare_address(cell)


def bare_address(cell: str) -> str:
    return cell.strip().strip("\u200b\ufeff")


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ('"anna"@example.org', "has quotes: write the address without them"),
        ("anna(work)@example.org", "has a comment in parentheses"),
        ("anna.example.org", "has no @"),
        ("anna@@example.org", "has more than one @"),
        ("a@example.org, b@example.org", "is more than one address or has spaces"),
        ("@example.org", "has nothing before the @"),
        ("a" * 65 + "@example.org", "has more than 64 bytes before the @"),
        ("an..na@example.org", "has a misplaced dot before the @"),
        ("anna[1]@example.org", 'has "[" before the @, which an address cannot have'),
        (
            "anna\u2122@example.org",
            "has U+2122 TRADE MARK SIGN before the @, which an address cannot have",
        ),
        ("anna@", "has nothing after the @"),
        ("anna@[2001:db8::1]", "has a bad address literal after the @"),
        ("anna@example.org.", "ends with a dot"),
        ("anna@example..org", "has an empty part between dots after the @"),
        (
            "anna@mail_host.example.org",
            'has "_" after the @, which a mail domain cannot have',
        ),
        ("anna@-example.org", "has a part after the @ that starts or ends with a hyphen"),
        ("anna@" + "a" * 64 + ".org", "has a part after the @ longer than 63 characters"),
        ("a@d." + DOMAIN_252, "has a domain longer than 253 characters"),
        ("ab@" + DOMAIN_252, "is longer than 254 bytes"),
        ("anna@192.0.2.1", "has an IP address after the @: write it in brackets"),
        ("anna@example.123", "has a domain whose last part is only digits"),
    ],
)
def test_each_rule_says_what_is_wrong(cell: str, problem: str) -> None:
    assert address_problem(cell) == problem
    _, problems = validate_row({**ROW, "email": cell}, 2)
    said = [p.message for p in problems if p.column == "email"]
    assert said == [f"{cell_quoted(cell)} {problem}"]
