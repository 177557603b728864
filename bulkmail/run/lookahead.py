"""Hand rows to the workers in input order, skipping ahead past rows whose mail servers are full.

A worker handed a row whose mail server has no room would sit idle until it had, while rows
of other servers wait behind it. So the rows are read ahead: at most `size` rows past the
ones handed out, grouped by the servers they touch, and a free worker asking for a row gets
the oldest group's row whose servers all have room (`MailServers.take_now` lets it in at that
moment, when a worker is there to send it). Several workers may ask at once: nothing awaits
between reading, choosing and letting in a row, so each row goes to one worker. Memory
stays flat: never more than `size` rows are held, however long the input, and no row is read
`span` rows or more past the oldest row without an outcome, since the report's ledger holds
every outcome behind that one (run/outcomes.py). Rows of a server whose failed-login budget
is spent are settled at once, without taking a place.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

import anyio

from bulkmail.run.jobs import Job
from bulkmail.run.servers import MailServers

__all__ = ["Lookahead", "span", "window"]

MIN_WINDOW = 64
MAX_SPAN = 20_000  # outcomes the ledger may hold behind a slow row: tens of MB at most


def window(concurrency: int) -> int:
    """Return how many rows are read ahead: four per worker, at least 64.

    Enough to find rows of other servers behind a run of one server's rows, few enough that
    the rows held (and the outcomes the report's ledger holds behind them) stay small.
    """
    return max(MIN_WINDOW, 4 * concurrency)


def span(concurrency: int) -> int:
    """Return how far past the oldest row without an outcome rows may be read: sixteen
    windows, at most MAX_SPAN rows (never less than a window)."""
    size = window(concurrency)
    return max(size, min(16 * size, MAX_SPAN))


class Lookahead:
    """The rows read but not yet handed out, and the rule that picks the next one."""

    def __init__(
        self,
        jobs: Iterator[Job],
        servers: MailServers,
        size: int,
        *,
        on_read: Callable[[Job], None],
        on_stopped: Callable[[Job, str], None],
        oldest: Callable[[], int | None] = lambda: None,
        span: int = MAX_SPAN,
    ) -> None:
        self._jobs = jobs
        self._servers = servers
        self._size = max(1, size)
        self._oldest = oldest  # the index of the oldest row without an outcome, if any
        self._span = max(self._size, span)
        self._next = 0  # the index after the last row read
        self._on_read = on_read  # each row as it is read: it is the run's from then on
        self._on_stopped = on_stopped  # a row of a server whose budget is spent
        self._groups: dict[tuple[str, ...], deque[Job]] = {}  # oldest group first
        self._held = 0
        self._exhausted = False

    async def next(self, stopping: anyio.Event) -> Job | None:
        """Return the next row to send, let in on its servers; None when there is none left
        (or the run is stopping: the rows held are the run's, to settle as not attempted)."""
        while not stopping.is_set():
            # The window is kept full: the users of the rows in it are warmed (logged in and
            # listed) while the rows before them are sent.
            while self._held < self._size and self._within_span() and self._read():
                pass
            job = None if stopping.is_set() else self._ready()
            if job is not None:
                return job
            if stopping.is_set() or (self._exhausted and not self._held):
                # A row settled here (a stopped server's) may have stopped the run, its
                # report failing: the wake that said so came before this wait would start.
                return None
            # Servers full, or too far ahead of a slow row: wait until a row finishes.
            await self._servers.changed()
        return None

    def rest(self) -> Iterator[Job]:
        """Yield the rows of the input not read yet."""
        return self._jobs

    def _within_span(self) -> bool:
        oldest = self._oldest()
        return oldest is None or self._next - oldest < self._span

    def _read(self) -> bool:
        """Read one row into the window; return False when the input is exhausted."""
        job = None if self._exhausted else next(self._jobs, None)
        if job is None:
            self._exhausted = True
            return False
        self._next = job.index + 1
        self._on_read(job)
        stopped = self._servers.stopped(job.account)
        if stopped is not None:
            self._on_stopped(job, stopped)
            return True
        key = self._servers.hosts(job.account)
        self._groups.setdefault(key, deque()).append(job)
        self._held += 1
        return True

    def _ready(self) -> Job | None:
        """Return the oldest held row whose servers let it in; settle stopped servers' rows."""
        for key, group in list(self._groups.items()):
            stopped = self._servers.stopped(group[0].account)
            if stopped is not None:
                del self._groups[key]
                self._held -= len(group)
                for job in group:
                    self._on_stopped(job, stopped)
                continue
            if self._servers.take_now(group[0].index, group[0].account):
                job = group.popleft()
                if not group:
                    del self._groups[key]
                self._held -= 1
                return job
        return None
