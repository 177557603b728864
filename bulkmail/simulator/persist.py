"""The optional state file: an SQLite copy of users and mailboxes, written as they change.

Written through on every change, so a rehearsal can be inspected while it runs and a killed
simulator loses nothing. Passwords are not in it: users keep a salted digest, mailboxes none.
It holds logins and mailbox settings all the same, so it is created owner-only (0600, and
SQLite gives its -wal and -shm the same mode), never through a symbolic link planted at its
name (bulkmail.files); the folder it is in may be a link.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any

from bulkmail import files
from bulkmail.errors import ConfigError
from bulkmail.simulator.facts import ENCRYPTION_NAMES
from bulkmail.simulator.state import Mailbox, User

_USER_COLUMNS = tuple(f.name for f in fields(User))
_MAILBOX_COLUMNS = tuple(f.name for f in fields(Mailbox))
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS users ({", ".join(f'"{c}"' for c in _USER_COLUMNS)},
    PRIMARY KEY ("login"));
CREATE TABLE IF NOT EXISTS mailboxes ({", ".join(f'"{c}"' for c in _MAILBOX_COLUMNS)},
    PRIMARY KEY ("id"));
"""


def _upsert(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"


_SAVE_USER = _upsert("users", _USER_COLUMNS)
_SAVE_MAILBOX = _upsert("mailboxes", _MAILBOX_COLUMNS)


def _rows(db: sqlite3.Connection, path: Path) -> tuple[list[User], list[Mailbox]]:
    try:
        users = [User(*_typed(User, row)) for row in db.execute("SELECT * FROM users")]
        boxes = [Mailbox(*_typed(Mailbox, row)) for row in db.execute("SELECT * FROM mailboxes")]
    except (sqlite3.Error, TypeError, ValueError) as err:
        raise ConfigError(f"{path}: not a simulator state file: {err}") from None
    return users, boxes


def _typed(kind: type[Any], row: tuple[Any, ...]) -> list[Any]:
    # SQLite gives booleans back as 0/1; the JSON answers must say true/false again.
    return [bool(v) if f.type == "bool" else v for f, v in zip(fields(kind), row, strict=True)]


class StateFile:
    """An open state file; the simulator's Store calls it on every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            for name in (
                path,
                path.with_name(f"{path.name}-wal"),
                path.with_name(f"{path.name}-shm"),
            ):
                files.refuse_link(name)
            with contextlib.suppress(FileExistsError):  # an existing one: SQLite checks it
                os.close(files.create(path))
        except OSError as err:
            raise ConfigError(f"{path}: not a usable state file: {files.reason(err)}") from None
        try:
            # The server thread writes while the thread that built the app closes it.
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;" + _SCHEMA)
        except sqlite3.Error as err:
            raise ConfigError(f"{path}: not a usable state file: {err}") from None

    def load(self) -> tuple[list[User], list[Mailbox]]:
        """Return the users and mailboxes the file holds."""
        return _rows(self._db, self.path)

    def save_user(self, user: User) -> None:
        """Write one user (only provisioned users need it; configured ones come from the file)."""
        self._db.execute(_SAVE_USER, astuple(user))

    def save_mailbox(self, mailbox: Mailbox) -> None:
        """Write one mailbox as it now is."""
        self._db.execute(_SAVE_MAILBOX, astuple(mailbox))

    def clear(self) -> None:
        """Delete everything (POST /_sim/reset)."""
        self._db.executescript("DELETE FROM users; DELETE FROM mailboxes;")

    def close(self) -> None:
        """Close the file."""
        self._db.close()


def read_state(path: Path) -> tuple[list[User], list[Mailbox]]:
    """Return what the state file at `path` holds, for `bulkmail simulate --show`."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such state file")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return _rows(db, path)
    finally:
        db.close()


def describe(path: Path) -> Iterator[str]:
    """Yield the lines that `bulkmail simulate --show FILE` prints: mailboxes by user."""
    users, mailboxes = read_state(path)
    removed = sum(m.removed for m in mailboxes)
    owners = sorted({m.user for m in mailboxes})
    yield (
        f"{path}: {len(mailboxes) - removed} mailboxes ({removed} removed) of {len(owners)} users;"
        f" {len(users)} users provisioned by logging in"
    )
    for owner in owners:
        yield owner
        for m in sorted((m for m in mailboxes if m.user == owner), key=lambda m: m.id):
            yield "  " + _line(m)


def _line(m: Mailbox) -> str:
    incoming = "IMAP" if m.imap else "POP3"
    state = "removed" if m.removed else ("enabled" if m.enabled else "disabled")
    return (
        f"#{m.id} {m.email} name={m.name!r} {incoming} {m.account}@{m.server}:{m.port} "
        f"{ENCRYPTION_NAMES.get(m.incoming_encryption_type, m.incoming_encryption_type)} "
        f"SMTP {m.smtp_account}@{m.smtp_server}:{m.smtp_port} "
        f"{ENCRYPTION_NAMES.get(m.outcoming_encryption_type, m.outcoming_encryption_type)} "
        f"auth={'on' if m.smtp_auth else 'off'} {state} created {m.date_created}"
    )
