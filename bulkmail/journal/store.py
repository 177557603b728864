"""The crash-safe record of outcomes, in SQLite, so that re-running a command finishes the rest.

One file (default `DEFAULT_PATH`) in WAL mode with `synchronous=NORMAL`: a commit
is in the WAL before it returns, so it survives a kill of the process at any point; only a
power loss or OS crash can drop the last few commits (WAL is fsynced at checkpoints), which
at worst re-sends rows that the portal upserts anyway. Entries are keyed by (portal URL,
portal user, email) and never hold a secret: secret cells are masked, and the row digest is
an HMAC whose key lives beside the journal in `<journal>.key`, not in it.

Beside the journal: `<journal>.key` (the digest key) and `<journal>.lock` (the run lock), all
owner-only (0600, in a folder made 0700), none opened through a symbolic link (bulkmail.files).
A journal that fails once a run has started (a full disk, a damaged page, another program's
lock) fails every later call with the same AbortError (exit 3), kept in `failure`.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from bulkmail import files
from bulkmail.errors import AbortError
from bulkmail.journal import db, failures
from bulkmail.journal.db import beside, normalise_portal
from bulkmail.journal.key import load_key
from bulkmail.journal.lock import RunLock
from bulkmail.portal.lowering import mailbox_key
from bulkmail.secrets import masked_cells, scrub, secret_values
from bulkmail.settings import DEFAULT_STATE
from bulkmail.times import local_now

__all__ = ["DEFAULT_PATH", "STATES", "Entry", "Journal", "normalise_portal", "row_digest"]

DEFAULT_PATH: Final = DEFAULT_STATE  # declared with the run settings
STATES: Final = frozenset({"in-flight", "created", "updated", "skipped", "failed"})
BATCH_ROWS: Final = 100  # commit after this many records ...
BATCH_SECONDS: Final = 0.2  # ... or when the oldest uncommitted one is this old
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
    updated_at: str  # ISO 8601 UTC: 2026-11-23T19:40:01Z (bulkmail.times.from_journal shows it)
    stage: str = ""  # a failure's models.Stage value, as its report said; "" if not known


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
        self.failure: AbortError | None = None
        """What made the journal fail part-way (then every later call raises it), else None."""
        self.started_empty = False
        """Whether open() found a 0-byte file where the journal was, and started it anew."""
        self.set_aside: Path | None = None
        """Where open(fresh=True) moved a damaged journal, else None."""

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
        if not path.name:  # "/", ".", "": a folder, and no name to put the lock file beside
            folder = IsADirectoryError(errno.EISDIR, "it is a folder: give --state a file's path")
            raise failures.opening(path, folder)
        portal = normalise_portal(portal)
        lock = _take_lock(path, argv)
        try:
            key = load_key(beside(path, ".key"))
            empty = _is_empty(path)
            conn, set_aside = _connect(path, fresh)
        except BaseException:
            lock.release()
            raise
        try:
            start = db.new_generation if fresh else db.current_generation
            journal = cls(path, portal, conn, lock, key, start(conn, portal), clock)
        except BaseException as err:
            conn.close()
            lock.release()
            if isinstance(err, sqlite3.Error):
                raise failures.opening(path, err) from None
            raise
        journal.started_empty, journal.set_aside = empty and set_aside is None, set_aside
        return journal

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
        args = (self.generation, portal_user.lower(), mailbox_key(email))
        found = self._read(db.SELECT_ONE, args)
        return None if not found else _entry(found[0])

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
        stage: str = "",
    ) -> None:
        """Record an outcome; committed with the next batch (<= 100 rows or ~0.2 s) or flush().

        `stage`: where a failure happened (models.Stage value), so that a re-run reports the
        row kept failed at the same stage as the run that failed it.
        """
        if state not in STATES or state == "in-flight":
            raise ValueError(f"record() takes a final state, not {state!r}")
        if message:  # most outcomes have none: nothing to scrub
            message = scrub(message, secret_values(cells) if cells else ())
        outcome = (state, mailbox_id, code, message, int(permanent), digest, row, attempts)
        self._upsert(portal_user, email, outcome, cells, stage)
        self._pending += 1
        if self._pending >= BATCH_ROWS or self._clock() - self._oldest >= BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Commit what has been recorded so far; AbortError if the journal failed."""
        self._check()
        if self._conn.in_transaction:
            try:
                self._conn.commit()
            except sqlite3.Error as err:
                raise self._fail(err) from None
        self._pending = 0

    def in_flight(self) -> list[Entry]:
        """Return this portal's entries left in flight (by a kill), in row order."""
        return [
            _entry(values) for values in self._read(db.SELECT_STATE, (self.generation, "in-flight"))
        ]

    def stats(self) -> dict[str, int]:
        """Return how many entries of this portal are in each state (absent states left out)."""
        return dict(self._read(db.COUNT_STATES, (self.generation,)))

    def close(self) -> None:
        """Commit, close the file and release the run lock; a second call does nothing.

        After a failure nothing more is committed: what the file holds stays as it was.
        """
        if not self._lock.held:
            return
        try:
            if self.failure is None:
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
        stage: str = "",
    ) -> None:
        """Write one entry in the open batch; outcome is state .. attempts in UPSERT's order."""
        self._check()
        safe = None if cells is None else _safe_cells(cells)
        user, mail = portal_user.lower(), mailbox_key(email)  # as the portal keys it, in NFC
        args = (self.generation, user, mail, *outcome, safe, _now(), stage)
        try:
            if not self._conn.in_transaction:
                self._conn.execute("BEGIN")
                self._oldest = self._clock()
            self._conn.execute(db.UPSERT, args)
        except sqlite3.Error as err:
            raise self._fail(err) from None

    def _read(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        self._check()
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as err:
            raise self._fail(err, "read") from None

    def _check(self) -> None:
        """Raise the journal's failure again, if it failed."""
        if self.failure is not None:
            raise AbortError(self.failure.message, self.failure.hint)

    def _fail(self, err: sqlite3.Error, done: str = "written") -> AbortError:
        """Remember the first failure, and return it to raise."""
        if self.failure is None:
            self.failure = failures.failing(self.path, err, done)
        return AbortError(self.failure.message, self.failure.hint)


def _entry(values: tuple[Any, ...]) -> Entry:
    fields = list(values)
    fields[6] = bool(fields[6])  # SQLite stores permanent as 0/1
    return Entry(*fields)


def _safe_cells(cells: Mapping[str, str]) -> str:
    """Return the row as JSON with every non-blank secret cell masked."""
    return json.dumps(masked_cells(cells), ensure_ascii=False)


def _take_lock(path: Path, argv: Sequence[str]) -> RunLock:
    """Make the journal's folder (0700) if it is missing and take the run lock in it."""
    try:
        files.make_folder(path.parent, exist_ok=True)
        return RunLock.acquire(beside(path, ".lock"), journal=path, argv=argv)
    except OSError as err:
        raise failures.opening(path, err) from None


def _is_empty(path: Path) -> bool:
    """Return whether the journal is a 0-byte file (and no WAL holds its content)."""
    try:
        if path.lstat().st_size:
            return False
        wal = beside(path, "-wal")
        return not wal.exists() or wal.lstat().st_size == 0
    except FileNotFoundError:
        return False


def _connect(path: Path, fresh: bool) -> tuple[sqlite3.Connection, Path | None]:
    """Return the open journal, and where --fresh moved a damaged one (else None)."""
    try:
        return db.connect(path), None
    except failures.DamagedError:
        if not fresh:
            raise
    aside = beside(path, local_now().strftime(".damaged-%Y%m%dT%H%M%S%z"))
    try:
        for suffix in ("-wal", "-shm", ""):  # the WAL goes with the file it belongs to
            if os.path.lexists(beside(path, suffix)):
                os.replace(beside(path, suffix), beside(aside, suffix))
    except OSError as err:
        raise failures.opening(path, err) from None
    return db.connect(path), aside


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
