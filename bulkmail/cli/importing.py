"""`bulkmail import`: validate, then create the accounts on the portal; write the report."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from bulkmail.cli import fatal
from bulkmail.cli.common import (
    AUTO,
    CONCURRENCY_HELP,
    add_input_options,
    add_mail_server_limits,
    add_output_options,
    concurrency,
    input_settings,
    login,
    seconds,
    start,
    whole_number,
)
from bulkmail.cli.examples import HelpWithExamples, examples
from bulkmail.cli.output import print_result
from bulkmail.errors import ConfigError
from bulkmail.secrets import SECRET_FIELDS
from bulkmail.secrets import register as register_secret
from bulkmail.settings import (
    DEFAULT_GIVE_UP_AFTER,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_RETRIES,
    DEFAULT_STATE,
    DEFAULT_TIMEOUT,
    MAX_CONCURRENCY,
    MAX_GIVE_UP_AFTER,
    MAX_TIMEOUT,
    PREFLIGHT_SECONDS,
    PortalSettings,
)

PASSWORD_ENV = "BULKMAIL_PASSWORD"
ADMIN_PASSWORD_ENV = "BULKMAIL_ADMIN_PASSWORD"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "import",
        help="validate, then create the accounts on the portal; writes the report",
        description="Validate INPUT, then connect each valid row's mailbox to its portal "
        "user's Mail (POST api/2.0/mail/accounts), logging in once per portal user. Rows "
        "are journaled as they finish, so running the same command again after a crash "
        "or Ctrl-C skips what was done and finishes the rest.",
        epilog=examples(
            (
                "bulkmail import accounts.xlsx --portal https://portal.example.org "
                "--user admin@example.org",
                "password from $BULKMAIL_PASSWORD, --password-file or a prompt; "
                "run it again to finish after Ctrl-C",
            ),
            (
                "bulkmail import accounts.xlsx --portal https://portal.example.org "
                "--admin admin@example.org --dry-run",
                "act as each row's portal user: say what would be created, create nothing",
            ),
            (
                "bulkmail import new-hires.csv --portal https://portal.example.org "
                "--user robot@example.org --password-file /etc/bulkmail/password "
                "--quiet --log-format json",
                "unattended (cron): JSON lines on stderr; exit code and summary.json "
                "for monitoring",
            ),
            (
                "bulkmail import fixed.xlsx --secrets-from accounts.xlsx "
                "--portal https://portal.example.org --user admin@example.org",
                "the report's Failed sheet, fixed: masked passwords taken from the original",
            ),
        ),
        formatter_class=HelpWithExamples,
    )
    add_input_options(parser, autofill=("known", "portal"))
    add_portal_options(parser)
    add_output_options(parser)
    parser.set_defaults(func=run)


def add_portal_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that say where to send and how."""
    g = parser.add_argument_group("portal")
    g.add_argument(
        "--portal",
        metavar="URL",
        required=True,
        help="portal root, e.g. https://portal.example.org (no user name, password, ?query "
        "or #fragment)",
    )
    g.add_argument(
        "--user",
        metavar="LOGIN",
        type=login,
        help="portal login for rows without a portal_user cell (password from "
        f"${PASSWORD_ENV}, --password-file, or a prompt on a terminal)",
    )
    g.add_argument(
        "--password-file",
        metavar="FILE",
        type=Path,
        help="file whose first line is --user's portal password",
    )
    g.add_argument(
        "--admin",
        metavar="LOGIN",
        type=login,
        help="a portal admin who acts as each row's portal user (impersonation, server 12.5 "
        "and later, switched on by the portal's owner): no portal passwords needed; password "
        f"from ${ADMIN_PASSWORD_ENV}, --admin-password-file, or a prompt on a terminal",
    )
    g.add_argument(
        "--admin-password-file",
        metavar="FILE",
        type=Path,
        help="file whose first line is --admin's portal password",
    )
    g.add_argument(
        "--portal-user-from",
        choices=("email",),
        help="rows without a portal_user belong to the portal user whose login is the "
        "mailbox's address (email)",
    )
    g.add_argument(
        "--list-existing",
        action="store_true",
        help="with --dry-run and --admin: act as each user to list their existing accounts "
        "(one impersonation per user, ended at once; the portal audits each)",
    )
    g.add_argument(
        "--ca-bundle",
        metavar="FILE",
        type=Path,
        help="PEM file of CA certificates to trust besides the system's store (and "
        "SSL_CERT_FILE, SSL_CERT_DIR): your organisation's CA, if it signed the portal's "
        "certificate",
    )
    g.add_argument(
        "--concurrency",
        "-c",
        metavar="auto|N",
        type=concurrency,
        default=AUTO,
        help=CONCURRENCY_HELP,
    )
    g.add_argument(
        "--max-concurrency",
        metavar="N",
        type=whole_number(1, MAX_CONCURRENCY),
        default=DEFAULT_MAX_CONCURRENCY,
        help="the most creates --concurrency auto puts in flight at once (default "
        "%(default)s: each holds a portal worker for seconds and makes the portal log in to "
        "two mail servers; more only queue at the portal or get its address throttled)",
    )
    g.add_argument(
        "--give-up-after",
        metavar="SECONDS",
        type=seconds(MAX_GIVE_UP_AFTER),
        default=DEFAULT_GIVE_UP_AFTER,
        help="stop the run (exit 3, resumable) when the portal stays unreachable this long "
        "mid-run (default %(default)g: a portal restart fits); before the first row, "
        f"an unreachable portal is retried for at most {PREFLIGHT_SECONDS:g} s",
    )
    add_mail_server_limits(g, most=MAX_CONCURRENCY)
    g.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=seconds(MAX_TIMEOUT),
        default=DEFAULT_TIMEOUT,
        help="per request (default %(default)g: the portal tests both mail servers before "
        f"it answers); bounds the whole answer, however slowly it comes; at most {MAX_TIMEOUT:g}",
    )
    g.add_argument(
        "--retries",
        metavar="N",
        type=whole_number(0),
        default=DEFAULT_RETRIES,
        help="retries of a transient failure (default %(default)s)",
    )
    g.add_argument(
        "--if-exists",
        choices=("skip", "update"),
        default="skip",
        help="an email the portal user already has: skip it (default) or post "
        "anyway (the portal overwrites it)",
    )
    g.add_argument(
        "--dry-run",
        action="store_true",
        help="log in and list, report what would be created; create nothing",
    )
    g.add_argument(
        "--state",
        metavar="PATH",
        type=Path,
        default=DEFAULT_STATE,
        help="journal of outcomes (default %(default)s)",
    )
    g.add_argument(
        "--fresh",
        action="store_true",
        help="ignore what the journal says earlier runs did; a damaged journal is set aside "
        "(renamed <journal>.damaged-TIME) and a new one started",
    )
    g.add_argument(
        "--retry-failed",
        action="store_true",
        help="re-attempt the rows an earlier run failed for good (a mailbox login refused, "
        "IMAP disabled...) although the row is unchanged: for a cause fixed elsewhere; rows "
        "created earlier are still never sent twice",
    )


def check_url(url: str) -> str:
    """Return the portal URL without a trailing slash, or raise ConfigError
    (`bulkmail.portal.address.portal_root`)."""
    from bulkmail.portal.address import portal_root

    return portal_root(
        url,
        "--portal",
        f"the login with --user and its password in {PASSWORD_ENV} or --password-file",
    )


def portal_password(args: argparse.Namespace) -> str | None:
    """Return --user's password from the environment, a file or a terminal prompt (none with
    --admin, which acts as --user too)."""
    if not args.user or args.admin:
        return None
    return _password(f"--user {args.user}", args.password_file, "--password-file", PASSWORD_ENV)


def admin_password(args: argparse.Namespace) -> str | None:
    """Return --admin's password from the environment, a file or a terminal prompt."""
    if not args.admin:
        return None
    file = args.admin_password_file
    return _password(f"--admin {args.admin}", file, "--admin-password-file", ADMIN_PASSWORD_ENV)


def _password(whose: str, file: Path | None, file_option: str, env: str) -> str:
    """Return the password of `whose` ("--user LOGIN"): `file`'s first line, `env`, or a
    prompt on a terminal."""
    if file:
        path: Path = file
        try:
            return path.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError, UnicodeDecodeError) as err:
            why = (
                err.strerror
                if isinstance(err, OSError)
                else ("it is empty" if isinstance(err, IndexError) else "it is not UTF-8 text")
            )
            raise ConfigError(
                f"cannot read a password from {path}: {why}",
                "the file's first line must hold the password",
            ) from None
    if os.environ.get(env):
        return os.environ[env]
    if sys.stdin.isatty():
        return getpass.getpass(f"portal password for {whose.split()[-1]}: ")
    raise ConfigError(
        f"no portal password for {whose}",
        f"set {env} or use {file_option} (no prompt without a terminal)",
    )


def portal_settings(args: argparse.Namespace) -> PortalSettings:
    """Build the portal settings from the options; the password is masked in every output."""
    url = check_url(args.portal)  # first: a refused URL must not wait for a password prompt
    password, admin = portal_password(args), admin_password(args)
    register_secret(password, admin)
    if args.list_existing and not (args.admin and args.dry_run):
        raise ConfigError("--list-existing goes with --dry-run and --admin", "drop it")
    return PortalSettings(
        url=url,
        user=args.user,
        password=password,
        admin=args.admin,
        admin_password=admin,
        portal_user_from=args.portal_user_from,
        list_existing=args.list_existing,
        concurrency=args.concurrency,
        max_concurrency=args.max_concurrency,
        give_up_after=args.give_up_after,
        per_server=args.per_server,
        max_login_failures=args.max_login_failures,
        timeout=args.timeout,
        retries=max(0, args.retries),
        if_exists=args.if_exists,
        dry_run=args.dry_run,
        state=args.state,
        fresh=args.fresh,
        retry_failed=args.retry_failed,
        progress=not args.quiet and args.log_format == "console",
        ca_bundle=args.ca_bundle,
    )


def run(args: argparse.Namespace) -> int:
    from bulkmail.pipeline import (
        import_file,  # the HTTP stack, only for the command that uses it
    )

    start(args)
    inp = input_settings(args)  # first: a password given with --set is refused before a prompt
    portal = portal_settings(args)
    _warn_if_plaintext(portal.url)
    # A password given with --set or --defaults fills blank cells: a secret of every row.
    register_secret(*(v for k, v in inp.defaults.items() if k in SECRET_FIELDS))
    result = import_file(
        inp, portal, args.report_dir, handle_signals=True, report_mode=args.report_mode,
        ask_code=_ask_code if sys.stdin.isatty() else None,
        keep_rows=False,  # no per-row results in memory: the report holds them
    )  # fmt: skip
    with fatal.report_written():
        if not args.quiet:
            print_result(result, sys.stdout)
        if result.error is not None:  # a journal that failed part-way: what happened, what to do
            fatal.say(args, result.error, result.paths.folder)
        return result.summary.exit_code


def _ask_code(prompt: str) -> str:
    """Ask the terminal for --admin's two-factor code (not echoed: it is a secret)."""
    return getpass.getpass(prompt)


def _warn_if_plaintext(url: str) -> None:
    """Log a warning when the portal is reached over plain HTTP beyond this machine."""
    from bulkmail.logs import get_logger
    from bulkmail.portal.tls import is_loopback

    if urlsplit(url).scheme == "http" and not is_loopback(url):
        get_logger().warning(
            "portal.plaintext",
            portal=url,
            message="the portal is reached over plain http://: every portal and mailbox "
            "password of this run travels in clear text on the network",
            hint="use the portal's https:// address",
        )
