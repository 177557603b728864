"""The public surface is deliberate: everything in __all__ exists, and nothing else is public."""

from __future__ import annotations

import bulkmail


def test_all_names_are_importable() -> None:
    missing = [name for name in bulkmail.__all__ if not hasattr(bulkmail, name)]
    assert missing == []


def test_all_lists_every_public_member_and_nothing_more() -> None:
    public = {
        name
        for name, value in vars(bulkmail).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("bulkmail")
    }
    assert public | {"__version__"} == set(bulkmail.__all__)


def test_all_is_sorted() -> None:
    assert bulkmail.__all__ == sorted(bulkmail.__all__)
