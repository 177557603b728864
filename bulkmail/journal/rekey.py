"""Key a version 1 or 2 journal's entries as the portal keys an address (schema version 3).

Versions 1 and 2 keyed an entry's email by Python's `str.lower()`; bulkmail now looks an
entry up by `portal.lowering.mailbox_key` (the portal's one-character-at-a-time lowering, in
Unicode's composed form). The two differ only for some non-ASCII addresses: `ΟΔΟΣ@` was
`οδος@` (the portal's `οδοσ@`), `İNFO@` was `i` + U+0307 + `nfo@` (the portal's `info@`),
and an address typed decomposed (`e` + U+0301) was kept apart from the one typed composed.
Left as they were, a re-run would miss such entries and send their rows again.

`str.lower()` lost what was typed in one case: its final `ς` was typed `ς` (the portal keeps
`ς`) or `Σ` (the portal keeps `σ`). The email cell the entry keeps tells, when it lowers to
the entry's key; an entry without cells (a create cut short before its first outcome) is
taken as typed `ς`. Two entries that come to one key are one mailbox: the newer one stays
(`updated_at`), the older is dropped.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from typing import Final

from bulkmail.portal.lowering import mailbox_key

_COLUMNS: Final = (
    "generation, portal_user, email, state, mailbox_id, code, message, permanent, digest, "
    "row, attempts, cells, updated_at, stage"
)
_WHERE: Final = "WHERE generation = ? AND portal_user = ? AND email = ?"

Key = tuple[int, str, str]  # (generation, portal_user, email): the entries' primary key


def rekey(conn: sqlite3.Connection) -> None:
    """Key every entry's email by `mailbox_key`, in the caller's open transaction.

    Reads every entry once; only the non-ASCII ones can change (a few, as a rule).
    """
    moving: dict[Key, tuple[str, str]] = {}  # old key -> (new email, updated_at)
    found = conn.execute("SELECT generation, portal_user, email, cells, updated_at FROM entries")
    for generation, user, email, cells, updated_at in found:
        if not email.isascii() and (new := _key(email, cells)) != email:
            moving[(generation, user, email)] = (new, updated_at)
    if not moving:
        return
    # Every entry that comes to a key, with when it was written: the newest stays.
    arriving: dict[Key, list[tuple[str, str]]] = defaultdict(list)
    for (generation, user, email), (new, updated_at) in moving.items():
        arriving[(generation, user, new)].append((updated_at, email))
    kept: list[tuple[object, ...]] = []
    dropped: list[Key] = list(moving)
    for target, entries in arriving.items():
        staying = None if target in moving else _updated_at(conn, target)
        if staying is not None:
            entries.append((staying, target[2]))
        newest = max(entries)[1]
        if newest == target[2]:
            continue  # the entry already there is the newest: the arriving ones are dropped
        if staying is not None:
            dropped.append(target)
        row = conn.execute(f"SELECT {_COLUMNS} FROM entries {_WHERE}", (*target[:2], newest))
        generation, user, _, *rest = row.fetchone()
        kept.append((generation, user, target[2], *rest))
    # All moving entries out first, then the kept ones in: no key is ever held twice.
    conn.executemany(f"DELETE FROM entries {_WHERE}", dropped)
    places = ", ".join("?" * len(_COLUMNS.split(",")))
    conn.executemany(f"INSERT INTO entries ({_COLUMNS}) VALUES ({places})", kept)


def _key(email: str, cells: str | None) -> str:
    """Return the entry's email as bulkmail keys it now, from the key `str.lower()` gave
    it and, when it agrees, the email cell the entry kept."""
    typed = _email_cell(cells).strip()
    if typed and typed.lower() == email:
        return mailbox_key(typed)
    # Without the cell: str.lower() made İ "i" + U+0307, which the portal lowers to "i".
    return mailbox_key(email.replace("i\u0307", "i"))


def _email_cell(cells: str | None) -> str:
    try:
        values = json.loads(cells) if cells else None
    except ValueError:
        return ""
    email = values.get("email") if isinstance(values, dict) else None
    return email if isinstance(email, str) else ""


def _updated_at(conn: sqlite3.Connection, key: Key) -> str | None:
    found = conn.execute(f"SELECT updated_at FROM entries {_WHERE}", key).fetchone()
    return None if found is None else str(found[0])
