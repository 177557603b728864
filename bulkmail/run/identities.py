"""`--admin`: act as each row's portal user through impersonation (docs/portal-api.md §20).

Before any row: the admin logs in once (its own two-factor code asked through `ask_code`),
every distinct portal user is found in People (a paged listing when there are many, one
lookup each when few, and a lookup for each that the listing lacks), and the portal's switch
is read once. Who cannot be acted for is known then, from People, with a code of its own.
During the run each user gets one impersonated session, when its first row needs a token
(run/sessions.py asks), and the session is ended after the user's last row; the run ends
every one still open. The sessions are counted: the portal audits each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Final

from bulkmail.codes import Code
from bulkmail.logs import get_logger
from bulkmail.models import Outcome, Problem, Severity, Stage, Status
from bulkmail.portal.client import Identity, PortalClient, Token, Verdict
from bulkmail.portal.lowering import mailbox_key
from bulkmail.printable import printable
from bulkmail.run import outcomes
from bulkmail.run.jobs import Job
from bulkmail.run.renewal import Renewal, busy
from bulkmail.run.retry import Backoff, with_retries
from bulkmail.secrets import register

ACTIVE: Final = 1  # People's status of an active user


def user_key(login: str) -> str:
    """Return the key that tells portal users apart: the login with its letter case
    ignored (str.lower). Not casefold(), which makes two users such as "strauß" and
    "strauss" one: one user's token would then create the other's accounts."""
    return login.lower()


@dataclass(frozen=True, slots=True)
class Person:
    """A portal user as People describes it (docs/portal-api.md §20)."""

    id: str
    login: str
    email: str
    status: int
    admin: bool
    owner: bool
    visitor: bool
    module_admin: bool


def person_of(data: Any) -> Person | None:
    """Return the Person of one People record, or None when it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    modules, status = data.get("listAdminModules"), data.get("status")
    return Person(
        id=data["id"],
        login=str(data.get("userName") or ""),
        email=str(data.get("email") or ""),
        status=status if isinstance(status, int) else ACTIVE,
        admin=data.get("isAdmin") is True,
        owner=data.get("isOwner") is True,
        visitor=data.get("isVisitor") is True,
        module_admin=isinstance(modules, list) and bool(modules),
    )


@dataclass(slots=True)
class Acting:
    """What --admin may do, learned before the run, and the sessions it opened."""

    admin: Identity
    session: Renewal  # the admin's token, logged in again when the portal ends it
    me: Person | None
    people: dict[str, Person | None] = field(default_factory=dict)  # user_key(login) -> record
    refusals: dict[str, Verdict] = field(default_factory=dict)
    off: Verdict | None = None  # impersonation off for this admin: no user can be acted for
    remaining: Counter[str] = field(default_factory=Counter)  # rows left per user
    live: dict[str, Token] = field(default_factory=dict)  # sessions opened and not ended
    due: set[str] = field(default_factory=set)  # users whose last row is settled, session live
    opened: int = 0
    ended: int = 0  # ended by bulkmail, or by the portal (a 401 to the session said so)
    backoff: Backoff = field(default_factory=Backoff)  # for answers that did nothing (503, 429)
    retries: int = 0
    # (person id, mailbox key) -> (row, login) of the first row that gives that mailbox to
    # that person: a login and an email of one user are two names validation cannot join.
    mailboxes: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)

    def is_admin(self, login: str) -> bool:
        """Return whether `login` is the admin's own (its rows use the admin's token)."""
        if user_key(login) == user_key(self.admin.login):
            return True
        person = self.people.get(user_key(login))
        return person is not None and self.me is not None and person.id == self.me.id

    def refusal(self, login: str) -> Verdict | None:
        """Return why the admin cannot act as `login`, or None when it can."""
        if self.is_admin(login):
            return None
        return self.off or self.refusals.get(user_key(login))

    def acts_for(self, login: str) -> bool:
        """Return whether the admin gets `login`'s token (else the row logs in itself)."""
        return self.refusal(login) is None

    async def token_for(self, portal: PortalClient, login: str) -> Token | Verdict:
        """Return the admin's token for its own rows, else open a session of `login`."""
        if self.is_admin(login):
            return await self.session.current(portal)
        person = self.people.get(user_key(login))
        if person is None:  # acts_for said yes: People knows the user
            return refused(Code.PORTAL_USER_UNKNOWN, login)
        # With the admin's live token: logged in again if the portal ended its session.
        ask = partial(self._impersonate, portal, person.id)
        answer = await self.session.call(portal, ask, again=self._again)
        if isinstance(answer, Verdict) and answer.fatal:
            return answer  # the admin's session cannot be had again: the run stops
        if isinstance(answer, Verdict):
            return _refusal_of(answer, login)
        register(answer.value)  # before anything could print it
        if self.live.get(user_key(login)) is not None:
            self.ended += 1  # the portal ended the one it replaces (a 401 to it)
        self.live[user_key(login)] = answer
        self.opened += 1
        get_logger().info("impersonation.opened", user=login, admin=self.admin.login)
        return answer

    def _impersonate(
        self, portal: PortalClient, user_id: str, token: Token
    ) -> Awaitable[Token | Verdict]:
        """Open a session of `user_id` with the admin's `token` (asked once: `_again` says
        whether to ask again)."""
        return portal.impersonate(token, user_id)

    async def _again(self, answer: Verdict, tries: int) -> bool:
        """Return whether to open the session again after `answer`: after one that did
        nothing (503, 429, no connection), while retries are left; never after one that may
        have opened a session (a lost answer): each is a login the portal audits."""
        return not answer.ambiguous and await busy(self.backoff, self.retries, answer, tries)

    def settled(self, login: str) -> bool:
        """Count one of `login`'s rows settled; return True when it was the user's last.

        A last row settled while the user's session is open makes the session due to end:
        also when the row never reached the pool (the journal had it done earlier), so
        whoever ends sessions next (run/sessions.py) ends it.
        """
        key = user_key(login)
        self.remaining[key] -= 1
        last = self.remaining[key] <= 0
        if last and key in self.live:
            self.due.add(key)
        return last

    async def end(self, portal: PortalClient, login: str, after: str = "last row") -> None:
        """End `login`'s session, if one is open (the token as the asc_auth_key cookie);
        `after` says when, for the log."""
        token = self.live.pop(user_key(login), None)
        if token is None:
            return
        # Ending twice is harmless: asked again after any answer that may not have ended it.
        answer = await with_retries(partial(portal.end_impersonation, token), self.backoff,
                                    self.retries)  # fmt: skip
        if answer is None or answer.code is Code.PORTAL_UNAUTHORIZED:  # 401: ended already
            self.ended += 1
            get_logger().info("impersonation.ended", user=login, after=after)
        else:
            get_logger().warning("impersonation.not_ended", user=login, reason=str(answer))

    async def end_all(self, portal: PortalClient) -> None:
        """End every session still open (the run stopped, or a user's rows were settled
        without reaching the pool)."""
        for login in list(self.live):
            await self.end(portal, login, after="the run")

    def route(self, job: Job, *, dry_run: bool, list_existing: bool) -> Job | Outcome:
        """Return the job to send (noting whose identity it uses), or the outcome of a row
        that needs no sending: refused before any attempt, or checked by a dry run."""
        login = job.identity.login
        twice = self._same_person(job)
        if twice is not None:
            self.settled(login)
            return outcomes.failed(job, twice, attempts=0)
        if self.is_admin(login):
            return _noted(job, Code.VIA_ADMIN, f"sent as --admin {login} itself")
        refusal = self.refusal(login)
        if refusal is not None and job.identity.password:
            message = f"sent with the row's portal_password ({refusal.message})"
            return _noted(job, Code.VIA_OWN_LOGIN, message)
        if refusal is not None:
            self.settled(login)
            return outcomes.failed(job, refusal, attempts=0)
        if dry_run and not list_existing:
            self.settled(login)
            message = f"--admin {self.admin.login} may act as {login}, " + _UNLISTED
            return outcomes.done(_noted(job, Code.IMPERSONATION_CHECKED, message),
                                 Status.WOULD_CREATE, None)  # fmt: skip
        return _noted(job, Code.VIA_IMPERSONATION, f"sent as {login} through --admin")

    def _same_person(self, job: Job) -> Verdict | None:
        """Return the duplicate-account verdict of a row whose mailbox an earlier row gives
        to the same person under another name (`anna` and `anna@corp.example`, one user in
        People): sent, it would overwrite that row's account. Remember first rows."""
        login = job.identity.login
        first = self.seen(job)
        if first is None:
            return None
        row, first_login = first
        code = Code.DUPLICATE_ACCOUNT
        return Verdict(
            code,
            Stage.VALIDATION,
            f"{printable(job.account.email)} is the same mailbox as row {row}: portal users "
            f"{printable(first_login)} and {printable(login)} are one person in People, so "
            "the portal would overwrite it",
            f"delete this row or merge it into row {row}",
            retryable=False,
        )

    def seen(self, job: Job) -> tuple[int, str] | None:
        """Remember `job`'s row as the first to give its mailbox to its person, unless an
        earlier row did: return that row's (number, login) then. The rows a journal settles
        are seen too (`drive.Router`): a re-run judges the rows as a fresh run does."""
        login = job.identity.login
        person = self.people.get(user_key(login))
        if person is None:
            return None
        key = (person.id, mailbox_key(job.account.email))
        row, first_login = self.mailboxes.setdefault(key, (job.row.number, login))
        return None if row == job.row.number else (row, first_login)

    def facts(self) -> dict[str, Any]:
        """Return what summary.json says of the acting: the admin and its sessions."""
        refused = Counter(str(v.code) for v in self.refusals.values())
        return {
            "admin": self.admin.login,
            "impersonations": self.opened,
            "impersonations_ended": self.ended,
            "users_refused": dict(refused),
            "off": self.off.message if self.off else None,
        }


_UNLISTED = "existing accounts not listed (--list-existing lists them)"


def _noted(job: Job, code: Code, message: str) -> Job:
    note = Problem(job.row.number, "", code, Severity.INFO, message, "")
    return replace(job, problems=(*job.problems, note))


def refused(code: Code, login: str, detail: str = "") -> Verdict:
    """Return the verdict of a user the admin cannot act as, before any attempt."""
    message = f"{code.meaning}: {login}" + (f" ({detail})" if detail else "")
    return Verdict(code, Stage.LOGIN, message, code.hint, retryable=False)


def _refusal_of(answer: Verdict, login: str) -> Verdict:
    """Return the verdict of a refused impersonation: 403 refused, 500 "account" disabled."""
    if answer.http_status == 403:
        return refused(Code.IMPERSONATION_REFUSED, login)
    if answer.http_status == 500 and answer.message.rstrip(")").endswith("account"):
        return refused(Code.PORTAL_USER_DISABLED, login)
    return answer


def refusal_of_person(person: Person | None, login: str, me: Person | None) -> Verdict | None:
    """Return why the admin `me` cannot act as `person`, from People alone (None: it can,
    as far as People tells; the portal's switches and restrictions may still say no)."""
    if person is None:
        return refused(Code.PORTAL_USER_UNKNOWN, login)
    if person.owner:
        return refused(Code.IMPERSONATION_OWNER, login)
    if (person.admin or person.module_admin) and not (me is not None and me.owner):
        return refused(Code.IMPERSONATION_ADMIN, login)
    if person.status != ACTIVE:
        return refused(Code.PORTAL_USER_DISABLED, login)
    if person.visitor:
        return refused(Code.PORTAL_USER_GUEST, login)
    return None
