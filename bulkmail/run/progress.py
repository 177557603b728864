"""Progress for people and for logs: a rich bar on a terminal, a periodic line otherwise.

Both show the creates allowed in flight now (`limit`), which adaptive concurrency moves.
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
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bulkmail.models import Outcome, Status


class RunProgress:
    """Count outcomes; draw a bar (terminal) or log `run.progress` every `every` seconds."""

    def __init__(
        self,
        log: Any,
        *,
        total: int | None,
        bar: bool,
        every: float = 10.0,
        stream: TextIO | None = None,
    ) -> None:
        self._log = log
        self._total = total
        self._every = every
        self.done = 0
        self.failed = 0
        self._started = time.monotonic()
        self.limit: Callable[[], int] | None = None  # creates allowed in flight now
        self._bar: Progress | None = None
        if bar:
            console = Console(file=stream or sys.stderr)
            self._bar = Progress(
                TextColumn("[bold]importing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("failed {task.fields[failed]}"),
                TextColumn("{task.fields[rate]}/s"),
                TextColumn("limit {task.fields[limit]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._task = self._bar.add_task("import", total=total, failed=0, rate="0.0", limit="-")

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
        if outcome.status is Status.FAILED:
            self.failed += 1
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=self.done,
                failed=self.failed,
                rate=f"{self.rate:.1f}",
                limit=self.current_limit,
            )

    @property
    def has_bar(self) -> bool:
        """Return whether a bar is drawn (a terminal), rather than progress log lines."""
        return self._bar is not None

    @property
    def current_limit(self) -> int | None:
        """Return how many creates may be in flight now (None before the run starts)."""
        return self.limit() if self.limit is not None else None

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self.done / elapsed if elapsed > 0 else 0.0

    async def ticker(self) -> None:
        """Log one progress line every `every` seconds until cancelled (no bar only)."""
        if self._bar is not None:
            return
        while True:
            await anyio.sleep(self._every)
            eta = None
            if self._total and self.rate > 0:
                eta = round((self._total - self.done) / self.rate)
            self._log.info(
                "run.progress",
                done=self.done,
                total=self._total,
                failed=self.failed,
                rate=round(self.rate, 1),
                eta_s=eta,
                limit=self.current_limit,
            )
