"""Where every outcome goes: the report, one log event, the progress, the console preview."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bulkmail.errors import BulkmailError, ConfigError
from bulkmail.models import InputInfo, Outcome, Problem, Severity, Stage, Status, Summary
from bulkmail.report.preview import Preview
from bulkmail.report.results import RowResult, RowResultMaker, RowResults
from bulkmail.report.rows import notes_only
from bulkmail.report.writer import ReportPaths, ReportWriter
from bulkmail.run.progress import RunProgress
from bulkmail.secrets import scrub

_ERROR, _WARNING, _INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
_VALIDATION = Stage.VALIDATION  # bound once: a member looked up on its class costs 0.1 us


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a run produced: its summary, the report's files, its problems grouped by code."""

    summary: Summary
    paths: ReportPaths
    preview: Preview
    header_problems: tuple[Problem, ...]
    error: BulkmailError | None = None
    """What stopped the run part-way, for the command line's last line (a failed journal)."""
    rows: RowResults | None = None
    """Each row's result in input order (`report.results`), when the run kept them
    (`keep_rows`: library calls do, the command line does not)."""

    def to_pandas(self) -> Any:
        """Return `rows` as a pandas DataFrame (`RowResults.to_pandas`); ConfigError when the
        run kept no rows or pandas is not installed."""
        if self.rows is None:
            raise ConfigError(
                "this run kept no per-row results", "run it with keep_rows=True (the default)"
            )
        return self.rows.to_pandas()


def _line(problem: Problem) -> Callable[[], str]:
    """Return what makes a problem's console line: `row 7, email: "x" has no @` (no hint)."""

    def line() -> str:
        where = f"row {problem.row}" + (f", {problem.column}" if problem.column else "")
        return f"{where}: {problem.message}"

    return line


class Collector:
    """Take each outcome once, in input order, and fan it out."""

    def __init__(
        self,
        writer: ReportWriter,
        log: Any,
        *,
        command: str,
        progress: RunProgress | None = None,
        results: RowResultMaker | None = None,
    ) -> None:
        self._writer = writer
        self._log = log
        self._command = command
        self._progress = progress
        self._bar = progress is not None and progress.has_bar
        self.total = 0
        self.preview = Preview()
        self._maker = results  # None: no per-row results kept (the command line)
        self._rows: list[RowResult] = []

    def __call__(self, outcome: Outcome) -> None:
        self.total += 1
        self._writer.add(outcome)
        if self._progress is not None:
            self._progress.update(outcome)
        self._remember(outcome)
        self._emit_event(outcome)
        if self._maker is not None:
            self._rows.append(self._maker.outcome(outcome))

    def _remember(self, outcome: Outcome) -> None:
        """Count the row's errors and warnings by code in the preview; a row that did not
        succeed adds its own code (a portal's refusal, not attempted) as an error."""
        failed = not outcome.status.succeeded
        if not failed and notes_only(outcome.problems):  # the preview takes no notes
            return
        secrets: list[str] | None = None

        def clean(text: str) -> str:
            nonlocal secrets
            if secrets is None:
                secrets = self._writer.row_secrets(outcome.row.cells)
            return scrub(text, secrets)

        preview = self.preview
        kinds: set[Severity] = set()
        for problem in outcome.problems:
            severity = problem.severity
            if severity is _INFO:
                continue
            kinds.add(severity)
            preview.add(severity, problem.code, problem.hint, _line(problem), clean)
        if failed and outcome.code:
            kinds.add(_ERROR)
            line = f"row {outcome.row.number}: {outcome.message or outcome.code}"
            if _WARNING in kinds:  # the likely cause, beside the failure
                warned = dict.fromkeys(p.code for p in outcome.problems if p.severity is _WARNING)
                line += f" (the row has warnings: {', '.join(warned)})"
            preview.add(_ERROR, outcome.code, outcome.hint, lambda: line, clean)
        for severity in kinds:
            preview.row_done(severity)

    def _emit_event(self, outcome: Outcome) -> None:
        if outcome.stage is _VALIDATION:
            codes = sorted({p.code for p in outcome.problems if p.severity is _ERROR})
            self._log.warning(
                "row.invalid", row=outcome.row.number, stage="validation", codes=codes
            )
            return
        if self._command == "validate":
            return
        event = "row." + outcome.status.value.replace(" ", "_")
        fields = {
            "row": outcome.row.number,
            "portal_user": outcome.portal_user,
            "email": outcome.email,
            "mailbox_id": outcome.mailbox_id,
            "code": outcome.code or None,
            "attempts": outcome.attempts,
            "elapsed_s": outcome.elapsed,
        }
        if outcome.status is Status.FAILED:
            fields |= {
                "stage": outcome.stage.value if outcome.stage else None,
                "message": scrub(outcome.message, self._writer.row_secrets(outcome.row.cells)),
            }
        clean = {k: v for k, v in fields.items() if v not in (None, "", 0)}
        if outcome.status is Status.FAILED:
            self._log.warning(event, **clean)
        elif not self._bar:  # the bar already shows the successes; logs keep the failures
            self._log.info(event, **clean)

    def finish(
        self,
        *,
        info: InputInfo,
        started: datetime,
        finished: datetime,
        seconds: float,
        aborted: bool,
        header_problems: tuple[Problem, ...],
        extra: dict[str, Any],
    ) -> RunResult:
        """Write the report's last files and return the run's result."""
        counts = dict(self._writer.counts)
        failed = counts.get(Status.FAILED.value, 0)
        exit_code = 3 if aborted else (1 if failed else 0)
        problems = dict(self._writer.problem_counts)
        for p in header_problems:
            problems[p.code] = problems.get(p.code, 0) + 1
        summary = Summary(
            command=self._command,
            total=self.total,
            counts=counts,
            exit_code=exit_code,
            input=info,
            started_at=started.isoformat(timespec="seconds"),
            finished_at=finished.isoformat(timespec="seconds"),
            seconds=round(seconds, 3),
            problems=problems,
            extra={**self._problems_by_kind(header_problems), **extra},
        )
        paths = self._writer.finish(summary)
        self._log.info(
            "run.finished",
            command=self._command,
            total=self.total,
            exit_code=exit_code,
            seconds=round(seconds, 2),
            report=str(paths.folder),
            **{k.replace(" ", "_"): v for k, v in counts.items() if v},
        )
        rows = RowResults(self._rows) if self._maker is not None else None
        return RunResult(summary, paths, self.preview, header_problems, rows=rows)

    def _problems_by_kind(self, header_problems: tuple[Problem, ...]) -> dict[str, Any]:
        """Return summary.json's `errors` and `warnings`: {code: occurrences}, commonest first
        (the header row's findings included), beside `problems` which adds them up."""
        kinds: dict[str, dict[str, int]] = {}
        for name, severity in (("errors", _ERROR), ("warnings", _WARNING)):
            counts = self.preview.counts(severity)
            for p in header_problems:
                if p.severity is severity:
                    counts[p.code] = counts.get(p.code, 0) + 1
            kinds[name] = dict(sorted(counts.items(), key=lambda item: -item[1]))
        return kinds
