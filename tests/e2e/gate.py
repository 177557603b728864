"""The simulator behind a gate the test holds: matching requests wait until the test opens it.

A test that acts on a run part-way through (a kill, a signal, a rival run) needs the run to be
still going when it acts. Elapsed time cannot promise that on a busy machine; a gate can: a
run whose requests wait cannot finish, and the test opens the gate once it has done its part.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio
import anyio.from_thread
import anyio.lowlevel
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bulkmail.simulator import SimConfig, create_app

HANG = 60.0
"""Seconds a test waits for something that must happen before it calls it a hang."""


class Gate:
    """Let the first `allow` requests `method path*` through; hold the others until open().

    A held request whose client leaves (killed, cancelled) is dropped, or with `pass_left`
    handed on all the same: the portal got the request, the client never saw the answer.
    Thread-safe: the simulator runs in its own thread, the test in another.
    """

    def __init__(self, method: str, path: str, *, allow: int = 0, pass_left: bool = False) -> None:
        self._method, self._path, self._allow = method, path, allow
        self._pass_left = pass_left
        self._changed = threading.Condition()
        self._open = False
        self._opened: anyio.Event | None = None  # made in the simulator's loop, when needed
        self._token: anyio.lowlevel.EventLoopToken | None = None
        self.passed = 0  # requests handed to the simulator
        self.held = 0  # requests waiting now, or handed on and not yet answered
        self.left = 0  # held requests whose client left

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """Return `app` with this gate in front of it."""

        async def gated(scope: Scope, receive: Receive, send: Send) -> None:
            if not self._matches(scope) or self._admit():
                return await app(scope, receive, send)
            # Held only once its body is in: a client killed while held has sent it whole.
            body = await _read_body(receive)
            self._hold()
            left = await self._wait_open_or_left(receive)
            try:
                if self._hand_on(left):
                    await app(scope, _replay(body, receive), send)
            finally:
                self._release()

        return gated

    def open(self) -> None:
        """Let every held request and every later one through."""
        with self._changed:
            self._open = True
            opened, token = self._opened, self._token
        if opened is not None:
            anyio.from_thread.run_sync(opened.set, token=token)

    def wait_holding(self, count: int) -> None:
        """Block until at least `count` requests wait at the gate."""
        self._block_until(lambda: self.held >= count, f"at least {count} requests held")

    def wait_empty(self) -> None:
        """Block until every held request is answered, or dropped if its client left."""
        self._block_until(lambda: self.held == 0, "no request held")

    def _block_until(self, done: Callable[[], bool], what: str) -> None:
        with self._changed:
            if not self._changed.wait_for(done, timeout=HANG):
                raise AssertionError(f"never {what} in {HANG} s: {self.held} held")

    def _matches(self, scope: Scope) -> bool:
        return (
            scope["type"] == "http"
            and scope["method"] == self._method
            and str(scope["path"]).startswith(self._path)
        )

    def _admit(self) -> bool:
        """Count a request in; return False when it must wait."""
        with self._changed:
            if self._open or self.passed < self._allow:
                self.passed += 1
                return True
            if self._opened is None:
                self._opened, self._token = anyio.Event(), anyio.lowlevel.current_token()
            return False

    def _hold(self) -> None:
        """Count a request whose body is read as held."""
        with self._changed:
            self.held += 1
            self._changed.notify_all()

    async def _wait_open_or_left(self, receive: Receive) -> bool:
        """Wait for open() or for the client to leave; return whether it left."""
        assert self._opened is not None
        left = False
        async with anyio.create_task_group() as tg:

            async def watch_client() -> None:
                nonlocal left
                while (await receive())["type"] != "http.disconnect":
                    pass
                left = True
                tg.cancel_scope.cancel()

            tg.start_soon(watch_client)
            await self._opened.wait()
            tg.cancel_scope.cancel()
        return left

    def _hand_on(self, left: bool) -> bool:
        """Count a held request out of the wait; return whether the simulator gets it."""
        with self._changed:
            self.left += left
            handed = self._pass_left or not left
            self.passed += handed
            return handed

    def _release(self) -> None:
        with self._changed:
            self.held -= 1
            self._changed.notify_all()


async def _read_body(receive: Receive) -> list[Message]:
    messages = [await receive()]
    while messages[-1]["type"] == "http.request" and messages[-1].get("more_body"):
        messages.append(await receive())
    return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """Return a receive that gives `messages` first, then what `receive` gives."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


@contextmanager
def gated(config: SimConfig, gate: Gate) -> Iterator[str]:
    """Serve the simulator behind `gate` on a loopback port in a thread; yield its base URL."""
    # Listening before uvicorn starts: a request that comes early waits in the backlog.
    sock = socket.create_server(("127.0.0.1", 0))
    settings = uvicorn.Config(
        gate.wrap(create_app(config)),
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=2,  # a request still held when the test ends is cut off
    )
    server = uvicorn.Server(settings)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(HANG)
        sock.close()
