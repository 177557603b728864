"""Before the run, for `--admin`: log the admin in, find the users, read the portal's switch.

One login (with the admin's own two-factor code when the portal asks), as few People calls
as the portal allows, and one look at the impersonation settings; in a dry run the server's
check route for each user (it opens no session). What comes out is the `Acting` the run
uses (run/identities.py), or the one line that ends the run before any row (exit 3).
Facts: docs/portal-api.md §20.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any, Final, TypeVar

import anyio
import httpx

from bulkmail.codes import Code
from bulkmail.errors import ConfigError
from bulkmail.logs import get_logger
from bulkmail.models import Stage, Table
from bulkmail.portal.client import Identity, PortalClient, Token, Verdict
from bulkmail.run.identities import (
    Acting,
    Person,
    person_of,
    refusal_of_person,
    refused,
    user_key,
)
from bulkmail.run.renewal import Renewal
from bulkmail.run.retry import Backoff, with_retries
from bulkmail.secrets import register
from bulkmail.settings import InputSettings, PortalSettings
from bulkmail.validation.table import validate

LOOKUPS: Final = 10
"""Distinct users found by one lookup each; more are found in the listing of all users."""
PAGE: Final = 1000  # the most users one People page holds (docs/portal-api.md §20)
MAX_PAGES: Final = 1000  # a listing that never ends is a portal fault, not a million users
PROBES: Final = 3
"""Users the check route is asked about, when the admin cannot read the owner's switch, before
impersonation counts as off for this admin."""
AT_ONCE: Final = 8
"""People lookups and check-route questions in flight at once, each on a client (one
connection) of its own: one at a time, a dry run of 625 users took 256 s against a portal
answering in 200 ms."""
AskCode = Callable[[str], str]
T = TypeVar("T")
A = TypeVar("A")


async def prepare(
    portal: PortalClient,
    admin: Identity,
    owners: Counter[str],
    *,
    with_password: set[str] | None = None,
    ask_code: AskCode | None,
    dry_run: bool,
    backoff: Backoff,
    retries: int,
    more: Sequence[PortalClient] = (),
) -> Acting | str:
    """Return what --admin may do for the rows' users (`owners`: rows per user_key(login)),
    or why the run must end before any row. ConfigError: a code is needed and no terminal.
    `more`: other clients of the same portal, so that lookups and questions run side by side.

    The check route is asked about every user in a dry run; in a real run, about a few when
    the admin cannot read the owner's switch, and about each user whose rows carry their
    own portal_password (`with_password`), so that a "no" sends them with it from the start.
    """
    token = await log_in(portal, admin, ask_code, backoff, retries)
    if isinstance(token, Verdict):
        return f"the portal refused the login of --admin {admin.login}: {token.message}"
    register(token.value)
    # Mid-run, when the portal ends its session: no code is asked (run/renewal.py).
    again = partial(_log_in_again, admin=admin, backoff=backoff, retries=retries)
    session = Renewal(f"--admin {admin.login}", again, token, run_level=True)
    people = await find_people(portal, session, [*owners, admin.login], backoff, retries, more=more)
    if isinstance(people, Verdict):
        return f"the portal did not say who its users are to --admin {admin.login}: {people}"
    me = people.get(user_key(admin.login))
    acting = Acting(admin, session, me, people=people, remaining=Counter(owners),
                    backoff=backoff, retries=retries)  # fmt: skip
    for login in owners:
        why = None if acting.is_admin(login) else refusal_of_person(people[login], login, me)
        if why is not None:
            acting.refusals[login] = why
    candidates = [
        login for login in sorted(owners) if acting.acts_for(login) and not acting.is_admin(login)
    ]
    readable, acting.off = await _switch(portal, session, backoff, retries)
    if acting.off is None and candidates and (dry_run or not readable):
        await _ask(portal, acting, candidates, (backoff, retries), everyone=dry_run, more=more)
    if acting.off is None and not dry_run:
        fallbacks = [login for login in candidates if login in (with_password or ())]
        await _ask(portal, acting, fallbacks, (backoff, retries), everyone=True,
                   off_when_all=False, more=more)  # fmt: skip
    lost = acting.session.refused
    if lost is not None and lost.fatal:  # the portal ended its session: no login again
        return lost.message
    if acting.off is not None:
        get_logger().warning("impersonation.off", admin=admin.login, message=acting.off.message,
                             hint=acting.off.hint)  # fmt: skip
    return acting


async def log_in(
    portal: PortalClient, admin: Identity, ask_code: AskCode | None, backoff: Backoff, retries: int
) -> Token | Verdict:
    """Log the admin in, with its own two-factor code when the portal asks for one.

    Raises ConfigError (exit 2) when the portal asks for a code and there is no terminal.
    """
    answer = await with_retries(partial(portal.login, admin), backoff, retries)
    if not (isinstance(answer, Verdict) and answer.code is Code.PORTAL_2FA):
        return answer
    if ask_code is None:
        raise ConfigError(
            f"the portal asks --admin {admin.login} for a two-factor code, and there is no "
            "terminal to type it on",
            "run the import on a terminal, with the admin's code at hand",
        )
    code = ask_code(f"two-factor code for {admin.login}: ").strip()
    register(code)
    return await portal.login_with_code(admin, code)


async def _log_in_again(
    portal: PortalClient, *, admin: Identity, backoff: Backoff, retries: int
) -> Token | Verdict:
    """Log the admin in again after the portal ended its session: a portal-2fa Verdict when
    it asks for a code, which nobody is there to type mid-run (the run stops, exit 3)."""
    return await with_retries(partial(portal.login, admin), backoff, retries)


async def find_people(
    portal: PortalClient,
    session: Renewal,
    logins: Iterable[str],
    backoff: Backoff,
    retries: int,
    *,
    more: Sequence[PortalClient] = (),
) -> dict[str, Person | None] | Verdict:
    """Return each login's People record (None: no such user), with few calls: the listing
    of all users when more than LOOKUPS are wanted, and one lookup for each it lacks."""
    wanted = sorted({user_key(login) for login in logins})
    known: dict[str, Person] = {}
    if len(wanted) > LOOKUPS:
        listed = await _everyone(portal, session, backoff, retries)
        if isinstance(listed, Verdict):
            return listed
        known = listed
    lacking = [login for login in wanted if login not in known]
    looked = await _each(
        lacking,
        lambda client, login: session.retried(
            client, partial(_person, client, login=login), backoff, retries
        ),
        (portal, *more),
    )
    found: dict[str, Person | None] = dict(known)
    for login, data in zip(lacking, looked, strict=True):
        if isinstance(data, Verdict):
            return data
        found[login] = _theirs(person_of(data), login)
    return {login: found[login] for login in wanted}


async def _each(
    items: Sequence[A],
    ask: Callable[[PortalClient, A], Awaitable[T | Verdict]],
    portals: Sequence[PortalClient],
    *,
    stop_at_verdict: bool = True,
) -> list[T | Verdict | None]:
    """Return `ask(portal, item)` for each item in order, one in flight per client of
    `portals`. With `stop_at_verdict`, after a Verdict (the portal refused or failed) no new
    item is asked, and those not asked are None."""
    answers: list[T | Verdict | None] = [None] * len(items)
    pending = iter(enumerate(items))
    failed = False

    async def worker(client: PortalClient) -> None:
        nonlocal failed
        for index, item in pending:
            if failed:
                return
            answers[index] = answer = await ask(client, item)
            failed = failed or (stop_at_verdict and isinstance(answer, Verdict))

    async with anyio.create_task_group() as tg:
        for client in portals[: len(items)]:
            tg.start_soon(worker, client)
    return answers


def _person(
    client: PortalClient, token: Token, *, login: str
) -> Awaitable[dict[str, Any] | Verdict | None]:
    return client.person(token, login)


def _page(
    client: PortalClient, token: Token, *, start: int
) -> Awaitable[tuple[list[Any], int] | Verdict]:
    return client.people(token, start, PAGE)


def _theirs(person: Person | None, login: str) -> Person | None:
    """Return `person` when its email or login is `login` (a user_key), else None: a lookup
    that answers with someone else (by user id, or ignoring the email asked) finds nobody,
    so that no row is ever sent as another user."""
    if person is None or login not in (user_key(person.email), user_key(person.login)):
        return None
    return person


async def _everyone(
    portal: PortalClient, session: Renewal, backoff: Backoff, retries: int
) -> dict[str, Person] | Verdict:
    """Return every portal user by user_key of email and login, page by page (`total` says
    when to stop: the listing gives no next index)."""
    known: dict[str, Person] = {}
    start = 0
    for _ in range(MAX_PAGES):
        page = await session.retried(portal, partial(_page, portal, start=start), backoff, retries)
        if isinstance(page, Verdict):
            return page
        items, total = page
        for person in filter(None, map(person_of, items)):
            for name in (person.email, person.login):
                if name:
                    known[user_key(name)] = person
        start += len(items)
        if not items or start >= total:
            break
    return known


async def _switch(
    portal: PortalClient, session: Renewal, backoff: Backoff, retries: int
) -> tuple[bool, Verdict | None]:
    """Return whether the admin could read the owner's switch, and the line saying that
    impersonation is off (None: on, or not the admin's to read)."""
    settings = await session.retried(portal, portal.impersonation_settings, backoff, retries)
    if isinstance(settings, dict):
        if settings.get("enabled") is True:
            return True, None
        return True, _off("the portal's owner has not enabled it (Settings > Access Rights > "
                          "Impersonation Settings)")  # fmt: skip
    if settings.http_status == 404:
        return False, _off("the portal does not know it: a server before 12.5 (update it)")
    if settings.http_status == 403 and "owner" not in settings.message.casefold():
        return False, _off("core.user.impersonate is false in the portal's web.appsettings.config "
                           "(set it to true and restart the portal)")  # fmt: skip
    return False, None  # only the owner may read it: the check route tells


async def _ask(
    portal: PortalClient,
    acting: Acting,
    candidates: list[str],
    retry: tuple[Backoff, int],
    *,
    everyone: bool,
    off_when_all: bool = True,
    more: Sequence[PortalClient] = (),
) -> None:
    """Ask the check route about the users (all of them, or until one may be acted for),
    again while the portal is busy (`retry`: backoff and retries); a "no" refuses that
    user; "no" for every user asked means off for this admin. A question the portal did
    not answer is no "no": the user's own session will tell."""
    said: list[bool | None] = []  # None: the portal did not answer
    asked = [
        (login, person)
        for login in candidates
        if (person := acting.people[login]) is not None and login not in acting.refusals
    ]

    async def ask(client: PortalClient, login_person: tuple[str, Person]) -> bool | Verdict:
        def question(token: Token) -> Awaitable[bool | Verdict]:
            return client.can_impersonate(token, login_person[1].id)

        return await acting.session.retried(client, question, *retry)

    if everyone:  # all of them, side by side (a Verdict stops nothing here)
        answers: list[bool | Verdict | None] = await _each(
            asked, ask, (portal, *more), stop_at_verdict=False
        )
    else:  # a few, one at a time, until one may be acted for
        answers = []
        for pair in asked[:PROBES]:
            answers.append(first := await ask(portal, pair))
            if first is True:
                return
    for (login, _), answer in zip(asked, answers, strict=False):
        said.append(None if isinstance(answer, Verdict) else answer)
        if answer is False:
            acting.refusals[login] = refused(Code.IMPERSONATION_REFUSED, login)
    if off_when_all and said and all(answer is False for answer in said):
        acting.off = _off(
            f"the portal lets --admin {acting.admin.login} act as none of the {len(said)} users "
            "asked: its owner enables impersonation for all admins or for this one (Settings > "
            "Access Rights > Impersonation Settings)"
        )


def _off(why: str) -> Verdict:
    code = Code.IMPERSONATION_OFF
    return Verdict(code, Stage.LOGIN, f"impersonation is off: {why}", code.hint, retryable=False)


async def start_acting(
    client_factory: Callable[[], httpx.AsyncClient],
    table: Table,
    inp: InputSettings,
    portal: PortalSettings,
    ask_code: AskCode | None,
    backoff: Backoff | None = None,
) -> Acting | str:
    """Read the rows' owners (a first pass over `table`), then `prepare`; return the Acting,
    or the line that ends the run before any row: a refused admin, or impersonation off with
    no row carrying its own portal_password."""
    owners, with_password = owners_of(table, inp, portal)
    admin = Identity(portal.admin or "", portal.admin_password or "")
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            PortalClient(await stack.enter_async_context(client_factory())) for _ in range(AT_ONCE)
        ]
        acting = await prepare(
            clients[0], admin, owners, with_password=with_password,
            ask_code=ask_code, dry_run=portal.dry_run,
            backoff=backoff or Backoff(), retries=portal.retries, more=clients[1:],
        )  # fmt: skip
    if isinstance(acting, str):
        return acting
    if portal.dry_run and not portal.list_existing:
        get_logger().info(
            "plan.unlisted",
            message="dry run with --admin: the portal was asked whether it lets the admin act "
            "as each user, and no session was opened, so existing accounts are not listed",
            hint="add --list-existing to list them (one audited session per user)",
        )
    if acting.off is not None and not any(
        acting.acts_for(login) or login in with_password for login in owners
    ):
        return f"{acting.off.message}; no row carries its own portal_password: nothing sent"
    return acting


def owners_of(
    table: Table, inp: InputSettings, portal: PortalSettings
) -> tuple[Counter[str], set[str]]:
    """Return the valid rows per owner (user_key of the login), and the owners of rows that carry
    their own portal_password."""
    owners: Counter[str] = Counter()
    with_password: set[str] = set()
    checked_rows = validate(
        table, defaults=inp.defaults, run_user=portal.user, acting=True,
        from_email=portal.portal_user_from == "email", autofill=inp.autofill,
    )  # fmt: skip
    for checked in checked_rows:
        account = checked.account
        if account is None:
            continue
        login = user_key(account.portal_user or portal.user or "")
        owners[login] += 1
        if account.portal_password:
            with_password.add(login)
    return owners, with_password
