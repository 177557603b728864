"""The progress line logs the creates allowed in flight now (`limit`), which auto moves."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from bulkmail.models import Outcome, Row, Status
from bulkmail.run.progress import RunProgress

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
