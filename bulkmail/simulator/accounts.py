"""The mail account endpoints: create (upsert), list, read one, remove.

What each answers is docs/portal-api.md §6 (create), §12 (upsert), §13 (list, single) and
§14 (remove).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from bulkmail.simulator import envelope, facts, texts
from bulkmail.simulator.auth import Auth
from bulkmail.simulator.binding import ApiError, Params, params_of
from bulkmail.simulator.faults import DEADLINE, Dropped, Faults, Late
from bulkmail.simulator.mailservers import Attempt, Registry
from bulkmail.simulator.shapes import account_data, mailbox_data
from bulkmail.simulator.state import Mailbox, Store, User, begin_date

Items = list[dict[str, Any]]  # (a method below is named `list`)


@dataclass(frozen=True, slots=True)
class NewAccount:
    """The 17 parameters of POST mail/accounts, bound in the order the method declares them."""

    name: str | None
    email: str | None
    account: str | None
    password: str | None
    port: int
    server: str | None
    smtp_account: str | None
    smtp_password: str | None
    smtp_port: int
    smtp_server: str | None
    smtp_auth: bool
    imap: bool
    restrict: bool
    incoming_encryption_type: int
    outcoming_encryption_type: int
    auth_type_in: int
    auth_type_smtp: int

    @classmethod
    def bind(cls, p: Params) -> NewAccount:
        """Return the parameters converted, or raise the binder's 400."""
        text, number, flag = p.text, p.integer, p.boolean
        return cls(
            text("name"), text("email"), text("account"), text("password"), number("port"),
            text("server"), text("smtp_account"), text("smtp_password"), number("smtp_port"),
            text("smtp_server"), flag("smtp_auth"), flag("imap"), flag("restrict"),
            p.enum("incoming_encryption_type", facts.ENCRYPTION_BY_NAME),
            p.enum("outcoming_encryption_type", facts.ENCRYPTION_BY_NAME),
            p.enum("auth_type_in", facts.SASL_BY_NAME),
            p.enum("auth_type_smtp", facts.SASL_BY_NAME),
        )  # fmt: skip

    @property
    def smtp_auth_type(self) -> int:
        """Return the SMTP mechanism the portal uses: none unless smtp_auth is on."""
        return self.auth_type_smtp if self.smtp_auth else facts.NO_AUTH

    def attempts(self) -> tuple[Attempt, Attempt]:
        """Return the incoming and the SMTP side of the portal's login test."""
        incoming = Attempt(
            "imap" if self.imap else "pop3", self.server, self.port,
            self.incoming_encryption_type, self.account, self.password, self.auth_type_in,
        )  # fmt: skip
        smtp = Attempt(
            "smtp", self.smtp_server, self.smtp_port, self.outcoming_encryption_type,
            self.smtp_account, self.smtp_password, self.smtp_auth_type,
        )  # fmt: skip
        return incoming, smtp

    def savable(self) -> bool:
        """Return whether the portal's save step accepts these values."""
        return (
            self.incoming_encryption_type in facts.SAVABLE_ENCRYPTION
            and self.outcoming_encryption_type in facts.SAVABLE_ENCRYPTION
            and self.auth_type_in in facts.SAVABLE_AUTH
            and self.smtp_auth_type in facts.SAVABLE_AUTH
            and self.account is not None
        )

    def settings(self) -> dict[str, Any]:
        """Return what the portal stores (never the passwords)."""
        return {
            "name": self.name, "account": self.account, "server": self.server,
            "port": self.port, "imap": self.imap,
            "incoming_encryption_type": self.incoming_encryption_type,
            "auth_type_in": self.auth_type_in, "smtp_server": self.smtp_server,
            "smtp_port": self.smtp_port, "smtp_account": self.smtp_account,
            "smtp_auth": self.smtp_auth,
            "outcoming_encryption_type": self.outcoming_encryption_type,
            "auth_type_smtp": self.smtp_auth_type, "restrict": self.restrict,
            "begin_date": begin_date(self.restrict),
        }  # fmt: skip


class Accounts:
    """The handlers of api/2.0/mail/accounts and its neighbours."""

    def __init__(self, store: Store, auth: Auth, registry: Registry, faults: Faults) -> None:
        self.store, self.auth, self.registry, self.faults = store, auth, registry, faults

    async def create(self, request: Request) -> Response:
        """Answer POST mail/accounts: test both logins, then upsert; 201 with the account."""
        params = await params_of(request)
        user = self.auth.mail_user(request, params)
        new = NewAccount.bind(params)
        address = _address(new.email)
        attempts, now = new.attempts(), anyio.current_time()
        # A login lasts until the create's answer is due: the servers' limits count it so.
        until = request.scope.get(DEADLINE, now)
        details = self.registry.connect(
            attempts, now=now, until=until, tally=self.store.stats.faults
        )
        failures = [
            texts.attempt(user.culture, a.protocol, detail)
            for a, detail in zip(attempts, details, strict=True)
            if detail is not None
        ]
        if failures:
            raise ApiError(500, "\r\n".join(failures), texts.HR_EXCEPTION)
        if not new.savable():
            raise ApiError(
                500, texts.GENERIC.get(user.culture, texts.GENERIC["en"]), texts.HR_EXCEPTION
            )
        mailbox, created = self.store.upsert(user, address, new.settings())
        self._count(user, created)
        answer = envelope.ok(201, account_data(mailbox, address, True, None), count=1)
        return self._after_create(answer)

    def _count(self, user: User, created: bool) -> None:
        stats, tally = self.store.stats, self.store.stats.of(user.login.lower())
        if created:
            stats.creates += 1
            tally.creates += 1
            every = self.store.config.logout_every
            if every and stats.creates % every == 0:
                self.store.log_out()  # this answer is sent; its token is dead from now on
        else:
            stats.overwrites += 1
            tally.overwrites += 1

    def _after_create(self, answer: Response) -> Response:
        fault = self.faults.after_create()
        if fault:
            self.store.stats.faults[fault] += 1
        if fault == "drop":
            return Dropped()
        if fault == "late":
            return Late(answer, self.faults.config.slow_seconds)
        return answer

    async def list(self, request: Request) -> Response:
        """Answer GET mail/accounts: the caller's mailboxes, paged like the portal's lists."""
        params = await params_of(request)
        user = self.auth.mail_user(request, params)
        items = self._listed(user)
        start = max(_lenient(params.text("startindex"), 0), 0)
        size = _lenient(params.text("count"), facts.MAX_PAGE)
        size = min(size, facts.MAX_PAGE) if size > 0 else facts.MAX_PAGE
        page = items[start : start + size]
        wanted = {f.strip().lower() for f in (params.text("fields") or "").split(",") if f.strip()}
        if wanted:
            page = [{k: v for k, v in item.items() if k.lower() in wanted} for item in page]
        extra = {"startIndex": start} if start else {}
        if start + size < len(items):
            extra["nextIndex"] = start + size
        return envelope.ok(200, page, count=len(page), extra=extra)

    def _listed(self, user: User) -> Items:
        """Return the user's list: its mailboxes, then one item per alias and per group of its
        portal mailbox, one item per address (§13)."""
        store, items, seen = self.store, Items(), set()
        for m in store.of_user(user):
            flag = "isTeamlabMailbox" if m.id in store.teamlab else ""
            items.append(account_data(m, m.email, m.enabled, m.date_created, flag))
            seen.add(m.email)
        for flag, address, mailbox_id in store.portal_items.get(user.login.lower(), ()):
            if address not in seen:
                seen.add(address)
                owner = store.mailbox_by_id(mailbox_id)
                items.append(account_data(owner, address, True, owner.date_created, flag))
        return items

    async def single(self, request: Request) -> Response:
        """Answer GET mail/accounts/single?email=: the stored settings, passwords blank."""
        params = await params_of(request)
        user = self.auth.mail_user(request, params)
        return envelope.ok(200, mailbox_data(self._existing(user, params)), count=1)

    async def state(self, request: Request) -> Response:
        """Answer PUT mail/accounts/state (email, state): switch the mailbox off or on; the
        mailbox id (§3). The portal re-runs the login test to switch one on; the simulator,
        which keeps no mailbox password, switches it on as asked."""
        params = await params_of(request)
        user = self.auth.mail_user(request, params)
        mailbox = self._existing(user, params)
        self.store.switch(mailbox, params.boolean("state"))
        return envelope.ok(200, mailbox.id, count=1)

    async def remove(self, request: Request) -> Response:
        """Answer DELETE mail/accounts: mark the mailbox removed, return the operation."""
        params = await params_of(request)
        user = self.auth.mail_user(request, params)
        mailbox = self._existing(user, params)
        if mailbox.id in self.store.teamlab:
            raise ApiError(400, texts.NOT_DELETABLE, texts.HR_ARGUMENT)
        operation = self.store.remove(mailbox)
        return envelope.ok(200, _operation(operation, mailbox.id, done=False), count=1)

    async def operation(self, request: Request) -> Response:
        """Answer GET mail/operations/{id}: removals finish at once."""
        params = await params_of(request)
        user = self.auth.mail_user(request, params)
        operation = request.path_params["id"]
        owner, mailbox_id = self.store.operations.get(operation, ("", 0))
        if owner != user.login.lower():
            raise ApiError(404, texts.RECORD_NOT_FOUND, texts.HR_HTTP)
        return envelope.ok(200, _operation(operation, mailbox_id, done=True), count=1)

    def _existing(self, user: User, params: Params) -> Mailbox:
        email = params.text("email")
        if not email:
            raise ApiError(400, texts.EMAIL_EMPTY, texts.HR_ARGUMENT)
        mailbox = self.store.find(user, _address(email))
        if mailbox is None:
            message = texts.NOT_FOUND_BY_EMAIL.format(email=email)
            raise ApiError(500, message, texts.HR_NULL)
        return mailbox


def _address(email: str | None) -> str:
    """Return the parsed address, or raise what new MailAddress(email) throws."""
    if email is None:
        raise ApiError(400, texts.ADDRESS_NULL, texts.HR_NULL)
    if not email:
        raise ApiError(400, texts.ADDRESS_EMPTY, texts.HR_ARGUMENT)
    address = facts.parse_address(email)
    if address is None:
        raise ApiError(500, texts.ADDRESS_FORMAT, texts.HR_FORMAT)
    return address


def _lenient(value: str | None, default: int) -> int:
    # The portal's list paging ignores values it cannot read instead of failing.
    try:
        return int((value or "").strip())
    except ValueError:
        return default


def _operation(operation: str, mailbox_id: int, *, done: bool) -> dict[str, Any]:
    return {
        "completed": done,
        "id": operation,
        "status": "Finished" if done else "Started",
        "error": "",
        "percents": 100 if done else 0,
        "source": str(mailbox_id),
        "operationType": 2,
        "operation": "RemoveMailbox",
    }
