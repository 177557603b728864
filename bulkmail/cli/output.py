"""The human summary printed at the end of a run (stdout; nothing with --quiet), scrubbed.

Every line is made printable: problems quote cells, which may hold line breaks or escapes.
Its length is bounded whatever the sheet: errors, then warnings, each as counts per code
with one hint per code and the first rows of each code (`report.preview`), the commonest
`CODES_SHOWN` codes of each kind, then how many more; the report holds every row.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO

from bulkmail.errors import BulkmailError
from bulkmail.models import InputInfo, Severity, Status
from bulkmail.printable import printable, quoted
from bulkmail.report.preview import CODES_SHOWN, Preview
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


def error_line(err: BulkmailError) -> str:
    """Return the one line that says what stopped a run and what to do, scrubbed and
    printable whatever it quotes (a header cell may hold line breaks)."""
    return f"bulkmail: error: {printable(scrub(str(err)))}"


def print_result(
    result: RunResult, out: TextIO, *, exit_code: int | None = None, resumable: bool = True
) -> None:
    """Print counts, the errors and warnings per code with a few rows each, where the report
    is and the exit code (the run's, unless the command exits with another), every line
    scrubbed of secrets. An interrupted run says the same command finishes the rest unless
    it is not `resumable` (the demo's journal lives in its process)."""
    try:
        for line in _summary_lines(result, exit_code, resumable):
            print(printable(scrub(line)), file=out)
        out.flush()
    except BrokenPipeError:  # `bulkmail ... | head`: the reader left; the run's code stands
        reader_left(out)


def reader_left(out: TextIO) -> None:
    """Send what is still written to `out` to the null device: the program reading it (a
    `| head`) has closed the pipe, and Python's flush of stdout at exit must not fail on it
    (a traceback, or 'Exception ignored'). A stream without a file descriptor is left."""
    try:
        fd = out.fileno()
    except (OSError, ValueError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def _summary_lines(result: RunResult, exit_code: int | None, resumable: bool) -> list[str]:
    s = result.summary
    rows = f"{s.total} row{'' if s.total == 1 else 's'}"
    counts = ", ".join(
        f"{st.value} {s.counts[st.value]}" for st in _ORDER if s.counts.get(st.value)
    )
    lines = [
        f"{s.command} {describe_input(s.input)}: {rows} in {s.seconds:.1f} s",
        f"  {counts or 'no rows'}",
        *(f"  {p}" for p in result.header_problems),  # the reader bounds them (21 at most)
    ]
    reason = s.extra.get("abort_reason")
    if reason:  # an aborted run says why, before its rows
        lines.append(f"  stopped: {reason}")
    preview = result.preview
    if not preview.rows[Severity.ERROR] and not reason:
        warned = preview.rows[Severity.WARNING] or any(
            p.severity is Severity.WARNING for p in result.header_problems
        )
        lines.append("  no errors" + ("" if warned else ", no warnings"))
    lines += _kind_lines(preview, Severity.ERROR, "errors", "the report's Failed sheet")
    lines += _kind_lines(
        preview, Severity.WARNING, "warnings", "the report's notes and warnings columns"
    )
    if s.extra.get("interrupted"):
        left = s.counts.get(Status.NOT_ATTEMPTED.value, 0)
        lines.append(
            _check_interrupted(left) if s.command == "check" else _interrupted(left, resumable)
        )
    code = s.exit_code if exit_code is None else exit_code
    lines += [f"report: {os.path.relpath(result.paths.xlsx)}", f"exit code {code}"]
    return lines


def _interrupted(left: int, resumable: bool = True) -> str:
    """Return what an interrupted import says about the rows it did not send."""
    if not left:
        return "  interrupted, but every row had finished: nothing is left to send"
    rows = f"{left} row{'' if left == 1 else 's'}"
    if not resumable:
        return f"  interrupted with {rows} not sent"
    return (
        f"  interrupted with {rows} not sent: run the same command again to finish the rest "
        "(rows done are skipped)"
    )


def _check_interrupted(left: int) -> str:
    """Return what an interrupted check says about the rows it did not check: it keeps no
    journal, so the same command checks every row again (none is skipped)."""
    if not left:
        return "  interrupted, but every row had been checked"
    rows = f"{left} row{'' if left == 1 else 's'}"
    return (
        f"  interrupted with {rows} not checked: run the same command again to check them "
        "(every row is checked again)"
    )


def _kind_lines(preview: Preview, severity: Severity, kind: str, where: str) -> list[str]:
    """Return the lines of one kind of problem: a count, then per code its count, its hint,
    its first rows and how many more; the codes beyond `CODES_SHOWN` in one line."""
    groups = preview.groups(severity)
    if not groups:
        return []
    total = sum(group.count for group in groups)
    rows = preview.rows[severity]
    codes = f"{len(groups)} code{'' if len(groups) == 1 else 's'}"
    lines = [f"  {kind}: {total} in {rows} row{'' if rows == 1 else 's'} ({codes})"]
    for group in groups[:CODES_SHOWN]:
        lines.append(f"    {group.code}: {group.count}")
        if group.hint:
            lines.append(f"      fix: {group.hint}")
        lines += [f"      {row}" for row in group.rows]
        if group.count > len(group.rows):
            lines.append(f"      ... {group.count - len(group.rows)} more in {where}")
    hidden = groups[CODES_SHOWN:]
    if hidden:
        n = sum(group.count for group in hidden)
        counted = f"{n} {kind.removesuffix('s') if n == 1 else kind}"  # 1 error, 2 errors
        lines.append(
            f"    ... {len(hidden)} more code{'' if len(hidden) == 1 else 's'} ({counted}) "
            f"in {where}: {', '.join(group.code for group in hidden[:10])}"
            + (", ..." if len(hidden) > 10 else "")
        )
    return lines
