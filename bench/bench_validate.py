"""Validate a 100,000-row XLSX (report included) against a bare calamine read of it
(target, docs/performance.md §9: within 3x); validate 100,000- and 1,000,000-row CSVs to show memory
stays flat.

    python bench/bench_validate.py [--rows 100000] [--csv-rows 1000000] [--repeats 2] [--ceilings]

What is timed is `bulkmail validate FILE` as a person runs it (argument parsing, its log lines
on stderr, the console summary), in the measured process; `--library` adds the library call
`validate_file(path)`, which also keeps each row's result in memory for the caller.
`--csv-rows 0` skips the CSVs. `--ceilings` also measures, in the same turns, what validating
the XLSX would take if a stage cost nothing: report.xlsx, then report.xlsx and the XML
pre-scan. These are the best a second process hiding those stages could give
(docs/performance.md §9); the ceiling runs write no report.xlsx and skip the pre-scan's checks,
so they are measurements, never a mode of bulkmail.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HEADER, OUT, Measured, measure, measure_turns, ratio, rows


def make_xlsx(path: Path, count: int) -> Path:
    if path.exists():
        return path
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Accounts")
    sheet.write_row(0, 0, HEADER)
    for i, row in enumerate(rows(count), start=1):
        sheet.write_row(i, 0, row)
    book.close()
    return path


def make_csv(path: Path, count: int) -> Path:
    if path.exists():
        return path
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for start in range(0, count, 100_000):
            writer.writerows(rows(min(100_000, count - start), seed=start, start=start))
    return path


# What-ifs for the ceilings: a stage replaced by nothing, in the measured process only.
FREE_STAGES = {
    "report.xlsx": """
        import bulkmail.report.writer
        bulkmail.report.writer.write_xlsx = lambda path, summary, sources: "none"
    """,
    "the XML pre-scan": """
        import bulkmail.reader.sheet
        bulkmail.reader.sheet._scan = lambda path, name: None
    """,
}


def validate_body(path: Path, report: Path, free: tuple[str, ...] = ()) -> str:
    """Return the code of `bulkmail validate PATH --report-dir REPORT`, run in the probe."""
    patches = "".join(textwrap.dedent(FREE_STAGES[stage]) for stage in free)
    return textwrap.dedent(patches) + textwrap.dedent(f"""
        import contextlib, io
        from bulkmail.cli import main
        with contextlib.redirect_stdout(io.StringIO()):  # the probe's own line goes last
            code = main(["validate", {str(path)!r}, "--report-dir", {str(report)!r}])
        assert code in (0, 1), f"bulkmail validate ended with exit code {{code}}"
    """)


def library_body(path: Path, report: Path) -> str:
    """Return the code of the library call `validate_file(PATH, REPORT)` (rows kept)."""
    return textwrap.dedent(f"""
        from bulkmail.pipeline import validate_file
        validate_file({str(path)!r}, {str(report)!r})
    """)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--ceilings", action="store_true", help="also measure with stages that cost nothing"
    )
    parser.add_argument(
        "--library", action="store_true", help="also measure the library call validate_file"
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    xlsx = make_xlsx(OUT / f"accounts-{args.rows}.xlsx", args.rows)
    report = OUT / "reports"  # removed at the end: a million-row run leaves 400 MB of report
    try:
        run_cases(args, xlsx, report)
    finally:
        shutil.rmtree(report, ignore_errors=True)


def run_cases(args: argparse.Namespace, xlsx: Path, report: Path) -> None:
    """Measure the XLSX against its baseline, then the two CSVs; print one line each."""
    ceilings = [("report.xlsx",), ("report.xlsx", "the XML pre-scan")] if args.ceilings else []
    bare, ours, *what_ifs = measure_turns(
        [
            f"""
            import python_calamine
            book = python_calamine.CalamineWorkbook.from_path({str(xlsx)!r})
            rows = book.get_sheet_by_index(0).to_python()
            """,
            validate_body(xlsx, report),
            *([library_body(xlsx, report)] if args.library else []),
            *(validate_body(xlsx, report, free) for free in ceilings),
        ],
        args.repeats,
    )
    library = what_ifs.pop(0) if args.library else None
    print(
        f"validate {args.rows:,}-row XLSX with report: {ours.seconds:.2f} s vs bare calamine "
        f"read {bare.seconds:.2f} s -> {ratio(ours.seconds, bare.seconds)}; CPU {ours.cpu:.2f} s "
        f"vs {bare.cpu:.2f} s -> {ratio(ours.cpu, bare.cpu)}; peak RSS {ours.rss_mib:.0f} MiB "
        f"(calamine alone {bare.rss_mib:.0f} MiB)"
    )
    if library is not None:
        print(
            f"  library call validate_file, rows kept: {_against(library, bare)}; "
            f"peak RSS {library.rss_mib:.0f} MiB"
        )
    for free, case in zip(ceilings, what_ifs, strict=True):
        print(f"  ceiling, {' and '.join(free)} free: {_against(case, bare)}")

    if args.csv_rows <= 0:
        return
    # "-distinct": files of earlier versions repeated the first 100,000 mailboxes.
    small = make_csv(OUT / f"accounts-{args.rows}-distinct.csv", args.rows)
    large = make_csv(OUT / f"accounts-{args.csv_rows}-distinct.csv", args.csv_rows)
    lo = measure(validate_body(small, report), 1)
    hi = measure(validate_body(large, report), 1)
    print(
        f"validate CSV {args.rows:,} rows: {lo.seconds:.2f} s (CPU {lo.cpu:.2f} s), "
        f"{lo.rss_mib:.0f} MiB; {args.csv_rows:,} rows: {hi.seconds:.2f} s (CPU {hi.cpu:.2f} s), "
        f"{hi.rss_mib:.0f} MiB -> memory {ratio(hi.rss_mib, lo.rss_mib)} for "
        f"{args.csv_rows // args.rows}x the rows (time {ratio(hi.seconds, lo.seconds)}, "
        f"CPU {ratio(hi.cpu, lo.cpu)})"
    )


def _against(case: Measured, bare: Measured) -> str:
    return (
        f"{case.seconds:.2f} s -> {ratio(case.seconds, bare.seconds)}; "
        f"CPU {case.cpu:.2f} s -> {ratio(case.cpu, bare.cpu)}"
    )


if __name__ == "__main__":
    main()
