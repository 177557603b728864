"""Shared helpers for the benchmarks: fresh processes, wall time and peak memory, ratios.

Machines here are shared and noisy, so every figure is a ratio against a baseline measured
in the same run, and each case is the best of a few repeats.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"

_PROBE = """
import json, resource, sys, time
t0 = time.perf_counter()
{body}
seconds = time.perf_counter() - t0
print(json.dumps({{"seconds": seconds,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(body: str, repeats: int = 3) -> tuple[float, float]:
    """Run `body` in fresh interpreters; return the best wall seconds and the peak RSS (MiB)."""
    code = _PROBE.format(body=textwrap.dedent(body))
    best, rss = float("inf"), 0.0
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"benchmark step failed:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        best = min(best, result["seconds"])
        rss = max(rss, result["rss_mib"])
    return best, rss


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
