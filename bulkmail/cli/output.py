"""The human summary printed at the end of a run (stdout; nothing with --quiet), scrubbed.

Every line is made printable: problems quote cells, which may hold line breaks or escapes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO

from bulkmail.errors import BulkmailError
from bulkmail.models import InputInfo, Outcome, Problem, Status
from bulkmail.printable import printable, quoted
from bulkmail.secrets import scrub

if TYPE_CHECKING:
    from bulkmail.report.collector import RunResult

_ORDER = (
    Status.VALID,
    Status.CREATED,
    Status.UPDATED,
    Status.SKIPPED,
    Status.WOULD_CREATE,
    Status.WOULD_UPDATE,
    Status.CHECKED,
    Status.NOT_CHECKED,
    Status.FAILED,
    Status.NOT_ATTEMPTED,
)


def describe_input(info: InputInfo) -> str:
    """Return e.g. `accounts.csv (csv, cp1251 detected, ';' detected)`.

    A guessed encoding says so and names what else read the file: `cp1252 guessed, not
    sure (cp1250 reads it too)`; a delimiter from Excel's hint line says `';' from sep=`.
    """
    parts = [info.format]
    if info.report:  # a report.xlsx fed back: its Failed sheet unless --sheet said otherwise
        parts.append("a bulkmail report")
    if info.sheet:
        parts.append(f"sheet {quoted(info.sheet)}")
    if info.encoding:
        parts.append(_encoding(info))
    if info.delimiter:
        shown = "tab" if info.delimiter == "\t" else repr(info.delimiter)
        how = " from sep=" if info.sep_line else " detected" if info.delimiter_detected else ""
        parts.append(shown + how)
    return f"{info.path} ({', '.join(parts)})"


def _encoding(info: InputInfo) -> str:
    """Return `cp1251` (forced), `cp1251 detected`, or a guess that is not sure, and why."""
    if not info.encoding_detected:
        return str(info.encoding)
    if info.encoding_sure is not False:
        return f"{info.encoding} detected"
    rivals = info.encoding_rivals
    if rivals:
        verb = "reads" if len(rivals) == 1 else "read"
        return f"{info.encoding} guessed, not sure ({' and '.join(rivals)} {verb} it too)"
    return f"{info.encoding} guessed, not sure ({info.encoding_basis})"


def _line(item: Problem | Outcome) -> str:
    if isinstance(item, Problem):
        return str(item)
    text = f"row {item.row.number}: {item.code}: {item.message}"
    return text + (f" ({item.hint})" if item.hint else "")


def error_line(err: BulkmailError) -> str:
    """Return the one line that says what stopped a run and what to do, scrubbed and
    printable whatever it quotes (a header cell may hold line breaks)."""
    return f"bulkmail: error: {printable(scrub(str(err)))}"


def print_result(result: RunResult, out: TextIO, *, exit_code: int | None = None) -> None:
    """Print counts, a few problems, where the report is and the exit code (the run's, unless
    the command exits with another), every line scrubbed of secrets."""
    for line in _summary_lines(result, exit_code):
        print(printable(scrub(line)), file=out)


def _summary_lines(result: RunResult, exit_code: int | None) -> list[str]:
    s = result.summary
    rows = f"{s.total} row{'' if s.total == 1 else 's'}"
    counts = ", ".join(
        f"{st.value} {s.counts[st.value]}" for st in _ORDER if s.counts.get(st.value)
    )
    lines = [
        f"{s.command} {describe_input(s.input)}: {rows} in {s.seconds:.1f} s",
        f"  {counts or 'no rows'}",
        *(f"  {p}" for p in result.header_problems),
    ]
    if reason := s.extra.get("abort_reason"):  # an aborted run says why, before its rows
        lines.append(f"  stopped: {reason}")
    if result.preview:
        lines.append("  first problems:")
        lines += [f"    {_line(item)}" for item in result.preview]
    elif s.problems and not reason:
        lines.append("  no errors; the report lists the rows' warnings and notes")
    code = s.exit_code if exit_code is None else exit_code
    lines += [f"report: {os.path.relpath(result.paths.xlsx)}", f"exit code {code}"]
    return lines
