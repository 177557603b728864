"""`bulkmail template OUTPUT.xlsx [--force]`: write a blank sheet to fill."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from bulkmail.cli.examples import HelpWithExamples, examples


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `template` sub-command."""
    parser = sub.add_parser(
        "template",
        help="write a blank .xlsx to fill: dropdowns for enums, port rules, help",
        description="Write a blank Accounts sheet with the canonical columns, dropdowns, "
        "port rules, an example row and a Help sheet.",
        epilog=examples(
            ("bulkmail template accounts.xlsx", "write the sheet to fill, with a Help sheet"),
            ("bulkmail template accounts.xlsx --force", "write it again over the old one"),
        ),
        formatter_class=HelpWithExamples,
    )
    parser.add_argument("output", metavar="OUTPUT.xlsx", type=Path, help="file to create")
    parser.add_argument("--force", action="store_true", help="replace OUTPUT.xlsx if it exists")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the template and say what to do next."""
    from bulkmail.template import write_template  # openpyxl, only for this command

    output: Path = args.output
    write_template(output, overwrite=args.force)
    print(
        f"wrote {output}: fill one row per mailbox, then "
        f"`bulkmail validate {shlex.quote(str(output))}`"
    )
    return 0
