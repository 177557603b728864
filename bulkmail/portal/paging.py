"""Follow the account list's pages (docs/portal-api.md §13) within bounds, and stop on a repeat.

The portal cuts a list at 1,000 items and says where the next page starts (`nextIndex`). A
broken portal, or a proxy that drops `startIndex`, can point to a next page forever: the pages
a listing may read are bounded, and a page pointed to twice or sent twice ends it as an error.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from bulkmail.codes import Code
from bulkmail.portal.answers import Verdict, list_failure

__all__ = ["MAX_LIST_ITEMS", "MAX_LIST_PAGES", "Pages"]

MAX_LIST_PAGES: Final = 100
"""The most pages one listing reads: 100 full pages of 1,000 (docs/portal-api.md §13)."""
MAX_LIST_ITEMS: Final = 100_000
"""The most items (accounts, aliases, groups) one listing reads: 100 full pages' worth.

A portal user holds a handful of accounts; 100,000 is far past any real one (docs/portal-api.md
§16), and small enough
that the listing's memory (about 10 MB) and its requests (100 at most) stay modest.
"""


class Pages:
    """The pages of one listing read so far: how many, how many items, and what each held."""

    def __init__(self) -> None:
        self._pages = 0
        self._items = 0
        self._seen: set[bytes] = set()

    def after(self, start: int, items: list[Any], following: Any) -> int | Verdict | None:
        """Return where the page after the one at `start` begins, None at the list's end, or
        the verdict that stops an endless or looping list (codes list-too-long, list-repeats).

        A list goes on only while it moves forward, sends no page twice and stays within
        MAX_LIST_PAGES requests and MAX_LIST_ITEMS items.
        """
        self._pages += 1
        self._items += len(items)
        digest = hashlib.blake2b(json.dumps(items, sort_keys=True).encode()).digest()
        if digest in self._seen:
            return _repeats(f"sent the same page again (page {self._pages}, at {start:,})")
        self._seen.add(digest)
        more = isinstance(following, int) and not isinstance(following, bool)
        if self._items > MAX_LIST_ITEMS or (more and self._pages >= MAX_LIST_PAGES):
            return list_failure(
                Code.LIST_TOO_LONG,
                f"the portal's account list goes on past {MAX_LIST_PAGES} pages or "
                f"{MAX_LIST_ITEMS:,} items (page {self._pages} started at {start:,})",
            )
        if not more:
            return None
        if following <= start:
            return _repeats(
                f"pointed back to a page already read (nextIndex {following:,} after "
                f"a page at {start:,})"
            )
        return int(following)


def _repeats(what: str) -> Verdict:
    return list_failure(Code.LIST_REPEATS, f"the portal's account list {what}")
