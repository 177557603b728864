"""Put outcomes that finish out of order back into input order before they are reported."""

from __future__ import annotations

from collections.abc import Callable

from bulkmail.models import Outcome


class Reorder:
    """Hold outcomes until every earlier row has one, then pass them on in input order.

    Workers finish rows out of order; the report reads best in the sheet's order. Only the
    rows behind the slowest in-flight one are held (a few thousand at worst: a create can
    take ~90 s), so memory stays bounded for any input size.
    """

    def __init__(self, sink: Callable[[Outcome], None]) -> None:
        self._sink = sink
        self._held: dict[int, Outcome] = {}
        self._next = 0

    def push(self, index: int, outcome: Outcome) -> None:
        """Accept the outcome of row `index` (0-based, each index exactly once)."""
        if index < self._next or index in self._held:
            raise ValueError(f"outcome {index} reported twice")
        self._held[index] = outcome
        while self._next in self._held:
            self._sink(self._held.pop(self._next))
            self._next += 1

    @property
    def pending(self) -> int:
        """Return how many outcomes wait for an earlier row."""
        return len(self._held)
