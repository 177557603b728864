"""Where every outcome goes: the report, one log event, the progress, the console preview."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from bulkmail.errors import BulkmailError
from bulkmail.models import InputInfo, Outcome, Problem, Severity, Stage, Status, Summary
from bulkmail.report.writer import ReportPaths, ReportWriter
from bulkmail.run.progress import RunProgress
from bulkmail.secrets import scrub

PREVIEW = 8  # problems shown on the console; the rest are in the report
_Item = TypeVar("_Item", Problem, Outcome)


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a run produced: its summary, the report's files, a few problems to show."""

    summary: Summary
    paths: ReportPaths
    preview: tuple[Problem | Outcome, ...]
    header_problems: tuple[Problem, ...]
    error: BulkmailError | None = None
    """What stopped the run part-way, for the command line's last line (a failed journal)."""


class Collector:
    """Take each outcome once, in input order, and fan it out."""

    def __init__(
        self, writer: ReportWriter, log: Any, *, command: str, progress: RunProgress | None = None
    ) -> None:
        self._writer = writer
        self._log = log
        self._command = command
        self._progress = progress
        self._bar = progress is not None and progress.has_bar
        self.total = 0
        self.preview: list[Problem | Outcome] = []

    def __call__(self, outcome: Outcome) -> None:
        self.total += 1
        self._writer.add(outcome)
        if self._progress is not None:
            self._progress.update(outcome)
        self._remember(outcome)
        self._emit_event(outcome)

    def _remember(self, outcome: Outcome) -> None:
        if len(self.preview) >= PREVIEW:
            return
        cells = outcome.row.cells
        if outcome.stage is Stage.VALIDATION:
            errors = [p for p in outcome.problems if p.severity is Severity.ERROR]
            self.preview += [
                self._scrubbed(p, cells) for p in errors[: PREVIEW - len(self.preview)]
            ]
        elif outcome.status is Status.FAILED:
            self.preview.append(self._scrubbed(outcome, cells))

    def _scrubbed(self, item: _Item, cells: tuple[str, ...]) -> _Item:
        """Return a problem or outcome whose message and hint hold none of the row's secrets."""
        secrets = self._writer.row_secrets(cells)
        return replace(item, message=scrub(item.message, secrets), hint=scrub(item.hint, secrets))

    def _emit_event(self, outcome: Outcome) -> None:
        if outcome.stage is Stage.VALIDATION:
            codes = sorted({p.code for p in outcome.problems if p.severity is Severity.ERROR})
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
            extra=extra,
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
        return RunResult(summary, paths, tuple(self.preview), header_problems)
