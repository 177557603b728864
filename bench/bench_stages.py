"""Where the CPU of validating bench_validate's XLSX goes, stage by stage.

    python bench/bench_stages.py [--rows 100000] [--repeats 3]

Each case runs in a fresh interpreter and does one stage more than the case before it; a
stage's CPU is the difference between the best (least CPU) runs of its case and the one
before. CPU, not wall time: the machine is shared (docs/performance.md §1). What each case
adds:

- imports: `import bulkmail.pipeline` (the rest of the command line's imports are small);
- calamine: python-calamine loading the sheet and turning its rows into Python values, as
  the baseline of bench_validate does (without bulkmail's imports);
- the XML pre-scan: the imports, then `reader.sheet.open_sheet` (scan, load, the rows'
  values): less the imports and calamine's cases;
- cells to text: the Table's rows (`reader.table`: text, facts, blank rows left out);
- validation: every row checked (`validation.table.validate`);
- report CSVs: the whole `validate_file` run with report.xlsx made free (outcomes, the
  Ledger, the Collector, succeeded.csv and failed.csv, summary.json);
- report.xlsx: the whole run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_validate import make_xlsx
from common import OUT

_LOAD = "import bulkmail.pipeline as P; from bulkmail.settings import InputSettings; "
_FILE = "P.load(InputSettings(path=Path(X)))"
CASES = {
    "imports": "import bulkmail.pipeline",
    "calamine": "import python_calamine as c; "
    "rows = list(c.CalamineWorkbook.from_path(X).get_sheet_by_index(0).iter_rows())",
    "the XML pre-scan": "import bulkmail.pipeline; from bulkmail.reader.sheet import open_sheet; "
    "rows = list(open_sheet(Path(X), 'xlsx', None).records)",
    "cells to text": _LOAD + f"rows = list({_FILE}.rows)",
    "validation": _LOAD + "from bulkmail.validation.table import validate; "
    f"n = sum(1 for _ in validate({_FILE}))",
    "report CSVs": "import bulkmail.report.writer as W; W.write_xlsx = lambda *a: 'none'; "
    + _LOAD
    + "P.validate_file(InputSettings(path=Path(X)), R, keep_rows=False)",
    "report.xlsx": _LOAD + "P.validate_file(InputSettings(path=Path(X)), R, keep_rows=False)",
}
_PROBE = """
import time
from pathlib import Path
X, R = {xlsx!r}, {report!r}
start = time.process_time()
{body}
print(time.process_time() - start)
"""


def cpu(body: str, xlsx: Path, report: Path) -> float:
    """Run `body` in a fresh interpreter; return the CPU seconds it took (imports included)."""
    code = _PROBE.format(xlsx=str(xlsx), report=str(report), body=body)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    shutil.rmtree(report, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{done.stderr}")
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    xlsx = make_xlsx(OUT / f"accounts-{args.rows}.xlsx", args.rows)
    report = OUT / "reports-stages"
    runs = [[cpu(body, xlsx, report) for body in CASES.values()] for _ in range(args.repeats)]
    best = [min(turn[i] for turn in runs) for i in range(len(CASES))]
    # "calamine" runs without bulkmail's imports; the pre-scan case adds both.
    before = {"imports": 0.0, "calamine": 0.0, "the XML pre-scan": best[0] + best[1]}
    print(f"CPU of validating the {args.rows:,}-row XLSX by stage (best of {args.repeats}):")
    for i, stage in enumerate(CASES):
        previous = before.get(stage, best[i - 1])
        print(f"  {stage:18} {best[i] - previous:5.2f} s")
    print(f"  {'in all':18} {best[-1]:5.2f} s")


if __name__ == "__main__":
    main()
