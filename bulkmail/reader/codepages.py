"""Tell which legacy code page a CSV that is not UTF-8 was saved in, by reading its words.

Part of the reader (`reader.encoding` calls `guess` once BOMs, UTF-16 and UTF-8 are ruled
out). Every candidate code page decodes the file's words; `reader.words` judges each
reading; the reading whose words a person could have typed wins. What letters cannot settle
goes to the code page more tools write, said to be unsure; two common ones that read the
words alike, and words only in capitals that another script reads too, are refused.

Why not charset-normalizer alone: on a few short lines of cp1251 it answers big5 or
mac_cyrillic, and it reads Western files as mac-latin2, cp1257 or cp932. It is still
asked, last, about scripts this module does not model (Hebrew, Arabic, Thai, Korean ...).
"""

from __future__ import annotations

import codecs
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from itertools import combinations, islice
from typing import Final

from charset_normalizer import from_bytes

from bulkmail.errors import InputError
from bulkmail.reader.alphabets import FOREIGN, LANGUAGES, RARE
from bulkmail.reader.words import Judged, judge

COMMON: Final = ("cp1251", "cp1252", "koi8-r", "koi8-u", "cp866", "mac-cyrillic", "mac-roman")
"""What Russian, Ukrainian and Western tools save, most common first (cp1252 reads latin-1)."""
OTHERS: Final = ("cp1250", "cp1257", "cp1253", "cp1254", "cp932")
"""Central European, Baltic, Greek, Turkish and Japanese Windows code pages."""

# Log likelihood ratios of two readings' letters: below _MARGIN (20 to 1) they say nothing;
# from _SURE (3000 to 1) they settle it, and against a common code page from _SURE + _PRIOR
# (a less common one is that much rarer: French FRANÇOIS BENOÎT is Latvian FRANĒOIS BENOĪT
# by 20,000 to 1 on letters alone, and refused, not read as cp1257).
_MARGIN: Final = 3.0
_SURE: Final = 8.0
_PRIOR: Final = 4.0
_WORDS: Final = re.compile(rb"[\x40-\xff]*[\x80-\xff][\x40-\xff]*")  # Shift-JIS trails >= 0x40
_SAMPLE_WORDS: Final = 1000
_NOTHING: Final = Judged(False)


@dataclass(frozen=True, slots=True)
class Guess:
    """The code page chosen, and whether nothing else read the words about as well.

    `rivals`: less common code pages that read them too (or not much worse); `basis`: what
    chose it ("its words", or "charset-normalizer's guess" for a script not modelled here).
    """

    codec: str
    rivals: tuple[str, ...] = ()
    basis: str = "its words"

    @property
    def sure(self) -> bool:
        return not self.rivals and self.basis == "its words"


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one reading of a file's words reads.

    - `words`, `bad`: its words that tell something, and the implausible ones among them;
    - `languages`: how many languages it takes to write the plausible ones (4 = four or more);
    - `letters`, `loglik`: their non-ASCII letters, and the sum of the natural logs of those
      letters' shares in the language that fits them best (0.0 for none);
    - `capitals`: every plausible word is in capitals, which case rules cannot check.
    """

    words: int
    bad: int
    languages: int
    letters: int
    loglik: float
    capitals: bool = False


@dataclass(frozen=True, slots=True)
class _Reading:
    codecs: tuple[str, ...]  # the code pages that decode the words to this same text
    rank: int  # position in COMMON + OTHERS (or after them)
    verdict: Verdict

    @property
    def common(self) -> bool:
        return self.rank < len(COMMON)


def guess(data: bytes, name: str) -> Guess:
    """Return the code page of `data` (text with non-ASCII bytes, not UTF-8).

    Raises InputError naming `--encoding` when no code page reads the words plausibly, or
    when two read them equally well.
    """
    words = _words(data)
    readings = [r for r in _readings(words, COMMON + OTHERS) if _plausible(r.verdict)]
    if not readings:
        found = _normalizer(data, words)
        if found is None:
            raise InputError(
                f"cannot tell the text encoding of {name}: no code page bulkmail knows "
                "reads its words",
                "pass it with --encoding (utf-8, cp1251, cp1252, utf-16 ...), "
                "or save the file again as CSV UTF-8",
            )
        return Guess(found, basis="charset-normalizer's guess")
    best, rivals, toss_up = _best(readings)
    codec = best.codecs[0]
    if best.verdict.capitals:
        # Capitals escape the case rules: Hebrew read as koi8-r is ЦПД КДО. A script this
        # module does not model may read as well.
        other = _normalizer(data, words)
        if other is not None and other not in best.codecs:
            raise _toss_up(name, [codec, other])
    if toss_up:
        raise _toss_up(name, [codec, *(r.codecs[0] for r in rivals)])
    basis = "its words, all in capitals" if best.verdict.capitals else "its words"
    return Guess(codec, tuple(r.codecs[0] for r in rivals), basis)


def _toss_up(name: str, candidates: list[str]) -> InputError:
    return InputError(
        f"cannot tell the text encoding of {name}: its words read as "
        f"{' or '.join(candidates)} equally well",
        f"pass the right one with --encoding (e.g. --encoding {candidates[0]}), "
        "or save the file again as CSV UTF-8",
    )


def _words(data: bytes) -> list[bytes]:
    """Return the first distinct runs of bytes between ASCII separators that hold high bytes."""
    found = dict.fromkeys(m.group() for m in islice(_WORDS.finditer(data), _SAMPLE_WORDS))
    return list(found)


def _readings(words: list[bytes], candidates: tuple[str, ...]) -> list[_Reading]:
    """Judge the words as each candidate decodes them; candidates that agree share a reading.

    A candidate that cannot decode a word is out. A word no candidate reads plausibly (a
    password with a symbol in it) tells nothing and is left out of every reading.
    """
    decoded: dict[tuple[str, ...], list[str]] = {}
    for codec in candidates:
        try:
            decoded.setdefault(tuple(w.decode(codec) for w in words), []).append(codec)
        except UnicodeDecodeError:
            continue
    judged = {texts: [judge(t) for t in texts] for texts in decoded}
    telling = [
        i for i in range(len(words)) if any((j[i] or _NOTHING).plausible for j in judged.values())
    ]
    if 3 * len(telling) < 2 * sum(j is not None for j in next(iter(judged.values()), [])):
        return []  # most words read as nothing in any candidate: not one of these code pages
    order = COMMON + OTHERS
    return [
        _Reading(
            tuple(found),
            order.index(found[0]) if found[0] in order else len(order),
            _tally([j for i in telling if (j := judged[texts][i]) is not None]),
        )
        for texts, found in decoded.items()
    ]


def _tally(judged: list[Judged]) -> Verdict:
    """Sum up the judged words of one reading."""
    good = [j for j in judged if j.plausible]
    letters = Counter("".join(j.letters for j in good))
    scripts = frozenset().union(*(j.scripts for j in good))
    languages = _languages(frozenset(letters), len(scripts))
    capitals = bool(good) and all(j.capitals for j in good)
    return Verdict(
        len(judged), len(judged) - len(good), languages, letters.total(), _loglik(letters), capitals
    )


def _plausible(verdict: Verdict) -> bool:
    """Allow one odd word in ten, none in a short file."""
    return verdict.words > 0 and verdict.bad <= verdict.words // 10


def _best(readings: list[_Reading]) -> tuple[_Reading, list[_Reading], bool]:
    """Return the best reading, the others still worth a mention, and whether it is a toss-up.

    Fewer implausible words first, then fewer languages to write the words in. Among what
    still ties, the commoner code page, unless another's letters are overwhelmingly
    likelier; a toss-up when letters cannot tell two equally common code pages apart, or
    clearly favour another without settling it.
    """
    fewest = min((r.verdict.bad, r.verdict.languages) for r in readings)
    tied = [r for r in readings if (r.verdict.bad, r.verdict.languages) == fewest]
    tied.sort(key=lambda r: r.rank)
    best = tied[0]
    for reading in tied[1:]:
        if _evidence(reading, best) >= _SURE + (_PRIOR if best.common > reading.common else 0):
            best = reading
    others = [(r, _evidence(best, r)) for r in tied if r is not best]
    toss_up = any(e <= -_MARGIN or (e < _MARGIN and r.common == best.common) for r, e in others)
    return best, [r for r, e in others if e < _SURE], toss_up


def _evidence(a: _Reading, b: _Reading) -> float:
    """Return how much likelier `a`'s letters are in their language than `b`'s (log ratio).

    Both read the same bytes, so they hold about as many letters: the difference of their
    mean log shares, times the letters both have, is the log likelihood ratio. 0.0 when
    either has no letters beyond ASCII to weigh.
    """
    va, vb = a.verdict, b.verdict
    n = min(va.letters, vb.letters)
    return (va.loglik / va.letters - vb.loglik / vb.letters) * n if n else 0.0


def _normalizer(data: bytes, words: list[bytes]) -> str | None:
    """Return the first of charset-normalizer's guesses, beyond the code pages judged above,
    whose reading of the words is plausible; None if there is none."""
    for match in from_bytes(data):
        codec = codecs.lookup(match.encoding).name
        if codec in COMMON or codec in OTHERS:
            continue
        try:
            judged = [judge(w.decode(codec)) for w in words]
        except UnicodeDecodeError:
            continue
        if _plausible(_tally([j for j in judged if j is not None])):
            return codec
    return None


def _loglik(letters: Counter[str]) -> float:
    """Return the log likelihood of `letters` in the language whose shares fit them best."""
    if not letters:
        return 0.0
    return max(sum(n * _log_share(lang, ch) for ch, n in letters.items()) for lang in LANGUAGES)


@cache
def _log_share(lang: str, ch: str) -> float:
    language = LANGUAGES[lang]
    share = language.shares.get(ch, RARE if ch in language.letters else FOREIGN)
    return math.log(share / 100)


def _languages(letters: frozenset[str], scripts: int) -> int:
    """Return how many languages write `letters`, plus `scripts` (4 for four or more)."""
    alphabets = tuple(lang.letters for lang in LANGUAGES.values())
    for n in range(max(0, 4 - scripts)):
        if any(letters <= frozenset().union(*group) for group in combinations(alphabets, n)):
            return n + scripts
    return 4
