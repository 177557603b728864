"""The simulator's limit on a request's head (request line and headers): 64 KiB, else 431.

uvicorn's h11 parser refuses a head over 16 KiB by itself, but with httptools (the faster
parser the simulator prefers) it keeps every byte of an endless header or URL: 200 MB sent
was 200 MB held. A front end refuses that early (nginx: 4 buffers of 8 KiB); so does this.
"""

from __future__ import annotations

import importlib.util
from asyncio import Protocol
from typing import Final

__all__ = ["MAX_HEAD_BYTES", "http_protocol"]

MAX_HEAD_BYTES: Final = 64 * 1024
"""The largest request head the simulator reads, in bytes: the API's heads are under 1 KB
(a token and a few headers, docs/portal-api.md §3, §16)."""

_TOO_LARGE: Final = b"Request Header Fields Too Large"


def http_protocol() -> type[Protocol] | str:
    """Return uvicorn's `http` setting: httptools with the head limit, or h11 (limited itself)."""
    if importlib.util.find_spec("httptools") is None:
        return "h11"
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeadLimitedHttpTools(HttpToolsProtocol):
        """uvicorn's httptools protocol, answering 431 once a head passes MAX_HEAD_BYTES.

        A socket read (256 KiB at most) is counted when it lies wholly within one head: it
        began inside a head, and no head ended and no message ended while it was parsed. So
        a body is never counted, and what is held past the limit is one read at most (or two,
        when a head begins in a read that ended a message).
        """

        _in_head = True  # between the end of a message (or the connection's start) and a head's
        _head_bytes = 0
        _heads = 0  # heads ended on this connection

        def data_received(self, data: bytes) -> None:
            inside, heads = self._in_head, self._heads
            super().data_received(data)
            if inside and self._in_head and self._heads == heads:
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES:
                    self._refuse()

        def on_headers_complete(self) -> None:
            self._in_head, self._head_bytes = False, 0
            self._heads += 1
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_head = True
            super().on_message_complete()

        def _refuse(self) -> None:
            if self.transport.is_closing():
                return
            head = b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            fields = b"content-type: text/plain\r\nconnection: close\r\ncontent-length: %d\r\n\r\n"
            self.transport.write(head + fields % len(_TOO_LARGE) + _TOO_LARGE)
            self.transport.close()

    return HeadLimitedHttpTools
