"""The portal's capacity: so many requests served at once, the rest queue, a full queue is 503.

A self-hosted portal has a fixed number of workers; a request that finds them all busy waits
its turn, so a client that sends more only waits longer (docs/portal-api.md §16). A front end
in front of it refuses what its queue cannot hold with a bare 503 and `Retry-After`, as the
hosted portal documents. Clients are never told the numbers: they must find them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio


class Capacity:
    """`capacity` requests served at once (0: any number), `queue_limit` waiting (None: any)."""

    def __init__(self, capacity: int, queue_limit: int | None) -> None:
        self._slots = anyio.Semaphore(capacity) if capacity else None
        self._queue_limit = queue_limit
        self.waiting = 0
        self.most_waiting = 0  # the longest the queue grew, for /_sim/stats

    def full(self) -> bool:
        """Return whether a request arriving now would be refused (every slot and the queue
        taken)."""
        if self._slots is None or self._queue_limit is None or self._slots.value > 0:
            return False
        return self.waiting >= self._queue_limit

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a free worker and hold it while the request is served."""
        if self._slots is None:
            yield
            return
        try:
            self._slots.acquire_nowait()  # without a pause: a free worker takes it at once
        except anyio.WouldBlock:  # every worker busy: this one queues
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
            try:
                await self._slots.acquire()
            finally:
                self.waiting -= 1
        try:
            yield
        finally:
            self._slots.release()
