"""A lean HTTP/1.1 transport for httpx: keep-alive connections on asyncio, parsed by httptools.

httpx's own transport (httpcore and h11 over anyio streams) costs about 2 ms of CPU per
request on this project's machines, where httpx's client layer costs 0.3 ms. At 50 workers
and a portal answering in 100 ms that is 500 requests a second: one core spent on HTTP
framing alone, and the run becomes CPU-bound long before the portal is. This transport does
the same framing with httptools (C) on a plain `asyncio.Protocol`, in a fraction of that.

It carries what bulkmail sends and nothing more exotic: HTTP/1.1 over TCP or TLS, request
bodies of known length, responses of any framing httptools reads (length, chunked, or until
the server closes). Anything else (another scheme, a streamed upload, HEAD, a non-asyncio
event loop) goes to httpx's own transport, so a client built on it never refuses a request
httpx would send. Errors and timeouts are httpx's exception types, so callers cannot tell
the two transports apart.

The transport keeps the connections it opened and reuses idle ones; bulkmail gives each
worker its own client, so in practice each holds one connection. The read timeout bounds the
whole answer, from sending the request to its last byte (httpx's own bounds each read): for
the portal, which answers a create only after testing both mail servers, that is the wait
`--timeout` means.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Final, cast

import httpx
import sniffio

try:
    import httptools

    AVAILABLE = True
except ImportError:  # pragma: no cover - httptools is a dependency; keep working without it
    AVAILABLE = False

_PORTS: Final = {"http": 80, "https": 443}
_DISCONNECTED: Final = "Server disconnected without sending a response."


class _Exchange(asyncio.Protocol):
    """One connection and the response being read on it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[httpx.Response] | None = None
        self._reset()

    def _reset(self) -> None:
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.headers_done = False
        self.status = 0
        self.version = "1.1"
        self.keep_alive = False
        self.started = False  # a byte of this response has arrived
        self.stray = False  # more than one answer came: the connection is out of step

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport; uvloop's do not subclass asyncio.Transport, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.started = True
        if self._waiter is None or self._waiter.done():
            # Bytes nobody asked for (on an idle connection, or after a whole answer): the
            # connection is out of step, so it is never used again.
            self.abort()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("the server switched protocols"))
        except httptools.HttpParserError as err:
            self._fail(httpx.RemoteProtocolError(f"malformed answer from the server: {err}"))

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self.headers_done and not self._framed():
            self.on_message_complete()  # the body ran until the server closed
        elif not self.started:
            self._fail(httpx.RemoteProtocolError(_DISCONNECTED))
        else:
            self._fail(httpx.ReadError(f"the server closed the connection mid-answer: {exc}"))

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._waiter is None or self._waiter.done():
            self.stray = True

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        # Read the parser's state now: once the message completes, it has moved on.
        self.headers_done = True
        self.status = self._parser.get_status_code()
        self.version = self._parser.get_http_version()
        self.keep_alive = self._parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:
            self._reset()  # an informational answer (100 Continue): the real one follows
            self.started = True
            return
        if self._waiter is not None and not self._waiter.done():
            # Built now: bytes after this answer must not reach it (see on_message_begin).
            self._waiter.set_result(self._response())

    def _response(self) -> httpx.Response:
        return httpx.Response(
            self.status,
            headers=self.headers,
            stream=httpx.ByteStream(b"".join(self.body)),
            extensions={
                "http_version": b"HTTP/" + self.version.encode(),
                "reason_phrase": self.reason,
            },
        )

    # the exchange

    async def exchange(self, data: bytes, read_timeout: float | None) -> httpx.Response:
        """Send `data` (a whole request) and return the whole response."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._reset()
        waiter: asyncio.Future[httpx.Response] = loop.create_future()
        self._waiter = waiter
        timer = None
        if read_timeout is not None:
            timer = loop.call_later(read_timeout, self._time_out, read_timeout)
        try:
            self.transport.write(data)
            response = await waiter
        except BaseException:
            self.abort()  # cancelled or failed mid-exchange: the connection is out of step
            raise
        finally:
            if timer is not None:
                timer.cancel()
            self._waiter = None
        if self.stray or not self.keep_alive:
            self.abort()
        return response

    def abort(self) -> None:
        """Close at once; the connection is never used again."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _framed(self) -> bool:
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" in names or b"transfer-encoding" in names

    def _fail(self, err: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(err)
        self.abort()

    def _time_out(self, seconds: float) -> None:
        self._fail(httpx.ReadTimeout(f"no answer within {seconds:g} s"))


class LeanTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` for plain HTTP/1.1 exchanges (see the module's text)."""

    def __init__(self, *, verify: ssl.SSLContext | None = None) -> None:
        """`verify` checks the servers of https URLs (None: the system's default, when needed)."""
        if not AVAILABLE:  # pragma: no cover
            raise RuntimeError("httptools is not installed")
        self._tls = verify
        self._idle: dict[tuple[str, str, int], list[_Exchange]] = {}
        self._fallback: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._handles(request):
            return await self._default().handle_async_request(request)
        url = request.url
        origin = (url.scheme, url.host, url.port or _PORTS[url.scheme])
        timeout = request.extensions.get("timeout", {})
        head = [request.method.encode(), b" ", url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            head += (name, b": ", value, b"\r\n")
        head.append(b"\r\n")
        body = await request.aread()
        connection = self._take(origin) or await self._open(origin, timeout.get("connect"))
        response = await connection.exchange(b"".join(head) + body, timeout.get("read"))
        if not connection.closed:
            self._idle.setdefault(origin, []).append(connection)
        return response

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.abort()
        self._idle.clear()
        if self._fallback is not None:
            await self._fallback.aclose()

    def _handles(self, request: httpx.Request) -> bool:
        return (
            request.url.scheme in _PORTS
            and request.method != "HEAD"
            and isinstance(request.stream, httpx.ByteStream)
            and _on_asyncio()
        )

    def _take(self, origin: tuple[str, str, int]) -> _Exchange | None:
        connections = self._idle.get(origin)
        while connections:
            connection = connections.pop()
            if not connection.closed:
                return connection
        return None

    async def _open(self, origin: tuple[str, str, int], seconds: float | None) -> _Exchange:
        scheme, host, port = origin
        tls = self._context() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(seconds):
                _, connection = await loop.create_connection(
                    _Exchange, host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"no connection to {host}:{port} within {seconds:g} s"
            ) from None
        except (OSError, ssl.SSLError) as err:
            raise httpx.ConnectError(str(err) or type(err).__name__) from err
        return connection

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def _default(self) -> httpx.AsyncHTTPTransport:
        if self._fallback is None:
            self._fallback = httpx.AsyncHTTPTransport(verify=self._context())
        return self._fallback


def _on_asyncio() -> bool:
    try:
        return sniffio.current_async_library() == "asyncio"
    except sniffio.AsyncLibraryNotFoundError:  # pragma: no cover
        return False


__all__ = ["AVAILABLE", "LeanTransport"]
