"""The crash-safe record of outcomes, in SQLite, so that re-running a command finishes the rest.

One file (default `DEFAULT_PATH`) in WAL mode with `synchronous=NORMAL`: a commit
is in the WAL before it returns, so it survives a kill of the process at any point; only a
power loss or OS crash can drop the last few commits (WAL is fsynced at checkpoints), which
at worst re-sends rows that the portal upserts anyway. Entries are keyed by (portal URL,
portal user, email) and never hold a secret: secret cells are masked, and the row digest is
an HMAC whose key lives beside the journal in `<journal>.key`, not in it.

Beside the journal: `<journal>.key` (the digest key, 0600) and `<journal>.lock` (the run lock).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from bulkmail.errors import AbortError, ConfigError
from bulkmail.journal import db
from bulkmail.journal.db import normalise_portal
from bulkmail.journal.lock import RunLock
from bulkmail.secrets import masked_cells, scrub, secret_values
from bulkmail.settings import DEFAULT_STATE

__all__ = ["DEFAULT_PATH", "STATES", "Entry", "Journal", "normalise_portal", "row_digest"]

DEFAULT_PATH: Final = DEFAULT_STATE  # declared with the run settings
STATES: Final = frozenset({"in-flight", "created", "updated", "skipped", "failed"})
BATCH_ROWS: Final = 100  # commit after this many records ...
BATCH_SECONDS: Final = 0.2  # ... or when the oldest uncommitted one is this old
_KEY_BYTES: Final = 32
_HOLDER_KEYS: Final = ("pid", "started_at", "host", "argv")


@dataclass(frozen=True, slots=True)
class Entry:
    """What the journal knows about one (portal user, email) of this portal."""

    portal_user: str
    email: str
    state: str  # "in-flight" | "created" | "updated" | "skipped" | "failed"
    mailbox_id: int | None
    code: str
    message: str
    permanent: bool
    digest: str
    row: int
    attempts: int
    updated_at: str  # ISO 8601 UTC: 2026-11-23T19:40:01Z


def row_digest(key: bytes, values: Mapping[str, str]) -> str:
    """Return the HMAC-SHA256 (hex) of a row's values: secrets count, blank cells do not."""
    items = sorted((name, value) for name, value in values.items() if value != "")
    data = json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


class Journal:
    """An open journal for one portal, holding the run lock until close()."""

    def __init__(
        self,
        path: Path,
        portal: str,
        conn: sqlite3.Connection,
        lock: RunLock,
        key: bytes,
        generation: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.portal = portal  # normalised
        self.generation = generation
        self._conn = conn
        self._lock = lock
        self._key = key
        self._pending = 0
        self._clock = clock  # seconds; tests pass their own to age a batch at will
        self._oldest = 0.0  # clock time of the first uncommitted record

    @classmethod
    def open(
        cls,
        path: Path,
        portal: str,
        *,
        fresh: bool = False,
        argv: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> Journal:
        """Open (or create) the journal at `path` for `portal` and take its run lock.

        `fresh=True` starts a new generation for this portal: earlier entries stay in the
        file for inspection but are no longer looked up. `argv` goes into the lock file for
        a rival run's message: the sub-command and input path only. `clock` (seconds) ages
        the open batch.
        """
        path = Path(path)
        portal = normalise_portal(portal)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = RunLock.acquire(_beside(path, ".lock"), journal=path, argv=argv)
        except OSError as err:
            raise ConfigError(
                f"journal {path} cannot be opened: {err.strerror or err}",
                "check the folder's permissions, or use --state PATH elsewhere",
            ) from None
        try:
            key = _load_key(_beside(path, ".key"))
            conn = db.connect(path)
        except BaseException:
            lock.release()
            raise
        try:
            start = db.new_generation if fresh else db.current_generation
            return cls(path, portal, conn, lock, key, start(conn, portal), clock)
        except BaseException:
            conn.close()
            lock.release()
            raise

    @property
    def digest_key(self) -> bytes:
        """Return the key that row_digest() needs for this journal."""
        return self._key

    @property
    def took_over_from(self) -> dict[str, Any] | None:
        """Return what a killed earlier run left in the lock, for the runner to log: its pid,
        start, host and command, nothing else the file may hold."""
        left = self._lock.took_over_from
        return None if left is None else {k: left[k] for k in _HOLDER_KEYS if k in left}

    def lookup(self, portal_user: str, email: str) -> Entry | None:
        """Return the entry of (portal_user, email) in this portal, case-insensitively."""
        args = (self.generation, portal_user.lower(), email.lower())
        found = self._conn.execute(db.SELECT_ONE, args).fetchone()
        return None if found is None else _entry(found)

    def mark_in_flight(
        self,
        portal_user: str,
        email: str,
        *,
        row: int,
        digest: str,
        cells: Mapping[str, str] | None = None,
    ) -> None:
        """Record that the create is about to be sent; committed before it returns.

        The commit takes the outcomes recorded since the last one along. A commit per mark
        costs ~0.06 ms in WAL mode; gathering the marks of many workers into one commit
        cost more than that in event-loop passes, and delayed every create behind them.
        """
        self._upsert(portal_user, email, ("in-flight", None, "", "", 0, digest, row, 0), cells)
        self.flush()

    def record(
        self,
        portal_user: str,
        email: str,
        *,
        state: str,
        row: int,
        digest: str,
        mailbox_id: int | None = None,
        code: str = "",
        message: str = "",
        permanent: bool = False,
        attempts: int = 0,
        cells: Mapping[str, str] | None = None,
    ) -> None:
        """Record an outcome; committed with the next batch (<= 100 rows or ~0.2 s) or flush()."""
        if state not in STATES or state == "in-flight":
            raise ValueError(f"record() takes a final state, not {state!r}")
        if message:  # most outcomes have none: nothing to scrub
            message = scrub(message, secret_values(cells) if cells else ())
        outcome = (state, mailbox_id, code, message, int(permanent), digest, row, attempts)
        self._upsert(portal_user, email, outcome, cells)
        self._pending += 1
        if self._pending >= BATCH_ROWS or self._clock() - self._oldest >= BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Commit what has been recorded so far."""
        if self._conn.in_transaction:
            try:
                self._conn.commit()
            except sqlite3.OperationalError as err:
                raise _write_error(self.path, err) from None
        self._pending = 0

    def in_flight(self) -> list[Entry]:
        """Return this portal's entries left in flight (by a kill), in row order."""
        found = self._conn.execute(db.SELECT_STATE, (self.generation, "in-flight"))
        return [_entry(values) for values in found]

    def stats(self) -> dict[str, int]:
        """Return how many entries of this portal are in each state (absent states left out)."""
        return dict(self._conn.execute(db.COUNT_STATES, (self.generation,)).fetchall())

    def close(self) -> None:
        """Commit, close the file and release the run lock; a second call does nothing."""
        if not self._lock.held:
            return
        try:
            self.flush()
        finally:
            self._conn.close()
            self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _upsert(
        self,
        portal_user: str,
        email: str,
        outcome: tuple[object, ...],
        cells: Mapping[str, str] | None,
    ) -> None:
        """Write one entry in the open batch; outcome is state .. attempts in UPSERT's order."""
        safe = None if cells is None else _safe_cells(cells)
        args = (self.generation, portal_user.lower(), email.lower(), *outcome, safe, _now())
        try:
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN")
                self._oldest = self._clock()
            self._conn.execute(db.UPSERT, args)
        except sqlite3.OperationalError as err:
            raise _write_error(self.path, err) from None


def _entry(values: tuple[Any, ...]) -> Entry:
    fields = list(values)
    fields[6] = bool(fields[6])  # SQLite stores permanent as 0/1
    return Entry(*fields)


def _safe_cells(cells: Mapping[str, str]) -> str:
    """Return the row as JSON with every non-blank secret cell masked."""
    return json.dumps(masked_cells(cells), ensure_ascii=False)


def _load_key(path: Path) -> bytes:
    """Read the digest key, creating it (0600, written whole) on first use."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = secrets.token_bytes(_KEY_BYTES)
        temp = _beside(path, ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key.hex() + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)  # a kill mid-write never leaves a half key under the real name
        return key
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"journal key {path} cannot be read: {err}", _MOVE_AWAY) from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != _KEY_BYTES:
        raise ConfigError(f"journal key {path} is damaged", _MOVE_AWAY)
    return key


_MOVE_AWAY: Final = "move the journal and its .key file away, or use another --state PATH"


def _write_error(path: Path, err: sqlite3.OperationalError) -> AbortError:
    return AbortError(
        f"journal {path} could not be written: {err}",
        "free disk space or fix the folder, then run the same command again to finish",
    )


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
