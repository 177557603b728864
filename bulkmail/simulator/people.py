"""The People API the tools need: one user by email, login or id, and the paged listing.

From docs/portal-api.md §20: lookups match case-
insensitively and include disabled users; an unknown one is 404 "User not found"; the
listing (`people/filter`) pages by `count` (at most 1,000) and `startIndex` and says `total`.
Each user has an email and a login (`userName`): a login with an "@" is its own email, else
the email is login@portal.sim. On the open portal a lookup of an unknown login creates that
user, as its logins do; the user's first login then fixes its password.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from bulkmail.simulator import envelope, texts
from bulkmail.simulator.auth import USER, Auth
from bulkmail.simulator.binding import ApiError, Params, params_of
from bulkmail.simulator.config import OPEN_ADMIN, PortalUser
from bulkmail.simulator.facts import MAX_PAGE
from bulkmail.simulator.state import Store, User

STATUS: Final = {"active": 1, "terminated": 2, "leave": 4}  # EmployeeStatus
_STATUS_NAMES: Final = {"active": 1, "terminated": 2, "leaveofabsence": 4}
EMAIL_DOMAIN: Final = "portal.sim"


@dataclass(frozen=True, slots=True)
class Person:
    """What People says of a user beyond its login: rank, status and departments."""

    admin: bool = False
    owner: bool = False
    module_admin: bool = False
    status: int = STATUS["active"]
    groups: frozenset[str] = field(default_factory=frozenset)


def _person(u: PortalUser) -> Person:
    return Person(u.admin, u.owner, u.module_admin, STATUS[u.status], frozenset(u.groups))


def email_of(user: User) -> str:
    """Return the user's email: the login when it is an address."""
    login = user.login.lower()
    return login if "@" in login else f"{login}@{EMAIL_DOMAIN}"


def user_name(user: User) -> str:
    """Return the user's login as People shows it (`userName`)."""
    return user.login.lower()


class People:
    """Who the portal's users are, and the People routes that say it."""

    def __init__(self, store: Store, auth: Auth) -> None:
        self.store, self.auth = store, auth
        self.persons = {u.login.lower(): _person(u) for u in store.config.users}
        if store.config.open_portal:
            self.persons.setdefault(OPEN_ADMIN, Person(admin=True, owner=True))

    def person(self, user: User) -> Person:
        """Return what People knows of `user` (a plain active user unless configured)."""
        return self.persons.get(user.login.lower(), Person())

    def find(self, value: str) -> User | None:
        """Return the user whose email, login or id is `value` (any case)."""
        wanted = value.strip().lower()
        for user in list(self.store.users.values()):
            if wanted in (email_of(user), user_name(user), user.id):
                return user
        return None

    def found(self, value: str) -> User:
        """Return `find(value)`; the open portal creates an unknown login; else 404."""
        user = self.find(value)
        if user is None and self.store.config.open_portal and _is_login(value):
            user = self.store.provision(value.strip(), None)
        if user is None:
            raise ApiError(404, texts.USER_NOT_FOUND, texts.HR_EXCEPTION)
        return user

    async def by_email(self, request: Request) -> Response:
        """GET api/2.0/people/email?email=ADDRESS."""
        params = await self._caller(request)
        return self._one(self.found(params.text("email") or ""), params.text("fields"))

    async def by_name(self, request: Request) -> Response:
        """GET api/2.0/people/{login-or-id}."""
        params = await self._caller(request)
        return self._one(self.found(request.path_params["name"]), params.text("fields"))

    async def listing(self, request: Request) -> Response:
        """GET api/2.0/people/filter: every user (all statuses), paged; `total` says how many."""
        params = await self._caller(request)
        count = min(params.integer("count") or MAX_PAGE, MAX_PAGE)  # binder names: lower case
        start = max(params.integer("startindex"), 0)
        status, text = params.text("employeestatus"), params.text("filtervalue")
        users = sorted(self.store.users.values(), key=lambda u: u.login.lower())
        users = [u for u in users if self._matches(u, status, text)]
        page = [self.wrap(u, params.text("fields")) for u in users[start : start + count]]
        return envelope.ok(200, page, count=len(page), extra={"total": len(users)})

    def _matches(self, user: User, status: str | None, text: str | None) -> bool:
        wanted = _STATUS_NAMES.get(status.lower(), _number(status)) if status else None
        if wanted is not None and wanted != self.person(user).status:
            return False
        return not text or text.lower() in email_of(user)

    def wrap(self, user: User, fields: str | None = None) -> dict[str, Any]:
        """Return `user` as EmployeeWraperFull (camelCase), only `fields` when given."""
        person = self.person(user)
        document: dict[str, Any] = {
            "id": user.id,
            "userName": user_name(user),
            "displayName": user.login,
            "email": email_of(user),
            "status": person.status,
            "activationStatus": 1,
            "isAdmin": person.admin or person.owner,
            "isOwner": person.owner,
            "isVisitor": user.visitor,
            "isLDAP": False,
            "isSSO": False,
        }
        if not fields:
            return document
        wanted = {f.strip() for f in fields.split(",")}
        if "listAdminModules" in wanted:
            document["listAdminModules"] = ["mail"] if person.module_admin else []
        return {k: v for k, v in document.items() if k in wanted}

    def _one(self, user: User, fields: str | None) -> Response:
        return envelope.ok(200, self.wrap(user, fields), count=1)

    async def _caller(self, request: Request) -> Params:
        params = await params_of(request)
        caller = self.auth.caller(request, params)
        request.scope[USER] = caller.login
        self.store.stats.people_requests += 1
        return params


def _is_login(value: str) -> bool:
    text = value.strip()
    try:
        uuid.UUID(text)
    except ValueError:
        return bool(text) and not any(c.isspace() for c in text)
    return False  # an unknown id is not a login to create


def _number(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() else None
