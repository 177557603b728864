"""Import against the simulator (a separate process): against the ideal, and against a bare
httpx loop measured in the same run. Each case has a name for --case (default: all of them).

1. latency: ROWS rows (of one portal user, then of USERS users, each of whom costs a
   login and a listing) at CONCURRENCY against a portal answering every request in
   LATENCY ms; the ideal wall time is rows x latency / concurrency. No target: at 500
   creates a second (a rate no portal sustains: a real create takes seconds) it shows the
   client's own cost per request.
   The floor adds the login and the listing that must come before a user's first create.
   A raw asyncio loop (login, listing, creates; no HTTP library) shows what Python can do
   here at all.
   A bare httpx loop (creates only, one token, httpx's own transport, no validation,
   journal or report) shows what plain httpx costs: at 500 creates/s it is CPU-bound here.
2. low-concurrency: the same rows at a concurrency the CPU can feed (LOW_CONCURRENCY); no
   target.
3. no-latency: bulkmail's throughput vs the bare loop's (client CPU per row); no target.
4. create-bound (the target, docs/performance.md §9): CREATE_ROWS rows of USERS users at
   CONCURRENCY against a portal that answers logins and listings at once and every create
   in CREATE_LATENCY ms, as a real portal does (it logs in to both mail servers first). The
   ideal is rows x create latency / concurrency (1,000 x 1 s / 50 = 20 s); the target is
   within 3 % (<= 1.03x) of bulkmail's own run time (summary.json); the process's wall time
   (start-up included) and CPU are printed too. The rows are spread over HOSTS mail
   servers, one after another, so that the per-server limit (--per-server, default 4)
   never binds: 50 rows in a row touch 50 servers.
5. mail-limits: LIMITED_ROWS rows, all of one mail host that serves LIMITED_LOGINS of the
   portal's logins at once (the simulator turns the next away in Gmail's words), at
   --concurrency LIMITED_CONCURRENCY, creates answered in LIMITED_LATENCY ms; once with the
   default --per-server (below the host's limit) and once with --per-server 10 (above it: the
   host throttles and bulkmail lowers its limit). The target: no row ends failed because of
   throttling; the ideal is rows x latency / the host's limit.

    python bench/bench_import.py [--rows 2000] [--concurrency 50] [--latency 100]
        [--create-rows 1000] [--create-latency 1000] [--case create-bound ...]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ratio
from common import simulator as simulate

USERS = 20
HOSTS = 100  # mail servers the rows are spread over
CASES = ("latency", "low-concurrency", "no-latency", "create-bound", "mail-limits")
LIMITED_HOST = "mail.limited.example.org"
LIMITED_ROWS, LIMITED_LOGINS, LIMITED_CONCURRENCY, LIMITED_LATENCY = 200, 5, 20, 300.0
THROTTLED = ("mailbox-throttled", "smtp-throttled")


@contextmanager
def simulator(
    latency_ms: float, create_latency_ms: float = 0.0, config: Path | None = None
) -> Iterator[str]:
    options = ["--latency", str(latency_ms), "--create-latency", str(create_latency_ms)]
    with simulate(*options, *(["--config", str(config)] if config else [])) as url:
        yield url


def sheet(path: Path, rows: int, users: int = USERS, host: str = "") -> Path:
    """Write `rows` rows of `users` portal users; their mail servers are `host`, or HOSTS
    servers taken in turn."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["portal_user", "portal_password", "email", "password", "server", "smtp_server"])
        for i in range(rows):
            u = i % users
            w.writerow(
                [
                    f"user{u}@corp.example.org",
                    f"Portal-{u}-pw",
                    f"box{i}@mail.example.org",
                    f"pw-{i}",
                    host or f"imap.mail{i % HOSTS}.example.org",
                    host or f"smtp.mail{i % HOSTS}.example.org",
                ]
            )
    return path


class Run(NamedTuple):
    seconds: float  # the run's own, from summary.json
    wall: float  # the process's, start-up and imports included
    cpu: float  # the process's user + system seconds
    summary: dict[str, Any]  # summary.json


def bulkmail_import(path: Path, url: str, concurrency: int, work: Path) -> float:
    """Run `bulkmail import` as a user would; return the run's own seconds (summary.json)."""
    return bulkmail_run(path, url, concurrency, work).seconds


def bulkmail_run(
    path: Path, url: str, concurrency: int, work: Path, *extra: str, ok: tuple[int, ...] = (0,)
) -> Run:
    """Run `bulkmail import` as a user would; return its seconds, wall and CPU time."""
    reports = work / f"reports-{time.monotonic_ns()}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bulkmail",
            "import",
            str(path),
            "--portal",
            url,
            "--concurrency",
            str(concurrency),
            "--state",
            str(reports / "journal.sqlite"),
            "--report-dir",
            str(reports),
            "--quiet",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    # Only waited-for children count, and the simulator is waited for after the run.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if done.returncode not in ok:
        raise SystemExit(f"import failed ({done.returncode}): {done.stderr}")
    summary = json.loads(next(reports.glob("*/summary.json")).read_text())
    return Run(float(summary["seconds"]), wall, cpu, summary)


async def bare_loop(url: str, rows: int, concurrency: int) -> float:
    """Create `rows` accounts with plain httpx: the floor for any client of this portal."""
    async with httpx.AsyncClient(base_url=url) as c:
        r = await c.post(
            "api/2.0/authentication",
            json={"userName": "bare@corp.example.org", "password": "Bare-pw-1"},
        )
        token = r.json()["response"]["token"]
    jobs = iter(range(rows))
    tls = ssl.create_default_context()  # shared, as bulkmail does: one costs ~50 ms of CPU
    run = time.monotonic_ns()

    async def worker() -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=url, limits=limits, verify=tls) as client:
            client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            for i in jobs:
                body = {
                    "email": f"bare{run}-{i}@mail.example.org",
                    "account": f"bare{i}",
                    "password": "pw-1",
                    "server": "imap.mail.example.org",
                    "port": 993,
                    "smtp_account": f"bare{i}",
                    "smtp_password": "pw-1",
                    "smtp_server": "smtp.mail.example.org",
                    "smtp_port": 465,
                    "smtp_auth": True,
                    "imap": True,
                    "incoming_encryption_type": 1,
                    "outcoming_encryption_type": 1,
                    "auth_type_in": 1,
                    "auth_type_smtp": 1,
                }
                resp = await client.post(
                    "api/2.0/mail/accounts", json=body, headers={"Authorization": token}
                )
                assert resp.status_code == 201, resp.text

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return time.perf_counter() - started


async def raw_loop(url: str, rows: int, concurrency: int) -> float:
    """Log in, list, then create `rows` accounts over raw asyncio streams: no HTTP library,
    no validation, journal or report. The floor for a Python client of this portal on this
    machine (~0.2 ms of CPU a request: docs/performance.md §8), timed as bulkmail's run is."""
    host, port = url.removeprefix("http://").split(":")
    run = time.monotonic_ns()

    async def exchange(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: str, body: bytes
    ) -> tuple[int, bytes]:
        writer.write(head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        length = next(int(v) for k, _, v in (x.partition(b":") for x in lines)
                      if k.lower() == b"content-length")  # fmt: skip
        return int(status_line.split()[1]), await reader.readexactly(length)

    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, int(port))
    login = json.dumps({"userName": "raw@corp.example.org", "password": "Raw-pw-1"}).encode()
    head = f"POST /api/2.0/authentication HTTP/1.1\r\nHost: {host}\r\n"
    head += "Content-Type: application/json\r\n"
    token = json.loads((await exchange(reader, writer, head, login))[1])["response"]["token"]
    head = f"GET /api/2.0/mail/accounts HTTP/1.1\r\nHost: {host}\r\nAuthorization: {token}\r\n"
    assert (await exchange(reader, writer, head, b""))[0] == 200
    writer.close()
    jobs = iter(range(rows))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        head = f"POST /api/2.0/mail/accounts HTTP/1.1\r\nHost: {host}\r\n"
        head += f"Authorization: {token}\r\nContent-Type: application/json\r\n"
        for i in jobs:
            body = {
                "email": f"raw{run}-{i}@mail.example.org", "account": f"raw{i}",
                "password": "pw-1", "server": "imap.mail.example.org", "port": 993,
                "smtp_account": f"raw{i}", "smtp_password": "pw-1",
                "smtp_server": "smtp.mail.example.org", "smtp_port": 465, "smtp_auth": True,
                "imap": True, "incoming_encryption_type": 1, "outcoming_encryption_type": 1,
                "auth_type_in": 1, "auth_type_smtp": 1,
            }  # fmt: skip
            status, _ = await exchange(reader, writer, head, json.dumps(body).encode())
            assert status == 201, status
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def latency_case(work: Path, rows: int, concurrency: int, latency: float, users: int) -> None:
    path = sheet(work / f"in-{rows}-{users}.csv", rows, users)
    ideal = rows * latency / 1000 / concurrency
    # No client that skips existing accounts can beat this: a login and a listing come
    # before a user's first create, one round trip each.
    floor = ideal + 2 * latency / 1000
    with simulator(latency) as url:
        took = bulkmail_import(path, url, concurrency, work)
        bare = anyio.run(bare_loop, url, rows, concurrency)
        raw = asyncio.run(raw_loop(url, rows, concurrency))
    print(
        f"import {rows} rows of {users} portal user(s), concurrency {concurrency}, latency "
        f"{latency:g} ms: "
        f"bulkmail {took:.2f} s = {ratio(took, ideal)} the ideal {ideal:.2f} s "
        f"{ratio(took, floor)} the floor {floor:.2f} s (login and listing "
        f"first); raw asyncio loop (login, listing, creates) {raw:.2f} s = "
        f"{ratio(raw, ideal)} the ideal, bulkmail/raw {ratio(took, raw)}; bare httpx loop "
        f"(creates only) {bare:.2f} s = {ratio(bare, ideal)} the ideal, "
        f"bulkmail/bare {ratio(took, bare)}",
        flush=True,
    )


def no_latency_case(work: Path, rows: int, concurrency: int) -> None:
    fast = sheet(work / "fast.csv", rows)
    with simulator(0) as url:
        bare = anyio.run(bare_loop, url, rows, concurrency)
    with simulator(0) as url:
        ours = bulkmail_import(fast, url, concurrency, work)
    print(
        f"no latency, {rows} rows: bulkmail {rows / ours:.0f} rows/s "
        f"({ours:.2f} s, whole run incl. read+report) vs bare httpx loop "
        f"{rows / bare:.0f} creates/s ({bare:.2f} s) -> bulkmail takes "
        f"{ratio(ours, bare)} the bare loop's time"
    )


def create_bound_case(
    work: Path, rows: int, concurrency: int, create_latency: float, users: int
) -> None:
    """Creates answered in `create_latency` ms, logins and listings at once: a real portal."""
    path = sheet(work / f"in-create-{rows}-{users}.csv", rows, users)
    ideal = rows * create_latency / 1000 / concurrency
    with simulator(0, create_latency) as url:
        run = bulkmail_run(path, url, concurrency, work)
    print(
        f"import {rows} rows of {users} portal user(s), concurrency {concurrency}, creates "
        f"answered in {create_latency:g} ms (logins, listings at once): "
        f"bulkmail {run.seconds:.2f} s = {run.seconds / ideal:.3f}x the ideal "
        f"{ideal:.2f} s (target <= 1.03x); process wall {run.wall:.2f} s = "
        f"{run.wall / ideal:.3f}x, CPU {run.cpu:.2f} s",
        flush=True,
    )


def mail_limits_case(work: Path) -> None:
    """One mail host that serves LIMITED_LOGINS of the portal's logins at once."""
    config = work / "limited.toml"
    config.write_text(
        f'[[servers]]\nhost = "{LIMITED_HOST}"\nmax_logins = {LIMITED_LOGINS}\n\n'
        "[mail]\nopen = true\n",
        encoding="utf-8",
    )
    path = sheet(work / "in-limited.csv", LIMITED_ROWS, host=LIMITED_HOST)
    ideal = LIMITED_ROWS * LIMITED_LATENCY / 1000 / LIMITED_LOGINS
    for per_server in ("default", "10"):
        extra = () if per_server == "default" else ("--per-server", per_server)
        with simulator(0, LIMITED_LATENCY, config) as url:
            run = bulkmail_run(path, url, LIMITED_CONCURRENCY, work, *extra, ok=(0, 1))
            turned_away = httpx.get(f"{url}/_sim/stats").json()["faults"].get("mail-throttled", 0)
        summary = run.summary
        failed = sum(summary["problems"].get(code, 0) for code in THROTTLED)
        print(
            f"mail host serving {LIMITED_LOGINS} logins at once, {LIMITED_ROWS} rows, "
            f"--concurrency {LIMITED_CONCURRENCY}, --per-server {per_server}, creates answered "
            f"in {LIMITED_LATENCY:g} ms: rows failed because of throttling {failed} (target 0), "
            f"created {summary['counts']['created']}, exit {summary['exit_code']}; logins "
            f"turned away {turned_away}; bulkmail {run.seconds:.2f} s = "
            f"{run.seconds / ideal:.2f}x the ideal {ideal:.2f} s (rows x latency / "
            f"{LIMITED_LOGINS})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency", type=float, default=100.0, help="ms")
    parser.add_argument("--low-concurrency", type=int, default=10)
    parser.add_argument("--fast-rows", type=int, default=3000)
    parser.add_argument(
        "--users",
        type=int,
        default=USERS,
        help="portal users the rows are spread over (each logs in and lists)",
    )
    parser.add_argument("--create-rows", type=int, default=1000, help="rows of create-bound")
    parser.add_argument(
        "--create-latency", type=float, default=1000.0, help="ms per create of create-bound"
    )
    parser.add_argument(
        "--case",
        action="append",
        choices=CASES,
        help="run only this case (repeatable; default: all)",
    )
    args = parser.parse_args()
    cases = set(args.case or CASES)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        low = args.rows * args.low_concurrency // args.concurrency
        for users in (1, args.users):
            if "latency" in cases:
                latency_case(work, args.rows, args.concurrency, args.latency, users)
            if "low-concurrency" in cases:
                latency_case(work, low, args.low_concurrency, args.latency, users)
        if "no-latency" in cases:
            no_latency_case(work, args.fast_rows, args.concurrency)
        if "create-bound" in cases:
            create_bound_case(
                work, args.create_rows, args.concurrency, args.create_latency, args.users
            )
        if "mail-limits" in cases:
            mail_limits_case(work)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
