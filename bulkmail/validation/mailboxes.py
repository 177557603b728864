"""The first row of each mailbox in a file, in about 50 bytes a mailbox.

Finding a duplicate mailbox needs every mailbox seen so far: the one state of validation that
grows with the file. A dict of (owner, email) pairs costs about 250 bytes an entry (two
lowered strings, a tuple, an int, the dict's slot): 250 MB for a million-row CSV, whose rows
otherwise stream in flat memory (docs/performance.md §2). Here each mailbox is 128 bits and
its row number, kept in flat arrays behind an open-addressing index, as CPython's compact
dict keeps its entries. The 128 bits are two of Python's own string hashes (SipHash-1-3 under
the process's random key) of two texts made from the pair: 1.2 us a row against 1.8 with a
BLAKE2b digest, and as good here, where the sheet is the user's own. Two different mailboxes
would be taken for one only if both hashes collided: about 1 chance in 10^26 for a million
rows.

Pure: no I/O.
"""

from __future__ import annotations

from array import array
from typing import Final

from bulkmail.portal.lowering import mailbox_key

__all__ = ["FirstRows"]

_START: Final = 1 << 10  # index slots at first; quadrupled whenever half of them are used
_LOW: Final = (1 << 64) - 1


class FirstRows:
    """Remember the first row of each (owner, email), compared as the portal compares them."""

    __slots__ = ("_high", "_low", "_mask", "_rows", "_slots")

    def __init__(self) -> None:
        self._high = array("Q")  # the two hashes and the row, one entry per mailbox
        self._low = array("Q")
        self._rows = array("Q")
        self._slots = array("i", bytes(4 * _START))  # entry number + 1; 0 is a free slot
        self._mask = _START - 1

    def __len__(self) -> int:
        return len(self._rows)

    def first(self, owner: str, email: str, number: int) -> int:
        """Return the row that first had this mailbox; record row `number` when none did.

        The portal upserts on (user, lower(email)), so both are compared lowered: the
        email as the portal lowers it, in NFC (`portal.lowering.mailbox_key`).
        """
        text = _text(owner, email)
        high, low = hash(text) & _LOW, hash(text + "\n") & _LOW
        slots, mask = self._slots, self._mask
        slot = low & mask
        while entry := slots[slot]:
            if self._low[entry - 1] == low and self._high[entry - 1] == high:
                return self._rows[entry - 1]
            slot = (slot + 1) & mask
        self._high.append(high)
        self._low.append(low)
        self._rows.append(number)
        slots[slot] = len(self._rows)
        if 2 * len(self._rows) > mask:
            self._grow()
        return number

    def _grow(self) -> None:
        """Quadruple the index and place every entry again (amortized: 1.3 times an entry)."""
        mask = 4 * (self._mask + 1) - 1
        slots = array("i", bytes(4 * (mask + 1)))
        for entry, low in enumerate(self._low, 1):
            slot = low & mask
            while slots[slot]:
                slot = (slot + 1) & mask
            slots[slot] = entry
        self._slots, self._mask = slots, mask


def _text(owner: str, email: str) -> str:
    """Return the lowered pair as one text that tells where the owner ends: ("a", "bc") is
    not ("ab", "c")."""
    owner = owner.lower()
    return f"{len(owner)}:{owner}{mailbox_key(email)}"
