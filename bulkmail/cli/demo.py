"""`bulkmail demo`: the sample sheet imported into a simulator inside this process."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from importlib.resources import as_file, files
from pathlib import Path

from bulkmail.cli.common import AUTO, CONCURRENCY_HELP, add_output_options, concurrency, start
from bulkmail.cli.examples import HelpWithExamples, examples
from bulkmail.cli.output import print_result
from bulkmail.settings import InputSettings, PortalSettings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "demo",
        help="import the sample sheet into an embedded portal simulator",
        description="Start the portal simulator on a free loopback port inside this process, "
        "import the bundled sample sheet (about 30 rows, a few deliberately wrong) into it, "
        "and write the report. Nothing leaves this machine. Exits 0 when the demo ran "
        "(the sample's failed rows are intended), 2 or 3 when it could not; with --input, "
        "as an import of that sheet would (1 when rows failed).",
        epilog=examples(
            ("bulkmail demo", "import the bundled sample into a simulated portal"),
            ("bulkmail demo --latency 0 --concurrency 16", "the same, as fast as it goes"),
            (
                "bulkmail demo --input accounts.xlsx --report-dir /tmp/rehearsal",
                "rehearse your own sheet; nothing leaves this machine",
            ),
        ),
        formatter_class=HelpWithExamples,
    )
    parser.add_argument(
        "--latency",
        metavar="MS",
        type=float,
        default=200.0,
        help="time the simulated portal takes to answer each request (default 200)",
    )
    parser.add_argument(
        "--concurrency",
        "-c",
        metavar="auto|N",
        type=concurrency,
        default=AUTO,
        help=CONCURRENCY_HELP,
    )
    parser.add_argument(
        "--input",
        metavar="FILE",
        type=Path,
        help="another sheet to import instead of the bundled sample",
    )
    add_output_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: starlette and uvicorn are not needed by any other command.
    from bulkmail.logs import get_logger
    from bulkmail.pipeline import import_file
    from bulkmail.run.retry import Backoff
    from bulkmail.simulator import load_config, running

    start(args)
    config = replace(load_config(None), latency_ms=args.latency)
    sample = files("bulkmail").joinpath("data/accounts.xlsx")
    with as_file(sample) as bundled, tempfile.TemporaryDirectory() as tmp, running(config) as url:
        if not args.quiet:
            print(f"demo: portal simulator at {url}", file=sys.stdout)
        portal = PortalSettings(
            url=url,
            concurrency=args.concurrency,
            state=Path(tmp) / "journal.sqlite",
            progress=not args.quiet and args.log_format == "console",
        )
        inp = InputSettings(path=args.input or bundled)
        # Short backoff: the demo shows retries happening without making people wait.
        result = import_file(
            inp,
            portal,
            args.report_dir,
            handle_signals=True,
            backoff=Backoff(base=0.2),
            report_mode=args.report_mode,
            keep_rows=False,
        )
    # The demo of the bundled sample exits 0 when it ran: its failed rows are deliberate.
    # The import's own code (1) stays in summary.json and run.finished, and the console says
    # both, so nothing disagrees with what the process exits with; `demo.finished` is the
    # JSON log's last word. A sheet given with --input has no deliberate failures: the demo
    # exits with its import's code.
    ran = result.summary.exit_code
    deliberate = ran == 1 and args.input is None
    code = 0 if deliberate else ran
    if not args.quiet:
        print_result(result, sys.stdout, exit_code=code, resumable=False)
        if result.summary.extra.get("interrupted"):
            print(
                "demo: interrupted; `bulkmail demo` starts over (its portal and journal "
                "lived in its process)"
            )
        if deliberate:
            failed = result.summary.counts.get("failed", 0)
            print(
                f"demo: the {failed} failed rows are deliberate (see the Failed sheet): an "
                "import of this sheet exits 1, and the demo, which ran as intended, exits 0. "
                "`bulkmail import FILE --portal URL` runs the same against a real portal."
            )
    get_logger().info("demo.finished", exit_code=code, import_exit_code=ran)
    return code
