"""A guard for tests that run `bulkmail check`: a name other than loopback's is never looked up.

Every client the check uses (imaplib, poplib, smtplib) connects through
`socket.create_connection`, which looks the host up with `socket.getaddrinfo`: refusing any
other host there means a test that would reach a real mail server fails instead, with an
error that is not an OSError (the check maps those to codes; this one it raises again).
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

LOOPBACK = frozenset({"127.0.0.1", "localhost", b"127.0.0.1", b"localhost"})


def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every look-up of a host other than 127.0.0.1 fail the test."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK:
            raise AssertionError(f"a test tried to reach {host!r}, not 127.0.0.1")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
