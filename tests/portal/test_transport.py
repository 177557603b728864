"""The lean HTTP/1.1 transport: framing, keep-alive, errors and timeouts as httpx's own.

Each test talks to a scripted server on loopback that answers with raw bytes, so framing
cases a well-behaved server never produces (a body until close, a drop mid-answer, garbage)
are covered too.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import trustme

from bulkmail.portal import http as jobs
from bulkmail.portal.transport import LeanTransport
from bulkmail.settings import PortalSettings
from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.anyio

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Scripted:
    """A loopback server: each request (head and body) goes to `answer`, which writes bytes."""

    answer: Answer
    url: str = ""
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


@asynccontextmanager
async def scripted(answer: Answer, tls: ssl.SSLContext | None = None) -> AsyncIterator[Scripted]:
    server = Scripted(answer)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            while (request := await _read_request(reader)) is not None:
                server.requests.append(request)
                await server.answer(request, writer)
                if writer.is_closing():
                    break
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        yield server
    finally:
        listener.close()


def response(status: int, body: bytes, *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever", *headers]
    if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def replying(data: bytes, *, close: bool = False) -> Answer:
    async def answer(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        if close:
            writer.close()

    return answer


def client(url: str, read: float = 5.0) -> httpx.AsyncClient:
    tls = ssl.create_default_context()
    return httpx.AsyncClient(
        base_url=url,
        timeout=httpx.Timeout(read, connect=2.0),
        transport=LeanTransport(verify=tls),
    )


async def test_post_sends_head_and_body_and_reads_the_answer() -> None:
    answer = replying(response(201, b'{"ok": 1}', "X-Thing: a"))
    async with scripted(answer) as server, client(server.url) as c:
        r = await c.post("api/2.0/mail/accounts?x=1", json={"email": "a@b.org"})
    assert (r.status_code, r.json(), r.headers["x-thing"]) == (201, {"ok": 1}, "a")
    assert r.http_version == "HTTP/1.1" and r.reason_phrase == "Whatever"
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /api/2.0/mail/accounts?x=1 HTTP/1.1\r\n")
    assert b"\r\ncontent-type: application/json" in head.lower()
    assert json.loads(body) == {"email": "a@b.org"}


async def test_keep_alive_reuses_one_connection() -> None:
    async with scripted(replying(response(200, b"{}"))) as server, client(server.url) as c:
        for _ in range(5):
            assert (await c.get("/")).status_code == 200
    assert (server.connections, len(server.requests)) == (1, 5)


async def test_connection_close_answer_is_not_reused() -> None:
    answer = replying(response(200, b"{}", "Connection: close"), close=True)
    async with scripted(answer) as server, client(server.url) as c:
        for _ in range(3):
            assert (await c.get("/")).status_code == 200
    assert server.connections == 3


async def test_an_idle_connection_the_server_closed_is_replaced() -> None:
    answer = replying(response(200, b"{}"), close=True)
    async with scripted(answer) as server, client(server.url) as c:
        assert (await c.get("/")).status_code == 200
        await asyncio.sleep(0.05)  # the server's FIN arrives while idle
        assert (await c.get("/")).status_code == 200
    assert server.connections == 2


async def test_chunked_and_gzip_bodies_are_decoded() -> None:
    packed = gzip.compress(b'{"response": [1, 2, 3]}')
    chunks = (
        b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (packed[:7], packed[7:])) + b"0\r\n\r\n"
    )
    data = response(200, chunks, "Transfer-Encoding: chunked", "Content-Encoding: gzip")
    async with scripted(replying(data)) as server, client(server.url) as c:
        r = await c.get("/")
    assert r.json() == {"response": [1, 2, 3]}


async def test_a_body_framed_by_close_ends_at_close() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it"
    async with scripted(replying(data, close=True)) as server, client(server.url) as c:
        r = await c.get("/")
    assert r.text == "all of it"


async def test_an_informational_answer_is_skipped() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\n" + response(201, b"{}")
    async with scripted(replying(data)) as server, client(server.url) as c:
        assert (await c.post("/", json={})).status_code == 201


async def test_a_drop_before_any_byte_is_remote_protocol_error() -> None:
    async with scripted(replying(b"", close=True)) as server, client(server.url) as c:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await c.post("/", json={})


async def test_a_drop_mid_answer_is_read_error() -> None:
    data = response(200, b"")[:-4].replace(b"Content-Length: 0", b"Content-Length: 50")
    answer = replying(data + b"\r\n\r\npartial", close=True)
    async with scripted(answer) as server, client(server.url) as c:
        with pytest.raises(httpx.ReadError, match="mid-answer"):
            await c.get("/")


async def test_garbage_is_remote_protocol_error() -> None:
    async with scripted(replying(b"SMTP ready\r\n\r\n")) as server, client(server.url) as c:
        with pytest.raises(httpx.RemoteProtocolError, match="malformed"):
            await c.get("/")


async def test_no_answer_in_time_is_read_timeout_and_the_connection_is_dropped() -> None:
    calls = 0

    async def slow_first(request: bytes, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.5)
        writer.write(response(200, b"{}"))

    async with scripted(slow_first) as server, client(server.url, read=0.1) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get("/")
        assert (await c.get("/")).status_code == 200  # a new connection, in step
    assert server.connections == 2


async def test_a_refused_connection_is_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    async with client(f"http://127.0.0.1:{port}") as c:
        with pytest.raises(httpx.ConnectError):
            await c.get("/")


async def test_cancelled_mid_exchange_the_connection_is_not_reused() -> None:
    async def never(request: bytes, writer: asyncio.StreamWriter) -> None:
        if len(server.requests) == 1:
            await asyncio.sleep(5)
        writer.write(response(200, b"{}"))

    async with scripted(never) as server, client(server.url) as c:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await c.get("/")
        assert (await c.get("/")).status_code == 200
    assert server.connections == 2


async def test_a_streamed_upload_goes_through_httpx_own_transport() -> None:
    async def parts() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    async def echo(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, b"{}"))

    async with scripted(echo) as server, client(server.url) as c:
        r = await c.post("/", content=parts(), headers={"Content-Length": "2"})
    assert r.status_code == 200
    assert server.requests[0].endswith(b"\r\n\r\nab")


async def test_tls_with_the_given_context() -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    async with scripted(replying(response(200, b'{"tls": true}')), tls=server_ctx) as server:
        async with httpx.AsyncClient(transport=LeanTransport(verify=client_ctx)) as c:
            assert (await c.get(server.url)).json() == {"tls": True}
        untrusting = LeanTransport(verify=ssl.create_default_context())
        async with httpx.AsyncClient(transport=untrusting) as c:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await c.get(server.url)


async def test_against_the_simulator() -> None:
    with running(SimConfig()) as url:
        async with client(url) as c:
            r = await c.post(
                "api/2.0/authentication",
                json={"userName": "user@corp.example.org", "password": "Secret-1"},
            )
            token = r.json()["response"]["token"]
            listed = await c.get("api/2.0/mail/accounts", headers={"Authorization": token})
    assert (r.status_code, listed.status_code, listed.json()["response"]) == (201, 200, [])


async def test_the_factory_leaves_proxies_to_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    async def as_proxy(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, b'{"via": "proxy"}'))

    async with scripted(as_proxy) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        factory = jobs.make_client_factory(PortalSettings(url="http://portal.invalid"))
        async with factory() as c:
            r = await c.get("api/2.0/mail/accounts")
    assert r.json() == {"via": "proxy"}
    assert proxy.requests[0].startswith(b"GET http://portal.invalid/api/2.0/mail/accounts ")


def test_under_uvloop() -> None:
    # uvloop's transports do not subclass asyncio.Transport; library users may run on it.
    uvloop = pytest.importorskip("uvloop")

    async def fetch(url: str) -> httpx.Response:
        async with client(url) as c:
            return await c.get("api/2.0/mail/accounts")

    with running(SimConfig()) as url:
        answer = uvloop.run(fetch(url))
    assert answer.status_code == 401  # the simulator's answer without a token


async def test_bytes_after_a_whole_answer_retire_the_connection() -> None:
    answer = replying(response(200, b"{}") + b"HTTP/1.1 200 OK\r\nX-Stray: 1\r\n\r\n")
    async with scripted(answer) as server, client(server.url) as c:
        first = await c.get("/")
        await asyncio.sleep(0.05)
        second = await c.get("/")
    assert "x-stray" not in first.headers and second.status_code == 200
    assert server.connections == 2
