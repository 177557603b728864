"""The human summary printed at the end of a run (stdout; nothing with --quiet)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO

from bulkmail.models import InputInfo, Outcome, Problem, Status

if TYPE_CHECKING:
    from bulkmail.report.collector import RunResult

_ORDER = (
    Status.VALID,
    Status.CREATED,
    Status.UPDATED,
    Status.SKIPPED,
    Status.WOULD_CREATE,
    Status.WOULD_UPDATE,
    Status.FAILED,
    Status.NOT_ATTEMPTED,
)


def describe_input(info: InputInfo) -> str:
    """Return e.g. `accounts.csv (csv, cp1251 detected, ';' detected)`."""
    parts = [info.format]
    if info.sheet:
        parts.append(f"sheet {info.sheet!r}")
    if info.encoding:
        parts.append(info.encoding + (" detected" if info.encoding_detected else ""))
    if info.delimiter:
        shown = "tab" if info.delimiter == "\t" else repr(info.delimiter)
        parts.append(shown + (" detected" if info.delimiter_detected else ""))
    return f"{info.path} ({', '.join(parts)})"


def _line(item: Problem | Outcome) -> str:
    if isinstance(item, Problem):
        return str(item)
    text = f"row {item.row.number}: {item.code}: {item.message}"
    return text + (f" ({item.hint})" if item.hint else "")


def print_result(result: RunResult, out: TextIO) -> None:
    """Print counts, a few problems and where the report is."""
    s = result.summary
    rows = f"{s.total} row{'' if s.total == 1 else 's'}"
    print(
        f"{s.command} {describe_input(s.input)}: {rows} in {s.seconds:.1f} s",
        file=out,
    )
    counts = ", ".join(
        f"{st.value} {s.counts[st.value]}" for st in _ORDER if s.counts.get(st.value)
    )
    print(f"  {counts or 'no rows'}", file=out)
    for p in result.header_problems:
        print(f"  {p}", file=out)
    if result.preview:
        print("  first problems:", file=out)
        for item in result.preview:
            print(f"    {_line(item)}", file=out)
    elif s.problems:
        print("  no errors; the report lists the rows' warnings and notes", file=out)
    print(f"report: {os.path.relpath(result.paths.xlsx)}", file=out)
    print(f"exit code {s.exit_code}", file=out)
