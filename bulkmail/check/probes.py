"""One unauthenticated probe per mail server, shared by every row that names it.

A server is (protocol, host name, port, encryption): the first row that needs it starts the
probe, later rows wait for its result. A certificate that fails verification is not a
failure (the portal ignores certificate errors, docs/portal-api.md §10): the probe is made
again without verification and the result says what verification found, so logins to that server
go without it too; a server that speaks only TLS 1.0 or 1.1, which the portal accepts and
Python's defaults refuse, is probed again allowing them, and said so.
"""

from __future__ import annotations

import contextlib
import ssl
import warnings
from dataclasses import dataclass

import anyio

from bulkmail.check import protocols
from bulkmail.check.failures import Finding, classify
from bulkmail.check.protocols import Live, Offer, Step
from bulkmail.check.targets import Target

__all__ = [
    "BELOW_TLS_1_2",
    "Contexts",
    "ProbeResult",
    "Probes",
    "allow_legacy",
    "as_portal",
    "unverified_context",
]


@dataclass(frozen=True, slots=True)
class Contexts:
    """The TLS contexts of a check: the trust store's, one that verifies nothing, and the same
    two allowing TLS 1.0 and 1.1 as the portal does (`legacy`)."""

    verified: ssl.SSLContext
    unverified: ssl.SSLContext
    legacy_verified: ssl.SSLContext | None = None  # None: built from the others on first use
    legacy_unverified: ssl.SSLContext | None = None

    @property
    def legacy(self) -> bool:
        """Whether this machine can speak TLS 1.0/1.1 (`allow_legacy` gave both contexts)."""
        return self.legacy_verified is not None and self.legacy_unverified is not None

    def pick(self, *, verify: bool, legacy: bool) -> ssl.SSLContext:
        """Return the context that verifies certificates or not, and allows TLS below 1.2 or
        not; a legacy one missing is the non-legacy one (a platform without TLS 1.0/1.1)."""
        if legacy:
            chosen = self.legacy_verified if verify else self.legacy_unverified
            if chosen is not None:
                return chosen
        return self.verified if verify else self.unverified


def unverified_context() -> ssl.SSLContext:
    """Return a client context that accepts any certificate, as the portal does."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def as_portal(context: ssl.SSLContext) -> ssl.SSLContext:
    """Return `context` capped at TLS 1.2, as the portal connects: its MailKit is given TLS
    1.0, 1.1 and 1.2 (docs/portal-api.md §10), so a server of TLS 1.3 alone fails there, and
    must fail here too."""
    with contextlib.suppress(ValueError, AttributeError):  # a context that cannot be capped
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def allow_legacy(context: ssl.SSLContext) -> ssl.SSLContext | None:
    """Let `context` speak TLS 1.0 and 1.1 too, as the portal's MailKit does (SslProtocols Tls,
    Tls11, Tls12: docs/portal-api.md §10); return it, or None when this machine's OpenSSL
    cannot (built without them).

    Python's default context starts at TLS 1.2, and OpenSSL 3's default security level 1
    refuses TLS 1.0/1.1 handshakes (their SHA-1 signatures): both are lowered, on this
    context only, which the check uses only after a server refused TLS 1.2 and above.
    """
    try:
        with warnings.catch_warnings():  # "TLSv1 is deprecated": the point, said by a note
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError, AttributeError):  # AttributeError: a context without
        return None  # set_ciphers (truststore's, on Windows and macOS)
    return context


BELOW_TLS_1_2 = frozenset({"TLSv1", "TLSv1.1"})
"""The TLS versions (`ssl.SSLSocket.version()`) below 1.2 that the portal still speaks."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one server's probe found: its offer, or the failure; its certificate and TLS."""

    offer: Offer | None
    failure: Finding | None
    certificate: str = ""  # why verification failed ("" when it passed or no TLS was made)
    # The TLS version reached with TLS 1.0/1.1 and old ciphers allowed, which logins then
    # allow too: below 1.2 ("TLSv1.1"), or "TLSv1.2" that needs the old ciphers or keys; ""
    # when the server needs none of that
    legacy: str = ""


def probe_blocking(
    target: Target, contexts: Contexts, timeout: float, live: Live | None = None
) -> ProbeResult:
    """Probe `target` (blocking: run it in a thread).

    As the portal would connect: a certificate that fails verification is probed again
    without verification; a TLS handshake that fails otherwise is tried again with TLS 1.0
    and 1.1 allowed (a server of only those may answer an offer of 1.2 and 1.3 with an
    alert, or just by hanging up), and if that one fails too, the first failure is the
    result. A retry that got TLS 1.2 all the same is no old server's: the first handshake
    was cut short, or the server's TLS 1.2 needs the old ciphers or keys the retry allows; one
    more session as at first tells which, so that logins are weakened only when they must
    be. The result says what each retry found. At most four sessions.
    """
    certificate, legacy, first = "", False, None
    relaxed: Offer | None = None  # TLS 1.2 reached only with TLS 1.0/1.1 allowed
    for _ in range(4):
        step = Step()
        context = contexts.pick(verify=not certificate, legacy=legacy)
        try:
            offer = protocols.probe(target, context, timeout, step, live)
        except ssl.SSLCertVerificationError as err:
            if certificate:  # cannot be: an unverified context verifies nothing
                raise
            certificate = " ".join(str(err.verify_message or err.reason or err).split())
            continue
        except ssl.SSLError as err:
            if relaxed is not None:  # TLS 1.2 again refused as at first: it needs the retry's
                return ProbeResult(relaxed, None, certificate, relaxed.tls_version)
            first = first or classify(err, target, step)
            if legacy or not contexts.legacy:
                return ProbeResult(None, first, certificate)
            legacy = True
            continue
        except Exception as err:  # a session's failure; classify raises a bug again
            if relaxed is not None:  # the retry's session did work
                return ProbeResult(relaxed, None, certificate, relaxed.tls_version)
            return ProbeResult(None, first or classify(err, target, step), certificate)
        if legacy and offer.tls_version not in BELOW_TLS_1_2:
            relaxed, legacy = offer, False
            continue
        return ProbeResult(offer, None, certificate, offer.tls_version if legacy else "")
    raise AssertionError("unreachable: each retry changes one of two settings")


class Probes:
    """The run's probes, one per server, each started by the first row that needs it."""

    def __init__(
        self,
        contexts: Contexts,
        timeout: float,
        limiter: anyio.CapacityLimiter,
        live: Live | None = None,
    ) -> None:
        self._contexts, self._timeout, self._limiter = contexts, timeout, limiter
        self._live = live  # the sessions an interrupt ends
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
                # Abandoned when the check is cancelled (an interrupt): `live` ends the session.
                self._done[key] = await anyio.to_thread.run_sync(
                    probe_blocking,
                    target,
                    self._contexts,
                    self._timeout,
                    self._live,
                    limiter=self._limiter,
                    abandon_on_cancel=True,
                )
            finally:
                del self._running[key]
                event.set()
        return self._done[key]
