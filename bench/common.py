"""Shared helpers for the benchmarks: fresh processes, wall and CPU time, peak memory, ratios.

Machines here are shared and noisy, so every figure is a ratio against a baseline measured
in the same run, and each case is the best of a few repeats.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import httpx

OUT = Path(__file__).resolve().parent / "out"

_PROBE = """
import json, resource, sys, time
t0 = time.perf_counter()
{body}
seconds = time.perf_counter() - t0
own = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the children it has waited for
print(json.dumps({{"seconds": seconds,
                  "cpu": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
                  "rss_mib": (own.ru_maxrss + kids.ru_maxrss) / 1024}}))
"""


class Measured(NamedTuple):
    """The best of a case's runs: wall seconds, CPU seconds (start-up included), peak RSS.

    CPU and memory count the process's children too, once it has waited for them: CPU is
    the sum; memory is the process's peak RSS plus the largest child's (RUSAGE_CHILDREN's
    ru_maxrss is the largest one's, not a sum), an upper bound of the tree's peak while at
    most one child runs at a time.
    """

    seconds: float
    cpu: float
    rss_mib: float


def run_once(body: str) -> Measured:
    """Run `body` in a fresh interpreter; return its wall and CPU seconds and peak RSS (MiB).

    CPU seconds suffer less than wall time from other work on a shared machine, though
    still some (caches, memory bandwidth): read both.
    """
    code = _PROBE.format(body=textwrap.dedent(body))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Measured(result["seconds"], result["cpu"], result["rss_mib"])


def measure(body: str, repeats: int = 3) -> Measured:
    """Run `body` `repeats` times; return the best wall and CPU seconds and the peak RSS."""
    return best([run_once(body) for _ in range(repeats)])


def measure_pair(first: str, second: str, repeats: int = 3) -> tuple[Measured, Measured]:
    """Measure two cases taking turns, so that both meet the machine's load alike."""
    bare, ours = measure_turns([first, second], repeats)
    return bare, ours


def measure_turns(bodies: list[str], repeats: int = 3) -> list[Measured]:
    """Measure several cases taking turns (one run of each, `repeats` times); best of each."""
    runs = [[run_once(body) for body in bodies] for _ in range(repeats)]
    return [best([turn[i] for turn in runs]) for i in range(len(bodies))]


def best(runs: list[Measured]) -> Measured:
    return Measured(
        min(r.seconds for r in runs), min(r.cpu for r in runs), max(r.rss_mib for r in runs)
    )


HEADER = [
    "portal_user",
    "portal_password",
    "name",
    "email",
    "account",
    "password",
    "server",
    "port",
    "imap",
    "incoming_encryption_type",
    "auth_type_in",
    "smtp_server",
    "smtp_port",
    "smtp_auth",
    "smtp_account",
    "smtp_password",
    "outcoming_encryption_type",
]


def rows(count: int, seed: int = 1, start: int = 0) -> list[list[object]]:
    """Return `count` realistic rows (about 1 in 50 invalid), ports as numbers.

    Mailboxes are numbered from `start`: a file built in chunks passes each chunk's first
    index, or every chunk after the first repeats the first one's mailboxes (duplicates).
    """
    rng = random.Random(seed)
    out: list[list[object]] = []
    for i in range(start, start + count):
        user = f"user{i // 3}@corp.example.org"
        email = f"box{i}@mail.example.org"
        port: object = 993 if rng.random() > 0.02 else 99999
        out.append(
            [
                user,
                f"Portal-{i // 3}-pw",
                f"Person {i}",
                email,
                email,
                f"pw-{i}",
                "imap.mail.example.org",
                port,
                "true",
                "SSL",
                "Login",
                "smtp.mail.example.org",
                465,
                "true",
                "",
                "",
                "SSL",
            ]
        )
    return out


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}x" if baseline > 0 else "n/a"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def simulator(*options: str) -> Iterator[str]:
    """Run `bulkmail simulate` with `options` in its own process; yield its URL once it
    answers, end it (by its PID) afterwards."""
    port = free_port()
    argv = [sys.executable, "-m", "bulkmail", "simulate", "--port", str(port), "--quiet"]
    proc = subprocess.Popen([*argv, *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/_sim/stats", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
