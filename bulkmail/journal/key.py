"""The journal's digest key, `<journal>.key`: 32 random bytes as hex, owner-only (0600).

Kept beside the journal, not in it, so a copy of the journal alone cannot test guesses of a
row's passwords against its digest. Created once, atomically (a private temporary file
renamed over the name), and never read or written through a symbolic link.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Final

from bulkmail import files
from bulkmail.errors import ConfigError

KEY_BYTES: Final = 32
_MOVE_AWAY: Final = "move the journal and its .key file away, or use another --state PATH"


def load_key(path: Path) -> bytes:
    """Return the key at `path`, creating it on first use.

    Raises ConfigError for a key that is damaged, a link, or cannot be read or written.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return _create(path)
    except OSError as err:
        raise ConfigError(
            f"journal key {path} cannot be read: {files.reason(err)}", _MOVE_AWAY
        ) from None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(4 * KEY_BYTES)
    try:
        key = bytes.fromhex(data.decode("ascii").strip())
    except ValueError:  # UnicodeDecodeError included
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(f"journal key {path} is damaged", _MOVE_AWAY)
    return key


def _create(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    try:
        # A kill mid-write never leaves half a key under the real name.
        files.replace(path, key.hex().encode("ascii") + b"\n")
    except OSError as err:
        raise ConfigError(
            f"journal key {path} cannot be written: {files.reason(err)}",
            "free some space or fix the folder, or use another --state PATH",
        ) from None
    return key
