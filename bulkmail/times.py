"""Times as people read them: the machine's local time with its UTC offset, everywhere.

Report folder names, summary.json, the report's `done_at`, the console and the JSON log all
show local time with its offset (`2026-11-30T02:30:05+03:00`), so that a 02:30 run in Moscow
is filed under its own day and a reader in another zone still knows the instant. The zone is
the process's (`TZ`, else the system's); a datetime given with its own offset keeps it. The
journal keeps UTC (`2026-11-29T23:30:05Z`, unchanged since version 1 of its schema):
`from_journal` shows its times in local time.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, Final

FOLDER_FORMAT: Final = "%Y-%m-%d_%H-%M-%S%z"
"""A report folder's time: `2026-11-30_02-30-05+0300`. No `:` (Windows refuses it in names).
Folders of one offset sort by time; the hour a clock is set back repeats its times with
another offset, so names stay distinct but do not sort by time across it (summary.json's
`started_at` orders runs)."""


def local_now() -> datetime:
    """Return now, in the process's local zone, with its offset."""
    return datetime.now().astimezone()


def _local(moment: datetime) -> datetime:
    """Return `moment` with an offset: its own if it has one, else the local zone's."""
    return moment if moment.tzinfo is not None else moment.astimezone()


def iso(moment: datetime) -> str:
    """Return `moment` as ISO 8601 to the second with its offset: `2026-11-30T02:30:05+03:00`."""
    return _local(moment).isoformat(timespec="seconds")


def folder_stamp(moment: datetime) -> str:
    """Return `moment` as a report folder name's time (FOLDER_FORMAT)."""
    return _local(moment).strftime(FOLDER_FORMAT)


def now_iso() -> str:
    """Return now as `iso` writes it: what a row's `done_at` holds when this run did it."""
    return iso(local_now())


def from_journal(text: str) -> str:
    """Return a journal time (UTC, `2026-11-29T23:30:05Z`) as local time with its offset.

    Text that is not such a time is returned as it is: the journal is a file people may edit.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment.astimezone())


def add_timestamp(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    """structlog processor: the event's `timestamp`, local with its offset, to the millisecond
    (`2026-11-30T02:30:05.123+03:00`)."""
    event["timestamp"] = local_now().isoformat(timespec="milliseconds")
    return event
