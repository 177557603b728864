"""A child process's JSON log lines, read as they come, so that a test waits on its events."""

from __future__ import annotations

import json
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from typing import IO, Any

from gate import HANG


class ChildLog:
    """Read `proc`'s stderr (JSON lines) and stdout in threads, counting events as they come.

    Reading all the time also keeps the child from blocking on a full pipe while the test
    waits for something else.
    """

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        self._proc = proc
        self._changed = threading.Condition()
        self._events: Counter[str] = Counter()
        self._err: list[str] = []
        self._out: list[str] = []
        self._ended = False
        self._threads = [
            threading.Thread(target=self._read_err, args=(proc.stderr,), daemon=True),
            threading.Thread(target=self._read_out, args=(proc.stdout,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def wait_for(self, event: str, count: int = 1) -> None:
        """Block until `event` was logged `count` times; fail if the child ends first."""
        with self._changed:
            done = self._changed.wait_for(
                lambda: self._events[event] >= count or self._ended, timeout=HANG
            )
            seen = self._events[event]
            tail = "".join(self._err[-5:])
        if not done:
            raise AssertionError(f"{seen} {event} after {HANG} s, not {count}:\n{tail}")
        if seen < count:
            raise AssertionError(f"the child ended after {seen} {event}, not {count}:\n{tail}")

    def wait_for_fields(
        self, event: str, match: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """Block until an `event` line whose fields `match` is logged; return its fields."""
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            found[:] = [f for f in map(_fields, self._err) if f.get("event") == event and match(f)]
            return bool(found) or self._ended

        with self._changed:
            self._changed.wait_for(seen, timeout=HANG)
            tail = "".join(self._err[-5:])
        if not found:
            raise AssertionError(f"no matching {event}:\n{tail}")
        return found[0]

    def finish(self) -> tuple[str, str]:
        """Wait for the child to exit and its pipes to close; return its stdout and stderr."""
        self._proc.wait(timeout=HANG)
        for thread in self._threads:
            thread.join(HANG)
        with self._changed:
            return "".join(self._out), "".join(self._err)

    def _read_err(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self._err.append(line)
                self._events[_event(line)] += 1
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def _read_out(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self._out.append(line)


def _event(line: str) -> str:
    """Return a JSON log line's event name; "" for any other line."""
    try:
        return str(json.loads(line).get("event", ""))
    except (ValueError, AttributeError):
        return ""


def _fields(line: str) -> dict[str, Any]:
    """Return a JSON log line's fields; {} for any other line."""
    try:
        fields = json.loads(line)
    except ValueError:
        return {}
    return fields if isinstance(fields, dict) else {}
