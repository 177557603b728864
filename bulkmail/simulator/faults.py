"""Faults for rehearsals and tests: latency, 503/429, a dropped or a late answer to a create.

Every decision comes from one seeded `random.Random`, so a sequential test is repeatable.
"""

from __future__ import annotations

import random
from typing import Final, Literal

import anyio
import httpx
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bulkmail.simulator import envelope
from bulkmail.simulator.config import SimConfig

TRANSPORT: Final = "bulkmail.transport"
"""Scope key of the server's socket transport (None in process), needed to drop a connection."""
DEADLINE: Final = "bulkmail.deadline"
"""Scope key of the time (`anyio.current_time()`) the answer is due, when there is latency."""

AfterCreate = Literal["", "drop", "late"]


class Faults:
    """The seeded decisions of one simulator."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self._random = random.Random(config.seed)

    def reset(self) -> None:
        """Start the sequence of decisions again."""
        self._random.seed(self.config.seed)

    def delay(self, create: bool = False) -> float:
        """Return how long a request takes to answer, in seconds; `create`: it is a create.

        A real portal answers logins and listings at once, but a create takes seconds: it
        logs in to both mail servers first. create_latency_ms, when set, is a create's.
        """
        ms = self.config.latency_ms
        if create and self.config.create_latency_ms:
            ms = self.config.create_latency_ms
        if self.config.jitter_ms:
            ms += self._random.uniform(-self.config.jitter_ms, self.config.jitter_ms)
        return max(ms, 0.0) / 1000

    def refusal(self) -> Response | None:
        """Return a 503 or 429 answer to send instead of handling the request, or None."""
        for status, p, text in (
            (503, self.config.fail_503, "Service Unavailable"),
            (429, self.config.fail_429, "Too Many Requests"),
        ):
            if p and self._random.random() < p:
                return envelope.bare(status, text, self.retry_header())
        return None

    def retry_header(self) -> dict[str, str]:
        """Return the Retry-After header that 503 and 429 answers carry."""
        return {"Retry-After": str(self.config.retry_after)}

    def after_create(self) -> AfterCreate:
        """Return what to do once an account is stored: answer, drop or answer late."""
        if self.config.drop_after_create and self._random.random() < self.config.drop_after_create:
            return "drop"
        if self.config.slow_after_create and self._random.random() < self.config.slow_after_create:
            return "late"
        return ""


class Dropped(Response):
    """Close the client's connection without a byte of answer."""

    def __init__(self) -> None:
        super().__init__(status_code=500)  # never sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = scope.get(TRANSPORT)
        if transport is None:
            # In process (httpx.ASGITransport) there is no socket: raise what a client of
            # a real server would see, so tests of retry logic read the same either way.
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        await anyio.sleep_until(scope.get(DEADLINE, 0.0))  # drop when the answer was due
        transport.abort()
        # Let the server register the lost connection before the app returns, so that it
        # does not write its own 500 answer for "returned without a response".
        await anyio.sleep(0)


class Late(Response):
    """Send `answer` after `seconds`, unless the client gives up first."""

    def __init__(self, answer: Response, seconds: float) -> None:
        super().__init__(status_code=answer.status_code)
        self.answer = answer
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with anyio.move_on_after(self.seconds):
            while (await receive())["type"] != "http.disconnect":
                pass
            return  # the client timed out and left: nobody to answer
        await self.answer(scope, receive, send)
