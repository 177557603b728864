"""Run every benchmark and print its ratios: `python bench/run.py [--quick]`.

Each benchmark measures its own baseline in the same run (a bare calamine read, a bare httpx
loop, the ideal time of a fixed-latency portal), so the printed ratios mean something on a
shared, noisy machine where absolute seconds do not.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="smaller inputs (10,000 rows, no 1,000,000-row CSV)"
    )
    args = parser.parse_args()
    quick = {
        "bench_validate.py": ["--rows", "10000", "--csv-rows", "100000", "--repeats", "1"],
        "bench_import.py": ["--rows", "500", "--fast-rows", "1000", "--create-rows", "500"],
        "bench_simulator.py": [],
        "bench_adaptive.py": ["--dead-rows", "500"],
    }
    failed = 0
    for name in ("bench_simulator.py", "bench_import.py", "bench_adaptive.py", "bench_validate.py"):
        print(f"== {name}", flush=True)
        extra = quick[name] if args.quick else []
        failed |= subprocess.run([sys.executable, str(HERE / name), *extra], check=False).returncode
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
