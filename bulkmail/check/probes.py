"""One unauthenticated probe per mail server, shared by every row that names it.

A server is (protocol, host name, port, encryption): the first row that needs it starts the
probe, later rows wait for its result. A certificate that fails verification is not a
failure (the portal ignores certificate errors, docs/portal-api.md §10): the probe is made
again without verification and the result says what verification found, so logins to that server
go without it too.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import anyio

from bulkmail.check import protocols
from bulkmail.check.failures import Finding, classify
from bulkmail.check.protocols import Offer, Step
from bulkmail.check.targets import Target

__all__ = ["Contexts", "ProbeResult", "Probes", "unverified_context"]


@dataclass(frozen=True, slots=True)
class Contexts:
    """The TLS contexts of a check: the trust store's, and one that verifies nothing."""

    verified: ssl.SSLContext
    unverified: ssl.SSLContext


def unverified_context() -> ssl.SSLContext:
    """Return a client context that accepts any certificate, as the portal does."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one server's probe found: its offer, or the failure; and its certificate."""

    offer: Offer | None
    failure: Finding | None
    certificate: str = ""  # why verification failed ("" when it passed or no TLS was made)


def probe_blocking(target: Target, contexts: Contexts, timeout: float) -> ProbeResult:
    """Probe `target` (blocking: run it in a thread)."""
    step = Step()
    try:
        return ProbeResult(protocols.probe(target, contexts.verified, timeout, step), None)
    except ssl.SSLCertVerificationError as err:
        certificate = " ".join(str(err.verify_message or err.reason or err).split())
    except Exception as err:  # a session's failure; classify raises a bug again
        return ProbeResult(None, classify(err, target, step))
    step = Step()
    try:
        offer = protocols.probe(target, contexts.unverified, timeout, step)
    except Exception as err:
        return ProbeResult(None, classify(err, target, step), certificate)
    return ProbeResult(offer, None, certificate)


class Probes:
    """The run's probes, one per server, each started by the first row that needs it."""

    def __init__(self, contexts: Contexts, timeout: float, limiter: anyio.CapacityLimiter):
        self._contexts, self._timeout, self._limiter = contexts, timeout, limiter
        self._done: dict[tuple[str, str, int, int], ProbeResult] = {}
        self._running: dict[tuple[str, str, int, int], anyio.Event] = {}

    @property
    def made(self) -> int:
        """Return how many servers were probed."""
        return len(self._done)

    async def get(self, target: Target) -> ProbeResult:
        """Return `target`'s probe result, probing it if no row has yet."""
        key = target.key
        while key not in self._done:
            running = self._running.get(key)
            if running is not None:
                await running.wait()
                continue
            self._running[key] = event = anyio.Event()
            try:
                self._done[key] = await anyio.to_thread.run_sync(
                    probe_blocking, target, self._contexts, self._timeout, limiter=self._limiter
                )
            finally:
                del self._running[key]
                event.set()
        return self._done[key]
