"""Read a portal answer's body with a cap on what it may cost, whatever the server sends.

The portal API's answers are a few KB of JSON (docs/portal-api.md §15); a hostile or broken
server can send a gzip bomb, a body that never ends, or a Content-Length that lies. So the
body is streamed and counted twice: as received (after HTTP/1.1 chunking, before any content
coding) and once decoded, and reading stops the moment either count passes the cap. The
content codings are undone here, a bounded piece at a time, never by httpx's decoders: those
inflate a whole received chunk at once, and a 64 KiB chunk of a gzip bomb is 64 MB inflated
(a layered "gzip, gzip" one, gigabytes).

Pure of any verdict: the caller turns an `Unreadable` into one (`portal.answers`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Final, Literal

import httpx

__all__ = ["ACCEPT_ENCODING", "MAX_ANSWER_BYTES", "Unreadable", "read_capped"]

MAX_ANSWER_BYTES: Final = 4 * 1024 * 1024
"""The most bytes an answer's body may hold, as received and once decoded: 4 MiB.

The API's answers are a few KB (docs/portal-api.md §16); the largest, a full page of the
account list (1,000 MailAccountData items, §13, §15), is about 0.6 MB. 4 MiB leaves room for
long signatures and names, and 50 workers each holding one answer stay near 200 MB.
"""

ACCEPT_ENCODING: Final = "identity"
"""What bulkmail asks the portal for: no compression.

The answers are a few KB of JSON (docs/portal-api.md §15), where gzip saves next to nothing and
lets a server send 1,000 times more than it transmits. A gzip or deflate body that a proxy
sends anyway is still read (capped, decoded here); other codings (br, zstd) are refused.
"""

# The zlib window of each coding bulkmail decodes (RFC 9110 §8.4.1); 0: decided on reading.
_WBITS: Final = {"gzip": zlib.MAX_WBITS | 16, "deflate": 0}

Reason = Literal["size", "coding", "damaged"]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An answer whose body was not read whole: its status, and why (`detail` is one clause)."""

    response: httpx.Response  # status and headers; the body is not there
    reason: Reason
    detail: str


class _Refused(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class _Inflater:
    """Undo one content coding, giving back at most `room` bytes per call."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        # deflate: the zlib format (RFC 9110) or, as some servers send it, raw deflate.
        wbits = _WBITS[coding] or zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)
        self._raw_deflate_allowed = coding == "deflate"

    @property
    def holding(self) -> bool:
        """Whether input is waiting that the last call had no room to inflate."""
        return bool(self._z.unconsumed_tail) and not self._z.eof

    def inflate(self, data: bytes, room: int) -> bytes:
        if self._z.eof:
            return b""  # what follows the end of the stream is counted as received, not read
        data = self._z.unconsumed_tail + data if self._z.unconsumed_tail else data
        try:
            out = self._z.decompress(data, room)
        except zlib.error as err:
            if not self._raw_deflate_allowed:
                raise _Refused("damaged", f"its {self.coding} body is damaged ({err})") from None
            self._raw_deflate_allowed = False
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.inflate(data, room)
        self._raw_deflate_allowed = False
        return out


class _Decoder:
    """Undo every content coding of an answer, in reverse order, within `cap` bytes at each step."""

    def __init__(self, codings: list[str], cap: int) -> None:
        self._stages = [_Inflater(c) for c in reversed(codings)]
        self._made = [0] * len(self._stages)
        self._cap = cap

    def decode(self, data: bytes) -> bytes:
        """Return what `data` decodes to; raise _Refused once any step makes more than the cap."""
        if not self._stages:
            return data
        out = bytearray()
        while True:
            out += self._through(data)
            data = b""
            if not any(stage.holding for stage in self._stages):
                return bytes(out)

    def _through(self, data: bytes) -> bytes:
        for i, stage in enumerate(self._stages):
            # max_length 0 would mean "unbounded" to zlib: room is at least 1 while under the cap.
            data = stage.inflate(data, self._cap + 1 - self._made[i])
            self._made[i] += len(data)
            if self._made[i] > self._cap:
                raise _Refused("size", f"more than {_size(self._cap)} once {stage.coding} decoded")
        return data


def _codings(response: httpx.Response) -> list[str]:
    """Return the content codings the answer says it applied, in order; refuse unknown ones."""
    codings = []
    for value in response.headers.get_list("content-encoding", split_commas=True):
        coding = value.strip().lower().removeprefix("x-")  # x-gzip is gzip (RFC 9110 §8.4.1.3)
        if coding in ("", "identity"):
            continue
        if coding not in _WBITS:
            raise _Refused("coding", f"its body is in {coding!r}, which bulkmail did not ask for")
        codings.append(coding)
    return codings


def _declared(response: httpx.Response, cap: int) -> None:
    """Refuse at once an answer that declares a Content-Length over the cap."""
    length = response.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > cap:
        raise _Refused("size", f"it declares {int(length):,} bytes, over {_size(cap)}")


async def read_capped(
    response: httpx.Response, cap: int = MAX_ANSWER_BYTES
) -> httpx.Response | Unreadable:
    """Read a streamed answer's body, decoded, and return it as a new, read response.

    Stops at the first byte past `cap`, counted as received and once decoded; the caller
    closes `response` (an answer not read to its end closes its connection). The new
    response has the status, headers (without Content-Encoding) and extensions of the old.
    """
    if response.is_stream_consumed:  # an in-process transport's answer, read already
        if len(response.content) > cap:
            return Unreadable(response, "size", f"more than {_size(cap)} were sent")
        return response
    received, body = 0, bytearray()
    try:
        _declared(response, cap)
        codings = _codings(response)
        decoder = _Decoder(codings, cap)
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > cap:
                raise _Refused("size", f"more than {_size(cap)} were sent")
            body += decoder.decode(chunk)
    except _Refused as refused:
        return Unreadable(response, refused.reason, refused.detail)
    return _with_body(response, bytes(body), decoded=bool(codings))


def _with_body(response: httpx.Response, body: bytes, *, decoded: bool) -> httpx.Response:
    headers: httpx.Headers | list[tuple[str, str]] = response.headers
    if decoded:  # the old length and coding describe the bytes received, not these
        stale = ("content-length", "content-encoding")
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in stale]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        extensions=response.extensions,
    )


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:g} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"
