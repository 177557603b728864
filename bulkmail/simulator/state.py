"""What the simulated portal holds: users, tokens, mailboxes and the counters tests read."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

from bulkmail.simulator.config import PortalUser, SimConfig
from bulkmail.simulator.facts import FULL_HISTORY_START, RESTRICTED_HISTORY, lower_invariant


@dataclass(slots=True)
class User:
    """A portal user; only a salted digest of the password is kept."""

    login: str
    culture: str
    salt: bytes
    digest: bytes
    tfa: str = ""
    mail_enabled: bool = True
    visitor: bool = False
    provisioned: bool = False  # created by the open portal on its first login

    @property
    def id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bulkmail-sim:{self.login.lower()}"))

    def check(self, password: str) -> bool:
        """Return whether `password` is this user's (never, before the user has one)."""
        return bool(self.digest) and hmac.compare_digest(_digest(self.salt, password), self.digest)

    def set_password(self, password: str) -> None:
        """Keep a fresh salted digest of `password`."""
        self.salt = secrets.token_bytes(16)
        self.digest = _digest(self.salt, password)


def make_user(login: str, password: str | None, **settings: Any) -> User:
    """Return a User holding a fresh salted digest of `password` (None: no password yet)."""
    salt = secrets.token_bytes(16)
    digest = b"" if password is None else _digest(salt, password)
    return User(login, salt=salt, digest=digest, **settings)


def _digest(salt: bytes, password: str) -> bytes:
    # A simulator needs no slow KDF; the point is that no password is ever stored as given.
    return hashlib.sha256(salt + password.encode()).digest()


@dataclass(slots=True)
class Mailbox:
    """An external account of one user, as stored (mailbox passwords are never kept)."""

    id: int
    user: str  # the owner's lower-cased login
    email: str  # lower-cased, as the portal's database holds it
    name: str | None
    account: str
    server: str
    port: int
    imap: bool
    incoming_encryption_type: int
    auth_type_in: int
    smtp_server: str | None
    smtp_port: int
    smtp_account: str | None
    smtp_auth: bool
    outcoming_encryption_type: int
    auth_type_smtp: int
    restrict: bool
    begin_date: str
    date_created: str
    enabled: bool = True
    removed: bool = False


# What a POST over an existing mailbox overwrites: all but its identity, state and birth.
SETTINGS = tuple(
    f.name
    for f in fields(Mailbox)
    if f.name not in ("id", "user", "email", "date_created", "enabled", "removed")
)


class Journal(Protocol):
    """Where changes go when the simulator keeps a state file."""

    def save_user(self, user: User) -> None: ...
    def save_mailbox(self, mailbox: Mailbox) -> None: ...
    def clear(self) -> None: ...


@dataclass(slots=True)
class Tally:
    """Per-user counters."""

    requests: int = 0
    creates: int = 0
    overwrites: int = 0
    impersonated: int = 0  # sessions an admin opened as this user


@dataclass(slots=True)
class Stats:
    """Counters for tests and benchmarks, served at GET /_sim/stats."""

    requests: int = 0
    creates: int = 0
    overwrites: int = 0
    logins: int = 0
    login_failures: int = 0
    people_requests: int = 0  # People lookups and listings
    impersonations: int = 0  # sessions opened by POST security/impersonate (audit 7001)
    impersonations_ended: int = 0  # of those, ended by PUT security/impersonate/logout
    impersonation_refusals: int = 0  # POSTs answered 403 or 500
    logouts: int = 0  # presses of "log out from all active connections" (and password changes)
    sessions_ended: int = 0  # tokens those logouts and the session lifetime killed
    faults: Counter[str] = field(default_factory=Counter)
    users: dict[str, Tally] = field(default_factory=dict)

    def of(self, login: str) -> Tally:
        """Return the counters of `login`, creating them on first use."""
        tally = self.users.get(login)
        if tally is None:
            tally = self.users[login] = Tally()
        return tally

    def as_dict(self) -> dict[str, Any]:
        """Return the counters as the JSON document of /_sim/stats."""
        document = asdict(self)
        document["faults"] = dict(self.faults)
        return document


class Store:
    """The portal's data. One event loop owns it, so no locking is needed."""

    def __init__(self, config: SimConfig, journal: Journal | None = None) -> None:
        self.config = config
        self.journal = journal
        self.users: dict[str, User] = {}
        self.tokens: dict[str, str] = {}  # token -> lower-cased login
        self.born: dict[str, float] = {}  # token -> time.monotonic() of its login
        self.mailboxes: dict[str, dict[str, Mailbox]] = {}  # user -> email -> not removed
        self.removed: list[Mailbox] = []
        self.operations: dict[str, tuple[str, int]] = {}  # removal id -> (owner, mailbox id)
        self.next_id = 1
        self.stats = Stats()
        # The portal's own mail server: ids of its mailboxes, and per user the alias and
        # group items its account list adds (flag, address, mailbox id).
        self.teamlab: set[int] = set()
        self.portal_items: dict[str, list[tuple[str, str, int]]] = {}
        self._add_configured_users()
        self._add_portal_mail()

    def _add_configured_users(self) -> None:
        for u in self.config.users:
            self.users[u.login.lower()] = _from_config(u)

    def _add_portal_mail(self) -> None:
        """Give each configured user the addresses it has on the portal's own mail server:
        mailboxes kept apart from the state file (the config makes them on every start)."""
        for u in self.config.users:
            login, ids = u.login.lower(), []
            for address in u.portal_mailboxes:
                mailbox = _portal_mailbox(self.next_id, login, lower_invariant(address))
                self.mailboxes.setdefault(login, {})[mailbox.email] = mailbox
                self.teamlab.add(mailbox.id)
                ids.append(mailbox.id)
                self.next_id += 1
            items = [("isAlias", a, ids[0]) for a in u.aliases]  # PortalUser: ids are there
            items += [("isGroup", g, ids[0]) for g in u.mail_groups]
            if items:
                self.portal_items[login] = [(f, lower_invariant(a), i) for f, a, i in items]

    def load(self, users: list[User], mailboxes: list[Mailbox]) -> None:
        """Take back what a state file held; users of the config file keep precedence. The
        config's portal mailboxes are numbered again after the kept ones: numbered before,
        one could take the id of a kept account, which then listed as a portal mailbox."""
        for user in users:
            self.users.setdefault(user.login.lower(), user)
        for own in self.mailboxes.values():  # only the config's portal mailboxes, so far
            for address in [a for a, m in own.items() if m.id in self.teamlab]:
                del own[address]
        self.teamlab.clear()
        self.portal_items.clear()
        for mailbox in mailboxes:
            self._keep(mailbox)
        self._add_portal_mail()

    def _keep(self, mailbox: Mailbox) -> None:
        if mailbox.removed:
            self.removed.append(mailbox)
        else:
            self.mailboxes.setdefault(mailbox.user, {})[mailbox.email] = mailbox
        self.next_id = max(self.next_id, mailbox.id + 1)

    def provision(self, login: str, password: str | None) -> User:
        """Create an open-portal user fixed to this password (None: fixed by its first login,
        for a user that a People lookup created); `.ru` logins speak Russian."""
        culture = "ru" if login.lower().endswith(".ru") else "en"
        user = make_user(login, password, culture=culture, provisioned=True)
        self.users[login.lower()] = user
        if self.journal:
            self.journal.save_user(user)
        return user

    def issue_token(self, user: User, token: str | None = None) -> str:
        """Return a new opaque token for `user` (or make `token` one)."""
        token = token or secrets.token_urlsafe(32)
        self.tokens[token] = user.login.lower()
        self.born[token] = time.monotonic()
        return token

    def login_of(self, token: str) -> str | None:
        """Return the lower-cased login of a live `token`; None when it is unknown or has
        outlived the portal's session lifetime (then it is forgotten: docs/portal-api.md §5)."""
        login = self.tokens.get(token)
        lifetime = self.config.session_lifetime
        if login is None or lifetime is None:
            return login
        if time.monotonic() - self.born.get(token, 0.0) < lifetime * 60:
            return login
        self._forget([token])
        return None

    def log_out(self, login: str | None = None) -> int:
        """End every session (the owner's "log out from all active connections"), or only
        `login`'s (its password changed); return how many tokens died. Logins work again."""
        dead = [t for t, owner in self.tokens.items() if login is None or owner == login.lower()]
        self._forget(dead)
        self.stats.logouts += 1
        return len(dead)

    def _forget(self, tokens: list[str]) -> None:
        for token in tokens:
            self.tokens.pop(token, None)
            self.born.pop(token, None)
        self.stats.sessions_ended += len(tokens)

    def upsert(self, user: User, email: str, settings: dict[str, Any]) -> tuple[Mailbox, bool]:
        """Store a mailbox keyed by (user, the portal's lowered email); return it and whether
        it is new."""
        login, address = user.login.lower(), lower_invariant(email)
        own = self.mailboxes.setdefault(login, {})
        mailbox = own.get(address)
        created = mailbox is None
        if mailbox is None:
            mailbox = Mailbox(self.next_id, login, address, date_created=_now(), **settings)
            own[address] = mailbox
            self.next_id += 1
        else:  # the portal keeps the id, the enabled flag and the creation date
            for name in SETTINGS:
                setattr(mailbox, name, settings[name])
        if self.journal and mailbox.id not in self.teamlab:
            self.journal.save_mailbox(mailbox)
        return mailbox, created

    def switch(self, mailbox: Mailbox, enabled: bool) -> None:
        """Switch `mailbox` on or off: a create over it keeps what is set here
        (docs/portal-api.md §12)."""
        mailbox.enabled = enabled
        if self.journal and mailbox.id not in self.teamlab:
            self.journal.save_mailbox(mailbox)

    def remove(self, mailbox: Mailbox) -> str:
        """Mark `mailbox` removed (it stays visible to /_sim/mailboxes); return the operation id."""
        mailbox.removed = True
        del self.mailboxes[mailbox.user][mailbox.email]
        self.removed.append(mailbox)
        if self.journal:
            self.journal.save_mailbox(mailbox)
        operation = str(uuid.uuid4())
        self.operations[operation] = (mailbox.user, mailbox.id)
        return operation

    def find(self, user: User, email: str) -> Mailbox | None:
        """Return the user's mailbox for `email` (any case), unless removed."""
        return self.mailboxes.get(user.login.lower(), {}).get(lower_invariant(email))

    def mailbox_by_id(self, mailbox_id: int) -> Mailbox:
        """Return the mailbox with this id (a portal mailbox that aliases and groups name)."""
        mailboxes = (m for own in self.mailboxes.values() for m in own.values())
        return next(m for m in mailboxes if m.id == mailbox_id)

    def of_user(self, user: User) -> list[Mailbox]:
        """Return the user's mailboxes that are not removed, oldest first."""
        return sorted(self.mailboxes.get(user.login.lower(), {}).values(), key=_by_id)

    def everything(self) -> list[Mailbox]:
        """Return every mailbox, removed ones included, by id."""
        alive = [m for own in self.mailboxes.values() for m in own.values()]
        return sorted(alive + self.removed, key=_by_id)

    def reset(self) -> None:
        """Forget every mailbox, token, provisioned user and counter."""
        self.users.clear()
        self._add_configured_users()
        self.tokens.clear()
        self.born.clear()
        self.mailboxes.clear()
        self.removed.clear()
        self.operations.clear()
        self.next_id = 1
        self.stats = Stats()
        self.teamlab.clear()
        self.portal_items.clear()
        self._add_portal_mail()
        if self.journal:
            self.journal.clear()


def _from_config(u: PortalUser) -> User:
    return make_user(
        u.login, u.password, culture=u.culture, tfa=u.tfa,
        mail_enabled=u.mail_enabled, visitor=u.visitor,
    )  # fmt: skip


def _portal_mailbox(mailbox_id: int, login: str, address: str) -> Mailbox:
    # A mailbox of the portal's own mail server, reached by the portal itself.
    return Mailbox(
        mailbox_id, login, address, name=None, account=address, server="", port=0,
        imap=True, incoming_encryption_type=0, auth_type_in=0, smtp_server=None, smtp_port=0,
        smtp_account=None, smtp_auth=False, outcoming_encryption_type=0, auth_type_smtp=0,
        restrict=False, begin_date=FULL_HISTORY_START, date_created=_now(),
    )  # fmt: skip


def _by_id(mailbox: Mailbox) -> int:
    return mailbox.id


def _now() -> str:
    # The portal's database keeps UTC and the API writes it without a zone.
    return datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()


def begin_date(restrict: bool) -> str:
    """Return where mail download starts: 30 days back when restricted, else 1975-01-01."""
    if not restrict:
        return FULL_HISTORY_START
    start = datetime.now(UTC) - RESTRICTED_HISTORY
    return start.replace(microsecond=0, tzinfo=None).isoformat()
