"""`bulkmail simulate`: serve the local portal simulator, or show what a state file holds."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from bulkmail.cli.examples import examples
from bulkmail.simulator.config import SLOW_SECONDS  # no web stack: the package loads lazily

# Options that override the config file: flag, metavar, type, SimConfig field, help.
_SETTINGS: tuple[tuple[str, str, type, str, str], ...] = (
    ("--latency", "MS", float, "latency_ms", "answer each API request in MS milliseconds"),
    ("--create-latency", "MS", float, "create_latency_ms",
     "answer each create (POST mail/accounts) in MS milliseconds instead of --latency"),
    ("--jitter", "MS", float, "jitter_ms", "vary the latency by +- MS milliseconds"),
    ("--fail-503", "P", float, "fail_503", "answer 503 with Retry-After with probability P"),
    ("--fail-429", "P", float, "fail_429", "answer 429 with Retry-After with probability P"),
    ("--retry-after", "S", int, "retry_after", "Retry-After seconds of 503 and 429 (default 1)"),
    ("--capacity", "N", int, "capacity",
     "serve N API requests at once; the rest wait their turn (default: no limit)"),
    ("--queue-limit", "M", int, "queue_limit",
     "with --capacity: answer 503 with Retry-After when M requests already wait "
     "(default: no limit)"),
    ("--drop-after-create", "P", float, "drop_after_create",
     "store the account, then close the connection unanswered, with probability P"),
    ("--slow-after-create", "P", float, "slow_after_create",
     "store the account, then answer only after --slow-seconds, with probability P"),
    ("--slow-seconds", "S", float, "slow_seconds",
     f"delay of a slow answer (default {SLOW_SECONDS:g}, longer than import's --timeout)"),
    ("--seed", "N", int, "seed", "seed of the fault decisions (default 0)"),
    ("--session-lifetime", "MINUTES", float, "session_lifetime",
     "the portal's session lifetime: every token dies MINUTES after its login, and calls "
     "with it answer 401 (default: a year, the portal's own)"),
    ("--logout-every", "N", int, "logout_every",
     "log out from all active connections after every N-th account created: every token "
     "dies, logins work again (default: never)"),
    ("--state", "FILE", Path, "state_path",
     "keep users and mailboxes in this SQLite file (never passwords)"),
)  # fmt: skip

EPILOG = """\
Without --config the portal is open: any login is provisioned on its first login with the
password it gave (unless the password contains "wrong"), and any mail host accepts any
mailbox password without "wrong"; hosts ending in .invalid refuse connections and hosts
starting with timeout. time out. See samples/simulator.toml for a configured portal.

simulator-only endpoints: GET /_sim/stats, GET /_sim/mailboxes, POST /_sim/reset,
POST /_sim/logout-all (every token dies), POST /_sim/password {"login", "password"}
(a user's password changes and its sessions end)

""" + examples(
    ("bulkmail simulate", "an open portal on http://127.0.0.1:8080 for a rehearsal"),
    (
        "bulkmail simulate --config samples/simulator.toml --state sim.sqlite",
        "the sample's users and mail servers, kept in sim.sqlite between restarts",
    ),
    (
        "bulkmail simulate --port 0 --create-latency 2000 --fail-503 0.05 --seed 7",
        "a slow, busy portal on a free port (printed at start), the same faults each time",
    ),
    ("bulkmail simulate --show sim.sqlite", "what the state file holds, then exit"),
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `bulkmail simulate` and its options."""
    parser = sub.add_parser(
        "simulate",
        help="serve a local ONLYOFFICE / R7-Office Mail API simulator",
        description="Serve a local simulator of the portal's Mail API for rehearsals and tests.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8080, help="0 = any free port (default: %(default)s)"
    )
    parser.add_argument(
        "--config", metavar="FILE", type=Path, help="portal users, mail servers and faults (TOML)"
    )
    for flag, metavar, kind, field, text in _SETTINGS:
        parser.add_argument(flag, metavar=metavar, type=kind, dest=field, help=text)
    parser.add_argument(
        "--show", metavar="FILE", type=Path, help="print what a state file holds and exit"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no request log lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C (exit 0), or print a state file with --show."""
    from bulkmail import simulator  # starlette and uvicorn: only this command needs them

    if args.show:
        for line in simulator.describe(args.show):
            print(line)
        return 0
    config = simulator.load_config(args.config)
    given = (field for _, _, _, field, _ in _SETTINGS)
    changes: dict[str, Any] = {f: getattr(args, f) for f in given if getattr(args, f) is not None}
    config = dataclasses.replace(config, log_requests=not args.quiet, **changes)
    simulator.serve(config, args.host, args.port)
    return 0
