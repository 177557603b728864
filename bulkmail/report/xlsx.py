"""report.xlsx from the closed CSVs: the fast writer first, xlsxwriter when it cannot.

Both writers stream the CSVs row by row (memory stays flat), write text as text (a cell that
starts with `=` is never a formula), keep the report's number columns numeric, and give each
sheet a bold frozen header, column widths and an autofilter.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any, Final, TypeVar

from bulkmail.logs import get_logger
from bulkmail.report.escaping import csv_unescape
from bulkmail.report.rows import line_typer, row_typer

Cell = str | int | float | None
_Row = TypeVar("_Row")
SummaryRows = Sequence[tuple[str, Cell]]
SUMMARY_HEADER: Final = ("item", "value")
MAX_DATA_ROWS: Final = 1_048_575  # an XLSX sheet holds 1,048,576 rows, header included
_WIDTH_SAMPLE = 300  # rows looked at to size the columns
_MAX_WIDTH = 60
_MIN_WIDTH = 6


def _split(line: str) -> list[str]:
    """Return the cells of a CSV line that holds no quote (CRLF at its end)."""
    return line[:-2].split(",")


def _same(cells: list[str]) -> list[str]:
    return cells


@dataclass(frozen=True, slots=True)
class SheetSource:
    """One data sheet: its name, the CSV that holds its rows, how many leading columns are ours."""

    name: str
    csv_path: Path
    report_columns: int  # the first N columns are the report's (typed); the rest are text

    def rows(self, blank: str | None = None) -> Iterator[list[Cell]]:
        """Yield the header (as text) then each data row typed, blank cells as `blank`."""
        with self.csv_path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv_rows(handle)
            header = [csv_unescape(h) for h in next(reader, [])]
            yield list(header)
            typed = row_typer(header, self.report_columns, blank)
            yield from map(typed, islice(reader, MAX_DATA_ROWS))


def csv_rows(lines: Iterator[str]) -> Iterator[list[str]]:
    """Yield what `csv.reader(lines)` yields, for lines read with `newline=""`.

    A line without a quote holds no quoted cell, so its cells are the line split at commas:
    several times cheaper than csv.reader, and nearly every line of a report is like that.
    Any other record (quoted cells, maybe over several lines) is csv.reader's.
    """
    return csv_records(lines, _split, _same)


def csv_records(
    lines: Iterator[str], plain: Callable[[str], _Row], other: Callable[[list[str]], _Row]
) -> Iterator[_Row]:
    """Yield, for each record of `lines` (read with `newline=""`), `plain(line)` for a line
    without a quote (its CRLF included), else `other(cells)` with csv.reader's cells."""
    quoted: list[str] = []  # the first line of the next record csv.reader is to parse

    def feed() -> Iterator[str]:
        # csv.reader pulls one line at a time and stops at the end of a record, so it gets
        # the quoted record's first line, then only the lines that continue it.
        while True:
            if quoted:
                yield quoted.pop()
            elif (line := next(lines, None)) is not None:
                yield line
            else:
                return

    reader = csv.reader(feed())
    limit = csv.field_size_limit()  # a longer line goes to csv.reader, which enforces it
    for line in lines:
        if '"' not in line and line.endswith("\r\n") and 2 < len(line) <= limit:
            yield plain(line)
        else:
            quoted.append(line)
            yield other(next(reader))


Engine = Callable[[Path, SummaryRows, Sequence[SheetSource]], None]


def widths(rows: Iterable[Sequence[Cell]]) -> list[float]:
    """Return column widths from the header and the first few hundred rows, capped."""
    sized: list[int] = []
    for row in islice(rows, _WIDTH_SAMPLE + 1):
        for i, value in enumerate(row):
            size = len(str(value)) if value is not None else 0
            if i >= len(sized):
                sized.append(size)
            else:
                sized[i] = max(sized[i], size)
    return [float(min(_MAX_WIDTH, max(_MIN_WIDTH, n + 2))) for n in sized]


def _summary_rows(summary: SummaryRows) -> list[Sequence[Cell]]:
    return [SUMMARY_HEADER, *summary]


def write_fast(path: Path, summary: SummaryRows, sources: Sequence[SheetSource]) -> None:
    """Write the workbook with rustpy_xlsxwriter (rust_xlsxwriter; strings are inline text)."""
    import rustpy_xlsxwriter as rx

    records = [dict(zip(SUMMARY_HEADER, pair, strict=True)) for pair in summary]
    sheets: list[tuple[str, Any]] = [("Summary", records)]
    sheets += [(s.name, _records(s)) for s in sources]
    sized: dict[str, dict[str, float] | list[float]] = {s.name: widths(s.rows()) for s in sources}
    sized["Summary"] = widths(_summary_rows(summary))
    rx.write_worksheets(
        sheets,
        str(path),
        freeze_panes={"general": {"row": 1, "col": 0}},
        bold_headers=True,
        autofilter={s.name: True for s in sources},
        column_widths=sized,
    )


def _records(source: SheetSource) -> Iterator[dict[str, Cell]]:
    """Return the sheet's rows as dicts in header order (the fast writer places by position).

    One call per CSV line makes its dict (`rows.line_typer`). Blank cells stay "": the
    writer skips them as it skips None, which saves a pass over every cell.
    """
    handle = source.csv_path.open(encoding="utf-8-sig", newline="")
    try:
        header = [csv_unescape(h) for h in next(csv_rows(handle), [])]
        if len(set(header)) != len(header):
            # Dict records cannot hold two columns of the same name: let xlsxwriter do this one.
            raise ValueError(f"duplicate column names in {source.name}")
    except BaseException:
        handle.close()
        raise
    return _dicts(handle, header, source.report_columns)


def _dicts(handle: IO[str], header: list[str], report_columns: int) -> Iterator[dict[str, Cell]]:
    """Yield the records of the CSV lines left in `handle`, then close it."""
    typed = row_typer(header, report_columns, blank="")

    def quoted(cells: list[str]) -> dict[str, Cell]:
        return dict(zip(header, typed(cells), strict=False))

    with handle:
        records = csv_records(handle, line_typer(header, report_columns), quoted)
        # The first record's keys make the header row, so it names every column (an empty
        # sheet gets an all-blank one); a later short row needs no padding, a missing cell
        # is blank.
        yield dict.fromkeys(header) | next(records, {})
        yield from islice(records, MAX_DATA_ROWS - 1)


def write_plain(path: Path, summary: SummaryRows, sources: Sequence[SheetSource]) -> None:
    """Write the workbook with xlsxwriter in constant-memory mode, text cells as strings."""
    import xlsxwriter

    book = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = book.add_format({"bold": True})
    try:
        sheet = _PlainSheet(book, bold, "Summary", widths(_summary_rows(summary)))
        sheet.write(_summary_rows(summary))
        for source in sources:
            sheet = _PlainSheet(book, bold, source.name, widths(source.rows()))
            sheet.write(source.rows())
            sheet.add_autofilter()
    finally:
        book.close()


class _PlainSheet:
    """One xlsxwriter sheet written top to bottom (constant-memory mode forbids going back)."""

    def __init__(self, book: Any, bold: Any, name: str, col_widths: Sequence[float]) -> None:
        self.sheet = book.add_worksheet(name)
        self.bold = bold
        self.sheet.freeze_panes(1, 0)
        for col, width in enumerate(col_widths):
            self.sheet.set_column(col, col, width)
        self.last_row = self.last_col = 0

    def write(self, rows: Iterable[Sequence[Cell]]) -> None:
        """Write the header row bold, then every row: text as strings, numbers as numbers."""
        for index, row in enumerate(rows):
            style = self.bold if index == 0 else None
            for col, value in enumerate(row):
                if isinstance(value, str):
                    self.sheet.write_string(index, col, value, style)
                elif value is not None:
                    self.sheet.write_number(index, col, value, style)
            self.last_row, self.last_col = index, max(self.last_col, len(row) - 1)

    def add_autofilter(self) -> None:
        """Put filter buttons over the header and the rows written."""
        self.sheet.autofilter(0, 0, self.last_row, self.last_col)


ENGINES: Final[tuple[tuple[str, Engine], ...]] = (
    ("rustpy_xlsxwriter", write_fast),
    ("xlsxwriter", write_plain),
)


def write_xlsx(
    path: Path,
    summary: SummaryRows,
    sources: Sequence[SheetSource],
    engines: Sequence[tuple[str, Engine]] = ENGINES,
) -> str:
    """Write report.xlsx with the first engine that succeeds; return that engine's name."""
    for position, (name, engine) in enumerate(engines):
        try:
            engine(path, summary, sources)
        except BaseException as err:
            # A Rust panic surfaces as a BaseException subclass, so catch wide, but let an
            # interrupt through and let the last engine's failure reach the caller as is.
            if isinstance(err, KeyboardInterrupt | SystemExit) or position == len(engines) - 1:
                raise
            get_logger().warning("report.xlsx_fallback", engine=name, error=type(err).__name__)
            path.unlink(missing_ok=True)
            continue
        return name
    raise ValueError("no XLSX engine given")
