"""Progress for people and for logs: a rich bar on a terminal, a periodic line otherwise.

Both show the rows done, failed and skipped, the rate, the elapsed time and the time left,
and the creates allowed in flight now (`limit`), which adaptive concurrency moves. The rate
and the time left count only this run's work (rows sent): after a resume, the rows the
journal settles arrive at once and would otherwise read as thousands of rows a second.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import anyio
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
)
from rich.text import Text

from bulkmail.models import Outcome, Status

_SKIPPED, _FAILED = Status.SKIPPED, Status.FAILED
_WOULD = frozenset({Status.WOULD_CREATE, Status.WOULD_UPDATE})


def sent(outcome: Outcome) -> bool:
    """Return whether a row was this run's work: the pool stamps `elapsed` (seconds, to the
    millisecond) on each row it handles and a send counts `attempts`; a dry run's row, which
    may take under a millisecond, counts by its status. Rows settled before any of that
    (invalid, settled by the journal, refused before sending) are not work."""
    return outcome.elapsed > 0 or outcome.attempts > 0 or outcome.status in _WOULD


def clock(seconds: float | None) -> str:
    """Return `0:01:05` for 65 seconds, `-:--:--` when not known."""
    if seconds is None:
        return "-:--:--"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _rate(rate: float) -> str:
    """Return rows/s as the bar shows them: `12.3`, or `0.25` for a slow run."""
    return f"{rate:.1f}" if rate >= 1 else f"{rate:.2f}"


class _Clock(ProgressColumn):
    """A labelled time read from the progress when drawn (so it moves between rows too)."""

    def __init__(self, label: str, seconds: Callable[[], float | None]) -> None:
        super().__init__()
        self._label, self._seconds = label, seconds

    def render(self, task: Task) -> Text:
        return Text(f"{self._label} {clock(self._seconds())}", style="progress.elapsed")


class RunProgress:
    """Count outcomes; draw a bar (terminal) or log `run.progress` every `every` seconds.

    `total` is the rows to expect (None when not known before reading them: a CSV); `now`
    the clock the rate and times are read from.
    """

    def __init__(
        self,
        log: Any,
        *,
        total: int | None,
        bar: bool,
        every: float = 10.0,
        stream: TextIO | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._total = total
        self._every = every
        self.done = 0
        self.failed = 0
        self.skipped = 0
        self.sent = 0  # rows this run worked on: what the rate and the time left count
        self._now = now  # seconds, monotonic; tests give their own clock
        self._started = now()
        self.limit: Callable[[], int] | None = None  # creates allowed in flight now
        self._bar: Progress | None = None
        if bar:
            console = Console(file=stream or sys.stderr)
            self._bar = Progress(
                TextColumn("[bold]importing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("failed {task.fields[failed]}"),
                TextColumn("skipped {task.fields[skipped]}"),
                TextColumn("{task.fields[rate]} rows/s"),
                TextColumn("limit {task.fields[limit]}"),
                _Clock("elapsed", self.elapsed),
                _Clock("left", self.eta),
                console=console,
                transient=True,
            )
            self._task = self._bar.add_task(
                "import", total=total, failed=0, skipped=0, rate="0.0", limit="-"
            )

    def __enter__(self) -> RunProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, outcome: Outcome) -> None:
        """Count one finished row."""
        self.done += 1
        status = outcome.status
        if status is _FAILED:
            self.failed += 1
        elif status is _SKIPPED:
            self.skipped += 1
        if sent(outcome):
            self.sent += 1
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=self.done,
                failed=self.failed,
                skipped=self.skipped,
                rate=_rate(self.rate),
                limit="-" if self.current_limit is None else self.current_limit,
            )

    @property
    def has_bar(self) -> bool:
        """Return whether a bar is drawn (a terminal), rather than progress log lines."""
        return self._bar is not None

    @property
    def current_limit(self) -> int | None:
        """Return how many creates may be in flight now (None before the run starts)."""
        return self.limit() if self.limit is not None else None

    def elapsed(self) -> float:
        """Return the seconds since the run started."""
        return self._now() - self._started

    @property
    def rate(self) -> float:
        """Return the rows this run sent per second of its run (settled rows left out)."""
        elapsed = self.elapsed()
        return self.sent / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        """Return the seconds left at this run's rate, None while not known (no total, or
        nothing sent yet)."""
        rate = self.rate
        if not self._total or rate <= 0:
            return None
        return max(self._total - self.done, 0) / rate

    async def ticker(self) -> None:
        """Log one progress line every `every` seconds until cancelled (no bar only)."""
        if self._bar is not None:
            return
        while True:
            await anyio.sleep(self._every)
            self._log.info("run.progress", **self.facts())

    def facts(self) -> dict[str, Any]:
        """Return a `run.progress` event's fields: rows done, failed, skipped of `total`;
        `rate` (rows sent per second by this run), `elapsed_s` and `eta_s` (seconds, eta None
        while not known), and `limit` (creates allowed in flight now)."""
        eta = self.eta()
        return {
            "done": self.done,
            "total": self._total,
            "failed": self.failed,
            "skipped": self.skipped,
            "sent": self.sent,
            "rate": round(self.rate, 1),
            "elapsed_s": round(self.elapsed()),
            "eta_s": None if eta is None else round(eta),
            "limit": self.current_limit,
        }
