"""Per-row results for Python callers: what happened to each row, without its secrets.

`RunResult.rows` (validate_file, import_file) and `bulkmail.validate(...).results()` give
`RowResult`s: a row's number, status, stage, code, message, hint, errors and warnings, and
its non-secret cells by field. Messages and hints are scrubbed of the row's secrets as the
report's are; a secret column (a password, or an ignored column whose header looks like one)
is not kept.

Memory: a run keeps its RowResults only when asked (`keep_rows`, the library's default); the
command line does not ask, so a 100,000-row run from the shell holds none of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bulkmail.errors import ConfigError
from bulkmail.models import Checked, Outcome, Problem, Severity, Stage, Status
from bulkmail.report.rows import RowShape
from bulkmail.secrets import scrub

COLUMNS: Final = ("row", "status", "stage", "code", "message", "hint", "mailbox_id")
"""The DataFrame's own columns, before the row's fields (`RowResults.to_pandas`)."""


@dataclass(frozen=True, slots=True)
class RowResult:
    """What happened to one input row (its secrets left out)."""

    row: int  # the row's number in the sheet (header = 1; records start at 2)
    status: Status
    stage: Stage | None  # where a failed row failed ("validation", "login", "portal"...)
    code: str  # the outcome's code, or the first error's; "" when there is nothing to say
    message: str
    hint: str
    problems: tuple[Problem, ...]  # validation errors and warnings (notes: the report's)
    names: tuple[str, ...]  # the fields kept, shared by every row of a run
    values: tuple[str, ...]  # their cells, in the same order
    mailbox_id: int | None = None  # the portal's id of an account created or found

    @property
    def fields(self) -> dict[str, str]:
        """Return the row's non-secret cells keyed by canonical field (`email`, `server`...)."""
        return dict(zip(self.names, self.values, strict=True))

    @property
    def ok(self) -> bool:
        """Return whether the row succeeded (valid, created, skipped... not failed)."""
        return self.status.succeeded

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Return the row's warnings."""
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)


class RowResults(tuple[RowResult, ...]):
    """A run's RowResults in input order: a tuple, plus `to_pandas()`."""

    __slots__ = ()

    def to_pandas(self) -> Any:  # a pandas.DataFrame
        """Return one DataFrame row per result: `COLUMNS` then the rows' fields (status and
        stage as their text, blank as ""; mailbox_id a nullable Int64). Raises ConfigError
        when pandas is not installed."""
        return to_pandas(self)


def to_pandas(results: Iterable[RowResult]) -> Any:  # a pandas.DataFrame
    """Return the DataFrame of `results` (as `RowResults.to_pandas`)."""
    try:
        import pandas  # type: ignore[import-untyped]  # no stubs: an optional extra
    except ImportError:
        raise ConfigError(
            "to_pandas() needs pandas, which is not installed",
            "pip install 'bulkmail[pandas]', or read the results' fields directly",
        ) from None
    records: list[dict[str, Any]] = []
    names: dict[str, None] = {}
    for r in results:
        names.update(dict.fromkeys(r.names))
        own = (r.row, str(r.status), str(r.stage or ""), r.code, r.message, r.hint, r.mailbox_id)
        records.append(dict(zip(COLUMNS, own, strict=True)) | r.fields)
    frame = pandas.DataFrame.from_records(records, columns=[*COLUMNS, *names])
    frame["mailbox_id"] = frame["mailbox_id"].astype("Int64")  # blank stays blank, not NaN
    return frame


class RowResultMaker:
    """Turn outcomes or Checked rows of one table into RowResults, the columns worked out once."""

    def __init__(self, headers: Sequence[str], fields: Sequence[str | None]) -> None:
        self._shape = RowShape(headers, fields)
        kept = [
            (i, f) for i, f in enumerate(fields) if f is not None and i not in self._shape.secret
        ]
        self._indexes = tuple(i for i, _ in kept)
        self._names = tuple(f for _, f in kept)

    def outcome(self, outcome: Outcome) -> RowResult:
        """Return the RowResult of an outcome (validation failures give their first error)."""
        cells = outcome.row.cells
        code, message, hint = outcome.code, outcome.message, outcome.hint
        if not code and not outcome.status.succeeded:
            code, message, hint = _first_error(outcome.problems)
        return self._result(
            cells, outcome.row.number, outcome.status, outcome.stage, (code, message, hint),
            outcome.problems, outcome.mailbox_id,
        )  # fmt: skip

    def checked(self, checked: Checked) -> RowResult:
        """Return the RowResult of a validated row: valid, or failed at validation."""
        said = ("", "", "") if checked.ok else _first_error(checked.problems)
        status, stage = (Status.VALID, None) if checked.ok else (Status.FAILED, Stage.VALIDATION)
        return self._result(
            checked.row.cells, checked.row.number, status, stage, said, checked.problems, None
        )

    def _result(
        self,
        cells: tuple[str, ...],
        number: int,
        status: Status,
        stage: Stage | None,
        said: tuple[str, str, str],
        problems: tuple[Problem, ...],
        mailbox_id: int | None,
    ) -> RowResult:
        secrets = self._shape.secrets(cells)
        code, message, hint = said
        width = len(cells)
        values = tuple(cells[i] if i < width else "" for i in self._indexes)
        # Errors and warnings only: the notes ("defaulted: ...", several a row) are in the
        # report, and would be most of what 100,000 kept rows weigh.
        kept = tuple(p for p in problems if p.severity is not Severity.INFO)
        clean = tuple(_scrubbed(p, secrets) for p in kept) if secrets else kept
        return RowResult(
            number, status, stage, code, scrub(message, secrets), scrub(hint, secrets),
            clean, self._names, values, mailbox_id,
        )  # fmt: skip


def _first_error(problems: Sequence[Problem]) -> tuple[str, str, str]:
    for p in problems:
        if p.severity is Severity.ERROR:
            return p.code, p.message, p.hint
    return "", "", ""


def _scrubbed(problem: Problem, secrets: Sequence[str]) -> Problem:
    message, hint = scrub(problem.message, secrets), scrub(problem.hint, secrets)
    if message is problem.message and hint is problem.hint:
        return problem
    return Problem(problem.row, problem.column, problem.code, problem.severity, message, hint)
