"""Serve the simulator with uvicorn: in a background thread (tests, demo) or in the foreground."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from bulkmail.errors import ConfigError
from bulkmail.simulator.app import create_app
from bulkmail.simulator.config import SimConfig
from bulkmail.simulator.exposure import exposure_warning
from bulkmail.simulator.headlimit import http_protocol

# httptools parses HTTP several times faster than h11: the simulator must never be the
# bottleneck of a benchmark. h11 still works when httptools is missing. Either way a request's
# head is limited (see headlimit).
_HTTP = http_protocol()
_STARTUP_SECONDS = 10.0


def _server(config: SimConfig) -> uvicorn.Server:
    settings = uvicorn.Config(
        create_app(config),
        http=_HTTP,
        lifespan="on",
        access_log=False,  # the app writes its own one-line log, without tokens
        log_level="warning",
        timeout_graceful_shutdown=2,  # a late answer must not hold the shutdown
    )
    return uvicorn.Server(settings)


def _listen(host: str, port: int) -> socket.socket:
    """Return a listening socket; binding it here gives port 0 its real number at once."""
    # IPPROTO_TCP explicitly: asyncio turns Nagle off only on sockets that say TCP, and
    # with Nagle on every answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    return sock


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def running(config: SimConfig, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the simulator in a background thread; yield its base URL; stop it on exit."""
    sock = _listen(host, port)
    server = _server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + _STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the simulator did not start")  # a bug, not a user error
        time.sleep(0.01)
    try:
        yield _url(sock)
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


def serve(config: SimConfig, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the simulator until Ctrl-C, printing its URL first and then one line a request."""
    server = _server(config)  # first, so that a bad state file stops it before the banner
    sock = _listen(host, port)
    if config.log_requests:
        _log_to_stderr()
    if warning := exposure_warning(*sock.getsockname()[:2]):
        print(warning, file=sys.stderr, flush=True)
    print(f"bulkmail simulator serving {_url(sock)} (Ctrl-C to stop)", flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn has shut down cleanly and re-raises the signal: nothing left to do
    finally:
        sock.close()
    print("bulkmail simulator stopped", file=sys.stderr, flush=True)


def _log_to_stderr() -> None:
    log = logging.getLogger("bulkmail.simulator")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
