"""One stage vocabulary: the log event and the report row of a failed row name the same stage."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bulkmail.models import Outcome, Problem, Row, Severity, Stage, Status
from bulkmail.report.collector import Collector
from bulkmail.report.writer import ReportWriter

HEADERS = ("email", "password")
FIELDS = ("email", "password")


class _Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def info(self, event: str, **fields: object) -> None:
        self.events.append((event, fields))

    warning = info


def _failed(stage: Stage) -> Outcome:
    row = Row(2, ("ann@example.org", "S3cret-pw"))
    if stage is Stage.VALIDATION:
        problem = Problem(2, "email", "email-invalid", Severity.ERROR, "not an address")
        return Outcome(row, Status.FAILED, stage=stage, problems=(problem,))
    return Outcome(row, Status.FAILED, stage=stage, code="some-code", message="it failed")


@pytest.mark.parametrize("stage", list(Stage))
def test_the_log_and_failed_csv_name_the_same_stage(tmp_path: Path, stage: Stage) -> None:
    command = "check" if stage is Stage.CHECK else "import"
    log = _Log()
    with ReportWriter(tmp_path, HEADERS, FIELDS) as writer:
        Collector(writer, log, command=command)(_failed(stage))
    with (tmp_path / "failed.csv").open(encoding="utf-8-sig", newline="") as f:
        (reported,) = list(csv.DictReader(f))
    ((event, fields),) = log.events
    assert event in ("row.failed", "row.invalid")
    assert fields["stage"] == reported["stage"] == stage.value
