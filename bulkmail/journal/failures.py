"""What a failing journal file means to the user: one line naming the file, the cause, the fix.

At the start nothing was sent, so a journal that cannot be opened stops the run with exit 2
(ConfigError); once rows are being sent, a journal that fails stops the run with exit 3
(AbortError) after the report of what happened. The causes come from SQLite's result codes
(`sqlite3.Error.sqlite_errorname`, Python 3.11+) or the OS error of a file bulkmail opens
itself (the lock and the key).
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import Final

from bulkmail.errors import AbortError, ConfigError
from bulkmail.files import reason

DAMAGED: Final = ("SQLITE_CORRUPT", "SQLITE_NOTADB")  # and their extended codes
FRESH: Final = (
    "run the same command with --fresh to set it aside and start a new journal (rows "
    "created earlier are then found on the portal and skipped), or use another --state PATH"
)
NOT_OURS: Final = "move it away (--fresh cannot repair it), or use another --state PATH"
_HEADER: Final = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file
_RESUME: Final = "then run the same command again: it finishes the rest"


class DamagedError(ConfigError):
    """The journal file is damaged (SQLite finds a bad page or no database at all)."""


def is_damaged(err: sqlite3.Error) -> bool:
    """Return whether SQLite's error says the file is damaged."""
    return _name(err).startswith(DAMAGED)


def is_sqlite(path: Path) -> bool:
    """Return whether the file starts as every SQLite database does."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(_HEADER)) == _HEADER
    except OSError:
        return False


def opening(path: Path, err: sqlite3.Error | OSError) -> ConfigError:
    """Return the error (exit 2) for a journal that cannot be opened or set up."""
    if isinstance(err, sqlite3.Error) and is_damaged(err):
        if not is_sqlite(path):  # a spreadsheet given as --state: not for --fresh to move
            return ConfigError(f"journal {path} is not usable: {err}", NOT_OURS)
        return DamagedError(f"journal {path} is damaged ({err})", FRESH)
    cause, fix = _cause(err)
    return ConfigError(f"journal {path} cannot be used: {_which(path, err)}{cause}", fix)


def failing(path: Path, err: sqlite3.Error | OSError, done: str = "written") -> AbortError:
    """Return the error (exit 3) for a journal that could not be `done` ("written", "read")
    while rows were being sent."""
    if isinstance(err, sqlite3.Error) and is_damaged(err):
        return AbortError(f"journal {path} is damaged ({err}); the run stopped", FRESH)
    cause, fix = _cause(err)
    return AbortError(
        f"journal {path} could not be {done}: {cause}; the run stopped", f"{fix}, {_RESUME}"
    )


def _which(path: Path, err: sqlite3.Error | OSError) -> str:
    """Return "NAME: " when an OS error is about another file than the journal (its lock)."""
    name = getattr(err, "filename", None)
    return f"{name}: " if name and Path(name) != path else ""


def _cause(err: sqlite3.Error | OSError) -> tuple[str, str]:
    """Return (what happened, what to do) for an SQLite or OS error."""
    if isinstance(err, OSError):
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return "the disk is full", "free some space, or use --state PATH on another disk"
        return reason(err), "fix the file or its folder, or use another --state PATH"
    name = _name(err)
    if name.startswith("SQLITE_FULL"):
        return "the disk is full", "free some space, or use --state PATH on another disk"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return (
            "another program holds it locked (an sqlite3 shell?)",
            "close that program",
        )
    if name.startswith("SQLITE_READONLY"):
        return "it is read-only", "make it and its folder writable, or use another --state PATH"
    if name.startswith("SQLITE_IOERR"):
        return f"the disk failed ({err})", "check the disk, or use --state PATH on another disk"
    return str(err), "fix the file or its folder, or use another --state PATH"


def _name(err: sqlite3.Error) -> str:
    return str(getattr(err, "sqlite_errorname", "") or "")
