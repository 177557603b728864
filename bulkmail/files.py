"""Files that hold people's data or secrets: owner-only, never through a link, replaced whole.

Everything bulkmail writes of that kind (the report folder and its files, the journal, its
key and lock, the simulator's state file) is made here or with these modes. Modes are set
with chmod after creation, so they hold whatever the umask. A file bulkmail creates is opened
with O_NOFOLLOW (and O_EXCL when it must be new): a symbolic link planted under that name is
refused (ELOOP), never written through. Only the last component is guarded: the folder a
user names (`--report-dir`, `--state`'s folder) may itself be a link. POSIX only.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

ReportMode = Literal["owner", "group"]


@dataclass(frozen=True, slots=True)
class Access:
    """Permission bits for the folders and files bulkmail creates."""

    folder: int
    file: int


OWNER: Final = Access(folder=0o700, file=0o600)
GROUP: Final = Access(folder=0o750, file=0o640)  # --report-mode group: a group may read
ACCESS: Final[dict[ReportMode, Access]] = {"owner": OWNER, "group": GROUP}

_NEW: Final = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def make_folder(path: Path, mode: int = OWNER.folder, *, exist_ok: bool = False) -> bool:
    """Create `path` (and missing parents) with exactly `mode`; return whether it was made.

    A folder that already exists keeps its mode: it is the user's. FileExistsError when it
    exists and `exist_ok` is false, as os.mkdir does.
    """
    if exist_ok and path.is_dir():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=mode)
    except FileExistsError:
        if exist_ok and path.is_dir():
            return False  # made by someone else meanwhile
        raise
    # mkdir's mode is cut by the umask. A set-group-ID bit inherited from the parent stays:
    # it is how a group given to the report folder reaches every run's folder and file.
    os.chmod(path, mode | (path.stat().st_mode & stat.S_ISGID))
    return True


def create(path: Path, mode: int = OWNER.file, *, flags: int = os.O_WRONLY) -> int:
    """Create the new file `path` with exactly `mode` and return its descriptor.

    O_EXCL | O_NOFOLLOW: FileExistsError if anything (a link included) is there already.
    """
    fd = os.open(path, flags | _NEW, mode)
    try:
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_or_create(path: Path, mode: int = OWNER.file) -> int:
    """Open `path` read-write, creating it with exactly `mode`; never through a link.

    OSError(ELOOP) for a symbolic link, OSError(EINVAL) for anything but a regular file.
    """
    try:
        return create(path, mode, flags=os.O_RDWR)
    except FileExistsError:
        pass
    fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return fd


def refuse_link(path: Path) -> None:
    """Raise OSError(ELOOP) if `path` is a symbolic link (a missing path is fine)."""
    if path.is_symlink():
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))


def replace(path: Path, data: bytes, mode: int = OWNER.file) -> None:
    """Write `data` to `path` atomically: a private temporary file, fsynced, then renamed."""
    with replacing(path, mode) as temporary:
        fd = os.open(temporary, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())


@contextmanager
def replacing(path: Path, mode: int = OWNER.file) -> Iterator[Path]:
    """Yield a new private file's path beside `path`; on success give it `mode` and rename it
    over `path` (atomic), on failure remove it.

    The temporary name is random and made with O_EXCL | O_NOFOLLOW (tempfile.mkstemp), so
    no planted link can receive what is written. A writer that replaces the file it is
    given (an XLSX engine) is fine: the mode is set again before the rename.
    """
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def reason(err: OSError) -> str:
    """Return why an OS call failed, in words: a planted link and a full disk say so."""
    if err.errno == errno.ELOOP:
        return "it is a symbolic link, and bulkmail never follows one there"
    if err.errno == errno.EEXIST:
        return "something is already there under that name"
    return err.strerror or str(err)
