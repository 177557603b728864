"""How many creates are in flight at once: fixed by --concurrency N, or found as the run goes.

Nobody tells a client a portal's capacity: a self-hosted portal serves a few dozen requests
at once and queues the rest, so past its capacity more creates only wait longer; a front end
may refuse with 429/503 and `Retry-After` (docs/portal-api.md §16). Adaptive concurrency works
as TCP's congestion control does (AIMD): start low; grow while answers keep their speed
(slow start: one more per success, so the limit doubles each round trip, until the first
sign of congestion; then one more per round trip); shrink by a factor on 429/503, timeouts
and answers that grow slow.

"Slow" is judged per mail server: a create's time is mostly the portal's logins to the row's
mail servers, which differ per server (a provider across the world takes seconds, the
office's server a tenth of that), so each answer is compared with the fastest answer of the
same incoming host in this run, never with one global figure.

The controller is pure (times are given to it); `Concurrency` measures them with an injected
clock and holds the `Gate` the workers pass: there are always as many workers as the most
the limit may reach (docs/performance.md §6), and the gate lets `limit` of them send.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import anyio

from bulkmail.codes import Code
from bulkmail.portal.client import Created, Verdict
from bulkmail.settings import START_CONCURRENCY, PortalSettings

Signal = Literal["answer", "overload", "timeout", "none"]

TOLERANCE: Final = 1.5
"""Answers this many times slower than their mail server's fastest mean a queue at the
portal (smoothed over answers: one slow login is not congestion)."""
SMOOTHING: Final = 0.2  # weight of the newest answer in the smoothed slowness
OVERLOAD_FACTOR: Final = 0.7  # the limit after a 429/503 or a timeout, as a share of before
SLOW_FACTOR: Final = 0.85  # the limit after answers grew slow


def signal_of(answer: Created | Verdict) -> Signal:
    """Return what an answer to a create says about the portal's load."""
    if isinstance(answer, Created):
        return "answer"
    if answer.code is Code.RATE_LIMITED or (
        answer.code is Code.PORTAL_UNAVAILABLE and answer.http_status == 503
    ):
        return "overload"
    if answer.code is Code.TIMEOUT:
        return "timeout"
    if answer.code is Code.PORTAL_UNAUTHORIZED:  # the session ended: the portal did nothing
        return "none"  # and answered at once, which says nothing of a create's time
    if answer.http_status is not None:  # the portal answered, after testing the mail servers
        return "answer"
    return "none"  # no answer (the portal unreachable): run.health's business, not load


@dataclass(slots=True)
class Controller:
    """The adaptive limit: AIMD with slow start, judging speed per mail server. No clock."""

    maximum: int
    start: int = START_CONCURRENCY
    minimum: int = 1
    window: float = field(init=False)
    slow_start: bool = field(default=True, init=False)
    slowness: float = field(default=1.0, init=False)  # smoothed answer time / its baseline
    baselines: dict[str, float] = field(default_factory=dict, init=False)  # host -> seconds
    lowest: int = field(init=False)
    highest: int = field(init=False)
    decreases: int = field(default=0, init=False)
    _calm: int = field(default=0, init=False)  # answers to wait before another decrease

    def __post_init__(self) -> None:
        self.window = float(max(self.minimum, min(self.start, self.maximum)))
        self.lowest = self.highest = self.start = self.limit

    @property
    def limit(self) -> int:
        """Return how many creates may be in flight now."""
        return max(self.minimum, int(self.window))

    def observe(self, host: str, seconds: float, signal: Signal, in_flight: int) -> None:
        """Take one create's answer: its incoming `host`, how long it took, what it said, and
        how many creates were in flight with it (this one included)."""
        if signal == "none":
            return
        self._calm = max(0, self._calm - 1)
        if signal != "answer":
            self._decrease(OVERLOAD_FACTOR)
            return
        ratio = self._ratio(host.casefold(), seconds)
        self.slowness += SMOOTHING * (ratio - self.slowness)
        if self.slowness > TOLERANCE:
            self._decrease(SLOW_FACTOR)
        elif 2 * in_flight >= self.limit:  # a limit the run does not use proves nothing
            self._increase()

    def _ratio(self, host: str, seconds: float) -> float:
        """Return how much slower than its host's fastest answer this one was (1: as fast)."""
        baseline = self.baselines.get(host)
        if baseline is None or seconds < baseline:
            self.baselines[host] = max(seconds, 1e-6)
            return 1.0
        return seconds / baseline

    def _increase(self) -> None:
        step = 1.0 if self.slow_start else 1.0 / self.window  # a round trip: one more
        self.window = min(float(self.maximum), self.window + step)
        self.highest = max(self.highest, self.limit)

    def _decrease(self, factor: float) -> None:
        """Shrink once per round trip: the answers of the creates already sent say the same."""
        self.slow_start = False
        if self._calm:
            return
        self.window = max(float(self.minimum), self.window * factor)
        self.decreases += 1
        self.lowest = min(self.lowest, self.limit)
        self._calm = self.limit
        self.slowness = min(self.slowness, TOLERANCE)

    def facts(self) -> dict[str, Any]:
        """Return how the limit moved, for summary.json."""
        return {
            "mode": "auto",
            "start": self.start,
            "min": self.lowest,
            "max": self.highest,
            "final": self.limit,
            "decreases": self.decreases,
            "most": self.maximum,
        }


class Gate:
    """A semaphore whose size can change: `limit` holders at once, the others wait in turn."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self.in_use = 0
        self._waiting: deque[anyio.Event] = deque()

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        self._limit = value
        self._wake()

    async def acquire(self) -> None:
        """Wait for a free place and take it."""
        if self.in_use < self._limit and not self._waiting:
            self.in_use += 1
            return
        turn = anyio.Event()
        self._waiting.append(turn)
        try:
            await turn.wait()
        except BaseException:  # cancelled: give back a place handed over meanwhile
            if turn.is_set():
                self.release()
            else:
                self._waiting.remove(turn)
            raise

    def release(self) -> None:
        """Give a place back (to the first waiter, if the limit allows)."""
        self.in_use -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiting and self.in_use < self._limit:
            self.in_use += 1  # taken on the waiter's behalf
            self._waiting.popleft().set()


@dataclass(slots=True)
class Slot:
    """One create's place in flight; the worker tells it the answer."""

    answer: Created | Verdict | None = None


class Concurrency:
    """The run's limit on creates in flight: fixed, or adaptive between 1 and the maximum."""

    def __init__(
        self, settings: PortalSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.workers = settings.workers
        self.controller: Controller | None = None
        limit = settings.concurrency
        if limit is None:
            self.controller = Controller(maximum=settings.max_concurrency)
            limit = self.controller.limit
        self._gate = Gate(limit)
        self._clock = clock

    @property
    def limit(self) -> int:
        """Return how many creates may be in flight now."""
        return self._gate.limit

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[Slot]:
        """Wait for a place, hold it for one create to the row's incoming `host`, and learn
        from the answer the worker puts in the slot."""
        await self._gate.acquire()
        slot, started = Slot(), self._clock()
        try:
            yield slot
        finally:
            if self.controller is not None and slot.answer is not None:
                seconds = self._clock() - started
                self.controller.observe(host, seconds, signal_of(slot.answer), self._gate.in_use)
                self._gate.limit = self.controller.limit
            self._gate.release()

    def facts(self) -> dict[str, Any]:
        """Return how the limit moved, for summary.json."""
        if self.controller is not None:
            return self.controller.facts()
        n = self._gate.limit
        return {"mode": "fixed", "start": n, "min": n, "max": n, "final": n, "decreases": 0}
