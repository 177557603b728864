"""The portal's brute-force guard on logins (BruteForceLoginManager, docs/portal-api.md §4)."""

from __future__ import annotations

import time
from collections.abc import Callable

from bulkmail.simulator.facts import LOGIN_ATTEMPTS, LOGIN_BLOCK, LOGIN_WINDOW


class LoginGuard:
    """Count login attempts per (userName, client IP); block a key that goes over the limit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._attempts: dict[tuple[str, str], list[float]] = {}
        self._blocked: dict[tuple[str, str], float] = {}

    def attempt(self, key: tuple[str, str]) -> bool:
        """Record an attempt; return False when the key is (now) blocked."""
        now = self._clock()
        if self._blocked.get(key, 0.0) > now:
            return False
        recent = [t for t in self._attempts.get(key, ()) if t > now - LOGIN_WINDOW]
        recent.append(now)
        self._attempts[key] = recent
        if len(recent) > LOGIN_ATTEMPTS:
            self._blocked[key] = now + LOGIN_BLOCK
            return False
        return True

    def succeeded(self, key: tuple[str, str]) -> None:
        """Undo the attempt that just succeeded: only failures count against a key."""
        recent = self._attempts.get(key)
        if recent:
            recent.pop()

    def clear(self) -> None:
        """Forget every attempt and block."""
        self._attempts.clear()
        self._blocked.clear()
