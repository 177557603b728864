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
from bulkmail.run.retry import Backoff, with_retries
from bulkmail.secrets import register

T = TypeVar("T")
LogIn = Callable[[PortalClient], Awaitable[Token | Verdict]]

MAX_DEAD_AT_ONCE: Final = 3
"""New sessions in a row that the portal ended before any call with them was answered: then
the identity's session counts as unusable (a portal that refuses every token at once must
not cost a login per call for hours)."""
MAX_RENEWALS_PER_CALL: Final = MAX_DEAD_AT_ONCE
"""Logins again one call may wait for: a call still refused after them fails with its 401
(as many as MAX_DEAD_AT_ONCE, so that a portal ending every session at once stops the run
instead of failing the row that saw it)."""


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
    proven: bool = False  # a call with the current token was answered
    dead_at_once: int = 0  # new tokens in a row that died before any answer
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
                self.dead_at_once = 0 if self.proven else self.dead_at_once + 1
                get_logger().warning(
                    "session.ended", user=self.who,
                    message="the portal ended the session (HTTP 401): logging in again",
                )  # fmt: skip
                if self.dead_at_once >= MAX_DEAD_AT_ONCE:
                    self.refused = self._unusable(
                        f"the portal ended each of {self.dead_at_once} new sessions of "
                        f"{self.who} at once (HTTP 401)"
                    )
                    return self.refused
            answer = self._took(await self.log_in(portal))
            if not isinstance(answer, Verdict):
                self.renewed += 1
                get_logger().info("session.renewed", user=self.who, renewals=self.renewed)
            return answer

    def answered(self, token: Token) -> None:
        """Note that the portal answered a call with `token` (no 401): the session works."""
        if token == self.token:
            self.proven = True
            self.dead_at_once = 0

    async def call(
        self,
        portal: PortalClient,
        ask: Callable[[Token], Awaitable[T | Verdict]],
        token: Token | None = None,
    ) -> T | Verdict:
        """Return `ask(token)` with the live token (or `token`), asked again with a new one
        when the portal ended the session; a Verdict when no token can be had."""
        live = token if token is not None else await self.current(portal)
        renewals = 0
        while True:
            if isinstance(live, Verdict):
                return live
            answer = await ask(live)
            unauthorized = isinstance(answer, Verdict) and answer.code is Code.PORTAL_UNAUTHORIZED
            if not unauthorized or renewals >= MAX_RENEWALS_PER_CALL:
                if not unauthorized:
                    self.answered(live)
                return answer
            renewals += 1
            live = await self.renew(portal, live)

    async def retried(
        self,
        portal: PortalClient,
        ask: Callable[[Token], Awaitable[T | Verdict]],
        backoff: Backoff,
        retries: int,
        token: Token | None = None,
    ) -> T | Verdict:
        """Return `call(portal, ask, token)` for a question that changes nothing (a listing, a
        look-up): each try is retried while the portal is busy (`retries`)."""

        def tried(live: Token) -> Awaitable[T | Verdict]:
            return with_retries(partial(ask, live), backoff, retries)

        return await self.call(portal, tried, token)

    def forget(self) -> None:
        """Forget the token without a 401 (its session was ended on purpose)."""
        self.token, self.proven = None, False

    def _took(self, answer: Token | Verdict) -> Token | Verdict:
        """Keep a new token, or remember a login refused for good (a transient failure may
        pass: the next caller tries again)."""
        if isinstance(answer, Verdict):
            if answer.code is Code.PORTAL_2FA and (self.ended or self.run_level):
                answer = self._unusable(
                    f"the login of {self.who} asks for a two-factor code, which a run cannot "
                    "give unattended"
                )
            elif self.run_level and self.ended and not answer.retryable:
                message = f"the portal refused the login of {self.who} again: {answer.message}"
                answer = replace(answer, message=message, retryable=False, fatal=True)
            if not answer.retryable:
                self.refused = answer
            return answer
        register(answer.value)  # masked in every output from now on
        self.token, self.proven = answer, False
        return answer

    def _unusable(self, why: str) -> Verdict:
        """Return the fatal verdict of a session that cannot be had again unattended."""
        code = Code.PORTAL_SESSION_ENDED
        message = f"the portal ended the session of {self.who} mid-run, and {why}"
        get_logger().error("session.lost", user=self.who, message=message, hint=code.hint)
        return Verdict(code, Stage.LOGIN, message, code.hint, retryable=False, fatal=True)

    def facts(self) -> dict[str, int]:
        """Return how many sessions the portal ended and how many logins replaced them."""
        return {"ended": self.ended, "renewed": self.renewed}
