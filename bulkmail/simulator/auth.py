"""Portal logins and the token check of every other endpoint (docs/portal-api.md §2-§5)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from bulkmail.simulator import envelope, texts
from bulkmail.simulator.binding import ApiError, Params, params_of
from bulkmail.simulator.config import SimConfig
from bulkmail.simulator.facts import TOKEN_LIFETIME
from bulkmail.simulator.guard import LoginGuard
from bulkmail.simulator.state import Store, User

USER: str = "bulkmail.user"
"""Scope key naming the request's portal user, for the request log."""


class Unauthorized(Exception):
    """No credential of the request is valid: the portal answers a bare 401."""

    def __init__(self, realm: str | None) -> None:
        super().__init__(texts.UNAUTHORIZED)
        # The portal adds the challenge only when an Authorization header was sent.
        challenge = {"WWW-Authenticate": f'Basic Realm="{realm}"'} if realm else None
        self.response = envelope.bare(401, texts.UNAUTHORIZED, challenge)


class Auth:
    """Who may use the portal, and how a request proves it is one of them."""

    def __init__(self, store: Store, guard: LoginGuard) -> None:
        self.store = store
        self.guard = guard

    async def login(self, request: Request) -> Response:
        """Answer POST api/2.0/authentication: a token, a 2FA prompt, or 500."""
        params = await params_of(request)
        name, password = params.text("username"), params.text("password")
        request.scope[USER] = name
        client = request.client.host if request.client else ""
        key = ((name or "").lower(), client)
        stats = self.store.stats
        if not self.guard.attempt(key):
            stats.login_failures += 1
            raise ApiError(500, texts.TOO_MANY_ATTEMPTS, texts.HR_EXCEPTION)
        user = self.check(name, password)
        if user is None:
            stats.login_failures += 1
            raise ApiError(500, texts.AUTH_FAILED, texts.HR_AUTHENTICATION)
        self.guard.succeeded(key)
        stats.logins += 1
        stats.of(user.login.lower()).requests += 1
        if user.tfa:
            return envelope.ok(201, {user.tfa: True}, count=1)
        token = self.store.issue_token(user)
        answer = {"token": token, "expires": _expires(self.store.config)}
        cookie = {"Set-Cookie": f"asc_auth_key={token}; path=/; HttpOnly"}
        return envelope.ok(201, answer, count=1, headers=cookie)

    async def login_code(self, request: Request) -> Response:
        """Answer POST api/2.0/authentication/{code}: the second step of a two-factor login
        (docs/portal-api.md §20). The simulator takes any six digits but 000000."""
        params = await params_of(request)
        user = self.check(params.text("username"), params.text("password"))
        code = request.path_params["code"]
        if user is None or not (len(code) == 6 and code.isdigit()) or code == "000000":
            self.store.stats.login_failures += 1
            raise ApiError(500, texts.AUTH_FAILED, texts.HR_AUTHENTICATION)
        request.scope[USER] = user.login
        self.store.stats.logins += 1
        token = self.store.issue_token(user)
        answer = {"token": token, "expires": _expires(self.store.config)}
        return envelope.ok(201, answer, count=1)

    def check(self, name: str | None, password: str | None) -> User | None:
        """Return the user these credentials log in; the open portal provisions new ones."""
        if not name or not password:
            return None
        user = self.store.users.get(name.lower())
        if user is not None and not user.digest and self._opens(password):
            user.set_password(password)  # made by a People lookup: its first login fixes it
            if self.store.journal:
                self.store.journal.save_user(user)
        if user is not None:
            return user if user.check(password) else None
        if self._opens(password):
            return self.store.provision(name, password)
        return None

    def _opens(self, password: str) -> bool:
        return self.store.config.open_portal and "wrong" not in password.lower()

    def mail_user(self, request: Request, params: Params) -> User:
        """Return the request's user, who must have the Mail module (else 401 or 403)."""
        user = self.caller(request, params)
        request.scope[USER] = user.login
        self.store.stats.of(user.login.lower()).requests += 1
        if user.visitor or not user.mail_enabled:
            raise ApiError(403, texts.FORBIDDEN, texts.HR_HTTP)
        return user

    def caller(self, request: Request, params: Params) -> User:
        """Return the user of the first valid credential, in the portal's order."""
        header = request.headers.get("authorization")
        for token in (params.text("asc_auth_key"), request.cookies.get("asc_auth_key"), header):
            user = self._by_token(token)
            if user is not None:
                return user
        if header and header.startswith("Basic "):
            user = self._basic(header[6:])
            if user is not None:
                return user
        if header and header.startswith("Bearer "):
            user = self._by_token(header[7:])
            if user is not None:
                return user
        raise Unauthorized(request.url.hostname if header is not None else None)

    def _by_token(self, token: str | None) -> User | None:
        login = self.store.login_of(token) if token else None
        return None if login is None else self.store.users.get(login)

    def _basic(self, encoded: str) -> User | None:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        # The portal splits on ":" and takes the second piece: passwords with ":" fail.
        pieces = decoded.split(":")
        return self.check(pieces[0], pieces[1] if len(pieces) > 1 else None)


def _expires(config: SimConfig) -> str:
    """Return when a token made now dies (a year, or the session lifetime) as the portal
    writes it: yyyy-MM-ddTHH:mm:ss.fffffff+03:00."""
    offset = config.timezone
    zone = UTC if offset == "Z" else datetime.strptime(offset, "%z").tzinfo
    minutes = config.session_lifetime
    lifetime = TOKEN_LIFETIME if minutes is None else timedelta(minutes=minutes)
    moment = datetime.now(zone) + lifetime
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0{offset}"
