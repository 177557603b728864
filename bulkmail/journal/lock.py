"""The run lock: one bulkmail run per journal, held with flock for the run's life.

The lock is `<journal>.lock`, locked with `fcntl.flock(LOCK_EX | LOCK_NB)`. Its content names
the holder (pid, start time, host, sub-command and input path) so that a second run can say
who is in the way. The kernel drops a flock when its holder dies, however it dies, so a lock
file left by a killed run is not held: the next run simply takes it over and reports what it
found. POSIX only (fcntl); Windows is out of scope.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bulkmail import files
from bulkmail.errors import LockedError
from bulkmail.times import from_journal, now_iso

# The holder writes its details just after taking the flock; a rival that reads in between
# sees an empty file, so it looks again a few times (at most ~0.1 s) before giving up.
_READ_TRIES = 5
_READ_PAUSE = 0.02


class RunLock:
    """An exclusive flock on `<journal>.lock`; release() (or the with block) gives it back."""

    def __init__(self, path: Path, fd: int, took_over_from: dict[str, Any] | None) -> None:
        self.path = path
        self._fd: int | None = fd
        self.took_over_from = took_over_from
        """What a killed earlier run left in the lock file, for the runner to log; else None."""

    @classmethod
    def acquire(cls, path: Path, *, journal: Path, argv: Sequence[str] = ()) -> RunLock:
        """Take the lock at `path` or raise LockedError naming the run that holds it.

        `argv` is written into the lock for the rival's message: pass only the sub-command
        and the input path, never an option that could carry a secret.
        """
        fd = files.open_or_create(path)  # owner-only; a link planted there is refused
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _locked_error(path, journal) from None
        except BaseException:
            os.close(fd)
            raise
        took_over_from = _parse(_read(fd)) or None
        _write(fd, _holder(argv))
        return cls(path, fd, took_over_from)

    @property
    def held(self) -> bool:
        """Return whether this object still holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Empty the lock file and give the lock back; a second call does nothing."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            # Emptied, never unlinked: unlinking a flock'ed file lets two runs each lock a
            # different inode under the same name. An empty file means "released cleanly".
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def describe(holder: dict[str, Any]) -> str:
    """Return "pid 4242, started 2026-11-23 22:40:01+03:00" for a lock's content (its time in
    local time, whatever zone the run that took the lock had)."""
    pid = holder.get("pid", "unknown")
    started = from_journal(str(holder.get("started_at", ""))).replace("T", " ")
    text = f"pid {pid}" + (f", started {started}" if started else "")
    host = holder.get("host")
    if host and host != socket.gethostname():
        text += f", on {host}"
    return text


def _locked_error(path: Path, journal: Path) -> LockedError:
    holder: dict[str, Any] = {}
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            for _ in range(_READ_TRIES):
                holder = _parse(_read(fd))
                if holder:
                    break
                time.sleep(_READ_PAUSE)
        finally:
            os.close(fd)
    who = describe(holder) if holder else "pid unknown, it is just starting"
    return LockedError(
        f"journal {journal} is in use by another bulkmail run ({who})",
        "wait for it to finish, or give this run its own --state PATH",
    )


def _holder(argv: Sequence[str]) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "started_at": now_iso(),
        "host": socket.gethostname(),
        "argv": list(argv),
    }


def _read(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 64 * 1024)


def _parse(data: bytes) -> dict[str, Any]:
    """Return the lock's JSON object, or {} when it is empty or not ours."""
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _write(fd: int, holder: dict[str, Any]) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(holder).encode() + b"\n")
