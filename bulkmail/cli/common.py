"""Options shared by several sub-commands, declared once."""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from bulkmail.errors import ConfigError
from bulkmail.reader.defaults import load_defaults, merge, parse_set
from bulkmail.schema import SECRET_FIELDS
from bulkmail.settings import (
    DEFAULT_MAX_LOGIN_FAILURES,
    DEFAULT_PER_SERVER,
    MAX_CONCURRENCY,
    START_CONCURRENCY,
    InputSettings,
)

if TYPE_CHECKING:
    from bulkmail.validation.autofill import PortalSetups

# argparse fills in %(default)s from the option's default: bulkmail.settings' value.
CONCURRENCY_HELP = (
    f"accounts created at once (default %(default)s: start at {START_CONCURRENCY}, grow while "
    "the portal keeps its speed, back off when it slows down or refuses, up to "
    f"--max-concurrency); a number N (at most {MAX_CONCURRENCY:,}) fixes it; as many "
    "connections log in and list the users of the rows ahead"
)
AUTO = "auto"


def concurrency(text: str) -> int | None:
    """Return None for "auto" (adaptive), else a whole number of creates at once."""
    if text.strip().casefold() == AUTO:
        return None
    try:
        return whole_number(1, MAX_CONCURRENCY)(text)
    except argparse.ArgumentTypeError as err:
        raise argparse.ArgumentTypeError(f"{err} (or auto)") from None


def add_input_options(
    parser: argparse.ArgumentParser, autofill: tuple[str, ...] = ("known",)
) -> None:
    """Add INPUT and the options that say how to read and complete it."""
    parser.add_argument(
        "input",
        metavar="INPUT",
        type=Path,
        help=".xlsx/.xlsm/.xls/.ods/.csv/.tsv file of mail settings",
    )
    parser.add_argument(
        "--sheet", metavar="NAME", help="sheet to read (default: the first visible one)"
    )
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        help="CSV encoding, e.g. utf-8, cp1251, utf-16 (default: detected)",
    )
    parser.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="CSV delimiter: ',' ';' 'tab' or '|' (default: detected)",
    )
    parser.add_argument(
        "--set",
        dest="set_values",
        metavar="FIELD=VALUE",
        action="append",
        default=[],
        help="fill blank cells of FIELD with VALUE (repeatable); a cell in the sheet wins; "
        "not for passwords, which the process list shows: put those in --defaults",
    )
    parser.add_argument(
        "--defaults",
        metavar="FILE.toml",
        type=Path,
        help="org-wide defaults for blank cells, FIELD = VALUE per line (passwords too: "
        "make it readable by you only)",
    )
    portal = (
        "; portal: from the portal's own settings for the domain (GET mail/accounts/setups, "
        "asked as --user or --admin), a guess from the domain's name said so"
        if "portal" in autofill
        else ""
    )
    parser.add_argument(
        "--autofill",
        choices=autofill,
        help="known: fill blank server settings from bulkmail's table of providers by the "
        f"address's domain (gmail.com, yandex.ru...), offline{portal}; a cell, --set and "
        "--defaults win",
    )
    parser.add_argument(
        "--secrets-from",
        metavar="ORIGINAL",
        type=Path,
        help="fill masked password cells (a fixed Failed sheet fed back) "
        "from the original sheet, matched by portal_user and email",
    )


def add_owner_options(parser: argparse.ArgumentParser) -> None:
    """Add --user, --admin and --portal-user-from as validate and check take them: who owns
    each row, judged as the import with the same options would; no password is asked."""
    parser.add_argument(
        "--user",
        metavar="LOGIN",
        type=login,
        help="portal user owning rows that have no portal_user cell",
    )
    parser.add_argument(
        "--admin",
        metavar="LOGIN",
        type=login,
        help="judge the rows as for `import --admin LOGIN`: a row with a portal_user needs no "
        "portal_password (no password is asked: nothing is sent to the portal)",
    )
    parser.add_argument(
        "--portal-user-from",
        choices=("email",),
        help="as for import: rows without a portal_user belong to the portal user whose "
        "login is the mailbox's address (email)",
    )


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """Add where the report goes and how the run talks."""
    parser.add_argument(
        "--report-dir",
        metavar="DIR",
        type=Path,
        default=Path("reports"),
        help="folder for the run's report folder (default: reports/)",
    )
    parser.add_argument(
        "--log-format",
        choices=("console", "json"),
        default="console",
        help="stderr log lines for people (console) or machines (json)",
    )
    parser.add_argument(
        "--report-mode",
        choices=("owner", "group"),
        default="owner",
        help="who may read the report, which holds names, emails and logins: owner (default: "
        "folder 0700, files 0600) or group (0750, 0640: the folder's group, e.g. monitoring)",
    )
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print nothing but errors and the run's last log line (run.finished)",
    )


def start(args: argparse.Namespace) -> None:
    """Configure logging for the run before anything is logged, and note when the run
    started (`args.started`): from here on its report folder is known, so a run that stops
    leaves a summary.json there (bulkmail.cli.fatal)."""
    from bulkmail.logs import capture_warnings, configure  # structlog: not for `--help`
    from bulkmail.times import local_now

    configure(args.log_format, quiet=args.quiet)
    capture_warnings()  # a library's warning is a log line too, in the format asked for
    args.started = local_now()


def input_settings(args: argparse.Namespace) -> InputSettings:
    """Build the input settings from the shared options (defaults merged, --set wins).

    Raises ConfigError for a secret field in `--set` (see `refuse_secrets`).
    """
    given = parse_set(args.set_values)
    refuse_secrets(given)
    file_defaults = load_defaults(args.defaults) if args.defaults else {}
    if args.defaults and SECRET_FIELDS & file_defaults.keys():
        warn_if_readable(args.defaults)
    return InputSettings(
        path=args.input,
        sheet=args.sheet,
        encoding=args.encoding,
        delimiter=args.delimiter,
        defaults=merge(file_defaults, given),
        secrets_from=args.secrets_from,
        autofill=_autofill(args.autofill),
    )


def _autofill(choice: str | None) -> bool | PortalSetups:
    """Return InputSettings.autofill for --autofill's choice (portal: asked by the import)."""
    if choice == "portal":
        from bulkmail.validation.autofill import PortalSetups

        return PortalSetups()
    return choice == "known"


def refuse_secrets(given: Mapping[str, str]) -> None:
    """Raise ConfigError for a password given with `--set`, never repeating it.

    A command line is in the process list, readable by every user of the machine while the
    run lasts, and in the shell's history: a password belongs in a file only its owner reads.
    """
    secret = sorted(SECRET_FIELDS & given.keys())
    if secret:
        raise ConfigError(
            f"--set {secret[0]}=... puts a password on the command line, where every user "
            "of this machine can read it (the process list) and the shell's history keeps it",
            f'put `{secret[0]} = "..."` in a --defaults FILE that only you can read '
            "(chmod 600 FILE)",
        )


def warn_if_readable(path: Path) -> None:
    """Warn when a defaults file holding a password can be read by other users."""
    try:
        mode = path.stat().st_mode
    except OSError:  # load_defaults has just read it: gone since, nothing to warn about
        return
    if os.name == "posix" and mode & 0o077:
        from bulkmail.logs import get_logger

        get_logger().warning(
            "defaults.readable",
            file=str(path),
            mode=f"{stat.S_IMODE(mode):04o}",
            message="the defaults file holds a password and other users of this machine can "
            "read it",
            hint=f"chmod 600 {path}",
        )


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """Return an argparse type: a whole number from `low` to `high` (None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < low or (high is not None and value > high):
            within = f"{low} or more" if high is None else f"from {low} to {high:,}"
            raise argparse.ArgumentTypeError(f"must be {within}, not {value}")
        return value

    return parse


def add_mail_server_limits(group: argparse._ArgumentGroup, *, most: int) -> None:
    """Add --per-server (1 to `most`) and --max-login-failures, which `import` and `check`
    share: both log in to the rows' mail servers from one address (run/servers.py)."""
    group.add_argument(
        "--per-server",
        metavar="N",
        type=whole_number(1, most),
        default=DEFAULT_PER_SERVER,
        help="rows in flight at once per mail server (default %(default)s: the logins all "
        "come from one address, and servers limit connections per address); a server that "
        "throttles gets fewer",
    )
    group.add_argument(
        "--max-login-failures",
        metavar="K",
        type=whole_number(1),
        default=DEFAULT_MAX_LOGIN_FAILURES,
        help="refused logins on one mail server before its other rows are held back, so that "
        "it does not ban the address they come from (default %(default)s; fail2ban bans "
        "after 5)",
    )


def login(text: str) -> str:
    """An argparse type: a portal login, not blank (a blank one would silently count as not
    given, and every row would then fail for want of a password)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a portal login, not blank")
    return text.strip()


def seconds(high: float) -> Callable[[str], float]:
    """Return an argparse type: a number of seconds above 0 and at most `high`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
        if not 0 < value <= high:  # NaN fails both comparisons
            raise argparse.ArgumentTypeError(f"must be above 0 and at most {high:g}, not {text}")
        return value

    return parse
