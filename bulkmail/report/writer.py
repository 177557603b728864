"""Outcomes -> the run's report folder: succeeded.csv, failed.csv, report.xlsx, summary.json.

Rows stream to the two CSVs as outcomes arrive, so a run of a million rows keeps flat memory;
`finish` closes them and builds report.xlsx by re-reading them. Secret cells are written as
MASK, and every message and summary value is scrubbed of secrets (`bulkmail.secrets`).

The folder and its files are owner-only (0700, 0600) or, for `--report-mode group`, group
readable (0750, 0640), whatever the umask (`bulkmail.files`); report.xlsx and summary.json
appear whole, renamed from a private temporary file. A cell longer than a spreadsheet cell
holds (32,767 characters) is cut, with a marker saying how long it was. A file that cannot be
written part-way (a full disk) does not stop the caller: the rows are still counted,
`on_failure` is told once, and `finish` raises ReportWriteError (exit 3).
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, NoReturn

from bulkmail import files
from bulkmail.errors import AbortError, ConfigError
from bulkmail.files import OWNER, Access
from bulkmail.models import Outcome, Severity, Status, Summary
from bulkmail.printable import printable
from bulkmail.reader.limits import MAX_CELL_LENGTH
from bulkmail.report.escaping import escape_row, json_printable, plain_line
from bulkmail.report.html import render
from bulkmail.report.html_facts import PageFacts
from bulkmail.report.rows import (
    FAILED_COLUMNS,
    SUCCEEDED_COLUMNS,
    RowShape,
    failed_cells,
    notes_only,
    succeeded_cells,
)
from bulkmail.report.xlsx import MAX_DATA_ROWS, Cell, SheetSource, write_xlsx
from bulkmail.secrets import is_secret_name, scrub, scrub_data
from bulkmail.times import folder_stamp

XLSX: Final = "report.xlsx"
SUCCEEDED_CSV: Final = "succeeded.csv"
FAILED_CSV: Final = "failed.csv"
SUMMARY_JSON: Final = "summary.json"
HTML: Final = "report.html"
_REPORT_FILES: Final = {
    "xlsx": XLSX,
    "succeeded_csv": SUCCEEDED_CSV,
    "failed_csv": FAILED_CSV,
    "summary_json": SUMMARY_JSON,
    "html": HTML,
}
_INFO: Final = Severity.INFO  # bound once: a member looked up on its class costs 0.1 us
_FIX = "make it writable, free some space, or choose another --report-dir"
_AGAIN = "free some space or fix the folder, then run the same command again"


class ReportWriteError(AbortError):
    """A report file could not be written once the run had started (exit 3)."""


@dataclass(frozen=True, slots=True)
class ReportPaths:
    """Where one run's report went."""

    folder: Path
    xlsx: Path
    succeeded_csv: Path
    failed_csv: Path
    summary_json: Path
    html: Path | None = None


def new_report_folder(
    report_dir: Path, command: str, now: datetime, access: Access = OWNER
) -> Path:
    """Create and return `report_dir/2026-11-23_19-30-05+0300_validate[-2]`, unique per run.

    The time is `now`'s, with its offset (bulkmail.times.folder_stamp: local unless `now`
    carries its own), so a run is filed under its own day and no name holds a `:`.

    The folder gets `access.folder` exactly, and so does `report_dir` if this makes it.
    """
    base = f"{folder_stamp(now)}_{command}"
    if report_dir.exists() and not report_dir.is_dir():
        raise ConfigError(
            f"cannot create a report folder in {report_dir}: it is a file, not a folder",
            "give --report-dir a folder's path",
        )
    try:
        files.make_folder(report_dir, access.folder, exist_ok=True)
        for n in range(1, 10_000):
            folder = report_dir / (base if n == 1 else f"{base}-{n}")
            try:
                # atomic: two runs in the same second get different folders
                files.make_folder(folder, access.folder)
            except FileExistsError:
                continue
            return folder
    except OSError as err:
        raise ConfigError(
            f"cannot create a report folder in {report_dir}: {files.reason(err)}", _FIX
        ) from None
    raise ConfigError(f"too many report folders named {base}* in {report_dir}", _FIX)


class _CsvSink:
    """One report CSV: UTF-8 with BOM so Excel opens it right, `,` and CRLF, escaped cells."""

    def __init__(self, path: Path, header: Sequence[str], mode: int) -> None:
        self.path = path
        self.rows = 0
        try:
            fd = files.create(path, mode)  # a new file, never through a planted link
            # The BOM by hand: the "utf-8-sig" codec encodes each write in Python, the plain
            # UTF-8 one in C; the bytes are the same.
            self._handle: IO[str] = open(fd, "w", encoding="utf-8", newline="")  # noqa: SIM115
            self._handle.write("\ufeff")
        except OSError as err:
            why = files.reason(err)
            raise ConfigError(f"cannot write the report file {path}: {why}", _FIX) from None
        self._writer = csv.writer(self._handle, lineterminator="\r\n")
        self.write(header)
        self.rows = 0  # data rows only

    def write(self, cells: Sequence[str]) -> None:
        """Append one row, every cell escaped against formula evaluation and cut to fit a
        spreadsheet cell; OSError if the file cannot be written."""
        line = plain_line(cells)
        if line is not None and len(line) <= MAX_CELL_LENGTH:  # nearly every row
            self._handle.write(line + "\r\n")
        else:
            self._writer.writerow(list(map(fit_cell, escape_row(cells))))
        self.rows += 1

    def close(self) -> None:
        """Flush and close; safe to call twice. OSError if the last rows cannot be written."""
        self._handle.close()


def fit_cell(text: str) -> str:
    """Return `text` cut to MAX_CELL_LENGTH characters (Excel's limit for a cell; bulkmail's
    reader takes no longer CSV cell either), ending with a marker that says it was cut."""
    if len(text) <= MAX_CELL_LENGTH:
        return text
    marker = f" [... cut: {len(text):,} characters in all]"
    return text[: MAX_CELL_LENGTH - len(marker)] + marker


class ReportWriter:
    """Stream outcomes into a report folder; `finish` writes report.xlsx and summary.json.

    Use as a context manager: leaving it without `finish` (an exception) still closes the
    CSVs, so the rows written so far are on disk.
    """

    def __init__(
        self,
        folder: Path,
        headers: Sequence[str],
        fields: Sequence[str | None],
        *,
        access: Access = OWNER,
    ) -> None:
        self.folder = folder
        self._mode = access.file
        self.failure: ReportWriteError | None = None
        """The first file that could not be written part-way, else None."""
        self.on_failure: Callable[[str], None] | None = None
        """Called once with the failure's text: the pipeline stops the run with it."""
        self._shape = RowShape(headers, fields)
        originals = [headers[i] for i in self._shape.kept]
        self.counts: dict[str, int] = {status.value: 0 for status in Status}
        self.problem_counts: dict[str, int] = {}
        self.xlsx_engine = ""  # which writer made report.xlsx, once finished
        self._succeeded = _CsvSink(
            folder / SUCCEEDED_CSV, [*SUCCEEDED_COLUMNS, *originals], self._mode
        )
        self._failed = _CsvSink(folder / FAILED_CSV, [*FAILED_COLUMNS, *originals], self._mode)
        self.page = PageFacts(_index(fields, "server"), _index(fields, "email"), self.row_secrets)
        """What report.html shows, gathered per row."""

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        if isinstance(exc, KeyboardInterrupt) and not (self.folder / SUMMARY_JSON).exists():
            # Ctrl-C or SIGTERM cut the report short: the summary.json that says so goes in
            # this folder, beside the rows written (bulkmail.cli.fatal), not in a new one.
            exc.report_folder = self.folder  # type: ignore[attr-defined]

    def add(self, outcome: Outcome) -> None:
        """Append one row's outcome to succeeded.csv or failed.csv and count it."""
        cells = outcome.row.cells
        status = str(outcome.status)  # its value; cheaper than `.value` for a StrEnum
        succeeded = outcome.status.succeeded
        if self.failure is None:
            ours = succeeded_cells(outcome) if succeeded else failed_cells(outcome)
            sink = self._succeeded if succeeded else self._failed
            try:
                sink.write(self._shape.row(ours, cells))
            except OSError as err:
                self._fail(sink.path, err)
        self.counts[status] = self.counts.get(status, 0) + 1
        if not succeeded or outcome.elapsed:  # nothing else is on the page: a row costs this
            self.page.add(outcome, succeeded)
        if not succeeded or not notes_only(outcome.problems):  # notes are not counted
            self._count_problems(outcome, succeeded)

    def row_secrets(self, cells: Sequence[str]) -> list[str]:
        """Return a row's non-blank secret cells, for scrubbing its messages elsewhere."""
        return self._shape.secrets(cells)

    def _count_problems(self, outcome: Outcome, succeeded: bool) -> None:
        """Count errors and warnings by code, and a failed row's own code (info notes are not
        problems: counting them would bury the real ones)."""
        counts = self.problem_counts
        own_code = "" if succeeded else outcome.code
        for problem in outcome.problems:
            if problem.severity is not _INFO:
                counts[problem.code] = counts.get(problem.code, 0) + 1
                if problem.code == own_code:
                    own_code = ""  # counted once, as a problem
        if own_code:
            counts[own_code] = counts.get(own_code, 0) + 1

    def _fail(self, path: Path, err: OSError) -> None:
        """Remember the first file that could not be written, and say so once."""
        if self.failure is not None:
            return
        self.failure = ReportWriteError(
            f"the report could not be written ({path}: {files.reason(err)})", _AGAIN
        )
        self.failure.report_folder = self.folder  # summary.json says so there (_last_word)
        if self.on_failure is not None:
            self.on_failure(self.failure.message)

    def close(self) -> None:
        """Close both CSVs (idempotent); a failure to write their last rows is remembered."""
        for sink in (self._succeeded, self._failed):
            try:
                sink.close()
            except OSError as err:
                self._fail(sink.path, err)

    def finish(self, summary: Summary) -> ReportPaths:
        """Close the CSVs, write report.xlsx from them and summary.json; return the paths.

        Raises ReportWriteError if any file could not be written (then summary.json, saying
        so, is still tried: monitoring reads it).
        """
        self.close()
        paths = ReportPaths(
            folder=self.folder,
            xlsx=self.folder / XLSX,
            succeeded_csv=self.folder / SUCCEEDED_CSV,
            failed_csv=self.folder / FAILED_CSV,
            summary_json=self.folder / SUMMARY_JSON,
            html=self.folder / HTML,
        )
        data = summary_dict(summary)
        if self.failure is not None:
            self._last_word(paths.summary_json, data)
        sources = [
            SheetSource("Succeeded", paths.succeeded_csv, len(SUCCEEDED_COLUMNS)),
            SheetSource("Failed", paths.failed_csv, len(FAILED_COLUMNS)),
        ]
        rows = summary_rows(data) + self._truncation_notes()
        try:
            with files.replacing(paths.xlsx, self._mode) as temporary:
                self.xlsx_engine = write_xlsx(temporary, rows, sources)
        except Exception as err:
            cause = _os_error(err)
            if cause is None:
                raise  # not the disk: a bug
            self._fail(paths.xlsx, cause)
            self._last_word(paths.summary_json, data)
        self._write_html(paths, data)
        try:
            _write_json(paths.summary_json, data, self._mode)
        except OSError as err:
            self._fail(paths.summary_json, err)
            self._last_word(paths.summary_json, data)  # the failure, said once more
        return paths

    def _write_html(self, paths: ReportPaths, data: dict[str, Any]) -> None:
        """Write report.html whole (renamed from a private temporary file), or fail the run."""
        assert paths.html is not None  # set by finish
        page = render(data, self.page).encode("utf-8")
        try:
            files.replace(paths.html, page, self._mode)
        except OSError as err:
            self._fail(paths.html, err)
            self._last_word(paths.summary_json, data)

    def _last_word(self, path: Path, data: dict[str, Any]) -> NoReturn:
        """Try to write summary.json with exit code 3 and why, then raise the failure."""
        failure = self.failure
        assert failure is not None  # called once a file failed
        data |= {"exit_code": 3, "report_error": failure.message}
        data.setdefault("error", failure.message)  # as every stopped run's summary.json
        with contextlib.suppress(OSError):
            _write_json(path, data, self._mode)
        raise failure

    def _truncation_notes(self) -> list[tuple[str, Cell]]:
        notes: list[tuple[str, Cell]] = []
        for sheet, sink in (("Succeeded", self._succeeded), ("Failed", self._failed)):
            if sink.rows > MAX_DATA_ROWS:
                notes.append(
                    (
                        f"note: {sheet} sheet",
                        f"first {MAX_DATA_ROWS} of {sink.rows} "
                        f"rows (the sheet limit); all are in {sink.path.name}",
                    )
                )
        return notes


def _index(fields: Sequence[str | None], name: str) -> int | None:
    """Return the index of the column of canonical field `name`, None when there is none."""
    return fields.index(name) if name in fields else None


def _write_json(path: Path, data: Mapping[str, Any], mode: int) -> None:
    """Write atomically: monitoring that reads summary.json never sees half a file."""
    text = json_printable(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    files.replace(path, (text + "\n").encode("utf-8"), mode)


def _os_error(err: Exception) -> OSError | None:
    """Return the OS error behind an XLSX engine's failure (xlsxwriter wraps it in its
    FileCreateError), or None when the failure is not the disk's."""
    if isinstance(err, OSError):
        return err
    inner = err.args[0] if err.args else None
    return inner if isinstance(inner, OSError) else None


def summary_dict(summary: Summary) -> dict[str, Any]:
    """Return exactly what summary.json holds: counts for every status, problems, timings."""
    counts = {status.value: int(summary.counts.get(status.value, 0)) for status in Status}
    succeeded = sum(n for status, n in counts.items() if Status(status).succeeded)
    problems = sorted(summary.problems.items(), key=lambda item: (-item[1], item[0]))
    data: dict[str, Any] = {
        "command": summary.command,
        "exit_code": summary.exit_code,
        "total": summary.total,
        "counts": counts,
        "succeeded": succeeded,
        "failed": sum(counts.values()) - succeeded,
        "problems": dict(problems),
        "input": summary.input.as_dict(),
        "started_at": summary.started_at,
        "finished_at": summary.finished_at,
        "seconds": round(summary.seconds, 3),
        "report": dict(_REPORT_FILES),
    }
    for key, value in summary.extra.items():
        # extra comes from callers: a key that names a secret is never written
        if key not in data and not is_secret_name(key):
            # an abort reason quotes the portal, whose words may hold terminal escapes
            data[key] = printable(value) if isinstance(value, str) else value
    # ... nor a secret inside a value (a portal URL with a password, an abort reason)
    scrubbed: dict[str, Any] = scrub_data(data)
    # A code names what it is about ("portal-password-missing"), never holds a secret: its
    # count stays a count, where scrub_data masks the value of a key that names a password.
    scrubbed["problems"] = {scrub(code): n for code, n in problems}
    return scrubbed


def summary_rows(data: Mapping[str, Any]) -> list[tuple[str, Cell]]:
    """Return summary.json as the Summary sheet's key/value rows, top problem codes first."""
    top = ", ".join(f"{code} ({n})" for code, n in list(data.get("problems", {}).items())[:5])
    rows: list[tuple[str, Cell]] = [("top problem codes", top or "none")]
    for key, value in data.items():
        if isinstance(value, Mapping):
            rows += [(f"{key}.{k}", _cell(v)) for k, v in value.items()]
        else:
            rows.append((key, _cell(value)))
    return rows


def _cell(value: Any) -> Cell:
    """Return a summary value as one cell: numbers stay numbers, the rest readable text."""
    if isinstance(value, bool):  # before int: True is an int, and "1" would mislead
        return "true" if value else "false"
    if value == "\t":
        return "tab"
    if isinstance(value, str):
        return fit_cell(printable(value))  # a sheet's name, a portal's message: escapes shown
    if value is None or isinstance(value, int | float):
        return value
    return fit_cell(printable(json.dumps(value, ensure_ascii=False, default=str)))
