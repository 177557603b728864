"""The journal's SQLite layer: connection set-up, schema, generations and statements.

Split from journal.py so that file reads as the API; nothing here knows about outcomes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from bulkmail import files
from bulkmail.errors import ConfigError
from bulkmail.journal import failures
from bulkmail.journal.rekey import rekey

SCHEMA_VERSION: Final = 3
"""2 added entries.stage (where a failure happened, as its report said); 3 keys an entry's
email as the portal keys the address (`portal.lowering.mailbox_key`, not Python's
str.lower()). An older journal is upgraded when it is opened (`_upgrade`): its entries'
stage left blank, their emails keyed anew (`journal.rekey`)."""
APPLICATION_ID: Final = 0x626D6A6C  # "bmjl": marks the file as a bulkmail journal
BUSY_TIMEOUT_MS: Final = 5000  # another reader (the sqlite3 shell) may hold it briefly

# One generation per (portal, --fresh): --fresh opens a new one, so older entries stay
# inspectable but are no longer looked up. Entries are keyed by (generation, user, email);
# that primary key is the index that keeps every lookup and upsert O(log n).
SCHEMA: Final = """
CREATE TABLE generations (
    id INTEGER PRIMARY KEY,
    portal TEXT NOT NULL,
    started_at TEXT NOT NULL
);
CREATE INDEX generations_portal ON generations (portal, id);
CREATE TABLE entries (
    generation INTEGER NOT NULL REFERENCES generations (id),
    portal_user TEXT NOT NULL,
    email TEXT NOT NULL,
    state TEXT NOT NULL,
    mailbox_id INTEGER,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    permanent INTEGER NOT NULL,
    digest TEXT NOT NULL,
    row INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    cells TEXT,
    updated_at TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (generation, portal_user, email)
) WITHOUT ROWID;
"""

_COLUMNS: Final = (
    "portal_user, email, state, mailbox_id, code, message, permanent, digest, row, attempts, "
    "updated_at, stage"
)
SELECT_ONE: Final = (
    f"SELECT {_COLUMNS} FROM entries WHERE generation = ? AND portal_user = ? AND email = ?"
)
SELECT_STATE: Final = (
    f"SELECT {_COLUMNS} FROM entries WHERE generation = ? AND state = ? ORDER BY row"
)
COUNT_STATES: Final = (
    "SELECT state, count(*) FROM entries WHERE generation = ? GROUP BY state ORDER BY state"
)
# cells: a record without cells keeps the ones an earlier write stored.
UPSERT: Final = """
INSERT INTO entries (generation, portal_user, email, state, mailbox_id, code, message,
                     permanent, digest, row, attempts, cells, updated_at, stage)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (generation, portal_user, email) DO UPDATE SET
    state = excluded.state, mailbox_id = excluded.mailbox_id, code = excluded.code,
    message = excluded.message, permanent = excluded.permanent, digest = excluded.digest,
    row = excluded.row, attempts = excluded.attempts,
    cells = coalesce(excluded.cells, entries.cells), updated_at = excluded.updated_at,
    stage = excluded.stage
"""

_MOVE_AWAY: Final = failures.NOT_OURS


def connect(path: Path) -> sqlite3.Connection:
    """Open the journal file in WAL mode, creating it and its schema, or checking both.

    Raises ConfigError naming the file, what is wrong and the fix (DamagedError for a file
    SQLite finds damaged: `PRAGMA quick_check` reads every page, ~0.1 s for 300,000 entries).
    """
    try:
        _prepare(path)
        # isolation_level=None: store.py opens and commits its batches itself.
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except (OSError, sqlite3.Error) as err:
        raise failures.opening(path, err) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: each commit is in the WAL file when it returns (it survives a
        # process kill); fsync happens at checkpoints, so only a power loss can lose the tail.
        conn.execute("PRAGMA synchronous = NORMAL")
        found = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        if found != "ok":
            raise failures.DamagedError(f"journal {path} is damaged ({found})", failures.FRESH)
        _check_schema(conn, path)
    except BaseException as err:
        conn.close()
        if isinstance(err, sqlite3.Error):
            raise failures.opening(path, err) from None
        raise
    return conn


def _prepare(path: Path) -> None:
    """Create the journal owner-only before SQLite does (its -wal and -shm copy the mode),
    and refuse a symbolic link where any of the three files goes."""
    for name in (path, beside(path, "-wal"), beside(path, "-shm")):
        files.refuse_link(name)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a folder: give --state a file's path")
    with contextlib.suppress(FileExistsError):  # then SQLite checks what it is
        os.close(files.create(path))


def beside(path: Path, suffix: str) -> Path:
    """Return the path of a file beside the journal: `journal.sqlite` + `suffix`."""
    return path.with_name(path.name + suffix)


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if app_id == 0 and tables == 0:
        conn.executescript(
            f"BEGIN; {SCHEMA} PRAGMA application_id = {APPLICATION_ID};"
            f" PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        )
    elif app_id != APPLICATION_ID:
        raise ConfigError(f"{path} is an SQLite file but not a bulkmail journal", _MOVE_AWAY)
    elif version in (1, 2):
        _upgrade(conn, version)
    elif version != SCHEMA_VERSION:
        raise ConfigError(
            f"journal {path} has schema version {version}; this bulkmail reads version "
            f"{SCHEMA_VERSION}",
            "use the bulkmail version that wrote it, or " + _MOVE_AWAY,
        )


def _upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Bring a version 1 or 2 journal to version 3 (one transaction: all of it or none)."""
    conn.execute("BEGIN")
    try:
        if version == 1:
            conn.execute("ALTER TABLE entries ADD COLUMN stage TEXT NOT NULL DEFAULT ''")
        rekey(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def current_generation(conn: sqlite3.Connection, portal: str) -> int:
    """Return the portal's newest generation, starting the first one if it has none."""
    found = conn.execute("SELECT max(id) FROM generations WHERE portal = ?", (portal,)).fetchone()[
        0
    ]
    return found if found is not None else new_generation(conn, portal)


def new_generation(conn: sqlite3.Connection, portal: str) -> int:
    """Start a new generation for the portal (what --fresh does) and return its id."""
    cursor = conn.execute(
        "INSERT INTO generations (portal, started_at) VALUES (?, strftime(?, 'now'))",
        (portal, "%Y-%m-%dT%H:%M:%SZ"),
    )
    assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
    return cursor.lastrowid


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def normalise_portal(url: str) -> str:
    """Return the journal's key for a portal URL: scheme://host[:port]/path, no trailing slash.

    Scheme and host are lower-cased, a default port and any user:password@ are dropped, a
    bare host means https.
    """
    text = url.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(
            f"portal URL {url!r} has an invalid port",
            "e.g. https://portal.example.com or https://10.0.0.5:8443",
        ) from None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"
