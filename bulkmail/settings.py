"""Frozen run settings: built once from the options, passed down, never global.

The defaults are declared here once; the command line's options and help read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from bulkmail.errors import ConfigError

DEFAULT_CONCURRENCY: Final = 8
"""Creates in flight at once (and as many connections logging in and listing ahead)."""
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


@dataclass(frozen=True, slots=True)
class PortalSettings:
    """How to reach the portal and how hard to push it."""

    url: str
    user: str | None = None  # the run's identity when the sheet has no portal_user column
    password: str | None = field(default=None, repr=False)
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    if_exists: Literal["skip", "update"] = "skip"
    dry_run: bool = False
    state: Path | None = DEFAULT_STATE  # None: no journal
    fresh: bool = False
    grace: float = 10.0  # seconds in-flight creates may finish after an interrupt
    progress: bool = True  # a progress bar when stderr is a terminal
    ca_bundle: Path | None = None  # PEM CA certificates trusted besides the system's store

    def __post_init__(self) -> None:
        # The command line checks these with friendlier words; a library caller gets these.
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ConfigError(f"concurrency must be from 1 to {MAX_CONCURRENCY:,}")
        if not 0 < self.timeout <= MAX_TIMEOUT:  # NaN fails too
            raise ConfigError(f"timeout must be above 0 and at most {MAX_TIMEOUT:g} seconds")
        if self.retries < 0:
            raise ConfigError("retries must be 0 or more")
