"""Portal logins: one per portal user, shared by every worker, never retried after a refusal.

The portal locks a user out after five failed logins a minute (docs/portal-api.md §4), so a refused
login is remembered and fails that user's rows without another attempt. Transient failures
(network, the brute-force block) are retried here, under the user's lock, so only one login
is ever in flight per user whatever the concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import anyio

from bulkmail.codes import Code
from bulkmail.portal.client import Accounts, Identity, PortalClient, Token, Verdict
from bulkmail.run.identities import Acting, user_key
from bulkmail.run.retry import Backoff, with_retries
from bulkmail.secrets import register


@dataclass(slots=True)
class _UserState:
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    token: Token | None = None
    refused: Verdict | None = None  # a permanent login failure, remembered for the run
    existing: Accounts | None = None  # lower(email) -> mailboxId, listed once
    unlisted: Verdict | None = None  # a listing that would cost as much again, remembered


# A list that never ends, or an answer over the cap, would cost its 100 pages or 4 MiB again
# for every row of the user: such a failure is remembered for the run.
_REMEMBERED = frozenset({Code.LIST_TOO_LONG, Code.LIST_REPEATS, Code.ANSWER_TOO_LARGE})


class Sessions:
    """Log each portal user in once and hand the token to every worker that needs it."""

    def __init__(self, backoff: Backoff, retries: int, acting: Acting | None = None) -> None:
        self._users: dict[str, _UserState] = {}
        self._backoff = backoff
        self._retries = retries
        self._acting = acting  # --admin: tokens by impersonation instead of logins

    def _state(self, login: str) -> _UserState:
        return self._users.setdefault(user_key(login), _UserState())

    async def token(self, portal: PortalClient, identity: Identity) -> Token | Verdict:
        """Return a token for `identity`, logging in (once) if needed."""
        state = self._state(identity.login)
        if state.token is not None:
            return state.token
        async with state.lock:
            if state.token is not None:
                return state.token
            if state.refused is not None:
                return state.refused
            answer = await self._login(portal, identity)
            if isinstance(answer, Verdict):
                # A portal that did not answer may answer the next row: only a refusal sticks.
                if not answer.retryable:
                    state.refused = answer
            else:
                # Masked in every output from now on: a portal may echo it in any answer.
                register(answer.value)
                state.token = answer
            return answer

    async def _login(self, portal: PortalClient, identity: Identity) -> Token | Verdict:
        if self._acting is not None and self._acting.acts_for(identity.login):
            # One session per user, opened here under the user's lock; never retried: a
            # lost answer may have opened one, and each is a login the portal audits.
            return await self._acting.token_for(portal, identity.login)
        # Only transient answers are repeated (network, the brute-force block): a refused
        # login is final, since five of them lock the user out of the portal.
        return await with_retries(partial(portal.login, identity), self._backoff, self._retries)

    async def finished(self, portal: PortalClient, identity: Identity) -> None:
        """Count one of the user's rows settled; then end the impersonated session of each
        user whose last row is settled: this one's, or one whose last row the journal
        settled as done earlier (a row that still comes later opens a new session)."""
        if self._acting is None:
            return
        self._acting.settled(identity.login)
        while self._acting.due:
            login = self._acting.due.pop()
            state = self._state(login)
            async with state.lock:
                await self._acting.end(portal, login)
                state.token = None

    async def end_all(self, portal: PortalClient) -> None:
        """End every impersonated session still open."""
        if self._acting is not None:
            await self._acting.end_all(portal)

    def refusal(self, identity: Identity) -> Verdict | None:
        """Return the refusal of `identity`'s login, if the portal refused it in this run."""
        state = self._users.get(user_key(identity.login))
        return state.refused if state is not None else None

    def invalidate(self, identity: Identity, token: Token) -> None:
        """Forget `token` after a 401 so that the next caller logs in again."""
        state = self._state(identity.login)
        if state.token is token:
            state.token = None

    async def existing(
        self, portal: PortalClient, identity: Identity, token: Token
    ) -> Accounts | Verdict:
        """Return the user's accounts (lower email -> mailboxId), listed once per run."""
        state = self._state(identity.login)
        if state.existing is not None:
            return state.existing
        async with state.lock:
            if state.unlisted is not None:
                return state.unlisted
            if state.existing is None:
                listed = await with_retries(
                    lambda: portal.list_accounts(token), self._backoff, self._retries
                )
                if isinstance(listed, Verdict):
                    if listed.code in _REMEMBERED:
                        state.unlisted = listed
                    return listed
                state.existing = listed
            return state.existing
