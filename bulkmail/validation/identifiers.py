"""Invisible and look-alike characters in the cells that name something: addresses, logins, hosts.

A value pasted from a web page, a chat or a Word document can carry characters nobody sees
(a zero-width space, a byte-order mark, a soft hyphen, a bidi mark) or ones that look like
others and are not (a full-width @, an ideographic full stop, a dot leader, a no-break space,
a typographic hyphen or apostrophe, a Cyrillic "а" in a Latin word). The portal and the mail
servers compare code points, so such a value fails there with a message that never names the
character. The policy, one per kind:

- an **invisible** character (Unicode category C: format, control, private or unassigned;
  and the other default-ignorable ones) at either end of the value is removed, with a warning
  naming it: nobody can see it, so the value without it is the one the person sees and meant.
  Inside the value it is an error naming it and its position: what was meant cannot be
  known (two pasted halves? a hidden character in a name?);
- a **look-alike** is an error wherever it is, naming it and its position: it is visible, so
  the person typed or pasted something, and replacing it would change an address or a login
  in silence.

Spaces at the ends (a no-break space too) are stripped silently, as in every non-secret cell.
Pure: no I/O. The common cell is printable ASCII, for which `identifier` costs a strip and two
scans in C.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from itertools import chain

from bulkmail.codes import Code
from bulkmail.printable import cell_quoted
from bulkmail.validation.cells import Findings

__all__ = ["IDENTIFIER_COLUMNS", "bare", "describe", "identifier"]

IDENTIFIER_COLUMNS = frozenset(
    {"email", "account", "smtp_account", "portal_user", "server", "smtp_server"}
)

# Invisible although not in category C: Unicode's other default-ignorable code points (the
# combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian free variation
# selectors, the variation selectors).
_IGNORABLE = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0}
    | set(range(0x180B, 0x1810))
    | set(range(0xFE00, 0xFE10))
    | set(range(0xE0100, 0xE01F0))
)
# Look-alikes outside the full-width block (U+FF01..U+FF5E, each the ASCII one plus 0xFEE0)
# and the Unicode spaces: code point -> the ASCII character it passes for.
_LOOKS_LIKE = {
    0xFE6B: "@",  # SMALL COMMERCIAL AT
    0x3002: ".",  # IDEOGRAPHIC FULL STOP: what a Chinese or Japanese keyboard types for "."
    0xFF61: ".",  # HALFWIDTH IDEOGRAPHIC FULL STOP
    0x2024: ".",  # ONE DOT LEADER
    0xFE52: ".",  # SMALL FULL STOP
    0x2010: "-",  # HYPHEN
    0x2011: "-",  # NON-BREAKING HYPHEN: Word's Ctrl+Shift+-
    0x2012: "-",  # FIGURE DASH
    0x2013: "-",  # EN DASH: Word and Outlook's autocorrect
    0x2212: "-",  # MINUS SIGN
    0xFE63: "-",  # SMALL HYPHEN-MINUS
    0x2018: "'",  # LEFT SINGLE QUOTATION MARK
    0x2019: "'",  # RIGHT SINGLE QUOTATION MARK: Word's "smart quote" for o'hara
    0x02BC: "'",  # MODIFIER LETTER APOSTROPHE
}
# The alphabets whose letters pass for each other (а/a, е/e, о/o, р/p, с/c, ο/o...).
_CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK"})
# Controls have no Unicode name; these are the ones a cell is likely to hold.
_CONTROL_NAMES = {
    0x00: "NULL",
    0x09: "CHARACTER TABULATION",
    0x0A: "LINE FEED",
    0x0B: "LINE TABULATION",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
}
_UNNAMED = {
    "Cc": "(a control character)",
    "Co": "(a private-use character)",
    "Cs": "(half of a broken character pair)",
    "Cn": "(not a character in Unicode)",
}
_MIXED_HINT = (
    "type the word again in one keyboard layout: a letter of another alphabet looks the same "
    "but is a different character"
)
_LISTED = 3  # characters named in one message; the rest are counted


def identifier(column: str, text: str, found: Findings) -> tuple[str, bool]:
    """Return (the value to use, whether further checks apply) for an identifier cell.

    The value is `text` without spaces and invisible characters at its ends (each removed
    invisible one is a warning). False means an error was recorded: an invisible character
    inside, or a look-alike anywhere, each named with its position (1-based, in `text`).
    """
    value = text.strip()
    if value.isascii() and value.isprintable():
        return value, True
    return _unusual(column, text, found)


def bare(text: str) -> str:
    """Return the value `identifier` uses for `text`, recording nothing."""
    value = text.strip()
    if value.isascii():
        return value
    start, end = _ends(text)
    return text[start:end]


def describe(char: str) -> str:
    """Return a character as "U+200B ZERO WIDTH SPACE": its code point and Unicode name."""
    code = ord(char)
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(code, "")
    return f"U+{code:04X} {name or _UNNAMED.get(unicodedata.category(char), '(unnamed)')}"


def _unusual(column: str, text: str, found: Findings) -> tuple[str, bool]:
    start, end = _ends(text)
    value = text[start:end]
    hidden = [(i, c) for i, c in enumerate(value, start + 1) if _invisible(c)]
    alike = [(i, c) for i, c in enumerate(value, start + 1) if _lookalike(c)]
    if hidden:
        found.add(column, Code.INVISIBLE_CHARACTER, f"{_shown(value)} has {_inside(hidden)}")
    if alike:
        found.add(column, Code.LOOKALIKE_CHARACTER, _alike_message(value, alike), _hint(alike))
    mixed = None if hidden or alike else _mixed_scripts(value, start + 1)
    if mixed:
        word, letters = mixed
        message = f"{_shown(value)} mixes alphabets in the word {cell_quoted(word)}: "
        message += _listed(letters)
        found.add(column, Code.LOOKALIKE_CHARACTER, message, _MIXED_HINT)
    if hidden or alike or mixed:
        return value, False
    removed = [(i + 1, text[i]) for i in chain(range(start), range(end, len(text)))]
    removed = [(i, c) for i, c in removed if _invisible(c)]
    if removed:
        used = f": {cell_quoted(value)} is used" if value else ""
        found.add(column, Code.INVISIBLE_STRIPPED, f"invisible {_listed(removed)} removed{used}")
    return value, True


def _ends(text: str) -> tuple[int, int]:
    """Return where the value inside spaces and invisible characters at the ends starts and ends."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or _invisible(text[start])):
        start += 1
    while end > start and (text[end - 1].isspace() or _invisible(text[end - 1])):
        end -= 1
    return start, end


def _invisible(char: str) -> bool:
    if " " <= char <= "~":
        return False
    return unicodedata.category(char)[0] == "C" or ord(char) in _IGNORABLE


def _lookalike(char: str) -> str:
    """Return the ASCII character `char` passes for, or "" when it is no look-alike."""
    code = ord(char)
    if code < 0x7F:
        return ""
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - 0xFEE0)
    if unicodedata.category(char) in ("Zs", "Zl", "Zp"):
        return " "
    return _LOOKS_LIKE.get(code, "")


def _mixed_scripts(value: str, first: int) -> tuple[str, list[tuple[int, str]]] | None:
    """Return the first word mixing Latin, Cyrillic and Greek letters, and its odd letters."""
    start = None
    for i, char in enumerate(value + " "):
        if char.isalpha():
            start = i if start is None else start
            continue
        if start is not None and not value[start:i].isascii():
            odd = _odd_letters(value[start:i])
            if odd:
                return value[start:i], [(first + start + j, c) for j, c in odd]
        start = None
    return None


def _odd_letters(word: str) -> list[tuple[int, str]]:
    """Return the letters of `word` outside its main alphabet, when it mixes confusable ones."""
    scripts = [_script(c) for c in word]
    counts = Counter(s for s in scripts if s in _CONFUSABLE_SCRIPTS)
    if len(counts) < 2:
        return []
    # The alphabet most of the word is in; on a tie, the Latin letters are taken as meant.
    main = max(counts, key=lambda s: (counts[s], s == "LATIN"))
    return [
        (j, c)
        for j, (c, s) in enumerate(zip(word, scripts, strict=True))
        if s in counts and s != main
    ]


def _script(char: str) -> str:
    if char.isascii():
        return "LATIN"
    return unicodedata.name(char, "").partition(" ")[0]


def _inside(hidden: list[tuple[int, str]]) -> str:
    what = "an invisible character" if len(hidden) == 1 else "invisible characters"
    return f"{what} inside: {_listed(hidden)}"


def _alike_message(value: str, alike: list[tuple[int, str]]) -> str:
    what = "a character that only looks" if len(alike) == 1 else "characters that only look"
    kind = "an ASCII one" if len(alike) == 1 else "ASCII ones"
    return f"{_shown(value)} has {what} like {kind}: {_listed(alike, alike=True)}"


def _hint(alike: list[tuple[int, str]]) -> str:
    meant = sorted({_lookalike(c) for _, c in alike})
    typed = " ".join("the space" if m == " " else m for m in meant)
    return f"type {typed} again with the keyboard in English (Latin, half-width) mode"


def _listed(chars: list[tuple[int, str]], *, alike: bool = False) -> str:
    """Return "U+200B ZERO WIDTH SPACE at position 1, ..." for the first few, the rest counted."""
    parts = []
    for position, char in chars[:_LISTED]:
        looks = _lookalike(char) if alike else ""
        passes = f' (not "{looks}")' if looks.strip() else " (not a space)" if looks else ""
        parts.append(f"{describe(char)} at position {position}{passes}")
    more = len(chars) - _LISTED
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def _shown(value: str) -> str:
    """Return `value` quoted, each invisible character or odd space written as <U+XXXX>."""
    return cell_quoted(value, mark=_marked)


def _marked(text: str) -> str:
    return "".join(
        f"<U+{ord(c):04X}>" if _invisible(c) or _lookalike(c) == " " else c for c in text
    )
