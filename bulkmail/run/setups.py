"""`--autofill portal`: ask the portal for each domain's settings, once, before the rows.

A first pass over the sheet finds the (domain, protocol) pairs of rows whose servers are
blank after `--set` and `--defaults`; each is asked once (GET api/2.0/mail/accounts/setups
with the first address of that domain: docs/portal-api.md §21), a few at a time, as the
run's portal identity: the admin's session with `--admin`, else `--user`, logged in once for
this. Transient answers are retried as the run's own look-ups are (`--retries`). What the
portal could not answer becomes that domain's `Unanswered`: its rows fail validation with
`autofill-failed` and the portal's reason, the others go on. A portal that answers only
busy or not at all for `--give-up-after` seconds is an outage, as in the run: the questions
stop there (the domains not answered say so) and the run stops (exit 3), instead of asking
every domain `--retries` times over, for hours with many domains.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from bulkmail.codes import Code
from bulkmail.errors import ConfigError
from bulkmail.logs import get_logger
from bulkmail.models import Table
from bulkmail.portal.client import Identity, PortalClient, Token, Verdict
from bulkmail.portal.setups import IMAP_ACTION, POP_ACTION, Setup, read_setup
from bulkmail.run.renewal import Renewal
from bulkmail.run.retry import Backoff
from bulkmail.run.sessions import Sessions
from bulkmail.settings import InputSettings, PortalSettings
from bulkmail.validation.addresses import address_problem
from bulkmail.validation.autofill import PortalSetups, Unanswered, wanted

if TYPE_CHECKING:
    from bulkmail.run.identities import Acting

__all__ = ["ASKED_AT_ONCE", "ask_setups", "asks_portal", "before_asking"]

ASKED_AT_ONCE = 4
"""Setups asked at once: the answers are quick look-ups, and the run has not started yet."""


def asks_portal(inp: InputSettings, portal: PortalSettings) -> bool:
    """Return whether the run asks the portal for server settings (--autofill portal, not yet
    asked); raise ConfigError when the run has no portal identity of its own to ask as."""
    if not isinstance(inp.autofill, PortalSetups) or inp.autofill.asked:
        return False
    if not (portal.user or portal.admin):
        raise ConfigError(
            "--autofill portal asks the portal as the run's own portal user, and the run has none",
            "give --user LOGIN (its password in BULKMAIL_PASSWORD) or --admin LOGIN, or use "
            "--autofill known",
        )
    return True


def before_asking(inp: InputSettings) -> InputSettings:
    """Return `inp` for a pass over the rows before the portal is asked (--admin's count of
    the rows' owners): --autofill portal's rows then stand in with the portal's guess."""
    if isinstance(inp.autofill, PortalSetups) and not inp.autofill.asked:
        return replace(inp, autofill=PortalSetups(stand_in=True))
    return inp


async def ask_setups(
    factory: Callable[[], httpx.AsyncClient],
    table: Table,
    inp: InputSettings,
    portal: PortalSettings,
    acting: Acting | str | None,
    unreachable: Verdict | None,
    backoff: Backoff | None,
) -> tuple[InputSettings, Sessions]:
    """Return `inp` with the portal's answers for every domain of `table` whose rows need
    them, and the portal sessions that asked, for the run to go on with (its --user logged
    in once: a refused login is not tried again).

    `acting` is --admin's (its session asks), or the line that refused it; `unreachable`
    why the portal did not answer before the run, if it did not (then nothing is asked).
    """
    backoff = backoff or Backoff()
    sessions = Sessions(backoff, portal.retries, acting if not isinstance(acting, str) else None)
    firsts = _domains(table, inp)
    setups = await _setups(factory, firsts, portal, sessions, acting, unreachable, backoff)
    return replace(inp, autofill=setups), sessions


async def _setups(
    factory: Callable[[], httpx.AsyncClient],
    firsts: dict[tuple[str, bool], str],
    portal: PortalSettings,
    sessions: Sessions,
    acting: Acting | str | None,
    unreachable: Verdict | None,
    backoff: Backoff,
) -> PortalSetups:
    if not firsts:
        return PortalSetups({}, asked=True)
    if unreachable is not None or isinstance(acting, str):
        said = acting if isinstance(acting, str) else f"the portal did not answer ({unreachable})"
        failed = Unanswered(f"--autofill portal: nothing asked: {said}", "see the run's line")
        return PortalSetups(dict.fromkeys(firsts, failed), asked=True)
    async with factory() as client:
        api = PortalClient(client)
        # As --admin, or as --user; either logs in again when the portal ends its session.
        if acting is not None:
            session = acting.session
        else:
            session = sessions.session_of(Identity(portal.user or "", portal.password or ""))
        token = await session.current(api)
        if isinstance(token, Verdict):
            said = f"--autofill portal: the login of {portal.user or ''} failed: {token}"
            failed = Unanswered(said, token.hint)
            return PortalSetups(dict.fromkeys(firsts, failed), asked=True)
        answers: dict[tuple[str, bool], Setup | Unanswered] = {}
        limiter = anyio.CapacityLimiter(ASKED_AT_ONCE)
        async with anyio.create_task_group() as tg:
            outage = _Outage(portal.give_up_after, tg.cancel_scope.cancel)
            for key, email in firsts.items():
                ask = partial(_ask, api, session, key, email, answers, outage, portal, backoff)
                tg.start_soon(_bounded, limiter, ask)
    if outage.reason:  # the domains not answered before the questions stopped
        left = Unanswered(f"--autofill portal: not asked: {outage.reason}", "see the run's line")
        answers = {key: answers.get(key, left) for key in firsts}
    guesses = sum(isinstance(a, Setup) and a.guess for a in answers.values())
    failures = sum(isinstance(a, Unanswered) for a in answers.values())
    get_logger().info("autofill.asked", domains=len(answers), guesses=guesses, failed=failures)
    return PortalSetups(answers, asked=True, outage=outage.reason)


class _Outage:
    """The portal's busy or missing answers to the questions, in a row: once they have
    lasted `give_up_after` seconds, no answer is asked again and the questions stop."""

    def __init__(self, give_up_after: float, stop: Callable[[], None]) -> None:
        self._limit, self._stop = give_up_after, stop
        self._since: float | None = None  # the first of the busy answers in a row
        self.reason = ""  # why the questions stopped, once they did

    def end(self, reason: str) -> None:
        """Stop the questions for `reason` (the portal ended the session for good)."""
        if not self.reason:
            self.reason = reason
            self._stop()

    def saw(self, answer: dict[str, Any] | Verdict) -> dict[str, Any] | Verdict:
        """Return `answer`, not to be asked again (not retryable) once the outage is one."""
        if not isinstance(answer, Verdict) or not answer.retryable:
            self._since = None  # the portal answers
            return answer
        now = time.monotonic()
        self._since = now if self._since is None else self._since
        if not self.reason and now - self._since >= self._limit:
            self.reason = (
                f"the portal did not answer GET mail/accounts/setups for {self._limit:g} s "
                f"(--give-up-after): {answer}"
            )
            self._stop()
        return replace(answer, retryable=False) if self.reason else answer


def _domains(table: Table, inp: InputSettings) -> dict[tuple[str, bool], str]:
    """Return each (domain, POP3) the rows need, with the first address that needs it and
    keeps the address rule: the portal answers one it cannot parse with a 500, which would
    fail the domain's good rows with the bad one's (that row fails validation itself)."""
    defaults = {k: v for k, v in inp.defaults.items() if v.strip()}
    firsts: dict[tuple[str, bool], str] = {}
    for row in table.rows:
        values = {**defaults, **{k: v for k, v in table.values(row).items() if v.strip()}}
        key = wanted(values)
        email = values.get("email", "").strip()
        if key is not None and key not in firsts and not address_problem(email):
            firsts[key] = email
    return firsts


async def _bounded(limiter: anyio.CapacityLimiter, ask: Callable[[], Awaitable[None]]) -> None:
    async with limiter:
        await ask()


async def _ask(
    api: PortalClient,
    session: Renewal,
    key: tuple[str, bool],
    email: str,
    into: dict[tuple[str, bool], Setup | Unanswered],
    outage: _Outage,
    portal: PortalSettings,
    backoff: Backoff,
) -> None:
    domain, pop3 = key
    action = POP_ACTION if pop3 else IMAP_ACTION

    async def ask(token: Token) -> dict[str, Any] | Verdict:
        return outage.saw(await api.setups(token, email, action))

    answer = await session.retried(api, ask, backoff, portal.retries)
    # The registry's hint, not the verdict's: those speak of creates ("after the mail servers
    # accepted the login") or of a re-login the run makes, and not this question.
    hint = Code.AUTOFILL_FAILED.hint
    if isinstance(answer, Verdict) and answer.fatal:  # no session to ask with: the run stops
        outage.end(answer.message)
    if isinstance(answer, Verdict):
        message = f"the portal's settings for {domain} (accounts/setups) failed: {answer}"
        into[key] = Unanswered(message, hint)
        return
    setup = read_setup(answer, email, pop3=pop3)
    if setup is None:
        message = f"the portal's settings for {domain} (accounts/setups) hold no servers"
        into[key] = Unanswered(message, hint)
        return
    into[key] = setup
