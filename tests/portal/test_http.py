"""The workers' HTTP clients against servers that misbehave, on loopback.

Each scripted server answers with raw bytes, so what a well-behaved portal never sends (a
close right after an answer, an endless header, an answer that trickles) is covered too.
The client under test is the one a run uses: `make_client_factory` + `PortalClient`.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import pytest
import trustme

from bulkmail.portal.client import Identity, PortalClient, Token, Verdict
from bulkmail.portal.http import make_client_factory
from bulkmail.settings import PortalSettings
from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.anyio

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]
HANG_GUARD = 60.0  # seconds: only a client that never gives up gets near it
LOGIN_OK = json.dumps({"status": 0, "response": {"token": "t-1"}}).encode()
PAYLOAD = {"email": "anna@example.org", "password": "Mailbox-pw-1"}


@dataclass
class Scripted:
    """A loopback server: each request (head and body) goes to `answer`, which writes bytes."""

    answer: Answer
    url: str = ""
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    sent: int = 0  # bytes an endless answer managed to write


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
        except ConnectionError:
            pass  # the client gave up on an endless answer
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
    lines = [f"HTTP/1.1 {status} Whatever", "Content-Type: application/json", *headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def replying(data: bytes, *, close: bool = False) -> Answer:
    async def answer(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        if close:
            writer.close()

    return answer


@asynccontextmanager
async def portal(
    url: str, timeout: float = 30.0, tls: ssl.SSLContext | None = None
) -> AsyncIterator[PortalClient]:
    settings = PortalSettings(url=url, timeout=timeout)
    async with make_client_factory(settings, tls=tls)() as client:
        yield PortalClient(client)


async def test_keep_alive_one_connection_for_many_requests() -> None:
    async with scripted(replying(response(201, LOGIN_OK))) as server, portal(server.url) as client:
        tokens = [await client.login(Identity("anna", "pw-123456")) for _ in range(3)]
    assert tokens == [Token("t-1")] * 3
    assert (server.connections, len(server.requests)) == (1, 3)


async def test_a_connection_the_server_closed_after_answering_is_not_reused() -> None:
    # "Connection: keep-alive" and then a close: a client that reused the connection would
    # send into a dead socket and fail every other request.
    answer = replying(response(201, LOGIN_OK, "Connection: keep-alive"), close=True)
    async with scripted(answer) as server, portal(server.url) as client:
        tokens = [await client.login(Identity("anna", "pw-123456")) for _ in range(5)]
    assert tokens == [Token("t-1")] * 5
    assert server.connections == 5


async def test_an_endless_header_is_refused_without_reading_it_all() -> None:
    async def endless_header(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nX-Junk: ")
        chunk = b"a" * 65536
        while server.sent < 64 * 2**20:  # what a client without a limit would read on
            writer.write(chunk)
            await writer.drain()
            server.sent += len(chunk)

    async with scripted(endless_header) as server, portal(server.url) as client:
        with anyio.fail_after(HANG_GUARD):
            answer = await client.login(Identity("anna", "pw-123456"))
    assert isinstance(answer, Verdict)
    assert answer.code == "connection-dropped"
    assert server.sent < 8 * 2**20  # refused within the first few hundred KB


def trickling(body_size: int) -> Answer:
    """Answer with a head that promises `body_size` bytes, then send one byte at a time."""

    async def answer(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {body_size}\r\n\r\n".encode())
        for _ in range(body_size):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.02)  # far inside the per-read timeout: each read succeeds

    return answer


@pytest.mark.parametrize("call", ["login", "list", "find", "create"])
async def test_a_trickling_answer_ends_at_the_timeout_whatever_the_call(call: str) -> None:
    async with scripted(trickling(10**6)) as server, portal(server.url, timeout=1.0) as client:
        token = Token("t-1")
        calls = {
            "login": lambda: client.login(Identity("anna", "pw-123456")),
            "list": lambda: client.list_accounts(token),
            "find": lambda: client.find_account(token, "anna@example.org"),
            "create": lambda: client.create(token, PAYLOAD),
        }
        with anyio.fail_after(HANG_GUARD):
            answer = await calls[call]()
    assert isinstance(answer, Verdict)
    assert (answer.code, answer.retryable) == ("timeout", True)
    assert "no whole answer within 1 s" in answer.message
    assert answer.ambiguous  # the request went out: a create may have been saved


async def test_tls_is_verified_with_one_given_context() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    answer = replying(response(201, LOGIN_OK))
    async with scripted(answer, tls=server_context) as server:
        async with portal(server.url, tls=trusting) as client:
            assert await client.login(Identity("anna", "pw-123456")) == Token("t-1")
        async with portal(server.url) as client:  # the default context: the system's CAs
            refused = await client.login(Identity("anna", "pw-123456"))
    assert isinstance(refused, Verdict)
    assert (refused.code, refused.fatal) == ("tls-certificate", True)
    assert refused.message == (
        "the portal's TLS certificate is not trusted (unable to get local issuer certificate)"
    )
    assert "--ca-bundle FILE (or set SSL_CERT_FILE)" in refused.hint


async def test_a_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    async with scripted(replying(response(201, LOGIN_OK))) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with portal("http://portal.invalid") as client:
            token = await client.login(Identity("anna", "pw-123456"))
    assert token == Token("t-1")
    assert proxy.requests[0].startswith(b"POST http://portal.invalid/api/2.0/authentication ")


async def test_the_clients_keep_no_cookie_and_talk_to_the_simulator() -> None:
    with running(SimConfig()) as url:
        async with portal(url) as client:
            token = await client.login(Identity("user@corp.example.org", "Secret-1"))
            assert isinstance(token, Token)
            listed = await client.list_accounts(token)
            assert not client._client.cookies  # the login's asc_auth_key was not kept
    assert listed == {}
