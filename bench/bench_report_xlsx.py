"""Where report.xlsx's time goes, and so what a second process could hide of it.

    python bench/bench_report_xlsx.py [--rows 100000] [--repeats 3]

Validates bench_validate's XLSX once for its report CSVs, then writes report.xlsx from them as
bulkmail does (`report.xlsx.write_xlsx`), timing three phases: before rustpy_xlsxwriter takes
its first record (column widths), while it takes the records (re-reading and typing the
CSVs, converting each cell), and after it took the last one (its save: the sheets' XML
assembled and deflated). It prints the order in which the writer takes the sheets: all of
them come after the Summary sheet, which needs the run's final counts (docs/performance.md §9).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rustpy_xlsxwriter
from bench_validate import make_xlsx
from common import OUT

from bulkmail.pipeline import validate_file
from bulkmail.report.writer import FAILED_CSV, SUCCEEDED_CSV, summary_rows
from bulkmail.report.xlsx import SheetSource, write_xlsx
from bulkmail.settings import InputSettings

Marks = list[tuple[str, str, float]]  # (sheet, "first" or "last", perf_counter)


def watched(sheet: str, records: Iterable[Any], marks: Marks) -> Iterator[Any]:
    """Yield `records`, noting when the writer takes the first one and the last one."""
    marks.append((sheet, "first", time.perf_counter()))
    yield from records
    marks.append((sheet, "last", time.perf_counter()))


def timed_write(folder: Path, target: Path) -> tuple[float, float, float, Marks]:
    """Write report.xlsx from `folder`'s CSVs; return the three phases' seconds and the marks."""
    marks: Marks = []
    real = rustpy_xlsxwriter.write_worksheets

    def spy(sheets: list[tuple[str, Any]], *args: Any, **kwargs: Any) -> None:
        real([(name, watched(name, data, marks)) for name, data in sheets], *args, **kwargs)

    sources = [
        SheetSource("Succeeded", folder / SUCCEEDED_CSV, 6),
        SheetSource("Failed", folder / FAILED_CSV, 8),
    ]
    rustpy_xlsxwriter.write_worksheets = spy  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        write_xlsx(target, summary_rows({"command": "validate", "total": 100_000}), sources)
        end = time.perf_counter()
    finally:
        rustpy_xlsxwriter.write_worksheets = real
    first, last = marks[0][2], marks[-1][2]
    return first - start, last - first, end - last, marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    xlsx = make_xlsx(OUT / f"accounts-{args.rows}.xlsx", args.rows)
    reports = OUT / "reports-xlsx"
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # its log lines
            validate_file(InputSettings(path=xlsx), reports)
        folder = next(reports.iterdir())
        runs = [timed_write(folder, reports / "again.xlsx") for _ in range(args.repeats)]
    finally:
        shutil.rmtree(reports, ignore_errors=True)
    widths, taking, saving, marks = min(runs, key=lambda run: sum(run[:3]))
    order = " -> ".join(sheet for sheet, which, _ in marks if which == "first")
    # Taken one after the other when each sheet's last record comes before the next's first.
    one_by_one = [which for _, which, _ in marks] == ["first", "last"] * (len(marks) // 2)
    print(
        f"report.xlsx of {args.rows:,} rows: {widths + taking + saving:.2f} s = before the first "
        f"record {widths:.2f} s + taking the records {taking:.2f} s + after the last "
        f"(save) {saving:.2f} s; sheets taken in order {order}, "
        + ("each whole before the next" if one_by_one else "interleaved")
    )


if __name__ == "__main__":
    main()
