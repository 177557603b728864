"""How the portal lower-cases a mailbox address: the key its upsert and its list go by.

The portal keeps an account under `address.ToLowerInvariant()` and finds an existing one by
that key (docs/portal-api.md §12). .NET lowers a string one character at a time with the
simple Unicode mapping: no special casing, no context. Python's own methods differ:

- `str.casefold()` folds as well as lowers: `straße` becomes `strasse`, which the portal holds
  as another address;
- `str.lower()` applies Unicode's Final_Sigma context: `ΟΔΟΣ` becomes `οδος`, the portal's
  `οδοσ`; and it maps `İ` (U+0130) to two characters, `i` and a combining dot.

Either, set against the portal's key, misses an account the portal has (a `--if-exists skip`
run then overwrites it) or takes two addresses the portal keeps apart for one. Whether Mono
lowers `İ` to `i` or keeps it is not in the sources; `i` is the stricter reading here (two
rows that may be one mailbox are refused, an account that may exist is not overwritten).

The portal compares no further: `josé@` typed composed (é, U+00E9) and decomposed (e and
U+0301, as files written on macOS often hold it) are two addresses to it, two accounts that
look the same; so are `юлия@почта.рф` and `юлия@xn--80a1acny.xn--p1ai`, one mailbox to DNS.
bulkmail takes them for one mailbox (`mailbox_key`): a run does not add the look-alike of an
account the user has, and validation refuses the second row.

Pure: no I/O.
"""

from __future__ import annotations

import unicodedata
from functools import cache, lru_cache

from bulkmail.validation.addresses import ascii_domain

__all__ = ["lower_address", "mailbox_key"]


def mailbox_key(address: str) -> str:
    """Return the key bulkmail tells mailboxes apart by: the address lowered as the portal
    lowers it, in Unicode's composed form (NFC), so that the same address typed composed or
    decomposed is one mailbox, and its domain in ASCII (punycode), so that one typed in
    Unicode and in punycode is one mailbox. Composed before it is lowered too: `I` + U+0307
    lowered alone stays `i` + U+0307, where `İ` lowers to `i`."""
    if address.isascii():
        return address.lower()  # the common case, one call: every row's duplicate check
    composed = unicodedata.normalize("NFC", address)
    local, at, domain = unicodedata.normalize("NFC", lower_address(composed)).rpartition("@")
    return f"{local}{at}{_ascii_domain(domain)}" if at else domain


# The domain as DNS carries it (`почта.рф` is `xn--80a1acny.xn--p1ai`), as validation checks
# its length. A sheet has few domains; Python's punycode takes ~14 us a label.
_ascii_domain = lru_cache(maxsize=4096)(ascii_domain)


def lower_address(address: str) -> str:
    """Return `address` lower-cased as the portal's database holds it (one character at a
    time, the simple Unicode mapping: docs/portal-api.md §12)."""
    if address.isascii():
        return address.lower()  # the common case: ASCII has no context and no expansion
    return "".join(map(_lower_char, address))


@cache
def _lower_char(char: str) -> str:
    lowered = char.lower()  # a single character: no Final_Sigma context applies
    # Only U+0130 expands (to "i" and U+0307); its simple mapping is "i".
    return lowered if len(lowered) == 1 else lowered[0]
