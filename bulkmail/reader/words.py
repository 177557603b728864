"""Judge one reading of a CSV's words: would a person have typed them?

Part of the encoding guess (`reader.codepages`). The wrong code page turns words into
things nobody types: Latin and Cyrillic letters in one word (`Verгo`), a symbol inside a
word (`Ver‹o`, `‘тепанов`), case that jumps about (`хБЮМНБ`), letters of two languages in
one word (`Ðiauliø`), letter pairs Slavic words do not have (`ь` first, five consonants in
a row). `judge` tells such words; `reader.codepages` sums up each reading's.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Final, NamedTuple

from bulkmail.reader.alphabets import CYRILLIC_VOWELS, GREEK_TONOS, GREEK_VOWELS, LANGUAGES

# A word: a run of characters other than ASCII non-letters, spaces and the punctuation
# that stands between words (dashes, CJK and full-width punctuation, full-width digits).
_WORD: Final = re.compile(
    r"[^\x00-\x40\x5b-\x60\x7b-\x7f\s–—…№¿¡、。「」『』【】〈〉《》・（）［］｛｝：；！？，．"
    r"\uff10-\uff19]+"
)
# Quotes may open and close a word, each on its own side, as the script's typography has
# them (Russian: «…» and „…“), and ordinal signs end one (nº). Any other symbol next to
# a letter makes the word implausible: cp1251 reads Mac Cyrillic's С as ‘ (‘тепанов).
_QUOTES: Final = "«»“”„‘’‚‹›ºª"
_OPEN: Final = {"cyrillic": "«„"}
_CLOSE: Final = {"cyrillic": "»“"}
_OPEN_ELSE: Final = "«„“‘‚‹"
_CLOSE_ELSE: Final = "»“”’‘›ºª"
# A dash glued to a word's start or end, not between two words: cp1251 reads Mac
# Cyrillic's Ц and Ч as – and — (–веткова).
_GLUED_DASH: Final = re.compile(r"(?<!\w)[–—](?=\w)|(?<=\w)[–—](?!\w)")
_TYPED: Final = frozenset("©®™€£¥¢§¶°±×÷•…–—«»„“”‘’‚‹›№½¼¾¹²³µ·†‡‰")
"""Symbols people type, or Word and Excel put in, on their own between spaces."""
_JOINERS: Final = frozenset("’·")  # inside a word: O’Neil, м’ята, col·legi
# UPPER, lower, Title (A: an ASCII capital, U: another); Latin words also camelCase humps
# of an ASCII capital after two lower case letters (passwords: VerãoPraia).
_CASE: Final = re.compile(r"[AU]+|[AU]?l+")
_HUMPS: Final = re.compile(r"[AU]+|[AU]?l+(?:(?<=ll)Al+)*")
_LATIN1_RUN: Final = re.compile("[\u00c0-\u00ffŒœŠšŽžŸ]+")  # cp1252's letters
_NOT_FIRST: Final = frozenset("ｧｨｩｪｫｬｭｮｯｰﾞﾟ")  # small kana and sound marks
_OTHER_SCRIPTS: Final = frozenset({"HEBREW", "ARABIC", "THAI", "HANGUL", "ARMENIAN", "GEORGIAN"})
_ALPHABETS: Final = {
    script: tuple(lang.letters for lang in LANGUAGES.values() if lang.script == script)
    for script in ("latin", "cyrillic", "greek")
}


class Judged(NamedTuple):
    """One word of the file as one reading decodes it.

    `letters`: its non-ASCII letters, lower case, where the script has alphabets here;
    `scripts`: the other scripts it is written in ("cjk", ...), each a language of its own;
    `capitals`: all its letters beyond ASCII are capitals (weak evidence: ЦПД passes).
    """

    plausible: bool
    letters: str = ""
    scripts: frozenset[str] = frozenset()
    capitals: bool = False


_IMPLAUSIBLE: Final = Judged(False)
_SYMBOL: Final = Judged(True)


def judge(text: str) -> Judged | None:
    """Judge one word of the file (a run of bytes between ASCII separators), decoded.

    The decoding may split it in several (a code page's no-break space or dash): it is
    plausible when they all are. None when it holds nothing beyond ASCII letters.
    """
    if _GLUED_DASH.search(text):
        return _IMPLAUSIBLE
    found = [j for m in _WORD.finditer(text) if (j := _judge_part(text, m)) is not None]
    if not found:
        return None
    if not all(j.plausible for j in found):
        return _IMPLAUSIBLE
    letters = "".join(j.letters for j in found)
    scripts = frozenset().union(*(j.scripts for j in found))
    return Judged(True, letters, scripts, all(j.capitals for j in found))


def _judge_part(text: str, match: re.Match[str]) -> Judged | None:
    """Judge one word of a decoded run of bytes; None when it tells nothing."""
    word = match.group()
    core = word.strip(_QUOTES)
    if core.isascii():
        return None  # plain ASCII, or quotes alone
    if not any(c.isalpha() for c in core):  # a symbol standing alone: 100 €, © 2024
        # Not box drawing, controls, or symbols run together.
        return _SYMBOL if word == core and core in _TYPED else _IMPLAUSIBLE
    if len(core) == 1 and _fold(core) not in _ONE_LETTER:
        if _among_ascii(text, match.start(), match.end()):
            return None  # a letter an ASCII apostrophe cut off (п'ятниця)
        return _IMPLAUSIBLE  # a letter between a code page's dashes or signs (Õ¡“…—)
    script = _script_of(core)
    if script is None or not _quoted_right(word, script) or not _RULES[script](core):
        return _IMPLAUSIBLE
    if script not in _ALPHABETS:
        return Judged(True, scripts=frozenset({script}))
    letters = "".join(_fold(c) for c in core if not c.isascii() and c not in _JOINERS)
    if not letters:
        return None  # O’Neil: its apostrophe is the same in every Windows code page
    return Judged(True, letters, capitals=core.upper() == core)


def _among_ascii(text: str, start: int, end: int) -> bool:
    """Tell whether text[start:end] has only ASCII or nothing on either side."""
    return text[start - 1 : start].isascii() and text[end : end + 1].isascii()


def _quoted_right(word: str, script: str) -> bool:
    """Tell whether the quotes around a word open and close it as its script's are used."""
    lead = word[: len(word) - len(word.lstrip(_QUOTES))]
    trail = word[len(word.rstrip(_QUOTES)) :]
    opening, closing = _OPEN.get(script, _OPEN_ELSE), _CLOSE.get(script, _CLOSE_ELSE)
    return all(c in opening for c in lead) and all(c in closing for c in trail)


def _script_of(word: str) -> str | None:
    """Return the one script of a word's letters, or None for a mix or a non-letter."""
    found = {_char_script(ch) for ch in word}
    found.discard("joiner")
    if len(found) != 1 or "" in found:
        return None
    return found.pop()


@cache
def _char_script(ch: str) -> str:
    """Return "latin", "cyrillic", "greek", "cjk", "halfwidth", "other", "joiner" or ""."""
    if ch in _JOINERS:
        return "joiner"
    if ch.isascii():
        return "latin" if ch.isalpha() else ""
    if not unicodedata.category(ch).startswith("L") and ch not in "ﾞﾟ":
        return ""
    name = unicodedata.name(ch, "")
    if name.startswith("HALFWIDTH KATAKANA"):
        return "halfwidth"
    first = name.split(" ", 1)[0]
    if first in ("CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "FULLWIDTH", "IDEOGRAPHIC"):
        return "cjk"
    if first in ("LATIN", "CYRILLIC", "GREEK"):
        return first.lower()
    return "other" if first in _OTHER_SCRIPTS else ""


def _cased(word: str, shapes: re.Pattern[str] = _CASE) -> bool:
    """Tell whether each part of a word (split at apostrophes) has a typed case pattern."""
    for part in re.split("[’·]", word):
        shape = "".join(_shape(c) for c in part if c.isupper() or c.islower())
        if shape and not shapes.fullmatch(shape):
            return False
    return True


def _shape(ch: str) -> str:
    if ch.isupper():
        return "A" if ch.isascii() else "U"
    return "l"


def _fold(ch: str) -> str:
    low = ch.lower()
    return low if len(low) == 1 else ch  # İ lowers to two characters: keep it


def _one_language(letters: list[str], script: str) -> bool:
    """Tell whether one language of `script` writes all of `letters` (lower case)."""
    wanted = set(letters)
    return any(wanted <= alphabet for alphabet in _ALPHABETS[script])


def _latin(word: str) -> bool:
    extra = [_fold(c) for c in word if not c.isascii() and c not in _JOINERS]
    # Western words hold at most two accented letters side by side (ção, öß, réé); Russian
    # read as cp1252 is all such letters (Èâàíîâ). Polish, not in cp1252, may have more (żółć).
    run = max((len(r) for r in _LATIN1_RUN.findall(word)), default=0)
    return run < 3 and _cased(word, _HUMPS) and _one_language(extra, "latin")


def _cyrillic(word: str) -> bool:
    low = [_fold(c) for c in word if c not in _JOINERS]

    return _cased(word) and _one_language(low, "cyrillic") and _slavic_spelling(low, word)


# The words of one letter beyond ASCII: French à, Portuguese é, Russian в, Greek ή ...
_ONE_LETTER: Final = frozenset("àéèóòáíúìù") | frozenset("авиксоуяіїйз") | frozenset("οηήωα")
_SIGNS: Final = frozenset("ьъй")
_SYLLABIC: Final = CYRILLIC_VOWELS - {"ъ"}


def _slavic_spelling(low: list[str], word: str) -> bool:
    """Reject what Slavic words do not have: no vowel (but in an abbreviation in capitals),
    five consonants in a row, ь, ъ or ы first or after a vowel, й after ь, ъ or й."""
    if low[0] in "ьъы" or not (word.isupper() or _has_vowel(low, CYRILLIC_VOWELS)):
        return False
    consonants = 0
    for prev, ch in zip([" ", *low], low, strict=False):
        if ch in "ьъы" and (prev in _SYLLABIC or prev in _SIGNS):
            return False
        if ch == "й" and prev in _SIGNS:
            return False
        consonants = 0 if ch in CYRILLIC_VOWELS else consonants + 1
        if consonants >= 5:
            return False
    return True


def _has_vowel(low: list[str], vowels: frozenset[str]) -> bool:
    return len(low) < 2 or any(c in vowels for c in low)


def _greek(word: str) -> bool:
    low = [_fold(c) for c in word]

    return (
        _cased(word)
        and _one_language(low, "greek")
        and "ς" not in low[:-1]  # final sigma ends a word
        and sum(c in GREEK_TONOS for c in low) <= 1  # one stressed vowel per word
        and (word.isupper() or _has_vowel(low, GREEK_VOWELS))
    )


def _halfwidth(word: str) -> bool:
    # A lone half-width kana, or one that cannot start a word (small kana, sound marks),
    # is what a Latin-1 byte (©, ª, ½ ...) becomes when read as Shift-JIS.
    return len(word) >= 2 and word[0] not in _NOT_FIRST


def _any(word: str) -> bool:
    return True


_RULES: Final = {
    "latin": _latin,
    "cyrillic": _cyrillic,
    "greek": _greek,
    "cjk": _any,
    "halfwidth": _halfwidth,
    "other": _any,
}
