"""Progress: the limit in flight, skipped rows, and a rate and time left from this run's work."""

from __future__ import annotations

import io
from typing import Any

import anyio
import pytest
from rich.console import Console

from bulkmail.models import Outcome, Row, Stage, Status
from bulkmail.run.progress import RunProgress, clock

pytestmark = pytest.mark.anyio


class Log:
    def __init__(self, stop: anyio.CancelScope) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._stop = stop

    def info(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))
        if len(self.events) == 2:
            self._stop.cancel()


async def test_each_progress_line_says_the_current_limit() -> None:
    limits = iter([4, 9])
    with anyio.CancelScope() as scope:
        log = Log(scope)
        progress = RunProgress(log, total=10, bar=False, every=0)
        progress.limit = lambda: next(limits)
        progress.update(Outcome(row=Row(2, ()), status=Status.CREATED))
        await progress.ticker()
    assert [(e, f["done"], f["total"], f["limit"]) for e, f in log.events] == [
        ("run.progress", 1, 10, 4),
        ("run.progress", 1, 10, 9),
    ]


def test_before_the_run_there_is_no_limit_to_show() -> None:
    progress = RunProgress(None, total=None, bar=False)
    assert progress.current_limit is None


def _outcome(number: int, status: Status, **fields: Any) -> Outcome:
    return Outcome(row=Row(number, ()), status=status, **fields)


def test_after_a_resume_the_rate_and_time_left_count_only_this_runs_work() -> None:
    # 300 rows the journal settles at once, then 2 rows sent over 4 seconds.
    seconds = iter([0.0, 4.0, 4.0, 4.0])
    progress = RunProgress(None, total=1000, bar=False, now=lambda: next(seconds))
    for number in range(2, 302):
        progress.update(_outcome(number, Status.SKIPPED, code="done-earlier"))
    progress.update(_outcome(302, Status.CREATED, attempts=1, elapsed=1.5))
    progress.update(_outcome(303, Status.FAILED, attempts=3, elapsed=2.0))
    facts = progress.facts()
    assert facts == {
        "done": 302,
        "total": 1000,
        "failed": 1,
        "skipped": 300,
        "sent": 2,
        "rate": 0.5,
        "elapsed_s": 4,
        "eta_s": 1396,  # (1000 - 302) rows at 0.5 rows/s, not 302 rows / 4 s
        "limit": None,
    }


def test_rows_settled_before_sending_are_not_work_and_the_time_left_is_unknown() -> None:
    progress = RunProgress(None, total=10, bar=False, now=lambda: 2.0)
    progress.update(_outcome(2, Status.FAILED, stage=Stage.VALIDATION))
    progress.update(_outcome(3, Status.SKIPPED, code="done-earlier"))
    assert (progress.done, progress.failed, progress.skipped, progress.sent) == (2, 1, 1, 0)
    assert (progress.rate, progress.eta()) == (0.0, None)


def test_a_dry_run_row_counts_as_work_however_fast() -> None:
    progress = RunProgress(None, total=None, bar=False)
    progress.update(_outcome(2, Status.WOULD_CREATE))
    assert (progress.sent, progress.eta()) == (1, None)  # no total: no time left to say


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "-:--:--"), (0.4, "0:00:00"), (65, "0:01:05"), (3_725.6, "1:02:06")],
)
def test_clock(seconds: float | None, shown: str) -> None:
    assert clock(seconds) == shown


def test_the_bar_labels_the_elapsed_time_and_the_time_left() -> None:
    seconds = iter([0.0, *[30.0] * 20])
    progress = RunProgress(None, total=4, bar=True, now=lambda: next(seconds))
    progress.update(_outcome(2, Status.SKIPPED, code="done-earlier"))
    progress.update(_outcome(3, Status.CREATED, attempts=1, elapsed=1.0))
    bar = progress._bar
    assert bar is not None
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(bar.make_tasks_table(bar.tasks))
    line = console.export_text().strip()
    # 1 row sent in 30 s: the 2 rows left take 60 s (not 2 rows / 30 s -> 30 s)
    assert line.endswith("2/4 failed 0 skipped 1 0.03 rows/s limit - elapsed 0:00:30 left 0:01:00")
