"""The limits of the mail servers that a run's creates make the portal log in to.

Every create makes the portal, from its one IP address, log in to the row's incoming server
and to its SMTP server (docs/portal-api.md §10). Mail servers limit that: they turn away more
connections from one address than they allow at once, and they ban an address after a burst
of failed logins, which would cut off the mail of every user of the portal. So, per mail
server (a host name, compared case-insensitively, a trailing dot ignored), this module keeps:

- **a limit of rows in flight.** A row counts once against each distinct host it touches
  (incoming and SMTP; the same host once). The limit is TCP's congestion control (RFC 5681),
  per host: it starts at one row (slow start) and grows by one per success, doubling per
  round, up to `--per-server`; a throttling answer halves it (once per round: answers of
  rows let in before the cut do not cut again), and above that threshold it grows by one
  per round of successes (additive increase). A refused login sends it back to one row, so
  a batch of stale passwords fails one row at a time, not `--per-server` at once.
- **a budget of refused logins.** After `--max-login-failures` refused logins on a server
  in this run, its rows are no longer sent: they end `not attempted` with
  `login-failures-limit`, and a re-run sends them.

A row takes all its hosts at once or none (`take_now`, `take`): the event loop runs one task
at a time and nothing awaits between the check and the take, so a row never holds one host
while it waits for another, and no two rows can deadlock. Rows waiting to be sent again after
a throttling answer hold a reservation on their hosts: fresh rows leave them room.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import anyio

from bulkmail.codes import Code
from bulkmail.logs import get_logger
from bulkmail.models import Account
from bulkmail.portal.answers import Verdict

__all__ = ["MAX_THROTTLED", "REFUSED", "THROTTLED", "Lease", "MailServers", "host_name"]

THROTTLED: Final = frozenset({Code.MAILBOX_THROTTLED, Code.SMTP_THROTTLED})
"""A server turned the portal away for now: retried, the server's limit lowered."""
REFUSED: Final = frozenset({Code.MAILBOX_LOGIN_REFUSED, Code.SMTP_LOGIN_REFUSED})
"""A server refused the login itself: counted against the server's budget."""
MAX_THROTTLED: Final = 10
"""Throttling answers a row may get before it ends failed (transient: a re-run sends it).
They do not use up --retries, since the row did not fail; this bounds them instead: with the
backoff's doubling delays, capped at 60 s, 10 come to about 3 to 5 minutes of waiting."""


def host_name(host: str) -> str:
    """Return the name that identifies a mail server: case-folded, no trailing dot."""
    return host.strip().rstrip(".").casefold()


@dataclass(frozen=True, slots=True)
class Lease:
    """A row's place on its mail servers while it is in flight."""

    incoming: str  # host names as `host_name` gives them
    smtp: str
    tickets: tuple[tuple[str, int], ...]  # each distinct host and its count of rows let in


@dataclass(slots=True)
class _Server:
    """What the run knows about one mail server."""

    limit: int  # rows in flight allowed now (AIMD): 1 .. --per-server
    threshold: int  # slow start below it, additive increase above
    earned: int = 0  # successes since the limit last grew, above the threshold
    in_flight: int = 0
    waiting: int = 0  # rows to send again after a throttling answer, waiting for room
    let_in: int = 0  # rows let in so far
    cut_at: int = 0  # `let_in` at the last cut: answers of rows let in before do not cut again
    throttled: int = 0  # throttling answers
    refused: int = 0  # refused logins
    lowest: int = 0  # the lowest limit the server was cut to (0: never cut)
    stopped: bool = False  # the budget of refused logins is spent


@dataclass(slots=True)
class MailServers:
    """Every mail server of a run: room for rows, throttling, the failed-login budget."""

    per_server: int  # the most rows in flight per server (--per-server)
    max_login_failures: int  # refused logins on one server before its rows stop
    enabled: bool = True  # False (a dry run: no mail server is logged in to): no limits
    _servers: dict[str, _Server] = field(default_factory=dict)
    _leases: dict[int, Lease] = field(default_factory=dict)  # row index -> lease
    _changed: anyio.Event = field(default_factory=anyio.Event)

    def hosts(self, account: Account) -> tuple[str, ...]:
        """Return the distinct mail servers a row's create logs in to, in a fixed order."""
        return tuple(sorted({host_name(account.server), host_name(account.smtp_server)}))

    def _server(self, host: str) -> _Server:
        server = self._servers.get(host)
        if server is None:
            server = _Server(limit=1, threshold=self.per_server)
            self._servers[host] = server
        return server

    def stopped(self, account: Account) -> str | None:
        """Return the row's server whose budget of refused logins is spent, if one is."""
        for host in self.hosts(account):
            server = self._servers.get(host)
            if server is not None and server.stopped:
                return host
        return None

    def take_now(self, index: int, account: Account) -> bool:
        """Let row `index` in if every one of its servers has room beside waiting rows."""
        if not self.enabled:
            return True
        servers = [self._server(h) for h in self.hosts(account)]
        if any(s.in_flight + s.waiting >= s.limit for s in servers):
            return False
        self._let_in(index, account)
        return True

    async def take(self, index: int, account: Account, stopping: anyio.Event) -> bool:
        """Wait until every one of the row's servers has room, then let it in (ahead of
        fresh rows, which leave room for waiting ones); return False, not let in, when the
        run is stopping or a server of the row stopped first."""
        if not self.enabled:
            return True
        servers = [self._server(h) for h in self.hosts(account)]
        for server in servers:
            server.waiting += 1
        try:
            while any(s.in_flight >= s.limit for s in servers):
                if stopping.is_set() or any(s.stopped for s in servers):
                    return False
                await self.changed()
        finally:
            for server in servers:
                server.waiting -= 1
        self._let_in(index, account)
        return True

    def _let_in(self, index: int, account: Account) -> None:
        tickets = []
        for host in self.hosts(account):
            server = self._server(host)
            server.in_flight += 1
            server.let_in += 1
            tickets.append((host, server.let_in))
        incoming, smtp = host_name(account.server), host_name(account.smtp_server)
        self._leases[index] = Lease(incoming, smtp, tuple(tickets))

    def release(self, index: int) -> None:
        """Give back row `index`'s room (none when it holds none); wake the waiting either
        way: a row that ends may be what a worker waits for (lookahead.py)."""
        lease = self._leases.pop(index, None)
        for host, _ in lease.tickets if lease else ():
            self._servers[host].in_flight -= 1
        self.wake()

    def succeeded(self, index: int) -> None:
        """Count a create the row's servers accepted: each earns room back."""
        lease = self._leases.get(index)
        for host, _ in lease.tickets if lease else ():
            server = self._servers[host]
            if server.limit < server.threshold:
                server.limit += 1  # slow start: one more per success, doubling per round
                continue
            server.earned += 1  # then one more per round: as many successes as the limit
            if server.earned >= server.limit:
                server.limit, server.earned = min(server.limit + 1, self.per_server), 0

    def failed(self, index: int, verdict: Verdict) -> bool:
        """Count what each failing side of a create's test login says about its server;
        return whether the row was throttled (and should be sent again later)."""
        lease = self._leases.get(index)
        if lease is None:
            return False
        tickets = dict(lease.tickets)
        throttled = False
        for side, code in verdict.sides:
            host = lease.incoming if side == "incoming" else lease.smtp
            if code in THROTTLED:
                throttled = True
                self._cut(host, tickets[host])
            elif code in REFUSED:
                self._refused(host)
        return throttled and verdict.retryable

    def _cut(self, host: str, ticket: int) -> None:
        """Halve the server's limit, once per round of rows."""
        server = self._servers[host]
        server.throttled += 1
        if ticket <= server.cut_at:
            return  # let in before the last cut: that cut answered it already
        server.limit = max(1, min(server.limit, server.in_flight) // 2)
        server.threshold, server.earned = server.limit, 0
        server.cut_at = server.let_in
        server.lowest = min(server.lowest or server.limit, server.limit)
        get_logger().info("mail_server.throttled", host=host, limit=server.limit)

    def _refused(self, host: str) -> None:
        server = self._servers[host]
        server.refused += 1
        server.limit = 1  # one row at a time until a row succeeds again
        if server.refused >= self.max_login_failures and not server.stopped:
            server.stopped = True
            get_logger().warning(
                "mail_server.stopped",
                host=host,
                refused_logins=server.refused,
                hint=Code.LOGIN_FAILURES_LIMIT.hint,
            )
            self.wake()

    async def changed(self) -> None:
        """Wait until a row gives back its room or a server stops (or `wake` is called)."""
        await self._changed.wait()

    def wake(self) -> None:
        """Wake every task waiting in `changed`."""
        self._changed.set()
        self._changed = anyio.Event()

    def facts(self) -> dict[str, Any]:
        """Return what summary.json says about the mail servers: the limits, and each server
        that throttled or refused logins."""
        eventful = {
            host: {
                "throttled": s.throttled,
                "lowest_limit": s.lowest or None,
                "refused_logins": s.refused,
                "stopped": s.stopped,
            }
            for host, s in sorted(self._servers.items())
            if s.throttled or s.refused
        }
        return {
            "per_server": self.per_server,
            "max_login_failures": self.max_login_failures,
            "servers": len(self._servers),
            "throttled": sum(s.throttled for s in self._servers.values()),
            "stopped": [host for host, s in eventful.items() if s["stopped"]],
            "eventful": eventful,
        }
