"""Whether the portal can be reached at all, mid-run: pause on an outage, give up past a limit.

A portal that stops answering would otherwise cost every row its own retries and end as
thousands of failed rows. Here, after `FAILURES` network failures in a row (any request,
any worker) the portal counts as down: workers stop taking rows, and one probe at a time
(`GET api/2.0/capabilities`, no login: docs/portal-api.md §19) asks whether it is back. It
is back at the first answer; past `give_up_after` seconds the run gives up (exit 3) and
every row not sent is `not attempted`, for the same command to finish later.

A portal that answers, but only "busy, come back later" (429, or 503 with Retry-After), is
load the concurrency controller answers; when nothing but such answers comes back for
`give_up_after` seconds (a maintenance page that names a time, again and again), the run
gives up the same way, or each row would wait out its busy answers for hours.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar

import anyio
import httpx

from bulkmail.logs import get_logger
from bulkmail.models import Stage
from bulkmail.portal.answers import classify_exception
from bulkmail.portal.client import Accounts, Created, Identity, PortalClient, Token, Verdict

T = TypeVar("T")

FAILURES: Final = 5
"""Network failures in a row (no answer in between) that make the portal count as down."""
PROBE_EVERY: Final = 2.0
"""Seconds between two probes of a portal that is down."""
_GATEWAY: Final = frozenset({502, 504})  # a proxy whose portal behind it does not answer
_BUSY: Final = frozenset({429, 503})  # with Retry-After: "come back later"


def unreachable(answer: object) -> bool:
    """Return whether `answer` is no answer from the portal (a network failure, a gateway's).

    A 503 that names no time to come back counts too: a portal in maintenance or a proxy
    whose portal is gone answers every request so, for as long as it lasts. A 503 with
    Retry-After is a busy portal's (ONLYOFFICE's cloud, the simulator's queue): load, which
    the concurrency controller answers, not an outage.
    """
    if not isinstance(answer, Verdict):
        return False
    if answer.http_status == 503:
        return answer.retry_after is None
    return (answer.stage is Stage.NETWORK and answer.retryable) or answer.http_status in _GATEWAY


async def probe(portal: PortalClient, seconds: float) -> dict[str, Any] | Verdict:
    """Ask for the portal's capabilities; no answer within `seconds` is a failed connect."""
    with anyio.move_on_after(seconds):
        return await portal.capabilities()
    late = httpx.ConnectTimeout(f"no answer within {seconds:g} s")
    return classify_exception(late, during="list")


class Health:
    """Count network failures; when the portal is down, hold workers until it is back or the
    run gives up. `clock` is `anyio.current_time` unless a test gives another."""

    def __init__(
        self,
        give_up_after: float,
        *,
        failures: int = FAILURES,
        every: float = PROBE_EVERY,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self._give_up_after, self._failures, self._every = give_up_after, failures, every
        self._clock = clock
        self._in_a_row = 0
        self._answered = False  # a request (not a probe) was answered since the last outage
        self._up = anyio.Event()
        self._up.set()
        self._down = anyio.Event()
        self.gave_up = False
        self.released = False  # the run stops for another reason: nobody waits any more
        self.outages = 0
        self.last_failure = ""
        self.last_unreachable: Verdict | None = None  # the last failure to reach the portal
        self._busy_since: float | None = None  # when answers began to be only "busy"
        self._on_give_up: Callable[[str], None] | None = None  # set by `watch`

    @property
    def down(self) -> bool:
        """Return whether the portal counts as unreachable now (or the run gave up on it)."""
        return self.gave_up or self.released or not self._up.is_set()

    def noted(self, answer: T) -> T:
        """Count `answer` (a failure to reach the portal, or an answer) and return it."""
        if not unreachable(answer):
            self._in_a_row = 0
            self._answered = True
            self._note_busy(answer)
            return answer
        self._in_a_row += 1
        self.last_failure = str(answer)
        self.last_unreachable = answer if isinstance(answer, Verdict) else None
        if self._in_a_row >= self._failures and not self.down:
            self.outages += 1
            self._up = anyio.Event()
            self._down.set()
            get_logger().warning("run.portal_unreachable", failures=self._in_a_row)
        return answer

    def _note_busy(self, answer: object) -> None:
        """Time a streak of nothing but busy answers; give up when it outlasts the limit."""
        if not (isinstance(answer, Verdict) and answer.http_status in _BUSY):
            self._busy_since = None
            return
        now = self._clock()
        if self._busy_since is None:
            self._busy_since = now
            return
        if now - self._busy_since < self._give_up_after or self.gave_up or not self._on_give_up:
            return
        self.gave_up = True
        self.last_unreachable = answer
        self._on_give_up(
            f"the portal answered only that it is busy for {self._give_up_after:g} s "
            f"({answer}); run the same command again later to send the rest"
        )
        self._up.set()

    async def ready(self) -> bool:
        """Wait while the portal is down; return False once the run gave up on it."""
        await self._up.wait()
        return not (self.gave_up or self.released)

    def release(self) -> None:
        """Let every waiting worker go, never to wait again: the run is stopping."""
        self.released = True
        self._up.set()

    async def watch(
        self, ask: Callable[[], Awaitable[object]], give_up: Callable[[str], None]
    ) -> None:
        """Probe with `ask` while the portal is down; call `give_up(reason)` past the limit.

        Runs until cancelled, or until it gave up. An outage is over for good only when a
        request is answered: a portal whose probe answers while its API does not is down
        again at once, and that is the same outage, whose time goes on.
        """
        self._on_give_up = give_up
        deadline: float | None = None
        while True:
            await self._down.wait()
            if deadline is None or self._answered:  # a new outage, not the last one again
                deadline = self._clock() + self._give_up_after
            while unreachable(answer := await ask()) or self._clock() >= deadline:
                if self._clock() >= deadline:
                    self._give_up(answer if unreachable(answer) else self.last_failure, give_up)
                    return
                await anyio.sleep(self._every)
            self._in_a_row, self._answered = 0, False
            self._down = anyio.Event()
            self._up.set()
            get_logger().info("run.portal_back")

    def _give_up(self, answer: object, give_up: Callable[[str], None]) -> None:
        self.gave_up = True
        give_up(
            f"the portal did not answer for {self._give_up_after:g} s ({answer}); "
            "run the same command again to send the rest"
        )
        self._up.set()  # release the waiting workers: they settle their rows as not sent


class Watched(PortalClient):
    """A PortalClient whose every answer (or failure to get one) is counted by `health`.

    Once the run gave up on the portal, a request is not sent: the portal's last failure is
    its answer at once. Without that, the retries of a login or of a look-up after a lost
    answer would each wait up to --timeout, long past --give-up-after.
    """

    def __init__(self, client: httpx.AsyncClient, health: Health) -> None:
        super().__init__(client)
        self._health = health

    async def login(self, identity: Identity) -> Token | Verdict:
        if lost := self._given_up():
            return lost
        return self._health.noted(await super().login(identity))

    async def list_accounts(self, token: Token) -> Accounts | Verdict:
        if lost := self._given_up():
            return lost
        return self._health.noted(await super().list_accounts(token))

    async def find_account(self, token: Token, email: str) -> int | Verdict | None:
        if lost := self._given_up():
            return lost
        return self._health.noted(await super().find_account(token, email))

    async def create(self, token: Token, payload: Mapping[str, Any]) -> Created | Verdict:
        if lost := self._given_up():
            return lost
        return self._health.noted(await super().create(token, payload))

    def _given_up(self) -> Verdict | None:
        """Return the portal's last failure once the run gave up on it, else None."""
        return self._health.last_unreachable if self._health.gave_up else None
