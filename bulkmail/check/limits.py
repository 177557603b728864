"""The bounds of one session with a mail server, and the standard clients that keep to them.

Every socket operation of a session is bounded by its `timeout`; the clients bound a line,
not a session, so a server that trickles a byte at a time, or answers with lines without
end, would hold a session for ever or fill memory. Here a whole session is bounded by
`SESSION_TIMEOUTS` times the timeout (a watchdog shuts the socket) and `SESSION_BYTES` read
(the metered clients count every read), and `Live` lets an interrupt end every running
session at once. `TimeoutError` and `TooMuch` are what a session past its bounds raises.
"""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import smtplib
import socket
import threading
from collections.abc import Iterator
from typing import IO, Any, Final

__all__ = [
    "IMAP4",
    "IMAP4_SSL",
    "POP3",
    "POP3_SSL",
    "SESSION_BYTES",
    "SESSION_TIMEOUTS",
    "SMTP",
    "SMTP_SSL",
    "Limits",
    "Live",
    "TooMuch",
]

SESSION_BYTES: Final = 1 << 20
"""Bytes one session reads at most (1 MiB; a real server's answers to a session are a few KB)."""
SESSION_TIMEOUTS: Final = 4
"""A session lasts at most this many `timeout`s (connect, greeting, STARTTLS, login, logout)."""


class TooMuch(EOFError):
    """A server sent more than `SESSION_BYTES` in one session (an EOFError: the clients let
    it through as it is, as they do no OSError)."""


_LATE = f"the session took more than {SESSION_TIMEOUTS} x --timeout"


class Limits:
    """One session's bounds: the bytes it may still read, and a watchdog that shuts the
    client's socket at the session's deadline (which ends a read blocked in another thread)."""

    def __init__(self, timeout: float) -> None:
        self.left = SESSION_BYTES
        self.client: Any = None  # set by the client as it starts: its `sock` is shut
        self.expired = False
        # The connection as soon as it is made (a duplicate: TLS takes the first one over
        # while it shakes hands), so that a handshake or a greeting waited for ends too
        self._connection: socket.socket | None = None
        self._timer = threading.Timer(timeout * SESSION_TIMEOUTS, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        self.expire()

    def expire(self) -> None:
        """End the session now: its blocked read returns, and it raises TimeoutError."""
        self.expired = True
        for sock in (getattr(self.client, "sock", None), self._connection):
            if isinstance(sock, socket.socket):  # the plain call: an SSLSocket's drops its TLS
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def opened(self, sock: socket.socket) -> socket.socket:
        """Hold the session's new connection `sock` (before TLS, greeting), for `expire` to
        end; a session that expired already ends at once. Return `sock`."""
        self._connection = sock.dup()
        if self.expired:  # before the connection existed: nothing was shut then
            self.expire()
        return sock

    def took(self, data: bytes, coming: int = 0) -> bytes:
        """Count `data` read; raise TimeoutError past the deadline, TooMuch past the bytes
        (counting `coming` bytes announced as well)."""
        self.left -= len(data)
        if self.expired:
            raise TimeoutError(_LATE)
        if self.left < max(coming, 0):
            raise TooMuch(f"the server sent more than {SESSION_BYTES >> 20} MiB in one session")
        return data

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Run the watchdog while the session runs; a session it ended raises TimeoutError."""
        self._timer.start()
        try:
            yield
        except Exception as err:
            if self.expired and not isinstance(err, TimeoutError):
                raise TimeoutError(_LATE) from err
            raise
        finally:
            self._timer.cancel()
            if self._connection is not None:
                self._connection.close()


class Live:
    """The sessions running now, so that an interrupt ends them at once (`end_all`) instead
    of waiting for each thread's own timeouts; a session started after that is refused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[Limits] = set()
        self.ended = False

    @contextlib.contextmanager
    def running(self, limits: Limits) -> Iterator[None]:
        """Hold `limits`' session as running; raise TimeoutError once `end_all` was called."""
        with self._lock:
            if self.ended:
                raise TimeoutError("the check was interrupted")
            self._running.add(limits)
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(limits)

    def end_all(self) -> None:
        """End every running session (callable from any thread) and refuse new ones."""
        with self._lock:
            self.ended = True
            running = list(self._running)
        for limits in running:
            limits.expire()


class _Metering:
    """A standard client (first in its bases) that counts its reads against `limits`."""

    _limits: Limits

    def __init__(self, limits: Limits, *args: Any, **kwargs: Any) -> None:
        self._limits, limits.client = limits, self
        super().__init__(*args, **kwargs)  # the standard client's own


class IMAP4(_Metering, imaplib.IMAP4):
    """IMAP4 whose reads count against its session's limits."""

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return self._limits.opened(super()._create_socket(timeout))  # type: ignore[misc]

    def readline(self) -> bytes:
        return self._limits.took(super().readline())

    def read(self, size: int) -> bytes:  # a literal of `size` bytes the server announced
        self._limits.took(b"", size)  # refused before it is read: imaplib reads it whole
        return self._limits.took(super().read(size))


class IMAP4_SSL(IMAP4, imaplib.IMAP4_SSL):  # the standard client's name
    """IMAP4_SSL whose reads count against its session's limits."""

    def _create_socket(self, timeout: float | None) -> socket.socket:  # held before TLS
        sock = self._limits.opened(imaplib.IMAP4._create_socket(self, timeout))  # type: ignore[attr-defined]
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[no-any-return]


class POP3(_Metering, poplib.POP3):
    """POP3 whose lines count against its session's limits."""

    def _create_socket(self, timeout: float) -> socket.socket:
        return self._limits.opened(super()._create_socket(timeout))  # type: ignore[misc]

    def _getline(self) -> tuple[bytes, int]:
        line, octets = super()._getline()  # type: ignore[misc]
        self._limits.took(line)
        return line, octets


class POP3_SSL(POP3, poplib.POP3_SSL):  # the standard client's name
    """POP3_SSL whose lines count against its session's limits."""

    def _create_socket(self, timeout: float) -> socket.socket:  # held before TLS
        sock = self._limits.opened(poplib.POP3._create_socket(self, timeout))  # type: ignore[attr-defined]
        return self.context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined,no-any-return]


class SMTP(_Metering, smtplib.SMTP):
    """SMTP whose reply lines count against its session's limits."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self._limits.opened(super()._get_socket(host, port, timeout))  # type: ignore[misc]

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None and self.sock is not None:  # as smtplib makes it, metered
            self.file = _Metered(self.sock.makefile("rb"), self._limits)
        return super().getreply()


class SMTP_SSL(SMTP, smtplib.SMTP_SSL):  # the standard client's name
    """SMTP_SSL whose reply lines count against its session's limits."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:  # before TLS
        sock = self._limits.opened(smtplib.SMTP._get_socket(self, host, port, timeout))  # type: ignore[attr-defined]
        return self.context.wrap_socket(sock, server_hostname=self._host)  # type: ignore[attr-defined]


class _Metered:
    """A socket file whose lines count against a session's limits (what smtplib reads)."""

    def __init__(self, file: IO[bytes], limits: Limits) -> None:
        self._file, self._limits = file, limits

    def readline(self, size: int = -1) -> bytes:
        return self._limits.took(self._file.readline(size))

    def close(self) -> None:
        self._file.close()
