"""Portal logins: one per portal user, shared by every worker, never retried after a refusal.

The portal locks a user out after five failed logins a minute (docs/portal-api.md §4), so a refused
login is remembered and fails that user's rows without another attempt. Transient failures
(network, the brute-force block) are retried here, under the user's lock, so only one login
is ever in flight per user whatever the concurrency. When the portal ends a session mid-run
(a 401), the user logs in again, once for every worker (run/renewal.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import partial

import anyio

from bulkmail.codes import Code
from bulkmail.portal.client import Accounts, Identity, PortalClient, Token, Verdict
from bulkmail.run.identities import Acting, user_key
from bulkmail.run.renewal import Renewal
from bulkmail.run.retry import Backoff, with_retries


@dataclass(slots=True)
class _UserState:
    session: Renewal  # the user's token, logged in again when the portal ends it
    listing: anyio.Lock = field(default_factory=anyio.Lock)
    existing: Accounts | None = None  # mailbox_key(email) -> mailboxId, listed once
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

    def _state(self, identity: Identity) -> _UserState:
        key = user_key(identity.login)
        state = self._users.get(key)
        if state is None:
            acting = self._acting
            if acting is not None and acting.is_admin(identity.login):
                session = acting.session  # the admin's own rows: the admin's token
            else:
                session = Renewal(identity.login, partial(self._login, identity=identity))
            state = self._users[key] = _UserState(session)
        return state

    def session_of(self, identity: Identity) -> Renewal:
        """Return `identity`'s session: its token and its login again (run/renewal.py)."""
        return self._state(identity).session

    async def token(self, portal: PortalClient, identity: Identity) -> Token | Verdict:
        """Return a token for `identity`, logging in (once) if needed."""
        return await self._state(identity).session.current(portal)

    async def _login(self, portal: PortalClient, *, identity: Identity) -> Token | Verdict:
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
            session = self._state(Identity(login, "")).session
            async with session.lock:
                await self._acting.end(portal, login)
                session.forget()

    async def end_all(self, portal: PortalClient) -> None:
        """End every impersonated session still open."""
        if self._acting is not None:
            await self._acting.end_all(portal)

    def refusal(self, identity: Identity) -> Verdict | None:
        """Return the refusal of `identity`'s login, if the portal refused it in this run."""
        state = self._users.get(user_key(identity.login))
        return state.session.refused if state is not None else None

    def facts(self) -> dict[str, int]:
        """Return how many sessions the portal ended in this run and how many logins
        replaced them (the admin's included), for summary.json."""
        sessions = {id(s.session): s.session for s in self._users.values()}
        if self._acting is not None:
            sessions[id(self._acting.session)] = self._acting.session
        totals = Counter(ended=0, renewed=0)
        for session in sessions.values():
            totals.update(session.facts())
        return dict(totals)

    async def existing(
        self, portal: PortalClient, identity: Identity, token: Token
    ) -> Accounts | Verdict:
        """Return the user's accounts (lower email -> mailboxId), listed once per run."""
        state = self._state(identity)
        if state.existing is not None:
            return state.existing
        async with state.listing:
            if state.unlisted is not None:
                return state.unlisted
            if state.existing is None:
                listed = await state.session.retried(
                    portal, portal.list_accounts, self._backoff, self._retries, token
                )
                if isinstance(listed, Verdict):
                    if listed.code in _REMEMBERED:
                        state.unlisted = listed
                    return listed
                state.existing = listed
            return state.existing
