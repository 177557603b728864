"""The simulator's settings as one frozen value: portal users, fake mail servers, faults."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal

from bulkmail.errors import ConfigError

Culture = Literal["en", "ru"]
TwoFactor = Literal["", "tfa", "sms"]
UserStatus = Literal["active", "terminated", "leave"]
EnableType = Literal["disabled-for-admins", "all-admins", "limited"]
ServerStatus = Literal["up", "refused", "timeout", "auth-timeout"]

PROTOCOLS: Final = frozenset({"imap", "pop3", "smtp"})
TLS_MODES: Final = frozenset({"ssl", "starttls", "plain"})
STATUSES: Final = ("up", "refused", "timeout", "auth-timeout")
USER_STATUSES: Final = ("active", "terminated", "leave")
ENABLE_TYPES: Final = ("disabled-for-admins", "all-admins", "limited")  # EnableType 0, 1, 2
# Where a fake server listens unless its entry says otherwise: SSL-on-connect ports, and
# ports that start in plain text (STARTTLS possible). 587 is listed because sheets use it.
STANDARD_SSL_PORTS: Final = MappingProxyType({"imap": (993,), "pop3": (995,), "smtp": (465,)})
STANDARD_PLAIN_PORTS: Final = MappingProxyType({"imap": (143,), "pop3": (110,), "smtp": (25, 587)})
# What common real servers answer to a refused login (Gmail IMAP/SMTP, MailKit's POP3 text).
REJECT_TEXTS: Final = MappingProxyType(
    {
        "imap": "Invalid credentials (Failure)",
        "pop3": "Authentication failed.",
        "smtp": "5.7.8 Username and Password not accepted",
    }
)
# What real servers answer a login beyond their limit of connections from one address:
# Gmail's IMAP alert, Dovecot's per-user+IP limit (with the server's own number), and the text
# of Gmail's SMTP 421 (the portal quotes it without the reply code, docs/portal-api.md §11).
BUSY_TEXTS: Final = MappingProxyType(
    {
        "imap": "[ALERT] Too many simultaneous connections. (Failure)",
        "pop3": "Maximum number of connections from user+IP exceeded "
        "(mail_max_userip_connections={limit})",
        "smtp": "4.7.0 Try again later, closing connection.",
    }
)
_OFFSET = re.compile(r"[+-]\d\d:\d\d|Z")
SLOW_SECONDS: Final = 240.0
"""Default delay of a slow answer: longer than the import's default --timeout, so that the
answer comes after the client gave up (tests/simulator/test_simulator_config.py keeps it so)."""


@dataclass(frozen=True, slots=True)
class PortalUser:
    """A portal account that may log in: exact credentials and what the portal lets it do."""

    login: str
    password: str = field(repr=False)
    culture: Culture = "en"  # "ru": Russian headers in login-test failures
    tfa: TwoFactor = ""  # "tfa" / "sms": the login answers without a token
    mail_enabled: bool = True  # False: mail endpoints answer 403 "Forbidden"
    visitor: bool = False  # guests have no Mail module either
    admin: bool = False  # a full administrator (member of the Admin group)
    owner: bool = False  # the portal's owner (at most one)
    module_admin: bool = False  # administers a module (Mail, People...) without being full admin
    status: UserStatus = "active"  # "terminated" (disabled) or "leave" cannot be impersonated
    groups: tuple[str, ...] = ()  # departments, by name
    # Addresses of the user on the portal's own mail server (docs/portal-api.md §13): its
    # mailboxes (isTeamlabMailbox), aliases of the first one, mail groups the user is in.
    portal_mailboxes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    mail_groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.aliases or self.mail_groups) and not self.portal_mailboxes:
            raise ConfigError(f"{self.login}: aliases and mail_groups need a portal_mailboxes")


@dataclass(frozen=True, slots=True)
class Impersonation:
    """The portal's impersonation switches (docs/portal-api.md §20), off as shipped.

    `config_key` is `core.user.impersonate` in web.appsettings.config; the rest are the owner's
    settings. Admins and restrictions are named by login (the portal keeps user ids).
    """

    config_key: bool = False
    enabled: bool = False
    enable_type: EnableType = "disabled-for-admins"
    only_own_groups: bool = False
    allowed_admins: tuple[str, ...] = ()
    restricted_users: tuple[str, ...] = ()
    restricted_groups: tuple[str, ...] = ()
    routes: bool = True  # False: a portal before 12.5, where the routes do not exist (404)
    # Whether logout revokes a token sent only in the Authorization header (impersonation.md
    # U2: Mono probably does not, so the default is no).
    logout_revokes_header_token: bool = False


OPEN_IMPERSONATION: Final = Impersonation(config_key=True, enabled=True, enable_type="all-admins")
"""The open portal's switches: on, for every full admin."""
OPEN_ADMIN: Final = "admin@portal.sim"
"""The open portal's documented admin login (its owner; any password on its first login)."""


@dataclass(frozen=True, slots=True)
class MailServer:
    """A fake IMAP/POP3/SMTP host that the portal's login test connects to."""

    host: str
    protocols: frozenset[str] = PROTOCOLS
    tls: frozenset[str] = TLS_MODES  # without "plain", logins need SSL or STARTTLS
    status: ServerStatus = "up"
    smtp_auth: bool = True  # SMTP advertises AUTH
    # login -> password; None accepts any login whose password does not contain "wrong".
    accounts: Mapping[str, str] | None = field(default=None, repr=False)
    reject: Mapping[str, str] = field(default_factory=dict)  # protocol -> refusal text
    ssl_ports: tuple[int, ...] | None = None  # None: the standard ports of its protocols
    plain_ports: tuple[int, ...] | None = None
    # The portal's logins it serves at once from the portal's address (None: no limit); one
    # more is turned away in the server's words (`busy`, else BUSY_TEXTS).
    max_logins: int | None = None
    busy: Mapping[str, str] = field(default_factory=dict)  # protocol -> throttling text
    # Refused logins after which it bans the portal's address, fail2ban-style: every later
    # login from the portal, good or bad, is refused at connect (None: never bans).
    ban_after: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_logins", "ban_after"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be 1 or more, not {value}")


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything the simulator needs; the built-in default is the "open portal"."""

    users: tuple[PortalUser, ...] = ()
    open_portal: bool = True  # unknown logins are provisioned on their first login
    servers: tuple[MailServer, ...] = ()
    open_servers: bool = True  # unlisted hosts behave as the built-in default servers
    timezone: str = "+03:00"  # offset written in token expiry dates
    latency_ms: float = 0.0
    create_latency_ms: float = 0.0  # the creates' latency instead of latency_ms; 0: latency_ms
    jitter_ms: float = 0.0  # latency varies uniformly by +- this much
    fail_503: float = 0.0  # probability that an API request answers 503 (nothing done)
    fail_429: float = 0.0
    retry_after: int = 1  # seconds, sent with 503 and 429
    capacity: int = 0  # API requests served at once, more wait in a queue; 0: no limit
    queue_limit: int | None = None  # requests waiting beyond which 503 answers; None: no limit
    drop_after_create: float = 0.0  # probability: store, then close without answering
    slow_after_create: float = 0.0  # probability: store, then answer after slow_seconds
    slow_seconds: float = SLOW_SECONDS
    seed: int = 0
    state_path: Path | None = None  # SQLite file holding mailboxes across restarts
    log_requests: bool = False  # one stderr line per API request
    impersonation: Impersonation = OPEN_IMPERSONATION  # a config file starts from Impersonation()
    # The owner's "session lifetime" in minutes (Settings > Security; docs/portal-api.md §5):
    # a token dies that long after its login. None: the portal's default, a year; 0: at once.
    session_lifetime: float | None = None
    # The owner presses "log out from all active connections" after every N-th account
    # created (N, 2N, ...): every token dies, logins work again. 0: never.
    logout_every: int = 0

    def __post_init__(self) -> None:
        for name in ("fail_503", "fail_429", "drop_after_create", "slow_after_create"):
            check_probability(name, getattr(self, name))
        for name in ("latency_ms", "create_latency_ms", "jitter_ms", "slow_seconds", "retry_after"):
            check_non_negative(name, getattr(self, name))
        for name in ("capacity", "queue_limit", "session_lifetime", "logout_every"):
            check_non_negative(name, getattr(self, name) or 0)
        check_timezone("timezone", self.timezone)


def check_probability(name: str, value: float) -> None:
    """Raise ConfigError unless `value` is a probability."""
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be a probability between 0 and 1, not {value}")


def check_non_negative(name: str, value: float) -> None:
    """Raise ConfigError if `value` is negative, or not a finite number (nan, inf)."""
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number of 0 or more, not {value}")
    if value < 0:
        raise ConfigError(f"{name} must not be negative, not {value}")


def check_timezone(name: str, value: str) -> None:
    """Raise ConfigError unless `value` is a UTC offset such as "+03:00" or "Z"."""
    if not _OFFSET.fullmatch(value):
        raise ConfigError(f'{name} must be a UTC offset like "+03:00" or "Z", not "{value}"')
