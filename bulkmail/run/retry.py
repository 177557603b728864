"""Exponential backoff with full jitter that defers to the server's Retry-After.

Hand-written rather than stamina/tenacity: the retry loop must also re-check the portal after
an ambiguous failure and re-login after a 401, which are decisions about *what* to send next,
not only *when*; the timing part is these few lines.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio

from bulkmail.portal.answers import MAX_RETRY_AFTER, Verdict

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays for attempt n: base * 2**(n-1), jittered, capped; Retry-After wins when given."""

    base: float = 1.0
    cap: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Return the seconds to wait before retry number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        ceiling = min(self.cap, self.base * 2.0 ** (attempt - 1))
        # Half fixed, half random: spreads workers that failed together without ever
        # retrying immediately.
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


async def with_retries(
    call: Callable[[], Awaitable[T | Verdict]], backoff: Backoff, retries: int
) -> T | Verdict:
    """Await `call` until it returns something other than a retryable Verdict.

    For calls that change nothing on the portal (login, list, look-up): repeating them is
    always safe, unlike a create, whose loop in the runner has more to decide.
    """
    attempt = 0
    while True:
        attempt += 1
        answer = await call()
        if not isinstance(answer, Verdict) or attempt > retries:
            return answer
        if not answer.retryable or answer.fatal:
            return answer
        await anyio.sleep(backoff.delay(attempt, answer.retry_after))
