"""structlog set-up: console or JSON lines on stderr, every event scrubbed of secrets.

Events have stable dotted names (`row.created`, `row.failed`, `run.finished`) and keyword
fields. `scrub_event` runs before the renderer, so no secret reaches a line: a key that names
a secret is masked whatever it holds, and the other fields go through `bulkmail.secrets`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Final, Literal, TextIO

import structlog

from bulkmail.printable import printable
from bulkmail.secrets import MASK, is_secret_name, scrub, scrub_data
from bulkmail.times import add_timestamp


def scrub_event(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: mask the value of every key that names a secret, and every
    secret inside the other values (nested dicts and lists too), through `bulkmail.secrets`."""
    for key, value in event.items():
        if is_secret_name(key):
            event[key] = MASK
        elif type(value) is str:  # the common case, without scrub_data's checks
            event[key] = scrub(value)
        elif isinstance(value, dict | list | tuple):
            event[key] = scrub_data(value)
    return event


# structlog's ConsoleRenderer prints a string holding one of these as its repr(), which
# escapes control characters itself; any other string it prints as it is (dev.py, `_repr`).
_QUOTED_BY_RENDERER: Final = frozenset(" \t=\r\n\"'")


def printable_event(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor for console lines: escape the control characters
    (`bulkmail.printable`) of each string value the console renderer would print raw.
    JSON lines need none: JSON escapes them itself."""
    for key, value in event.items():
        if type(value) is not str or value.isprintable():
            continue
        if key == "event" or _QUOTED_BY_RENDERER.isdisjoint(value):
            event[key] = printable(value)
    return event


class _Stderr:
    """Write to whatever sys.stderr is *now*, so a live progress bar can print logs above it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


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
    escape: list[Any] = []
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    else:
        escape = [printable_event]
        renderer = structlog.dev.ConsoleRenderer(
            colors=out.isatty(), pad_event_to=0, exception_formatter=structlog.dev.plain_traceback
        )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            add_timestamp,  # local time with its offset (bulkmail.times)
            scrub_event,
            *escape,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "bulkmail") -> Any:
    """Return a bound logger for `name`."""
    return structlog.get_logger(name)
