"""The portal's lowering of an address (.NET's ToLowerInvariant): one character at a time."""

from __future__ import annotations

import sys

import pytest

from bulkmail.portal.lowering import lower_address, mailbox_key
from bulkmail.simulator.facts import lower_invariant


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Anna.Berg@Corp.Example", "anna.berg@corp.example"),
        ("ΟΔΟΣ@corp.example", "οδοσ@corp.example"),  # no Final_Sigma: str.lower gives "οδος"
        ("Straße@corp.example", "straße@corp.example"),  # lowered, not folded to "strasse"
        ("STRAẞE@corp.example", "straße@corp.example"),
        ("İNFO@corp.example", "info@corp.example"),  # simply "i", never "i" + U+0307
        ("ЮЛИЯ@почта.рф", "юлия@почта.рф"),
    ],
)
def test_an_address_is_lowered_as_the_portal_keys_it(typed: str, key: str) -> None:
    assert lower_address(typed) == key


def test_the_client_and_the_simulator_lower_every_character_alike() -> None:
    # Each side is written apart from the other (tests/simulator/test_simulator_imports.py).
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    assert lower_address(every) == lower_invariant(every)
    assert len(lower_address(every)) == len(every)  # one character for one, always


def test_an_address_typed_composed_or_decomposed_is_one_mailbox_to_bulkmail() -> None:
    composed, decomposed = "Jos\u00e9@corp.example", "JOSE\u0301@corp.example"
    assert lower_address(composed) != lower_address(decomposed)  # two, to the portal
    assert mailbox_key(composed) == mailbox_key(decomposed) == "jos\u00e9@corp.example"


def test_a_letter_typed_decomposed_is_keyed_as_typed_composed_before_it_is_lowered() -> None:
    # İ typed as I and U+0307: lowered first it stays "i" + U+0307, which NFC keeps apart
    # from the "i" that İ lowers to.
    assert mailbox_key("I\u0307NFO@corp.example") == mailbox_key("İNFO@corp.example")
    assert mailbox_key("i\u0307nfo@corp.example") == "i\u0307nfo@corp.example"  # another


@pytest.mark.parametrize(
    "typed",
    ["юлия@xn--80a1acny.xn--p1ai", "Юлия@ПОЧТА.РФ", "юлия@почта.рф", "ЮЛИЯ@Почта.xn--p1ai"],
)
def test_a_domain_in_unicode_or_in_punycode_is_one_mailbox_to_bulkmail(typed: str) -> None:
    # One mailbox to DNS and to the mail server; the portal would keep two accounts of it.
    assert mailbox_key(typed) == "юлия@xn--80a1acny.xn--p1ai"
    assert mailbox_key("A@B\u00fccher.example") == "a@xn--bcher-kva.example"
    assert mailbox_key("b\u00fccher@b\u00fccher.example") == "b\u00fccher@xn--bcher-kva.example"
