"""`bulkmail check`: validate, then test each valid row's mail servers from this machine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bulkmail.cli import fatal
from bulkmail.cli.common import (
    add_input_options,
    add_mail_server_limits,
    add_output_options,
    add_owner_options,
    input_settings,
    seconds,
    start,
    whole_number,
)
from bulkmail.cli.examples import HelpWithExamples, examples
from bulkmail.cli.output import print_result

MAX_ROWS_AT_ONCE = 256
MAX_TIMEOUT = 600.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "check",
        help="connect to each valid row's mail servers from this machine (--login: log in)",
        description="Validate INPUT as `validate` does, then connect from this machine to "
        "each valid row's incoming and SMTP servers as the row says (TCP, then SSL or "
        "STARTTLS), read what they offer, and with --login log in with the row's "
        "credentials. Nothing is sent to the portal. The portal connects from its own "
        "network: a check proves the settings and passwords, not the portal's way to the "
        "servers. Exit 0 when every row passed, 1 when some failed, 2 when the input "
        "cannot be used, 3 when interrupted (Ctrl-C: the report says what was checked).",
        epilog=examples(
            (
                "bulkmail check accounts.xlsx",
                "connect to each row's incoming and SMTP servers from here (no login)",
            ),
            (
                "bulkmail check accounts.xlsx --login --per-server 2",
                "log in with each row's password too, 2 rows at a time per mail server",
            ),
        ),
        formatter_class=HelpWithExamples,
    )
    add_input_options(parser)
    add_owner_options(parser)
    g = parser.add_argument_group("check")
    g.add_argument(
        "--login",
        action="store_true",
        help="log in to each server with the row's login and password (each login is a "
        "connection; refused ones count against --max-login-failures)",
    )
    add_mail_server_limits(g, most=MAX_ROWS_AT_ONCE)
    g.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=seconds(MAX_TIMEOUT),
        default=15.0,
        help="per connection step: connect, TLS, each answer (default %(default)g, as the "
        "portal's own connect timeout)",
    )
    g.add_argument(
        "--concurrency",
        "-c",
        metavar="N",
        type=whole_number(1, MAX_ROWS_AT_ONCE),
        default=16,
        help="rows checked at once over all servers (default %(default)s)",
    )
    g.add_argument(
        "--ca-bundle",
        metavar="FILE",
        type=Path,
        help="PEM CA certificates to trust besides the system's store; a certificate that "
        "fails is only a warning (the portal ignores certificate errors)",
    )
    add_output_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bulkmail.check import CheckSettings, check_file  # imported on use: --help stays quick

    start(args)
    settings = CheckSettings(
        login=args.login,
        per_server=args.per_server,
        max_login_failures=args.max_login_failures,
        timeout=args.timeout,
        concurrency=args.concurrency,
        ca_bundle=args.ca_bundle,
        run_user=args.user,
        acting=args.admin is not None,
        from_email=args.portal_user_from == "email",
    )
    result = check_file(
        input_settings(args),
        args.report_dir,
        settings,
        report_mode=args.report_mode,
        handle_signals=True,
    )
    with fatal.report_written():
        if not args.quiet:
            print_result(result, sys.stdout)
        return result.summary.exit_code
