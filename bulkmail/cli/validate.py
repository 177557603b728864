"""`bulkmail validate`: read and check every cell, write the report, send nothing."""

from __future__ import annotations

import argparse
import sys

from bulkmail.cli import fatal
from bulkmail.cli.common import (
    add_input_options,
    add_output_options,
    add_owner_options,
    input_settings,
    start,
)
from bulkmail.cli.examples import HelpWithExamples, examples
from bulkmail.cli.output import print_result


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "validate",
        help="dry run: read and validate a sheet, no network; writes the report",
        description="Read INPUT, check every cell of every row, and write a report: "
        "Succeeded holds the rows that would be sent, Failed the rows with errors. "
        "Nothing is sent. Exit 0 when every row is valid, 1 when some are not, 2 when the "
        "input cannot be used.",
        epilog=examples(
            (
                "bulkmail validate accounts.xlsx",
                "check every cell of the first sheet; the report lists each row's problems",
            ),
            (
                "bulkmail validate accounts.xlsx --admin admin@example.org",
                "a sheet for `import --admin`: rows with a portal_user need no portal_password",
            ),
            (
                "bulkmail validate staff.csv --encoding cp1251 --delimiter ';' "
                "--user admin@example.org",
                "a CSV from an old Excel; rows without a portal_user belong to admin",
            ),
            (
                "bulkmail validate accounts.xlsx --sheet Staff --defaults org.toml "
                "--autofill known",
                "blank cells from org.toml, then from the known providers' settings",
            ),
        ),
        formatter_class=HelpWithExamples,
    )
    add_input_options(parser)
    add_owner_options(parser)
    add_output_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bulkmail.pipeline import validate_file  # imported on use: --help stays quick

    start(args)
    result = validate_file(
        input_settings(args),
        args.report_dir,
        run_user=args.user,
        admin=args.admin,
        portal_user_from=args.portal_user_from,
        report_mode=args.report_mode,
        keep_rows=False,  # the console and the report need no per-row results in memory
    )
    with fatal.report_written():
        if not args.quiet:
            print_result(result, sys.stdout)
        return result.summary.exit_code
