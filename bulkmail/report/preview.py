"""The console's view of a run's problems: counts per code, one hint per code, a few rows each.

Errors (what kept a row from succeeding: a validation error, a failed or unsent row's code)
and warnings (findings that did not block the row) are kept apart. Every code is counted,
however many rows there are; only the first `ROWS_PER_CODE` rows of a code are kept as
text, so the preview stays small for a sheet of a million rows and the console summary
(`cli/output.py`) prints a bounded number of lines (it shows the `CODES_SHOWN` commonest codes
of each kind and says how many more there are).

`Preview.add` takes the row's own scrubber (`clean`): only the collector knows which cells of
the row are secret, and only the texts kept are scrubbed (a few per code, not one per row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bulkmail.codes import Code
from bulkmail.models import Severity

ROWS_PER_CODE = 3  # rows quoted per code on the console; the report holds every row
CODES_SHOWN = 5  # codes listed per kind (errors, warnings); the rest are counted in one line


@dataclass(slots=True)
class CodeGroup:
    """One code's problems: how many, the hint that fits them all, the first rows' lines."""

    code: str
    count: int = 0
    rows: list[str] = field(default_factory=list)
    """`row 7, email: "x" has no @`: the first `ROWS_PER_CODE` occurrences, without hints."""
    _first_hint: str = ""  # scrubbed
    _raw_hint: str = ""  # as given, to compare the next rows' hints with
    _hints_differ: bool = False

    @property
    def hint(self) -> str:
        """Return the hint shared by every occurrence; when the rows' own hints differ (a hint
        built from the row's cells), the registry's default hint for the code (`codes.Code`),
        else the first row's hint."""
        if self._hints_differ:
            known = Code._value2member_map_.get(self.code)
            if isinstance(known, Code) and known.hint:
                return known.hint
        return self._first_hint

    def add(self, hint: str, line: Callable[[], str], clean: Callable[[str], str]) -> None:
        """Count one occurrence; keep its `line()`, scrubbed by `clean`, while fewer than
        `ROWS_PER_CODE` are kept."""
        self.count += 1
        if self.count == 1:
            self._raw_hint, self._first_hint = hint, clean(hint)
        elif hint != self._raw_hint:
            self._hints_differ = True
        if len(self.rows) < ROWS_PER_CODE:
            self.rows.append(clean(line()))


class Preview:
    """Problems grouped by code, errors and warnings apart, in the order codes first occur."""

    def __init__(self) -> None:
        self._groups: dict[Severity, dict[str, CodeGroup]] = {
            Severity.ERROR: {},
            Severity.WARNING: {},
        }
        self.rows: dict[Severity, int] = {Severity.ERROR: 0, Severity.WARNING: 0}
        """How many rows had at least one problem of each kind."""

    def add(
        self,
        severity: Severity,
        code: str,
        hint: str,
        line: Callable[[], str],
        clean: Callable[[str], str],
    ) -> None:
        """Count one error or warning of a row (info notes are not problems: not counted);
        `line()` says where and what (`row 7, email: ...`), `clean` scrubs the row's secrets."""
        groups = self._groups.get(severity)
        if groups is None:
            return
        group = groups.get(code)
        if group is None:
            group = groups[code] = CodeGroup(code)
        group.add(hint, line, clean)

    def row_done(self, severity: Severity) -> None:
        """Count one row that had at least one problem of `severity`."""
        self.rows[severity] += 1

    def groups(self, severity: Severity) -> list[CodeGroup]:
        """Return every code of `severity`, the commonest first (first seen first on a tie)."""
        groups = self._groups.get(severity, {})
        return sorted(groups.values(), key=lambda group: -group.count)

    def counts(self, severity: Severity) -> dict[str, int]:
        """Return {code: occurrences} for `severity`, the commonest first."""
        return {group.code: group.count for group in self.groups(severity)}
