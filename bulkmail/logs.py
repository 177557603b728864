"""structlog set-up: console or JSON lines on stderr, every event scrubbed of secrets.

Events have stable dotted names (`row.created`, `row.failed`, `run.finished`) and keyword
fields. `--quiet` keeps `run.finished` and the errors. What stops a run before or outside
structlog (`run.failed`, `usage.error`) is rendered by `fatal_line` in the same shape.
`scrub_event` runs before the renderer, so no secret reaches a line: a key that names a
secret is masked whatever it holds, and the other fields go through `bulkmail.secrets`.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
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


# One clock for every line: structlog's events and the fatal lines `fatal_line` renders.
FINAL_EVENT: Final = "run.finished"
# The last words `--quiet` keeps: a run's, and the demo's, which exits 0 when its import,
# whose sample fails rows on purpose, says 1.
_LAST_WORDS: Final = frozenset({FINAL_EVENT, "demo.finished"})
_ERROR_METHODS: Final = frozenset({"error", "critical", "exception", "fatal"})


def only_final(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor for `--quiet`: keep the errors and the run's last word
    (`run.finished`: counts, exit code, report; and the demo's `demo.finished`), drop every
    other event."""
    if method in _ERROR_METHODS or event.get("event") in _LAST_WORDS:
        return event
    raise structlog.DropEvent


def fatal_line(fmt: Literal["console", "json"], console: str, event: str, **fields: Any) -> str:
    """Return the stderr line of what stopped a run: `console` as it is (already printable),
    or one JSON object `{"event", "level": "error", **fields, "timestamp"}` with every secret
    scrubbed, the shape of structlog's lines, for `--log-format json`."""
    if fmt != "json":
        return console
    data: MutableMapping[str, Any] = {**fields, "event": event, "level": "error"}
    data = scrub_event(None, "error", add_timestamp(None, "error", data))
    return json.dumps(data, ensure_ascii=False, default=str)


def capture_warnings() -> None:
    """Send Python warnings (a spreadsheet library's `UserWarning`) to the log as
    `python.warning` events, so that no stderr line escapes the chosen format."""

    def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        get_logger().warning("python.warning", category=category.__name__, message=str(message))

    warnings.showwarning = show


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
    """Configure structlog: one line per event on stderr (or `stream`), secrets redacted.

    The command line calls it; a library caller calls it to see bulkmail's events, which
    are silent until structlog is configured (`get_logger`). `quiet` keeps only the errors
    and `run.finished` (`only_final`).
    """
    out: Any = stream or _Stderr()
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
            *([only_final] if quiet else []),  # first: a dropped event costs no more work
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            add_timestamp,  # local time with its offset (bulkmail.times)
            scrub_event,
            *escape,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


class _Silent:
    """A logger that drops every event: each method structlog's loggers have takes anything
    and does nothing; binding gives the same logger back."""

    def _drop(self, *args: Any, **kwargs: Any) -> None:
        return None

    def _same(self, *args: Any, **kwargs: Any) -> _Silent:
        return self

    debug = info = warning = warn = error = err = exception = critical = fatal = msg = log = _drop
    bind = new = unbind = try_unbind = _same


_SILENT: Final = _Silent()


def get_logger(name: str = "bulkmail") -> Any:
    """Return a bound logger for `name`: structlog's once anyone configured structlog
    (`configure` here, as the command line does, or the calling program's own set-up),
    and a silent one before. Used as a library, bulkmail writes nothing unasked: structlog's
    own default prints every event to stdout. Call it per run, not at import: a caller may
    configure logging after importing bulkmail."""
    if not structlog.is_configured():
        return _SILENT
    return structlog.get_logger(name)
