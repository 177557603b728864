"""What the command line says when a run stops: a usage error, an error, an interrupt.

One line on stderr, in the run's `--log-format`: the console's `bulkmail: error: ...`, or a
JSON object (`usage.error`, `run.failed`) like every other line of the JSON log. A run that
got as far as its options knows its report folder, so it also leaves a summary.json saying
why it stopped (`bulkmail.report.failure`), and the console names it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Final, Literal

from bulkmail.cli.output import error_line
from bulkmail.errors import BulkmailError
from bulkmail.printable import printable
from bulkmail.secrets import scrub

LOG_FORMAT: Final = "--log-format"
_SHORTEST: Final = len("--l")  # argparse takes any prefix that names one option


class UsageError(SystemExit):
    """argparse refused the command line (exit 2); `message` has no value the user typed."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(2)
        self.message = message
        self.prog = prog


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C's KeyboardInterrupt is, so that a run stopped by systemd or
    a supervisor says so (`stopped`) instead of dying without a line or a summary.json."""


_TERMINATED = threading.Event()  # SIGTERM came: the KeyboardInterrupt that follows is its


def _terminated(signum: int, frame: FrameType | None) -> None:
    """Stop as Ctrl-C stops. In an event loop, asyncio's own Ctrl-C handler cancels the
    run's main task and then raises KeyboardInterrupt (raised here, the exception would
    land in whichever task runs); without that handler (SIGINT ignored, as for a shell's
    `&`), SIGTERM does what it did before: it ends the process."""
    _TERMINATED.set()
    if asyncio_running():
        on_sigint = signal.getsignal(signal.SIGINT)
        if callable(on_sigint) and on_sigint is not signal.default_int_handler:
            on_sigint(signal.SIGINT, frame)
            return
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)
    raise Terminated


def asyncio_running() -> bool:
    """Return whether this thread runs an asyncio event loop now."""
    import asyncio

    return asyncio.events._get_running_loop() is not None


@contextlib.contextmanager
def sigterm_stops_the_run() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` (the import's pool handles both signals
    itself while it sends rows); the previous handler is put back after. Only the main
    thread can set a handler: elsewhere (a caller's thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _TERMINATED.clear()
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def report_written() -> Iterator[None]:
    """Within the block (a run's console summary, its report written whole), Ctrl-C and
    SIGTERM are logged, not obeyed (`run.drive.report_first`): stopped there, the run left a
    second report folder whose summary.json said "interrupted", exit 3, beside the whole one.
    """
    from bulkmail.logs import get_logger
    from bulkmail.run.drive import report_first

    with report_first(True, get_logger()):
        yield


def interrupted(stop: KeyboardInterrupt) -> str:
    """Return what stopped the run: "interrupted", or "interrupted by SIGTERM"."""
    terminated = isinstance(stop, Terminated) or _TERMINATED.is_set()
    return "interrupted by SIGTERM" if terminated else "interrupted"


def log_format(argv: Sequence[str]) -> Literal["console", "json"]:
    """Return the `--log-format` that `argv` asks for, read as argparse reads it, for the
    errors that come before argparse has finished: `--log-format json`,
    `--log-format=json`, or an abbreviation (`--log json`, `--lo=json`); the last one wins,
    nothing after `--` counts. Anything else is "console"."""
    asked = "console"
    words = list(argv)
    for i, word in enumerate(words):
        if word == "--":
            break
        name, equals, value = word.partition("=")
        if len(name) < _SHORTEST or not LOG_FORMAT.startswith(name):
            continue
        if not equals:
            value = words[i + 1] if i + 1 < len(words) else ""
        asked = value
    return "json" if asked == "json" else "console"


def usage_line(err: UsageError, fmt: Literal["console", "json"]) -> str:
    """Return the one line of a usage error: its message and where the help is."""
    from bulkmail.logs import fatal_line

    message = f"{err.message} (see `{err.prog} --help`)"
    command = err.prog.split()[1] if " " in err.prog else None
    fields = {"command": command} if command else {}
    return fatal_line(
        fmt, f"bulkmail: error: {message}", "usage.error", **fields, message=message, exit_code=2
    )


def stopped(
    args: argparse.Namespace,
    err: BulkmailError | None,
    interrupt: str = "interrupted",
    folder: Path | None = None,
) -> int:
    """Say that the run stopped (`err`, or an interrupt when None, said as `interrupt`),
    leave its summary.json (its path on stdout, as a run's console summary gives its
    report), return the exit code. An interrupt that cut the run's report short names its
    `folder`: the summary.json goes there."""
    exit_code = 3 if err is None else err.exit_code
    summary = _summary(args, err, exit_code, interrupt, folder)
    say(args, err, summary.parent if summary else None, interrupt)
    if summary is not None and not getattr(args, "quiet", False):  # as a run's summary does
        print(f"report: {os.path.relpath(summary)}", file=sys.stdout)
    return exit_code


def say(
    args: argparse.Namespace,
    err: BulkmailError | None,
    report: Path | None,
    interrupt: str = "interrupted",
) -> None:
    """Print the line of what stopped the run (`err`, or an interrupt when None, said as
    `interrupt`) on stderr; the JSON line names the `report` folder too."""
    from bulkmail.logs import fatal_line

    message = interrupt if err is None else _text(err)
    console = f"bulkmail: {message}" if err is None else error_line(err)
    fields = {"report": str(report)} if report is not None else {}
    line = fatal_line(
        getattr(args, "log_format", "console"), console, "run.failed",
        command=args.command, message=message,
        exit_code=3 if err is None else err.exit_code, **fields,
    )  # fmt: skip
    print(line, file=sys.stderr)


def _text(err: BulkmailError) -> str:
    """Return the error's one line, scrubbed and printable (a header cell may hold breaks)."""
    return printable(scrub(str(err)))


def _summary(
    args: argparse.Namespace,
    err: BulkmailError | None,
    exit_code: int,
    interrupt: str,
    folder: Path | None,
) -> Path | None:
    """Return the summary.json that tells monitoring why the run stopped, written now unless
    the run had made its report folder (its writer wrote it there); None when the run had not
    parsed its options or no file could be written (the error line still says what happened)."""
    from bulkmail.files import ACCESS
    from bulkmail.report.failure import write_failed_summary
    from bulkmail.times import local_now

    started, report_dir = getattr(args, "started", None), getattr(args, "report_dir", None)
    if started is None or report_dir is None:
        return None
    if err is not None and err.report_folder is not None:
        written = err.report_folder / "summary.json"
        return written if written.is_file() else None
    given = getattr(args, "input", None)
    try:
        return write_failed_summary(
            report_dir,
            command=args.command,
            input_path=str(given) if given else "(the bundled sample)",
            started=started,
            finished=local_now(),
            exit_code=exit_code,
            error=interrupt if err is None else _text(err),
            access=ACCESS[args.report_mode],
            folder=folder if err is None else None,
        )
    except (BulkmailError, OSError):  # no folder can be made there: the line says the error
        return None
