"""What report.html shows, gathered as outcomes arrive, in O(1) per row and bounded memory.

`report/writer.py` hands `PageFacts.add` only the rows the page shows: failed rows and sent
rows, never the valid rows of a validate run (one `if` per row there, nothing more).
A failed row is counted in its code's group and its mail server's group (the first
`HOST_GROUPS` servers seen; the rest together); only the first
`SAMPLES` rows of each code keep their words (scrubbed of the row's secrets, cut to
`TEXT_LIMIT`). A sent row (one with `elapsed`) lands in a `Timeline` bin of its arrival time:
the bins double in width instead of growing past `MAX_BINS`, so a run of a week and a run of
a second draw the same number of points.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from bulkmail.models import Outcome, Severity
from bulkmail.printable import printable
from bulkmail.secrets import scrub_texts

SAMPLES: Final = 5
"""Rows shown under each code; the rest are in failed.csv and report.xlsx."""
TEXT_LIMIT: Final = 300
"""Characters of a message or a hint the page shows."""
NAME_LIMIT: Final = 120
"""Characters of an address or a host name the page shows."""
HOST_LIMIT: Final = 253
"""Characters of a host name kept as a group's key (DNS's own limit for a name)."""
HOST_GROUPS: Final = 1_000
"""Mail servers counted one by one: the failed rows of a server first seen after these are
counted together (`PageFacts.unlisted_rows`), so a sheet of a million distinct hosts costs
no more memory than one of a thousand. The page lists the largest MAX_HOSTS of them."""
MAX_BINS: Final = 120
"""Points of a chart over time, at most."""
FIRST_BIN: Final = 0.1
"""Seconds per bin when a run starts; doubled each time the bins would pass MAX_BINS."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One failed row as the page lists it: every text printable, scrubbed and cut."""

    row: int
    email: str
    host: str
    message: str


@dataclass(slots=True)
class CodeGroup:
    """The failed rows of one code: how many, the hint, the first few.

    `hint` is the first row's (scrubbed, printable); `hints_differ` is set once a later row
    carries another, as `report.preview` judges the console's: then the registry's is shown.
    """

    count: int = 0
    hint: str = ""
    samples: list[Sample] = field(default_factory=list)
    hints_differ: bool = False
    first_hint: str = ""  # as the first row gave it, to compare the next rows' with


@dataclass(slots=True)
class HostGroup:
    """The failed rows whose incoming mail server is one host: how many, by code."""

    count: int = 0
    codes: dict[str, int] = field(default_factory=dict)


class Timeline:
    """Rows sent, by the time their outcome arrived: creates, failures and portal latency.

    Each bin is `[done, failed, latency_sum, latency_count, latency_max]` (failed: not in the
    Succeeded sheet); `width` is the seconds each covers, from the first sent row on.
    Latency is `Outcome.latency`, the seconds the portal took to answer the row's last
    create (0: no create was answered).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.start: float | None = None
        self.width = FIRST_BIN
        self.bins: list[list[float]] = []

    def add(self, outcome: Outcome) -> None:
        """Put one sent row's outcome in the bin of now."""
        now = self._clock()
        if self.start is None:
            self.start = now
        index = int((now - self.start) / self.width)
        while index >= MAX_BINS:
            self._halve()
            index //= 2
        bins = self.bins
        while len(bins) <= index:
            bins.append([0, 0, 0.0, 0, 0.0])
        slot = bins[index]
        if outcome.status.succeeded:
            slot[0] += 1
        else:  # failed, or stopped after it was sent (interrupted)
            slot[1] += 1
        latency = outcome.latency
        if latency:
            slot[2] += latency
            slot[3] += 1
            if latency > slot[4]:
                slot[4] = latency

    def _halve(self) -> None:
        """Merge each pair of bins into one twice as wide."""
        old = self.bins
        merged = []
        for i in range(0, len(old), 2):
            pair = old[i : i + 2]
            merged.append(
                [
                    sum(b[0] for b in pair),
                    sum(b[1] for b in pair),
                    sum(b[2] for b in pair),
                    sum(b[3] for b in pair),
                    max(b[4] for b in pair),
                ]
            )
        self.bins = merged
        self.width *= 2


class PageFacts:
    """Take each outcome once (`add`), keep what report.html needs, nothing per row more.

    `server` and `email` are the indexes of the incoming server's and the address's columns
    (None: the sheet has none); `secrets(cells)` returns a row's secret cells, which a
    listed message is scrubbed of.
    """

    def __init__(
        self,
        server: int | None,
        email: int | None,
        secrets: Callable[[Sequence[str]], list[str]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._server = server
        self._email = email
        self._secrets = secrets
        self.codes: dict[str, CodeGroup] = {}
        self.hosts: dict[str, HostGroup] = {}
        self.unlisted_rows = 0
        """Failed rows of servers first seen after HOST_GROUPS others: not in `hosts`."""
        self.failed_rows = 0
        self.timeline = Timeline(clock)

    def add(self, outcome: Outcome, succeeded: bool) -> None:
        """Count a failed row in its groups, and a sent row in the timeline.

        `succeeded` is `outcome.status.succeeded`, which the caller has at hand: the
        property costs more than the rest of a succeeded row's visit.
        """
        if outcome.elapsed:
            self.timeline.add(outcome)
        if not succeeded:
            self._failed(outcome)

    def _failed(self, outcome: Outcome) -> None:
        self.failed_rows += 1
        cells = outcome.row.cells
        # the server the row used (a --set, --defaults or autofill value, invisible characters
        # stripped); a row validation refused has only its cell
        host = (outcome.server or _cell(cells, self._server)).strip().casefold()[:HOST_LIMIT]
        if outcome.code:
            found = [(str(outcome.code), outcome.message, outcome.hint)]
        else:  # a row validation refused: each of its errors
            found = [
                (p.code, f"{p.column}: {p.message}" if p.column else p.message, p.hint)
                for p in outcome.problems
                if p.severity is Severity.ERROR
            ] or [(outcome.status.value, outcome.message, outcome.hint)]
        group = self.hosts.get(host)
        if group is None and len(self.hosts) < HOST_GROUPS:
            group = self.hosts[host] = HostGroup()
        if group is None:
            self.unlisted_rows += 1
        else:
            group.count += 1
        for code, message, hint in found:
            if group is not None:
                group.codes[code] = group.codes.get(code, 0) + 1
            self._in_code(code, message, hint, outcome, host)

    def _in_code(self, code: str, message: str, hint: str, outcome: Outcome, host: str) -> None:
        group = self.codes.get(code)
        if group is None:
            group = self.codes[code] = CodeGroup(first_hint=hint)
        elif hint != group.first_hint:
            group.hints_differ = True
        group.count += 1
        if len(group.samples) >= SAMPLES:
            return
        secrets = self._secrets(outcome.row.cells)
        email = outcome.email or _cell(outcome.row.cells, self._email)
        message, hint, email, host = scrub_texts([message, hint, email, host], secrets)
        if not group.hint:
            group.hint = printable(hint, TEXT_LIMIT)
        group.samples.append(
            Sample(
                outcome.row.number,
                printable(email, NAME_LIMIT),
                printable(host, NAME_LIMIT),
                printable(message, TEXT_LIMIT),
            )
        )


def _cell(cells: Sequence[str], index: int | None) -> str:
    """Return the cell at `index`, "" when the sheet or the row has none there."""
    return cells[index] if index is not None and index < len(cells) else ""
