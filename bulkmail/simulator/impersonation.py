"""Impersonation (server 12.5 and later): an admin gets a token of another user, no password.

From docs/portal-api.md §20: the check
(`GET security/impersonate/{id}`, a bool, never 403), the POST (201 and a bare token string;
403 "Impossible to impersonate this user"; 500 "account" for a disabled target), the logout
(ends the session only of a token sent as the `asc_auth_key` cookie) and the owner-only
settings. `can` is the server's decision table (docs/portal-api.md §20), in its order.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import asdict, replace
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from bulkmail.simulator import envelope, texts
from bulkmail.simulator.auth import USER, Auth
from bulkmail.simulator.binding import ApiError, Params, params_of
from bulkmail.simulator.config import ENABLE_TYPES, Impersonation
from bulkmail.simulator.people import STATUS, People
from bulkmail.simulator.state import User

_COOKIE: Final = "asc_auth_key"
_COMEBACK: Final = "comeback_auth_key"


class Impersonations:
    """The switches, the decision, and the routes; the sessions it opened, for logout."""

    def __init__(self, auth: Auth, people: People) -> None:
        self.auth, self.people, self.store = auth, people, auth.store
        self.settings = self.store.config.impersonation
        self.opened: set[str] = set()  # tokens of impersonated sessions still open

    def reset(self) -> None:
        """Go back to the configured switches; forget the sessions."""
        self.settings = self.store.config.impersonation
        self.opened.clear()

    def can(self, caller: User, target: User | None) -> bool:
        """Return whether `caller` may impersonate `target` (docs/portal-api.md §20, rules
        1-12 in order; the target's status, type and 2FA are not looked at)."""
        s, me = self.settings, self.people.person(caller)
        if target is not None and target.login.lower() == caller.login.lower():
            return False  # 1
        if not (s.config_key and s.enabled):
            return False  # 2, 3
        if not me.owner:
            if s.enable_type == "disabled-for-admins" or not me.admin:
                return False  # 5
            if s.enable_type == "limited" and not _named(caller, s.allowed_admins):
                return False  # 6
        if target is None or self.people.person(target).owner:
            return False  # 7
        if me.owner:
            return True  # 8
        them = self.people.person(target)
        if _named(target, s.restricted_users) or them.admin or them.module_admin:
            return False  # 9, 10
        if them.groups & set(s.restricted_groups):
            return False  # 11
        return not (s.only_own_groups and not (me.groups & them.groups))  # 12

    async def check(self, request: Request) -> Response:
        """GET security/impersonate/{userId}: true or false, never a refusal."""
        caller, target = await self._parties(request)
        return envelope.ok(200, self.can(caller, target), count=1)

    async def impersonate(self, request: Request) -> Response:
        """POST security/impersonate/{userId}: 201 and a new token of the target."""
        caller, target = await self._parties(request)
        stats = self.store.stats
        if target is None or not self.can(caller, target):
            stats.impersonation_refusals += 1
            raise ApiError(403, texts.CANNOT_IMPERSONATE, texts.HR_SECURITY)
        if self.people.person(target).status != STATUS["active"]:
            stats.impersonation_refusals += 1  # the login step refuses a non-active user
            raise ApiError(500, texts.NOT_AN_ACCOUNT, texts.HR_AUTHENTICATION)
        # About 160 base64 characters with +, / and =, as the portal's encrypted tokens.
        token = self.store.issue_token(target, base64.b64encode(secrets.token_bytes(120)).decode())
        self.opened.add(token)
        stats.impersonations += 1
        stats.of(target.login.lower()).impersonated += 1
        response = envelope.ok(201, token, count=len(token))
        response.set_cookie(_COOKIE, token, path="/", httponly=True)
        if _COMEBACK not in request.cookies:
            response.set_cookie(_COMEBACK, request.cookies.get(_COOKIE, ""), path="/")
        return response

    async def logout(self, request: Request) -> Response:
        """PUT security/impersonate/logout: end the session of the `asc_auth_key` cookie."""
        params = await params_of(request)
        caller = self.auth.caller(request, params)
        request.scope[USER] = caller.login
        revoked = request.cookies.get(_COOKIE)
        if not revoked and self.settings.logout_revokes_header_token:
            revoked = (request.headers.get("authorization") or "").removeprefix("Bearer ")
        known = revoked is not None and self.store.tokens.pop(revoked, None) is not None
        if known and revoked in self.opened:
            self.opened.discard(revoked)
            self.store.stats.impersonations_ended += 1
        response = envelope.ok(200, {})
        response.delete_cookie(_COMEBACK, path="/")
        return response

    async def get_settings(self, request: Request) -> Response:
        """GET security/impersonate/settings: the owner's switches."""
        await self._owner(request)
        return envelope.ok(200, self._document(), count=1)

    async def put_settings(self, request: Request) -> Response:
        """PUT security/impersonate/settings: store the switches (enable=false: defaults)."""
        params = await self._owner(request)
        if not params.boolean("enable"):
            self.settings = Impersonation(config_key=True)
        else:
            self.settings = replace(
                self.settings,
                enabled=True,
                enable_type=_enable_type(params.text("enabletype")),
                only_own_groups=params.boolean("onlyforowngroups"),
                allowed_admins=self._logins(params.text("allowedadmins")),
                restricted_users=self._logins(params.text("restrictionusers")),
                restricted_groups=_list(params.text("restrictiongroups")),
            )
        return envelope.ok(200, self._document(), count=1)

    async def _parties(self, request: Request) -> tuple[User, User | None]:
        params = await params_of(request)
        caller = self.auth.caller(request, params)
        request.scope[USER] = caller.login
        raw = request.path_params["user_id"]
        try:
            wanted = str(uuid.UUID(raw))
        except ValueError:
            raise ApiError(400, f"Guid should contain 32 digits with 4 dashes "
                           f"(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx). ({raw})",
                           texts.HR_FORMAT) from None  # fmt: skip
        return caller, self.people.find(wanted)

    async def _owner(self, request: Request) -> Params:
        params = await params_of(request)
        caller = self.auth.caller(request, params)
        request.scope[USER] = caller.login
        if not self.settings.config_key:
            raise ApiError(403, texts.SETTING_NOT_AVAILABLE, texts.HR_SECURITY)
        if not self.people.person(caller).owner:
            raise ApiError(403, texts.SETTING_OWNER_ONLY, texts.HR_SECURITY)
        return params

    def _document(self) -> dict[str, Any]:
        s = self.settings
        ids = {u.login.lower(): u.id for u in self.store.users.values()}

        def of(logins: tuple[str, ...]) -> list[str] | None:
            return [ids[n.lower()] for n in logins if n.lower() in ids] or None

        return {
            "enabled": s.enabled,
            "enableType": ENABLE_TYPES.index(s.enable_type),
            "onlyForOwnGroups": s.only_own_groups,
            "allowedAdmins": of(s.allowed_admins),
            "restrictionUsers": of(s.restricted_users),
            "restrictionGroups": list(s.restricted_groups) or None,
        }

    def _logins(self, ids: str | None) -> tuple[str, ...]:
        found = (self.people.find(i) for i in _list(ids))
        return tuple(u.login for u in found if u is not None)

    def facts(self) -> dict[str, Any]:
        """Return the switches and the sessions still open, for /_sim/stats."""
        self.opened &= self.store.tokens.keys()  # a logout of all ended some
        return {"settings": asdict(self.settings), "open_sessions": len(self.opened)}


def _named(user: User, logins: tuple[str, ...]) -> bool:
    return user.login.lower() in {n.lower() for n in logins}


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _enable_type(value: str | None) -> Any:
    """Return the EnableType named or numbered by `value` (0-2, or the .NET member name)."""
    names = {"disableforadmins": 0, "enableforallfulladmins": 1, "enablewithlimits": 2}
    text = (value or "0").strip()
    number = int(text) if text.isascii() and text.isdigit() else names.get(text.lower())
    if number is None or not 0 <= number < len(ENABLE_TYPES):
        raise ApiError(400, texts.ENUM_NOT_FOUND.format(value=text), texts.HR_ARGUMENT)
    return ENABLE_TYPES[number]
