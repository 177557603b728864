"""Frozen run settings: built once from the options, passed down, never global.

The defaults are declared here once; the command line's options and help read them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from bulkmail.errors import ConfigError

if TYPE_CHECKING:
    from bulkmail.models import Table
    from bulkmail.validation.autofill import PortalSetups

DEFAULT_CONCURRENCY: Final = None
"""None: adaptive ("auto"), found while the run goes (bulkmail.run.concurrency); a number
fixes how many creates are in flight at once (and as many connections log in and list
ahead)."""
DEFAULT_MAX_CONCURRENCY: Final = 32
"""The most creates adaptive concurrency puts in flight at once. Each create holds one of the
portal's workers for seconds and makes it log in to two mail servers from one address: a
self-hosted portal serves a few dozen at once and queues the rest (so more only wait
longer), and mail providers throttle or ban an address that opens many logins at once."""
START_CONCURRENCY: Final = 4
"""Where adaptive concurrency starts: low, then grows while answers keep their speed."""
DEFAULT_GIVE_UP_AFTER: Final = 300.0
"""Seconds a portal may stay unreachable mid-run before the run stops (exit 3, resumable):
long enough for a portal restart or an update, short of hours of retries per row."""
MAX_GIVE_UP_AFTER: Final = 86400.0
"""Seconds: a day; past that, a run waiting for its portal is forgotten, not patient."""
PREFLIGHT_SECONDS: Final = 10.0
"""Seconds the first check of the portal (before any row) retries an unreachable portal."""
DEFAULT_TIMEOUT: Final = 180.0
"""Seconds per create: the portal first logs in to both mail servers (~90 s at worst,
docs/portal-api.md §10)."""
DEFAULT_RETRIES: Final = 3
"""Retries of a transient failure, after the first attempt."""
MAX_CONCURRENCY: Final = 1000
"""More creates in flight than any portal serves at once (each holds a portal worker for
seconds): a larger --concurrency is a typing slip."""
MAX_TIMEOUT: Final = 3600.0
"""Seconds: past the portal's own proxy limits (nginx: 600 s), an answer never comes."""
DEFAULT_PER_SERVER: Final = 4
"""Rows in flight at once per mail server (host name). The portal logs in to a row's servers
from its one IP address, and servers limit connections per address: Courier IMAP as Plesk
ships it allows 4 per IP (MAXPERIP), Sun/Oracle Messaging Server 20, Dovecot 10 per user and
IP (mail_max_userip_connections), Gmail 15 per account. 4 fits the strictest of them; a
throttling answer lowers it further per server (run/servers.py); raise it for a server whose
limits you know."""
DEFAULT_MAX_LOGIN_FAILURES: Final = 4
"""Refused logins on one mail server before its rows stop. fail2ban bans an address after 5
failed logins in 10 minutes by default (maxretry = 5, findtime = 10m): stopping at the 4th
keeps the portal's address, and the mail of every portal user, off the ban list."""
DEFAULT_STATE: Final = Path(".bulkmail/journal.sqlite")
"""The journal, relative to the working directory."""


@dataclass(frozen=True, slots=True)
class InputSettings:
    """Where the rows come from and how blank cells are filled."""

    path: Path
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    defaults: Mapping[str, str] = field(default_factory=dict)
    secrets_from: Path | None = None  # original sheet whose passwords fill masked cells
    # --autofill: True (known) fills blank server settings from the provider table, a
    # PortalSetups (portal) from the portal's answers (validation.autofill)
    autofill: bool | PortalSetups = False
    # Rows given from Python (records, a DataFrame, a Table) in place of the file at `path`,
    # which then only names them: each call returns a Table of the rows (bulkmail.library).
    source: Callable[[], Table] | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        # `defaults` may hold a password (--set password=...): its value is masked.
        from bulkmail.secrets import MASK, is_secret_name

        defaults = {k: MASK if v and is_secret_name(k) else v for k, v in self.defaults.items()}
        shown = ", ".join(
            f"{name}={defaults if name == 'defaults' else getattr(self, name)!r}"
            for name in self.__dataclass_fields__
            if name != "source" or self.source is not None
        )
        return f"InputSettings({shown})"


@dataclass(frozen=True, slots=True)
class PortalSettings:
    """How to reach the portal and how hard to push it."""

    url: str
    user: str | None = None  # the run's identity when the sheet has no portal_user column
    password: str | None = field(default=None, repr=False)
    concurrency: int | None = DEFAULT_CONCURRENCY  # None: adaptive, up to max_concurrency
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    give_up_after: float = DEFAULT_GIVE_UP_AFTER  # seconds a portal may be unreachable mid-run
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    per_server: int = DEFAULT_PER_SERVER
    max_login_failures: int = DEFAULT_MAX_LOGIN_FAILURES
    if_exists: Literal["skip", "update"] = "skip"
    dry_run: bool = False
    state: Path | None = DEFAULT_STATE  # None: no journal
    fresh: bool = False
    retry_failed: bool = False  # re-attempt rows the journal holds as failed for good
    grace: float = 10.0  # seconds in-flight creates may finish after an interrupt
    # A progress bar when stderr is a terminal: the command line asks for it; a library call
    # draws none unless asked (it writes nothing to the terminal unasked).
    progress: bool = False
    progress_every: float = 10.0  # seconds between run.progress log lines (no bar)
    ca_bundle: Path | None = None  # PEM CA certificates trusted besides the system's store
    admin: str | None = None  # --admin: act as each row's portal user (impersonation)
    admin_password: str | None = field(default=None, repr=False)
    portal_user_from: Literal["email"] | None = None  # rows without portal_user: their email's
    list_existing: bool = False  # a dry run with --admin impersonates to list accounts

    def __post_init__(self) -> None:
        # The command line checks these with friendlier words; a library caller gets these.
        from bulkmail.keywords import check_kind

        concurrency: object = self.concurrency
        if concurrency == "auto":  # as --concurrency auto
            object.__setattr__(self, "concurrency", None)
        for name in self.__dataclass_fields__:
            check_kind(name, getattr(self, name), "PortalSettings")
        from bulkmail.portal.address import portal_root

        object.__setattr__(self, "url", portal_root(self.url, "PortalSettings url"))
        for name in ("concurrency", "max_concurrency"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= MAX_CONCURRENCY:
                raise ConfigError(f"{name} must be from 1 to {MAX_CONCURRENCY:,}")
        if not 0 < self.give_up_after <= MAX_GIVE_UP_AFTER:  # NaN fails too
            raise ConfigError(
                f"give_up_after must be above 0 and at most {MAX_GIVE_UP_AFTER:g} seconds"
            )
        if not 0 < self.timeout <= MAX_TIMEOUT:  # NaN fails too
            raise ConfigError(f"timeout must be above 0 and at most {MAX_TIMEOUT:g} seconds")
        if self.retries < 0:
            raise ConfigError("retries must be 0 or more")
        if not 1 <= self.per_server <= MAX_CONCURRENCY:
            raise ConfigError(f"per_server must be from 1 to {MAX_CONCURRENCY:,}")
        if self.max_login_failures < 1:
            raise ConfigError("max_login_failures must be 1 or more")
        if not self.progress_every > 0:  # 0: a progress line as fast as the loop turns
            raise ConfigError("progress_every must be above 0 seconds")
        if self.grace < 0:
            raise ConfigError("grace must be 0 seconds or more")

    @property
    def workers(self) -> int:
        """Return how many workers the pool runs: the fixed concurrency, or the most that
        adaptive concurrency may use."""
        return self.concurrency or self.max_concurrency
