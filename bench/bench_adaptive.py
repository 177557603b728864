"""Adaptive concurrency against a portal whose capacity the client is not told, and a dead
portal (docs/performance.md §9). Every figure is a ratio against a baseline of the same run.

1. capacity: a simulator that serves CAPACITY requests at once, queues QUEUE more and answers
   503 with Retry-After beyond; creates take CREATE_LATENCY ms (logins and listings at once).
   ROWS rows over USERS portal users and DOMAINS mail domains. bulkmail runs with fixed
   concurrencies (4, 12, 24, 48 by default) and with `--concurrency auto`; the target is auto
   within 1.15x of the best fixed run, with under 2 % of its requests answered 503.
2. dead portal: DEAD_ROWS rows against a port nothing listens on, default options: the time
   from start to exit 3 (the target: within a minute, whatever the number of rows).

    python bench/bench_adaptive.py [--rows 600] [--capacity 24] [--queue 48]
        [--create-latency 300] [--fixed 4 12 24 48] [--dead-rows 2000] [--case capacity ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, simulator

CASES = ("capacity", "dead-portal")


def sheet(path: Path, rows: int, users: int, domains: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["portal_user", "portal_password", "email", "password", "server", "smtp_server"])
        for i in range(rows):
            u, d = i % users, i % domains
            w.writerow(
                [f"user{u}@corp.example.org", f"Portal-{u}-pw", f"box{i}@d{d}.example.org",
                 f"pw-{i}", f"imap.d{d}.example.org", f"smtp.d{d}.example.org"]
            )  # fmt: skip
    return path


class Run(NamedTuple):
    seconds: float  # the run's own (summary.json)
    wall: float  # the process's, start-up included
    code: int
    summary: dict[str, Any]


def bulkmail_import(path: Path, url: str, work: Path, *options: str) -> Run:
    reports = work / f"reports-{time.monotonic_ns()}"
    argv = [sys.executable, "-m", "bulkmail", "import", str(path), "--portal", url]
    argv += ["--state", str(reports / "journal.sqlite"), "--report-dir", str(reports)]
    started = time.perf_counter()
    done = subprocess.run([*argv, "--quiet", *options], capture_output=True, text=True)
    wall = time.perf_counter() - started
    found = list(reports.glob("*/summary.json"))
    if not found:
        raise SystemExit(f"import wrote no report ({done.returncode}): {done.stderr}")
    summary = json.loads(found[0].read_text())
    return Run(float(summary["seconds"]), wall, done.returncode, summary)


def capacity_case(work: Path, args: argparse.Namespace) -> None:
    path = sheet(work / "capacity.csv", args.rows, args.users, args.domains)
    options = ["--capacity", str(args.capacity), "--queue-limit", str(args.queue)]
    options += ["--create-latency", str(args.create_latency)]
    results: dict[str, tuple[Run, int, int]] = {}
    for setting in [*map(str, args.fixed), "auto"]:
        with simulator(*options) as url:
            run = bulkmail_import(path, url, work, "--concurrency", setting)
            stats = httpx.get(f"{url}/_sim/stats").json()
        if run.code != 0:
            raise SystemExit(f"--concurrency {setting}: exit {run.code}")
        results[setting] = (run, stats["requests"], stats["faults"].get("503", 0))
        refused = results[setting][2] / results[setting][1]
        print(
            f"  --concurrency {setting:>4}: {run.seconds:6.2f} s, {results[setting][1]} "
            f"requests, {refused:.1%} answered 503",
            flush=True,
        )
    best_name = min(args.fixed, key=lambda n: results[str(n)][0].seconds)
    best = results[str(best_name)][0].seconds
    auto, requests, refused = results["auto"]
    moved = auto.summary["concurrency_limit"]
    print(
        f"capacity {args.capacity} at once, queue {args.queue}, creates {args.create_latency:g} "
        f"ms; {args.rows} rows of {args.users} users over {args.domains} domains: "
        f"auto {auto.seconds:.2f} s = {auto.seconds / best:.3f}x the best fixed "
        f"(--concurrency {best_name}, {best:.2f} s; target <= 1.15x), "
        f"{refused / requests:.2%} of its requests answered 503 (target < 2 %); "
        f"its limit: start {moved['start']}, min {moved['min']}, max {moved['max']}, "
        f"final {moved['final']}, {moved['decreases']} decreases",
        flush=True,
    )


def dead_portal_case(work: Path, rows: int) -> None:
    path = sheet(work / "dead.csv", rows, 30, 100)
    run = bulkmail_import(path, f"http://127.0.0.1:{free_port()}", work)
    not_sent = run.summary["counts"]["not attempted"]
    print(
        f"dead portal, {rows} rows, default options: exit {run.code} after {run.wall:.2f} s "
        f"(process wall, start-up included; run {run.seconds:.2f} s; target: within a minute), "
        f"{not_sent} rows not attempted",
        flush=True,
    )
    if run.code != 3 or not_sent != rows:
        raise SystemExit("the dead portal did not end the run with exit 3, every row unsent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--domains", type=int, default=100)
    parser.add_argument("--capacity", type=int, default=24)
    parser.add_argument("--queue", type=int, default=48)
    parser.add_argument("--create-latency", type=float, default=300.0, help="ms")
    parser.add_argument("--fixed", type=int, nargs="+", default=[4, 12, 24, 48])
    parser.add_argument("--dead-rows", type=int, default=2000)
    parser.add_argument("--case", action="append", choices=CASES, help="default: all")
    args = parser.parse_args()
    cases = set(args.case or CASES)
    with tempfile.TemporaryDirectory() as tmp:
        if "capacity" in cases:
            capacity_case(Path(tmp), args)
        if "dead-portal" in cases:
            dead_portal_case(Path(tmp), args.dead_rows)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
