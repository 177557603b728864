"""Errors that stop a run. A bad row or a failed create is an Outcome, never one of these."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


class BulkmailError(Exception):
    """Base of everything that stops a run; the CLI prints `str(err)` and exits `exit_code`."""

    exit_code = 2
    report_folder: Path | None = None
    """The run's report folder, when the run stopped after making it (its summary.json was
    tried there); None: the command line writes a summary.json of the error in a new one."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(BulkmailError):
    """The input file cannot be used: missing, unreadable, empty, required columns absent."""


class ConfigError(BulkmailError):
    """Options or configuration are unusable: a bad --set, a missing password, a bad URL."""


class LockedError(BulkmailError):
    """Another run holds the journal."""


class AbortError(BulkmailError):
    """The run was aborted part-way (fatal portal answer such as 402); a report was written."""

    exit_code = 3


@contextlib.contextmanager
def one_error() -> Iterator[None]:
    """Raise the one error of a task group's ExceptionGroup as itself: a BulkmailError is
    then the command line's one line (and its exit code), and a library caller catches what
    it raised, not an ExceptionGroup around it. Groups of several errors pass as they are."""
    try:
        yield
    except ExceptionGroup as group:
        leaves = list(_leaves(group))
        if len(leaves) != 1:
            raise
        raise leaves[0] from None


def _leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            yield from _leaves(error)
        else:
            yield error
