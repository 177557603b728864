"""The `bulkmail` command line: options -> settings -> library calls; errors -> exit codes.

Each sub-command lives in its own module with `register(subparsers)`; this module only builds
the parser and turns a usage error, a BulkmailError or an interrupt into one line on stderr
and its exit code (`bulkmail.cli.fatal`: in the --log-format asked for, with a summary.json).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from bulkmail._version import __version__
from bulkmail.cli import check, demo, fatal, importing, output, simulate, template, validate
from bulkmail.errors import BulkmailError
from bulkmail.printable import printable

EPILOG = """\
exit codes:
  0  every row was valid / created / skipped
  1  some rows failed (validation or portal); see the report's Failed sheet
  2  nothing was attempted: the input, options or configuration are unusable
  3  the run was aborted (fatal portal answer, interrupt, a disk or journal that failed);
     the report covers what happened, or the journal does and a re-run writes the report
"""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors exit 2 with one line, as every other error does
    (`main` prints it, in the --log-format the command line asks for)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        shown = printable(_without_values(message))  # a value may hold a line break
        raise fatal.UsageError(shown, self.prog)


_UNRECOGNIZED = "unrecognized arguments: "
_AMBIGUOUS = "ambiguous option: "


def _without_values(message: str) -> str:
    """Return argparse's message with the values of stray arguments left out: one may be a
    password typed after an option that does not exist (`--password S3cret`), or given to
    an abbreviation that matches two options (`--p=S3cret`)."""
    if message.startswith(_AMBIGUOUS):
        option, could, matches = message.removeprefix(_AMBIGUOUS).rpartition(" could match ")
        return f"{_AMBIGUOUS}{_option_only(option)}{could}{matches}"
    if not message.startswith(_UNRECOGNIZED):
        return message
    words = message.removeprefix(_UNRECOGNIZED).split()
    shown = [_option_only(w) if w.startswith("-") else "..." for w in words]
    return _UNRECOGNIZED + " ".join(shown)


def _option_only(word: str) -> str:
    """Return `--name=...` for `--name=value`, a word without `=` as it is."""
    name, equals, _ = word.partition("=")
    return name + ("=..." if equals else "")


def build_parser() -> argparse.ArgumentParser:
    """Return the full parser with every sub-command registered."""
    parser = _Parser(
        prog="bulkmail",
        description="Connect a whole organisation's mailboxes to ONLYOFFICE / R7-Office "
        "portal users from a spreadsheet.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bulkmail {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in (validate, check, importing, template, simulate, demo):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(words)
    except fatal.UsageError as err:  # before the options are known: no report folder
        err.prog = _prog_of(parser, words, err.prog)
        print(fatal.usage_line(err, fatal.log_format(words)), file=sys.stderr)
        raise SystemExit(2) from None
    # The commands that write a report stop on SIGTERM as on Ctrl-C, with a line and a
    # summary.json (a template is written at once; the simulator's server has its own).
    reports = hasattr(args, "report_dir")
    try:
        with fatal.sigterm_stops_the_run() if reports else contextlib.nullcontext():
            code: int = args.func(args)
    except BulkmailError as err:
        return fatal.stopped(args, err)
    except KeyboardInterrupt as stop:
        folder = getattr(stop, "report_folder", None)  # a report it cut short (ReportWriter)
        return fatal.stopped(args, None, fatal.interrupted(stop), folder)
    except BrokenPipeError:  # stdout's reader left (`| head`) before a line other than the
        output.reader_left(sys.stdout)  # summary's (which keeps the run's code): as `cat`,
        return 1  # no traceback, exit 1
    return code


def _prog_of(parser: argparse.ArgumentParser, words: Sequence[str], prog: str) -> str:
    """Return the command's own prog (`bulkmail validate`) for an error the top parser
    raised about a command's words (argparse leaves stray arguments to it), so the line
    points to the help that lists the command's options; `prog` otherwise."""
    if prog != parser.prog:
        return prog
    command = next((w for w in words if not w.startswith("-")), None)
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return f"{prog} {command}" if command in commands.choices else prog


def entry() -> None:  # pragma: no cover - thin wrapper for the console script
    sys.exit(main())
