"""structlog set-up: console or JSON lines on stderr, and a processor that redacts secrets.

Events have stable dotted names (`row.created`, `row.failed`, `run.finished`) and keyword
fields. Two guards keep secrets out: keys that name a secret are dropped, and any string
field containing a registered secret value has it replaced by the mask.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog

from bulkmail.schema import MASK

SECRET_KEYS = frozenset(
    {
        "password",
        "smtp_password",
        "portal_password",
        "token",
        "authorization",
        "secret",
        "cookie",
        "asc_auth_key",
    }
)


class Redactor:
    """A structlog processor that masks secret keys and every known secret value."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, *secrets: str | None) -> None:
        """Register secret values (passwords, tokens) to be masked wherever they appear."""
        # Very short values would mask ordinary words ("1" in a row number): a secret under
        # four characters is already a validation warning, and masking it everywhere would
        # make logs unreadable.
        self._values.update(s for s in secrets if s and len(s) >= 4)

    def scrub(self, text: str) -> str:
        """Return `text` with every registered secret replaced by the mask."""
        for secret in self._values:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __call__(
        self, logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event):
            value = event[key]
            if key.lower() in SECRET_KEYS:
                event[key] = MASK
            elif isinstance(value, str) and self._values:
                event[key] = self.scrub(value)
        return event


class _Stderr:
    """Write to whatever sys.stderr is *now*, so a live progress bar can print logs above it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


REDACTOR = Redactor()
"""The process's redactor: the CLI registers each secret it reads before anything is logged."""


def configure(
    fmt: Literal["console", "json"] = "console",
    *,
    quiet: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Configure structlog: one line per event on stderr, secrets redacted."""
    out: Any = stream or _Stderr()
    level = logging.ERROR if quiet else logging.INFO
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=out.isatty(), pad_event_to=0, exception_formatter=structlog.dev.plain_traceback
        )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            REDACTOR,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "bulkmail") -> Any:
    """Return a bound logger for `name`."""
    return structlog.get_logger(name)
