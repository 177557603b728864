"""Validate a 100,000-row XLSX (report included) against a bare calamine read of it
(target, docs/performance.md §9: within 3x); validate 100,000- and 1,000,000-row CSVs to show memory
stays flat.

    python bench/bench_validate.py [--rows 100000] [--csv-rows 1000000] [--repeats 2]

`--csv-rows 0` skips the CSVs.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HEADER, OUT, measure, ratio, rows


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


def validate_body(path: Path, report: Path) -> str:
    return f"""
        from pathlib import Path
        from bulkmail.pipeline import validate_file
        from bulkmail.settings import InputSettings
        validate_file(InputSettings(path=Path({str(path)!r})), Path({str(report)!r}))
    """


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    xlsx = make_xlsx(OUT / f"accounts-{args.rows}.xlsx", args.rows)
    report = OUT / "reports"

    bare, bare_rss = measure(
        f"""
        import python_calamine
        book = python_calamine.CalamineWorkbook.from_path({str(xlsx)!r})
        rows = book.get_sheet_by_index(0).to_python()
    """,
        args.repeats,
    )
    ours, ours_rss = measure(validate_body(xlsx, report), args.repeats)
    print(
        f"validate {args.rows:,}-row XLSX with report: {ours:.2f} s vs bare calamine read "
        f"{bare:.2f} s -> {ratio(ours, bare)}; peak RSS {ours_rss:.0f} MiB "
        f"(calamine alone {bare_rss:.0f} MiB)"
    )

    if args.csv_rows <= 0:
        return
    # "-distinct": files of earlier versions repeated the first 100,000 mailboxes.
    small = make_csv(OUT / f"accounts-{args.rows}-distinct.csv", args.rows)
    large = make_csv(OUT / f"accounts-{args.csv_rows}-distinct.csv", args.csv_rows)
    t_small, rss_small = measure(validate_body(small, report), 1)
    t_large, rss_large = measure(validate_body(large, report), 1)
    print(
        f"validate CSV {args.rows:,} rows: {t_small:.2f} s, {rss_small:.0f} MiB; "
        f"{args.csv_rows:,} rows: {t_large:.2f} s, {rss_large:.0f} MiB -> memory "
        f"{ratio(rss_large, rss_small)} for {args.csv_rows // args.rows}x the rows "
        f"(time {ratio(t_large, t_small)})"
    )


if __name__ == "__main__":
    main()
