"""A hostile portal on 127.0.0.1: raw HTTP/1.1 over asyncio streams, answering as a test says.

Raw bytes, not a framework, because the point is to send what no framework would: gzip bombs,
bodies that never end, Content-Lengths that lie. Each route ("POST /api/2.0/authentication")
has an `Answer`, a coroutine that writes the whole answer to the connection; a route without
one answers as a well-behaved portal would. The server runs its own event loop in a thread.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOGIN = "POST /api/2.0/authentication"
LIST = "GET /api/2.0/mail/accounts"
CREATE = "POST /api/2.0/mail/accounts"
SINGLE = "GET /api/2.0/mail/accounts/single"
CAPABILITIES = "GET /api/2.0/capabilities"
TOKEN = "hostile-token-0123456789"
_ZEROS = bytes(1024 * 1024)
_HANG = 60.0  # seconds: only a hang waits this long


@dataclass
class Request:
    """One request as read: what an answer may look at, and the connection to write to."""

    route: str  # "METHOD /path"
    query: dict[str, str]
    body: bytes
    writer: asyncio.StreamWriter


Answer = Callable[[Request], Awaitable[None]]


@dataclass
class Portal:
    """The answers per route, and how many requests each route got (`seen`)."""

    answers: dict[str, Answer] = field(default_factory=dict)
    seen: Counter[str] = field(default_factory=Counter)
    accept_encodings: set[str] = field(default_factory=set)  # as the requests asked


# --- answers ---------------------------------------------------------------------------------


def head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} Hostile", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def envelope(status: int, response: Any, **extra: Any) -> bytes:
    return json.dumps({**extra, "status": 0, "statusCode": status, "response": response}).encode()


def answer(status: int, body: bytes, **headers: str) -> Answer:
    """Answer `body` as it is, with a true Content-Length unless `headers` give one."""
    fields = {"Content-Type": "application/json; charset=UTF-8", "Content-Length": str(len(body))}
    fields |= {k.replace("_", "-"): v for k, v in headers.items()}

    async def write(request: Request) -> None:
        request.writer.write(head(status, fields) + body)
        await request.writer.drain()

    return write


def account(mailbox_id: int, email: str) -> dict[str, Any]:
    return {"mailboxId": mailbox_id, "email": email, "isAlias": False, "isGroup": False}


@cache
def gzip_bomb(expanded_mib: int) -> bytes:
    """Return `expanded_mib` MiB of zeros, gzipped (about a thousandth of that)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [packer.compress(_ZEROS) for _ in range(expanded_mib)]
    return b"".join([*parts, packer.flush()])


def bomb(expanded_mib: int, status: int = 200, coding: str = "gzip") -> Answer:
    """A gzip bomb with a true Content-Length; "gzip, gzip" wraps it once more. Built on its
    first use, once per process: a test table names it without paying for it."""

    async def write(request: Request) -> None:
        body = gzip_bomb(expanded_mib)
        if coding == "gzip, gzip":
            body = gzip.compress(body)
        await answer(status, body, Content_Encoding=coding)(request)

    return write


def endless(
    *, chunked: bool, status: int = 200, declared: int | None = None, mib: int | None = None
) -> Answer:
    """A body that never ends: chunked, or read until the close (no length), or over a lying
    Content-Length (`declared`). It stops when the client goes away, or after `mib` MiB (then
    closes), for a test whose client has no memory limit should the cap ever break."""
    fields = {"Content-Type": "application/json"}
    if chunked:
        fields["Transfer-Encoding"] = "chunked"
    if declared is not None:
        fields["Content-Length"] = str(declared)

    def framed(data: bytes) -> bytes:
        return b"%x\r\n%b\r\n" % (len(data), data) if chunked else data

    piece = framed(_ZEROS)

    async def write(request: Request) -> None:
        request.writer.write(head(status, fields) + framed(b'{"response": "'))
        sent = 0
        while not request.writer.is_closing() and (mib is None or sent < mib):
            request.writer.write(piece)
            await request.writer.drain()
            sent += 1
        request.writer.close()

    return write


def pages(*, step: int, same_items: bool = False, size: int = 2) -> Answer:
    """An account list that always has a next page: `step` past this one (0: the same one)."""

    async def write(request: Request) -> None:
        start = int(request.query.get("startIndex", "0"))
        first = 0 if same_items else start
        items = [account(first + i + 1, f"box{first + i}@hostile.example") for i in range(size)]
        body = envelope(200, items, count=size, startIndex=start, nextIndex=start + step)
        await answer(200, body)(request)

    return write


def _defaults() -> dict[str, Answer]:
    login = {"token": TOKEN, "expires": "2027-01-01T00:00:00.0000000Z"}
    missing = {"status": 1, "statusCode": 500, "error": {"message": "Account wasn't found"}}
    return {
        CAPABILITIES: answer(200, envelope(200, {"ldapEnabled": False})),
        LOGIN: answer(201, envelope(201, login)),
        LIST: answer(200, envelope(200, [])),
        CREATE: answer(201, envelope(201, account(7, "created@hostile.example"))),
        SINGLE: answer(500, json.dumps(missing).encode()),
    }


# --- the server -------------------------------------------------------------------------------


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, dict[str, str], dict[str, str], bytes]:
    head_bytes = await reader.readuntil(b"\r\n\r\n")
    first, *lines = head_bytes.decode("latin-1").split("\r\n")
    method, target, _ = first.split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines if ln)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    url = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    return f"{method} {url.path}", headers, query, body


def _handler(portal: Portal) -> Callable[..., Awaitable[None]]:
    answers = _defaults() | portal.answers

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                route, headers, query, body = await _read_request(reader)
                portal.seen[route] += 1
                portal.accept_encodings.add(headers.get("accept-encoding", ""))
                await answers.get(route, answer(404, b"Not Found"))(
                    Request(route, query, body, writer)
                )
        writer.close()

    return serve


@contextmanager
def serving(portal: Portal) -> Iterator[str]:
    """Serve `portal` on 127.0.0.1 in a thread; yield its base URL; stop it on exit."""
    loop = asyncio.new_event_loop()
    ready, stop = threading.Event(), asyncio.Event()
    where: list[str] = []

    async def main() -> None:
        server = await asyncio.start_server(_handler(portal), "127.0.0.1", 0)
        where.append(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        ready.set()
        async with server:
            await stop.wait()
        # Answers still writing (an endless body to a client that left): end them here.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(timeout=_HANG), "the hostile portal did not start"
    try:
        yield where[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()
        loop.close()
