"""What is secret, and the one scrubber that every output goes through.

What is secret:
- columns: the secret fields (password, smtp_password, portal_password) under any header
  alias, and ignored columns whose header looks like a password ("Old password", "Пароль 2");
- names: log keys and summary keys that name a secret (password, token, Authorization...);
- values registered at run time (`register`): the portal password read from the environment,
  a file or a prompt, and each portal session token when a login returns it;
- a row's own secret cells, passed as `extra` wherever a row is at hand;
- URL userinfo (`https://user:pass@host`).

A secret is masked wherever it stands in a text, and in the escaped forms a text gives it:
JSON string escaping (a server echoing the request body: `pa\\"ss`), HTML entities (the
portal's HTML-ish messages) and percent-encoding (URLs). Secrets shorter than MIN_LENGTH are
masked in their cells but not searched for in text: masking "ab" everywhere would garble
every message while protecting almost nothing.

The registry is this package's one piece of process-wide mutable state, on purpose
(configuration is otherwise passed down): a secret must be masked in every output, and some
outputs are far from where it is learnt (structlog is configured once per process, and an
exception's text reaches the CLI's error line from any stage). Threading a scrubber through
every stage would leave one forgotten path, which is how secrets leak. It only ever grows,
by one entry per login at most; a long-lived library process may `REGISTRY.clear()` it.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote, quote_plus, unquote

from bulkmail.schema import ALIASES, MASK, SECRET_FIELDS, fold

__all__ = [
    "MASK",
    "MIN_LENGTH",
    "REGISTRY",
    "SECRET_FIELDS",
    "Registry",
    "forms",
    "is_secret_name",
    "looks_like_data",
    "masked_cells",
    "quotable",
    "register",
    "scrub",
    "scrub_data",
    "scrub_texts",
    "secret_columns",
    "secret_values",
]

MIN_LENGTH: Final = 4

Span = tuple[int, int]

# --- names -------------------------------------------------------------------------------

_SECRETISH: Final = re.compile(r"pass|pwd|secret|token|парол|authoriz|cookie|authkey|credential")


@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Return whether a column header, log key or summary key names a secret.

    A known header decides by its field (`Пароль` is password: yes; `smtp auth`: no); any
    other name is secret when it looks like one (`Old password`, `token`, `Authorization`).
    """
    key = fold(name)
    field = ALIASES.get(key)
    if field is not None:
        return field in SECRET_FIELDS
    return _SECRETISH.search(key) is not None


def secret_columns(headers: Sequence[str], fields: Sequence[str | None]) -> frozenset[int]:
    """Return the indexes of the columns whose cells are never written or quoted.

    Besides the secret fields, an ignored column whose header looks like a password
    ("Old password", "Пароль 2") is secret too: the reader did not use it, but it is still
    a secret the user never asked us to copy.
    """
    return frozenset(
        i
        for i, header in enumerate(headers)
        if (field := fields[i] if i < len(fields) else None) in SECRET_FIELDS
        or (field is None and is_secret_name(header))
    )


def secret_values(cells: Mapping[str, str]) -> list[str]:
    """Return the values of the cells whose name is a secret's, by name (`password`...)."""
    return [value for name, value in cells.items() if value and is_secret_name(name)]


def masked_cells(cells: Mapping[str, str]) -> dict[str, str]:
    """Return `cells` with every non-blank secret cell replaced by MASK."""
    return {
        name: MASK if value and is_secret_name(name) else value for name, value in cells.items()
    }


# --- header cells that a message may quote ------------------------------------------------

# An email address or a URL: every data row has one, no header does.
_DATA: Final = re.compile(r"\S@\S|://")
# Words of letters (or short numbers after the first), with the separators headers use.
_LABEL: Final = re.compile(r"[\s(#№]*[^\W\d_]+(?:[\s_\-./()#№:,]+(?:[^\W\d_]+|\d{1,3}))*[\s.):]*")
_HOST: Final = re.compile(r"[^\W_][\w-]*(?:\.[\w-]+)+")


def looks_like_data(cells: Sequence[str]) -> bool:
    """Return whether a row that should be the header holds data (an email address, a URL)."""
    return any(_DATA.search(cell) for cell in cells)


def quotable(cells: Sequence[str]) -> tuple[bool, ...]:
    """Return, for each header cell, whether a message may quote it.

    A sheet without its header row has data in row 1, passwords included: nothing of a row
    that looks like data is quoted. Elsewhere only a cell that reads like a column name is
    ("Old password", "Фамилия", "Phone 2"), never one that could be a value ("Summer2024!",
    "993", "imap.example.org").
    """
    if looks_like_data(cells):
        return (False,) * len(cells)
    return tuple(
        _LABEL.fullmatch(cell) is not None and _HOST.fullmatch(cell) is None for cell in cells
    )


# --- the forms a secret takes in text -------------------------------------------------------

_UNCHANGED: Final = re.compile(r"[A-Za-z0-9_.~-]*")  # no escaping below changes these
_DOTNET_ESCAPED: Final = frozenset("\"&'+<>`")
_HTML_DECIMAL: Final = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'"})
_PERCENT: Final = re.compile(r"%[0-9A-F]{2}")


@lru_cache(maxsize=1024)
def forms(secret: str) -> frozenset[str]:
    """Return the texts `secret` may appear as: as is, JSON-, HTML- and percent-escaped.

    JSON as Python writes it (`\\"`, `\\u00e9`) and as .NET's System.Text.Json does
    (`\\u0022`, `\\u002B`, upper-case hex); HTML with named, hex and decimal entities;
    percent-encoding as `quote` and `quote_plus` write it, in upper and lower case hex.
    """
    if _UNCHANGED.fullmatch(secret):
        return frozenset((secret,))
    percent = (quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret))
    return frozenset(
        (
            secret,
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
            _dotnet_json(secret),
            html.escape(secret),
            html.escape(secret, quote=False),
            secret.translate(_HTML_DECIMAL),
            *percent,
            *(_PERCENT.sub(lambda m: m[0].lower(), p) for p in percent),
        )
    )


def _dotnet_json(text: str) -> str:
    """Return `text` JSON-escaped as System.Text.Json's default encoder writes it."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char.isascii() and char.isprintable() and char not in _DOTNET_ESCAPED:
            out.append(char)
        else:
            units = char.encode("utf-16-be")
            out += [f"\\u{units[i]:02X}{units[i + 1]:02X}" for i in range(0, len(units), 2)]
    return "".join(out)


# --- the registry ----------------------------------------------------------------------------

# Long values over a token alphabet (session tokens) are found through the runs of such
# characters in a text, by a dict of their first characters: adding one is O(1) and a text
# without a long run costs one C-speed regex scan, however many users logged in. A run may
# hold the token percent- or JSON-escaped (`%2B`, `\u002B`, `\/`): it is unescaped first.
_TOKEN: Final = re.compile(r"[A-Za-z0-9+/=_-]{16,}")
_KEY = 16
# The lookbehind makes a search fail at once inside a run, rather than scan it again.
_RUN: Final = re.compile(r"(?<![\w+/=%\\-])[\w+/=%\\-]{16,}", re.ASCII)
_RUN_ESCAPE: Final = re.compile(r"\\u([0-9A-Fa-f]{4})|\\(/)")


class Registry:
    """Secret values known to the whole process, each kind found in a text in one pass.

    Values that look like tokens (16+ characters of `A-Za-z0-9+/=_-`) are looked up through
    the long runs of such characters; the others (a password) through one compiled pattern
    of all their forms, rebuilt when one is added.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, set[str]] = {}  # first _KEY characters -> whole tokens
        self._others: set[str] = set()  # every form of the other values
        self._version = 0
        # (version, a pattern finding each start, a plain one to test): built when needed
        self._compiled: tuple[int, re.Pattern[str] | None, re.Pattern[str] | None] = (0, None, None)

    def add(self, *values: str | None) -> None:
        """Register secret values (None, "" and values under MIN_LENGTH are ignored)."""
        with self._lock:
            for value in values:
                if not value or len(value) < MIN_LENGTH:
                    continue
                if _TOKEN.fullmatch(value):
                    self._tokens.setdefault(value[:_KEY], set()).add(value)
                elif not forms(value) <= self._others:
                    self._others |= forms(value)
                    self._version += 1

    def clear(self) -> None:
        """Forget every registered value."""
        with self._lock:
            self._tokens.clear()
            self._others.clear()
            self._version += 1

    def spans(self, text: str) -> list[Span]:
        """Return where registered secrets stand in `text`, as (start, end); may overlap."""
        found: list[Span] = []
        pattern = self._patterns()[0]
        if pattern is not None:
            found += [(m.start(), m.start() + len(m[1])) for m in pattern.finditer(text)]
        if self._tokens:
            found += [run.span() for run in _RUN.finditer(text) if self._holds_token(run[0])]
        return found

    def holds(self, text: str) -> bool:
        """Return whether a registered secret stands in `text` (cheaper than `spans`)."""
        if not self._others and not self._tokens:
            return False
        test = self._patterns()[1]
        if test is not None and test.search(text) is not None:
            return True
        if self._tokens and _RUN.search(text) is not None:  # rare: a long run, then look
            return any(self._holds_token(run[0]) for run in _RUN.finditer(text))
        return False

    def _patterns(self) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
        """Return the patterns of every form of the other values: (finder, test)."""
        version, finder, test = self._compiled
        if version != self._version:
            with self._lock:
                version, others = self._version, sorted(self._others, key=lambda v: (-len(v), v))
                alternatives = "|".join(map(re.escape, others))
                # A lookahead finds every start, so overlapping secrets are all masked; the
                # test needs no lookahead, which would keep re from skipping ahead (5x slower).
                finder = re.compile(f"(?=({alternatives}))") if others else None
                test = re.compile(alternatives) if others else None
                self._compiled = (version, finder, test)
        return finder, test

    def _holds_token(self, run: str) -> bool:
        """Return whether a registered token stands in a run of token characters."""
        if "%" in run or "\\" in run:
            run = unquote(_RUN_ESCAPE.sub(lambda m: m[2] or chr(int(m[1], 16)), run))
        tokens = self._tokens
        for i in range(len(run) - _KEY + 1):
            found = tokens.get(run[i : i + _KEY])
            if found and any(run.startswith(token, i) for token in found):
                return True
        return False


REGISTRY: Final = Registry()
"""The process's registry: see the module docstring for why there is one."""


def register(*values: str | None) -> None:
    """Register secret values to be masked in every output from now on."""
    REGISTRY.add(*values)


# --- the scrubber ----------------------------------------------------------------------------

_USERINFO: Final = re.compile(r"://([^\s/?#]*)@")


def scrub(text: str, extra: Iterable[str] = ()) -> str:
    """Return `text` with every secret masked: registered ones, `extra` (a row's secret
    cells) and URL userinfo. Returns `text` itself when it holds none."""
    if not text:
        return text
    spans = REGISTRY.spans(text) if REGISTRY.holds(text) else []
    # Only the plain form of a secret can stand in a text without an escape character.
    escaped: bool | None = None
    for value in extra:
        if len(value) >= MIN_LENGTH:
            if escaped is None:
                escaped = _escaped(text)
            spans += _occurrences(text, forms(value) if escaped else (value,))
    if "://" in text:
        spans += [m.span(1) for m in _USERINFO.finditer(text) if m[1]]
    return _masked(text, spans) if spans else text


def scrub_texts(texts: list[str], extra: Sequence[str] = ()) -> list[str]:
    """Return `texts` scrubbed; `texts` itself when none holds a secret (the common case).

    Runs once per row of a report: a few searches of the joined texts settle nearly every
    row (no secret, no escape character, no URL) without building anything.
    """
    joined = "\n".join(texts)
    for value in extra:
        if len(value) >= MIN_LENGTH and value in joined:
            break
    else:
        if "://" not in joined and not REGISTRY.holds(joined) and not (extra and _escaped(joined)):
            return texts
    if scrub(joined, extra) is joined:
        return texts
    return [scrub(text, extra) for text in texts]


def scrub_data(value: Any, extra: Sequence[str] = ()) -> Any:
    """Return `value` with every secret masked: strings scrubbed, dicts, lists and tuples
    scrubbed inside, and the value of a key that names a secret replaced by MASK, unless it
    is a number: secrets are text, and summary.json counts problems by codes that name a
    password (`"password-masked": 2`)."""
    if isinstance(value, str):
        return scrub(value, extra)
    if isinstance(value, Mapping):
        return {
            key: MASK
            if isinstance(key, str) and is_secret_name(key) and not _is_number(item)
            else scrub_data(item, extra)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(scrub_data(item, extra) for item in value)
    return value


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _escaped(text: str) -> bool:
    """Return whether `text` holds a character that an escaped form of a secret holds."""
    # Four C-speed searches: twice as fast as one regex of the four, per row of a report.
    return "\\" in text or "&" in text or "%" in text or "+" in text


def _occurrences(text: str, candidates: Iterable[str]) -> list[Span]:
    """Return where each of `candidates` stands in `text`."""
    spans = []
    for form in candidates:
        start = text.find(form)
        while start >= 0:
            spans.append((start, start + len(form)))
            start = text.find(form, start + 1)
    return spans


def _masked(text: str, spans: list[Span]) -> str:
    """Return `text` with each run of overlapping spans replaced by one MASK."""
    spans.sort()
    parts, done = [], 0
    start, end = spans[0]
    for next_start, next_end in spans[1:]:
        if next_start > end:
            parts += [text[done:start], MASK]
            done, start = end, next_start
        end = max(end, next_end)
    parts += [text[done:start], MASK, text[end:]]
    return "".join(parts)
