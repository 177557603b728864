"""The ONLYOFFICE / R7-Office portal API over an injected `httpx.AsyncClient`.

Each call returns its result or a `Verdict` (see `bulkmail.portal.answers`); it raises only on
a bug or on what httpx considers misuse. The client passed in carries the portal's base URL
and the timeout, which also bounds each whole exchange; this module adds the paths, the raw
`Authorization: <token>` header (the documented style, docs/portal-api.md §3) and the reading
of the `{"status", "response"}` envelope (§1). Every answer is read capped
(`bulkmail.portal.bodies`) and the account list's paging bounded (`bulkmail.portal.paging`).
"""

from __future__ import annotations

import http.cookiejar
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final
from urllib.parse import quote

import anyio
import httpx

from bulkmail.portal.answers import (
    CleanMessage,
    During,
    Verdict,
    classify_exception,
    classify_response,
    classify_unreadable,
    clean_message,
    portal_message,
)
from bulkmail.portal.bodies import ACCEPT_ENCODING, read_capped
from bulkmail.portal.lowering import lower_address, mailbox_key
from bulkmail.portal.paging import Pages
from bulkmail.secrets import SECRET_FIELDS, scrub, scrub_data

__all__ = [
    "Accounts",
    "CleanMessage",
    "Created",
    "Identity",
    "PortalClient",
    "Token",
    "Verdict",
    "classify_exception",
    "classify_response",
    "clean_message",
]

AUTH_PATH: Final = "api/2.0/authentication"
ACCOUNTS_PATH: Final = "api/2.0/mail/accounts"
SINGLE_PATH: Final = "api/2.0/mail/accounts/single"
SETUPS_PATH: Final = "api/2.0/mail/accounts/setups"
CAPABILITIES_PATH: Final = "api/2.0/capabilities"
PEOPLE_PATH: Final = "api/2.0/people"
IMPERSONATE_PATH: Final = "api/2.0/security/impersonate"
PERSON_FIELDS: Final = (
    "id,userName,email,status,isAdmin,isOwner,isVisitor,listAdminModules"  # docs/portal-api.md §20
)
_NOT_FOUND: Final = "account wasn't found"  # /single answers 500, not 404 (docs/portal-api.md §13)


@dataclass(frozen=True, slots=True)
class Identity:
    """A portal user's login and password."""

    login: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Token:
    """A portal session token; its value is never printed."""

    value: str = field(repr=False)


# The list's flags of the addresses a user has on the portal's own mail server
# (docs/portal-api.md §13), and what each is called in messages.
PORTAL_ADDRESS_FLAGS: Final = (
    ("isTeamlabMailbox", "mailbox"),
    ("isAlias", "alias"),
    ("isGroup", "mail group"),
)


class Accounts(dict[str, int]):
    """A user's external accounts, {`lowering.mailbox_key(email)`: mailboxId}, and in
    `portal` the addresses the user has on the portal's own mail server: {lowered email:
    "mailbox" | "alias" | "mail group"} (the list's isTeamlabMailbox, isAlias, isGroup); in
    `disabled` the accounts switched off (`enabled` false), which a create leaves off (§12);
    in `listed` the address of each account listed with non-ASCII characters, as listed
    (an ASCII one is its key)."""

    def __init__(self) -> None:
        super().__init__()
        self.portal: dict[str, str] = {}
        self.disabled: set[str] = set()
        self.listed: dict[str, str] = {}

    def address_for(self, email: str) -> str:
        """Return the address a create must carry to overwrite the account listed under
        `email`'s key: the listed one when the portal lowers `email` to another address
        (typed decomposed: `e` + U+0301 for `é`, which the portal would keep as a second
        account, §12), else `email` itself."""
        key = mailbox_key(email)
        listed = self.listed.get(key, key)  # an ASCII address is listed as its key
        return email if lower_address(listed) == lower_address(email) else listed


@dataclass(frozen=True, slots=True)
class Created:
    """A saved account: its mailbox id and the address as the portal echoed it."""

    mailbox_id: int
    email: str


class PortalClient:
    """Log in, list, look up and create external mail accounts on one portal."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        # The login answer sets an `asc_auth_key` cookie, and the portal reads that cookie
        # *before* the Authorization header (docs/portal-api.md §3): a client that kept it would
        # create the next user's accounts as the previous user. So the client never stores
        # cookies; every call names its user by the token alone.
        client.cookies.jar.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        client.cookies.clear()
        client.headers["Accept-Encoding"] = ACCEPT_ENCODING  # see there why no gzip
        self._accounts_url = client.base_url.join(ACCOUNTS_PATH)
        self._create_headers = [
            *client.headers.multi_items(),
            ("Content-Type", "application/json"),
        ]
        self._timeout = client.timeout.as_dict()
        self._total = client.timeout.read  # seconds for a whole exchange; None: unbounded

    async def login(self, identity: Identity) -> Token | Verdict:
        """Log `identity` in (POST api/2.0/authentication) and return its token."""
        body = {"userName": identity.login, "password": identity.password}
        secrets = (identity.password,)
        response = await self._send("login", "POST", AUTH_PATH, secrets, json=body)
        return _token(response, secrets)

    async def login_with_code(self, identity: Identity, code: str) -> Token | Verdict:
        """Finish a two-factor login with the user's code (POST api/2.0/authentication/{code})."""
        body = {"userName": identity.login, "password": identity.password}
        secrets = (identity.password, code)
        path = f"{AUTH_PATH}/{quote(code, safe='')}"
        response = await self._send("login", "POST", path, secrets, json=body)
        return _token(response, secrets)

    async def people(self, token: Token, start: int, count: int) -> tuple[list[Any], int] | Verdict:
        """Return one page of every portal user and how many there are in all
        (GET api/2.0/people/filter: docs/portal-api.md §20)."""
        params = {"count": count, "startIndex": start, "fields": PERSON_FIELDS}
        response = await self._get(f"{PEOPLE_PATH}/filter", token, params)
        if isinstance(response, Verdict):
            return response
        body = _envelope(response)
        items, total = (body.get("response"), body.get("total")) if body else (None, None)
        if isinstance(items, list) and isinstance(total, int) and not isinstance(total, bool):
            return items, total
        return _classified(response, "list", (token.value,))

    async def person(self, token: Token, login: str) -> dict[str, Any] | Verdict | None:
        """Return the portal user whose email (with an @) or login this is; None when there is
        none (404: docs/portal-api.md §20)."""
        if "@" in login:
            path, params = f"{PEOPLE_PATH}/email", {"email": login, "fields": PERSON_FIELDS}
        else:
            path, params = f"{PEOPLE_PATH}/{quote(login, safe='')}", {"fields": PERSON_FIELDS}
        response = await self._get(path, token, params)
        if isinstance(response, Verdict):
            return response
        data = _result(response)
        if isinstance(data, dict):
            return data
        if response.status_code == 404 or (
            path != f"{PEOPLE_PATH}/email" and isinstance(data, list)
        ):
            return None  # a list: a People route of its own answered (filter, search), no user
        return _classified(response, "list", (token.value,))

    async def impersonation_settings(self, token: Token) -> dict[str, Any] | Verdict:
        """Return the owner's impersonation settings (owner only; docs/portal-api.md §20)."""
        response = await self._get(f"{IMPERSONATE_PATH}/settings", token)
        if isinstance(response, Verdict):
            return response
        data = _result(response)
        return data if isinstance(data, dict) else _classified(response, "list", (token.value,))

    async def can_impersonate(self, token: Token, user_id: str) -> bool | Verdict:
        """Return what the portal says of impersonating `user_id`; opens nothing."""
        response = await self._get(f"{IMPERSONATE_PATH}/{quote(user_id, safe='')}", token)
        if isinstance(response, Verdict):
            return response
        data = _result(response)
        return data if isinstance(data, bool) else _classified(response, "list", (token.value,))

    async def impersonate(self, token: Token, user_id: str) -> Token | Verdict:
        """Open a session of `user_id` as the admin of `token` and return its token.

        The answer sets cookies that would turn a cookie-keeping client into that user: this
        client keeps none (see __init__).
        """
        path = f"{IMPERSONATE_PATH}/{quote(user_id, safe='')}"
        response = await self._send("login", "POST", path, (token.value,), token=token)
        if isinstance(response, Verdict):
            return response
        data = _result(response)
        if isinstance(data, str) and data:
            return Token(data)
        return _classified(response, "login", (token.value,))

    async def end_impersonation(self, token: Token) -> Verdict | None:
        """End the impersonated session of `token`: the portal ends only the session whose
        token comes as the `asc_auth_key` cookie (docs/portal-api.md §20), so it goes so here,
        on this one call."""
        headers = {"Authorization": token.value, "Cookie": f"asc_auth_key={token.value}"}
        request = self._client.build_request("PUT", f"{IMPERSONATE_PATH}/logout", headers=headers)
        response = await self._exchange("list", request, (token.value,))
        if isinstance(response, Verdict) or response.is_success:
            return response if isinstance(response, Verdict) else None
        return _classified(response, "list", (token.value,))

    async def _get(
        self, path: str, token: Token, params: Mapping[str, Any] | None = None
    ) -> httpx.Response | Verdict:
        return await self._send("list", "GET", path, (token.value,), token=token, params=params)

    async def capabilities(self) -> dict[str, Any] | Verdict:
        """Return what the portal says it can do (GET api/2.0/capabilities, no login needed:
        docs/portal-api.md §19): the cheap proof that the URL is the portal's API."""
        response = await self._send("list", "GET", CAPABILITIES_PATH, ())
        if isinstance(response, Verdict):
            return response
        data = _result(response)
        return data if isinstance(data, dict) else _classified(response, "list", ())

    async def list_accounts(self, token: Token) -> Accounts | Verdict:
        """Return the user's external accounts as {email lowered as the portal lowers it, in
        NFC: mailboxId} (`portal.lowering.mailbox_key`), with the user's addresses on the
        portal's own mail server (its mailboxes, aliases and groups) apart in
        `Accounts.portal`."""
        accounts = Accounts()
        start, secrets, pages = 0, (token.value,), Pages()
        while True:
            params = {"startIndex": start} if start else None
            response = await self._send(
                "list", "GET", ACCOUNTS_PATH, secrets, token=token, params=params
            )
            if isinstance(response, Verdict):
                return response
            body = _envelope(response)
            items = body.get("response") if body else None
            if not isinstance(items, list) or not _collect(items, accounts):
                return _classified(response, "list", secrets)
            # The portal pages lists at 1,000 items and then says where to go on.
            following = pages.after(start, items, body.get("nextIndex") if body else None)
            if following is None:
                return accounts
            if isinstance(following, Verdict):
                return following
            start = following

    async def find_account(self, token: Token, email: str) -> int | Verdict | None:
        """Return the mailboxId of the user's account `email`, or None when there is none."""
        params, secrets = {"email": email}, (token.value,)
        response = await self._send("list", "GET", SINGLE_PATH, secrets, token=token, params=params)
        if isinstance(response, Verdict):
            return response
        data = _result(response)
        found = _as_id(data.get("id")) if isinstance(data, dict) else None
        if found is not None:
            return found
        if response.status_code == 500 and portal_message(response).casefold().startswith(
            _NOT_FOUND
        ):
            return None
        return _classified(response, "list", secrets)

    async def setups(self, token: Token, email: str, action: str) -> dict[str, Any] | Verdict:
        """Return the portal's default settings for `email` as MailBoxData (ports as strings):
        GET api/2.0/mail/accounts/setups?email=&action= (docs/portal-api.md §21). `action`
        names the protocol (`portal.setups.IMAP_ACTION`, `POP_ACTION`)."""
        params, secrets = {"email": email, "action": action}, (token.value,)
        response = await self._send("list", "GET", SETUPS_PATH, secrets, token=token, params=params)
        if isinstance(response, Verdict):
            return response
        data = _result(response)
        return data if isinstance(data, dict) else _classified(response, "list", secrets)

    async def create(self, token: Token, payload: Mapping[str, Any]) -> Created | Verdict:
        """Create (or, for a known address, overwrite) an account: POST api/2.0/mail/accounts."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        response = await self._post_json(self._accounts_url, token, body)
        if isinstance(response, Verdict):
            return response
        data = _result(response)
        if isinstance(data, dict) and (mailbox_id := _as_id(data.get("mailboxId"))) is not None:
            echoed = data.get("email")
            email = echoed if isinstance(echoed, str) else str(payload.get("email", ""))
            return Created(mailbox_id, email)
        # The portal's message quotes the mail servers; a server could echo what it was sent.
        secrets = [token.value, *(v for k in SECRET_FIELDS if isinstance(v := payload.get(k), str))]
        return _classified(response, "create", secrets)

    async def _post_json(
        self, url: httpx.URL, token: Token, body: bytes
    ) -> httpx.Response | Verdict:
        """POST a create with the URL, headers and timeout prepared once per client.

        The hot path of a run: `client.request` re-parses and merges the URL and headers on
        every call.
        """
        headers = [*self._create_headers, ("Authorization", token.value)]
        request = httpx.Request(
            "POST", url, headers=headers, content=body, extensions={"timeout": self._timeout}
        )
        return await self._exchange("create", request, (token.value,))

    async def _send(
        self,
        during: During,
        method: str,
        path: str,
        secrets: Sequence[str],
        *,
        token: Token | None = None,
        **kw: Any,
    ) -> httpx.Response | Verdict:
        headers = {"Authorization": token.value} if token is not None else None
        request = self._client.build_request(method, path, headers=headers, **kw)
        return await self._exchange(during, request, secrets)

    async def _exchange(
        self, during: During, request: httpx.Request, secrets: Sequence[str]
    ) -> httpx.Response | Verdict:
        """Send `request` and read the whole answer within the client's read timeout.

        httpx bounds each read, so an answer that trickles a byte every few seconds would
        never time out: the whole exchange gets the same bound (`--timeout`) here. The body
        is read up to `bodies.MAX_ANSWER_BYTES`, decoded. A failure is classified with the
        call's `secrets` masked.
        """
        try:
            with anyio.fail_after(self._total):
                response = await self._client.send(request, stream=True)
                try:
                    answer = await read_capped(response)
                finally:
                    await response.aclose()
            if isinstance(answer, httpx.Response):
                return answer
            return _scrubbed(classify_unreadable(answer, during=during), secrets)
        except httpx.HTTPError as exc:
            return _scrubbed(classify_exception(exc, during=during), secrets)
        except TimeoutError:
            late = httpx.ReadTimeout(f"no whole answer within {self._total:g} s", request=request)
            return _scrubbed(classify_exception(late, during=during), secrets)


def _envelope(response: httpx.Response) -> dict[str, Any] | None:
    """Return the JSON envelope of a 2xx answer, or None when it is not one."""
    if not response.is_success:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _result(response: httpx.Response) -> Any:
    body = _envelope(response)
    return body.get("response") if body else None


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):  # a bool is an int to Python, never an id
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None


def _collect(items: list[Any], into: Accounts) -> bool:
    """Add the items of one page to `into`; False when an item is not an account."""
    for item in items:
        if not isinstance(item, dict):
            return False
        email, mailbox_id = item.get("email"), _as_id(item.get("mailboxId"))
        flags = {key: _flag(item.get(key)) for key in (*_OWN_FLAGS, "enabled")}
        if _UNREADABLE in flags.values():  # whether it is the portal's own mail is unknown
            return False
        own = next((what for flag, what in PORTAL_ADDRESS_FLAGS if flags[flag]), None)
        if own is not None:  # the portal's own mail: never an account to skip or overwrite
            if isinstance(email, str):
                into.portal.setdefault(mailbox_key(email), own)
        elif not isinstance(email, str) or mailbox_id is None:
            return False
        else:  # two listed under one key (look-alikes): the last one's facts, all of them
            key = mailbox_key(email)
            into[key] = mailbox_id
            if email.isascii():
                into.listed.pop(key, None)
            else:
                into.listed[key] = email
            if flags["enabled"] is False:
                into.disabled.add(key)
            else:
                into.disabled.discard(key)
    return True


_OWN_FLAGS: Final = tuple(flag for flag, _ in PORTAL_ADDRESS_FLAGS)
_UNREADABLE: Final = "unreadable"


def _flag(value: Any) -> bool | str | None:
    """Return a list item's flag: True or False as JSON's, "true"/"false" in any case or 1/0
    written for them; None when it is missing (null); `_UNREADABLE` for anything else."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    found = {"true": True, "1": True, "false": False, "0": False}.get(text)
    return _UNREADABLE if found is None else found


def _token(response: httpx.Response | Verdict, secrets: tuple[str, ...]) -> Token | Verdict:
    """Return the session token of a login's answer (`response.token`: docs/portal-api.md
    §1), or what the answer means when it holds none."""
    if isinstance(response, Verdict):
        return response
    data = _result(response)
    token = data.get("token") if isinstance(data, dict) else None
    if isinstance(token, str) and token:
        return Token(token)
    return _classified(response, "login", secrets)


def _classified(response: httpx.Response, during: During, secrets: Sequence[str]) -> Verdict:
    """Classify a failed answer, masking every secret its text repeats (`secrets` are the
    call's own: its token, the passwords it sent; registered ones are masked too).

    The body is scrubbed before it is classified: the classifier cuts a long message short,
    and a secret cut in two would no longer be found whole.
    """
    return _scrubbed(classify_response(_without_secrets(response, secrets), during=during), secrets)


def _without_secrets(response: httpx.Response, secrets: Sequence[str]) -> httpx.Response:
    """Return the answer with every secret in its JSON body masked (itself when none is)."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return response  # the classifier quotes only a JSON body's message
    clean = scrub_data(body, secrets)
    if clean == body:
        return response
    # The new body is plain JSON: the old length and encoding no longer describe it.
    stale = ("content-length", "content-encoding")
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in stale]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=json.dumps(clean, ensure_ascii=False).encode(),
        request=response.request,
        extensions=response.extensions,
    )


def _scrubbed(verdict: Verdict, secrets: Sequence[str]) -> Verdict:
    """Return `verdict` with every secret masked in its message and hint."""
    message, hint = scrub(verdict.message, secrets), scrub(verdict.hint, secrets)
    if message is verdict.message and hint is verdict.hint:
        return verdict
    return replace(verdict, message=message, hint=hint)
