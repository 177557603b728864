"""When the portal ends a session mid-run: the same identity logs in again, once per dead token.

A portal token lives a year, or the owner's "session lifetime" (often 30-60 minutes), and
every token dies when the owner logs out all active connections or changes that setting;
after that, each call with it answers 401 `Unauthorized` (docs/portal-api.md §5). A migration
runs for hours, so tokens die mid-run. Every call made with a token goes through
`Renewal.call`: a 401 forgets the token, the identity logs in again (one login per dead
token, however many workers held it: they wait for the first one's) and the call is made
again with the new token. A refused login is remembered and never tried again (five
refusals lock the user out); a login that needs a two-factor code, or a session that the
portal ends each time at once, ends in a fatal `portal-session-ended` verdict: the run stops
(exit 3), and the same command resumes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Final, TypeVar

import anyio

from bulkmail.codes import Code
from bulkmail.logs import get_logger
from bulkmail.models import Stage
from bulkmail.portal.client import PortalClient, Token, Verdict
from bulkmail.run.retry import Backoff
from bulkmail.secrets import register

T = TypeVar("T")
LogIn = Callable[[PortalClient], Awaitable[Token | Verdict]]
Again = Callable[[Verdict, int], Awaitable[bool]]

MAX_DEAD_AT_ONCE: Final = 2
"""New sessions in a row that the portal refused (401) to the very call they were logged in
for: then the identity's session counts as unusable and the run stops, instead of a login
for every call for hours (a portal or proxy that refuses every token)."""


@dataclass(slots=True)
class Renewal:
    """One portal identity's token, and the login that replaces it when the portal ends it.

    `who` names the identity in the log and in messages ("--admin a@x.org", "b@x.org");
    `log_in` logs it in (or opens its impersonated session) on a given client. With
    `run_level`, a refused login again is the run's end (--admin), not the rows'.
    """

    who: str
    log_in: LogIn
    token: Token | None = None
    run_level: bool = False
    refused: Verdict | None = None  # a login refused for good: never tried again
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    ended: int = 0  # tokens the portal ended
    renewed: int = 0  # logins that replaced them

    async def current(self, portal: PortalClient) -> Token | Verdict:
        """Return the live token, logging in (once, whoever asks first) when there is none."""
        if self.token is not None:
            return self.token
        async with self.lock:
            if self.token is not None:
                return self.token
            if self.refused is not None:
                return self.refused
            return self._took(await self.log_in(portal))

    async def renew(self, portal: PortalClient, dead: Token) -> Token | Verdict:
        """Return a token that replaces `dead`, which the portal answered 401 to.

        The first caller with the dead token logs in again; the others get its result.
        """
        async with self.lock:
            if self.token is not None and self.token != dead:
                return self.token  # another worker logged in again already
            if self.refused is not None:
                return self.refused
            if self.token is not None:  # the live token died
                self.token = None
                self.ended += 1
                get_logger().warning(
                    "session.ended", user=self.who,
                    message="the portal ended the session (HTTP 401): logging in again",
                )  # fmt: skip
            return self._took(await self.log_in(portal))

    async def call(
        self,
        portal: PortalClient,
        ask: Callable[[Token], Awaitable[T | Verdict]],
        token: Token | None = None,
        again: Again | None = None,
    ) -> T | Verdict:
        """Return `ask(token)` with the live token (or `token`), asked again with a new one
        when the portal ended the session; a Verdict when no token can be had.

        `again(answer, tries)` decides whether a Verdict other than a 401 is asked again (it
        waits first), after `tries` answers that were not 401s; None: never.
        A new token that the portal refuses (401) to this very call died at once: after
        MAX_DEAD_AT_ONCE of them in a row the session is unusable (fatal, for every caller).
        A 401 after another answer and its wait (a busy portal) is a death of its own.
        """
        live = token if token is not None else await self.current(portal)
        refused = tries = 0  # 401s to this call in a row; other answers
        while not isinstance(live, Verdict):
            answer = await ask(live)
            if isinstance(answer, Verdict) and answer.code is Code.PORTAL_UNAUTHORIZED:
                refused += 1
                live = await self.replace(portal, live, refused)
                continue
            tries += 1
            if again is None or not isinstance(answer, Verdict) or not await again(answer, tries):
                return answer
            refused = 0  # the session lived through the wait: a 401 now is not one at once
        return live

    async def replace(self, portal: PortalClient, dead: Token, refused: int) -> Token | Verdict:
        """Return the token to send a call again with, after its `refused`-th 401 in a row: a
        new one (`renew`), or the fatal verdict once the portal refused MAX_DEAD_AT_ONCE new
        tokens in a row to that call (the first 401 is of a token that may have lived long)."""
        if refused > MAX_DEAD_AT_ONCE:
            return self._give_up(f"refused each of {MAX_DEAD_AT_ONCE} new ones at once (HTTP 401)")
        return await self.renew(portal, dead)

    async def retried(
        self,
        portal: PortalClient,
        ask: Callable[[Token], Awaitable[T | Verdict]],
        backoff: Backoff,
        retries: int,
        token: Token | None = None,
    ) -> T | Verdict:
        """Return `call(portal, ask, token)` for a question that changes nothing (a listing, a
        look-up), asked again while the portal is busy (`retries` times in all; a 401 and
        the login again that follows it are no try)."""
        return await self.call(portal, ask, token, partial(busy, backoff, retries))

    def forget(self) -> None:
        """Forget the token without a 401 (its session was ended on purpose)."""
        self.token = None

    def _took(self, answer: Token | Verdict) -> Token | Verdict:
        """Keep a new token, or remember a login refused for good (a transient failure may
        pass: the next caller tries again)."""
        if isinstance(answer, Verdict):
            if answer.code is Code.PORTAL_2FA and (self.ended or self.run_level):
                answer = self._unusable(
                    "its login again asks for a two-factor code, which a run cannot give unattended"
                )
            elif self.run_level and self.ended and not answer.retryable:
                message = f"the portal refused the login of {self.who} again: {answer.message}"
                answer = replace(answer, message=message, retryable=False, fatal=True)
            if not answer.retryable:
                self.refused = answer
            return answer
        register(answer.value)  # masked in every output from now on
        self.token = answer
        if self.renewed < self.ended:  # it replaces one the portal ended (`renew` or `current`)
            self.renewed += 1
            get_logger().info("session.renewed", user=self.who, renewals=self.renewed)
        return answer

    def _give_up(self, why: str) -> Verdict:
        """Remember the session as unusable (every later caller gets the verdict at once)."""
        if self.refused is None or not self.refused.fatal:
            self.refused = self._unusable(why)
        return self.refused

    def _unusable(self, why: str) -> Verdict:
        """Return the fatal verdict of a session that cannot be had again unattended."""
        code = Code.PORTAL_SESSION_ENDED
        message = (
            f"the portal ended the session of {self.who} mid-run and {why}: raise the portal's "
            "session lifetime, then run the same command again to resume"
        )
        get_logger().error("session.lost", user=self.who, message=message, hint=code.hint)
        return Verdict(code, Stage.LOGIN, message, code.hint, retryable=False, fatal=True)

    def facts(self) -> dict[str, int]:
        """Return how many sessions the portal ended and how many logins replaced them."""
        return {"ended": self.ended, "renewed": self.renewed}


async def busy(backoff: Backoff, retries: int, answer: Verdict, tries: int) -> bool:
    """Return whether to ask again after `answer`, the `tries`-th: yes, after the backoff's
    wait, while it is retryable (busy, no connection) and `retries` are left (as
    run/retry.py's with_retries decides)."""
    if tries > retries or not answer.retryable or answer.fatal:
        return False
    await anyio.sleep(backoff.delay(tries, answer.retry_after))
    return True
