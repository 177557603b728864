"""Text that came from a file, made fit for a message a person reads on one line.

A header, a cell or a sheet name may hold anything: line breaks (a header cell with Alt+Enter),
tabs, terminal escape sequences, bidi overrides that reorder the line, invisible format
characters, lone surrogates that would make printing fail, or 90,000 characters. Every
message that quotes such a text goes through `printable` (or `quoted`, `listing`), and the
command line passes each line it prints through `printable` once more, so no message of any
origin breaks the one-line rule or reaches the terminal raw.

The rule: a character `str.isprintable` accepts is kept, any other is written as its escape
(`\\n`, `\\t`, `\\x1b`, `\\u202e`). Escapes are printable ASCII, so escaping twice changes
nothing; a backslash is kept as it is for the same reason.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Final

__all__ = [
    "CELL_QUOTE_LIMIT",
    "QUOTE_LIMIT",
    "cell_cut",
    "cell_quoted",
    "listing",
    "printable",
    "quoted",
]

QUOTE_LIMIT: Final = 40
"""Characters of a quoted text shown before it is cut with an ellipsis."""

CELL_QUOTE_LIMIT: Final = 80
"""Characters of a cell a validation message quotes before it is cut (its length said)."""

_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MARKS: Final = frozenset({"Mn", "Mc", "Me"})  # combining marks: part of the character before


def printable(text: str, limit: int | None = None) -> str:
    """Return `text` with every non-printable character escaped, cut to `limit` characters.

    `printable("a\\x1b[31mb")` -> `"a\\\\x1b[31mb"`; with `limit`, a longer result ends with
    "…" within `limit` characters, never inside an escape.
    """
    if text.isprintable() and (limit is None or len(text) <= limit):
        return text
    # Escaping only lengthens: what lies past `limit` characters is never shown.
    cut = limit is not None and len(text) > limit
    parts = [char if char.isprintable() else _escape(char) for char in text[:limit]]
    whole = "".join(parts)
    if limit is None or (not cut and len(whole) <= limit):
        return whole
    kept, size = [], 0
    for part in parts:
        if size + len(part) > limit - 1:
            break
        kept.append(part)
        size += len(part)
    return "".join(kept) + "…"


def quoted(text: str, limit: int = QUOTE_LIMIT) -> str:
    """Return `'text'`, made printable and cut to `limit` characters inside the quotes."""
    return f"'{printable(text, limit)}'"


def cell_quoted(
    text: str, limit: int = CELL_QUOTE_LIMIT, mark: Callable[[str], str] | None = None
) -> str:
    """Return `"text"` for a message about a cell: whole up to `limit` characters, else cut
    with its length, `"xxxx…" (3,004 characters)` (the cell itself is in the report's row).

    `mark` rewrites the part shown (identifiers mark invisible characters). Characters are
    not escaped here: the report keeps them, and the command line makes each line it prints
    `printable`.
    """
    shown = text if len(text) <= limit else text[: _cut_at(text, limit - 1)]
    marked = mark(shown) if mark is not None else shown
    if shown is text:
        return f'"{marked}"'
    return f'"{marked}…" ({len(text):,} characters)'


def cell_cut(text: str, limit: int = CELL_QUOTE_LIMIT) -> str:
    """Return `text` as a note names a cell without quotes: whole up to `limit` characters,
    else cut with its length, `xxxx… (3,004 characters)`."""
    if len(text) <= limit:
        return text
    return f"{text[: _cut_at(text, limit - 1)]}… ({len(text):,} characters)"


def _cut_at(text: str, end: int) -> int:
    """Return where to cut `text` at `end` or before it, so that no character the reader
    sees as one is split: not before a combining mark, an emoji's skin tone or a variation
    selector (it belongs to the character before), nor after a zero-width joiner."""
    while end > 0 and (_extends(text[end]) or text[end - 1] == "\u200d"):
        end -= 1
    return end


def _extends(char: str) -> bool:
    """Return whether `char` joins the character before it (Unicode's Grapheme_Extend,
    near enough: marks, the joiner, variation selectors, emoji modifiers)."""
    if char.isascii():
        return False
    point = ord(char)
    return (
        unicodedata.category(char) in _MARKS
        or point == 0x200D
        or 0xFE00 <= point <= 0xFE0F
        or 0xE0100 <= point <= 0xE01EF
        or 0x1F3FB <= point <= 0x1F3FF
    )


def listing(items: Sequence[str], shown: int = 5) -> str:
    """Return "A, B, C and 9,071 more" for ready-made items: the first `shown` of them."""
    head = ", ".join(items[:shown])
    rest = len(items) - shown
    return f"{head} and {rest:,} more" if rest > 0 else head


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"
