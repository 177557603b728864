"""Small pure pieces: backoff delays, log redaction."""

from __future__ import annotations

import io
import json
import random

import pytest
import structlog

from bulkmail.logs import configure, get_logger, scrub_event
from bulkmail.run.retry import Backoff
from bulkmail.secrets import MASK, register


def test_backoff_honours_retry_after_and_caps_it() -> None:
    backoff = Backoff(base=1.0, rng=random.Random(1))
    assert backoff.delay(1, retry_after=7) == 7
    assert backoff.delay(3, retry_after=10_000) == 300
    assert backoff.delay(1, retry_after=-5) == 0


@pytest.mark.parametrize(
    ("attempt", "low", "high"), [(1, 0.5, 1), (2, 1, 2), (3, 2, 4), (10, 30, 60)]
)
def test_backoff_grows_exponentially_with_jitter_inside_bounds(
    attempt: int, low: float, high: float
) -> None:
    backoff = Backoff(base=1.0, cap=60.0, rng=random.Random(attempt))
    delays = [backoff.delay(attempt) for _ in range(50)]
    assert all(low <= d <= high for d in delays)
    assert len(set(delays)) > 1  # jittered


def test_log_events_mask_secret_keys_and_registered_values_nested_too() -> None:
    register("S3cret-pass", None, "ab")  # too short to be masked everywhere
    event = {
        "event": "row.failed",
        "password": "x",
        "Token": None,
        "message": "login S3cret-pass refused, ab",
        "previous": {"argv": ["import", "S3cret-pass"], "smtp_password": "y", "pid": 7},
        "row": 3,
    }
    assert scrub_event(None, "info", dict(event)) == {
        "event": "row.failed",
        "password": MASK,
        "Token": MASK,
        "message": f"login {MASK} refused, ab",
        "previous": {"argv": ["import", MASK], "smtp_password": MASK, "pid": 7},
        "row": 3,
    }


def test_json_logs_are_one_object_per_line_and_redacted() -> None:
    stream = io.StringIO()
    configure("json", stream=stream)
    try:
        register('portal-Pa55"word')
        get_logger().info("run.started", note='echo {"p":"portal-Pa55\\"word"}', password="p")
        get_logger().warning("row.failed", row=2, portal="https://u:portal-Pa55%22word@h")
    finally:
        structlog.reset_defaults()
    lines = stream.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["event"] for r in records] == ["run.started", "row.failed"]
    assert "Pa55" not in stream.getvalue()
    assert records[0]["password"] == MASK and records[0]["note"] == f'echo {{"p":"{MASK}"}}'
    assert records[1]["portal"] == f"https://{MASK}@h"


def test_quiet_logs_only_errors() -> None:
    stream = io.StringIO()
    configure("console", quiet=True, stream=stream)
    try:
        get_logger().info("run.started")
        get_logger().warning("row.failed")
        get_logger().error("run.aborted")
    finally:
        structlog.reset_defaults()
    assert "run.started" not in stream.getvalue()
    assert "row.failed" not in stream.getvalue()
    assert "run.aborted" in stream.getvalue()
