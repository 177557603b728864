"""The simulator's limit on request bodies: 1 MiB, counted while read, else 413 as a front end.

A portal's front end (nginx's `client_max_body_size`) refuses a body over its limit with 413
before the portal sees it; the simulator does the same, so that one client cannot make it hold
gigabytes. The count is of the bytes received, chunked or not: a Content-Length over the limit
is refused at once, and one under it proves nothing (the server's parser holds the body to it).
"""

from __future__ import annotations

from typing import Final

from starlette.types import Message, Receive, Scope, Send

from bulkmail.simulator import envelope

__all__ = ["MAX_REQUEST_BYTES", "read_limited"]

MAX_REQUEST_BYTES: Final = 1024 * 1024
"""The largest request body the simulator reads, in bytes: 1 MiB.

A create is under 2 KB of JSON (docs/portal-api.md §6, §16); nothing in the API sends more.
"""

_TOO_LARGE: Final = (
    "<html><head><title>413 Request Entity Too Large</title></head><body>"
    "<h1>413 Request Entity Too Large</h1></body></html>"
)


async def read_limited(
    scope: Scope, receive: Receive, send: Send, limit: int = MAX_REQUEST_BYTES
) -> Receive | None:
    """Read an HTTP request's body, at most `limit` bytes, and return a `receive` that gives
    it back whole; or answer 413 (and close the connection) and return None.

    None too when the client left before its body was whole: there is no one to answer.
    """
    if _declared(scope) > limit:
        await _refuse(scope, receive, send)
        return None
    body, more = bytearray(), True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None  # http.disconnect
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > limit:
            await _refuse(scope, receive, send)
            return None
    return _replay(bytes(body), receive)


def _declared(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    # Connection: close: the rest of the body is never read, so the connection cannot carry
    # another request.
    answer = envelope.bare(413, _TOO_LARGE, {"Connection": "close"})
    await answer(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Return a `receive` that gives `body` in one message, then waits as `receive` does."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
