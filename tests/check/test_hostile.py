"""Hostile mail servers on 127.0.0.1: a session with one is bounded in time and in bytes.

Each server is a thread serving one connection from a listening socket; the check's
session runs in the test's own thread and ends with a code, however the server behaves.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from bulkmail.check.failures import classify
from bulkmail.check.probes import unverified_context
from bulkmail.check.protocols import Step, probe
from bulkmail.check.targets import NONE, Protocol, Target
from bulkmail.codes import Code

Serve = Callable[[socket.socket, threading.Event], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Serve], int]]:
    """Start `serve(connection, done)` for one connection on 127.0.0.1; yield its port."""
    done = threading.Event()
    threads: list[threading.Thread] = []
    listeners: list[socket.socket] = []
    connections: list[socket.socket] = []

    def start(body: Serve) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def run() -> None:
            connection, _ = listener.accept()
            connections.append(connection)
            # the client hanging up is what a bounded client does
            with connection, contextlib.suppress(OSError):
                body(connection, done)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        return int(listener.getsockname()[1])

    yield start
    done.set()
    for sock in (*listeners, *connections):  # ends a server blocked reading a failed client
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    for thread in threads:
        thread.join()
    for listener in listeners:
        listener.close()


def _session(protocol: Protocol, port: int, timeout: float) -> Code:
    target = Target("smtp" if protocol == "SMTP" else "incoming", protocol, "127.0.0.1", port, NONE)
    step = Step()
    try:
        probe(target, unverified_context(), timeout, step)
    except Exception as err:
        return classify(err, target, step).code
    raise AssertionError("a hostile server's session succeeded")


def _trickle(connection: socket.socket, done: threading.Event) -> None:
    """Greet one byte at a time, each well within the client's timeout, for up to a minute."""
    for _ in range(1200):
        connection.sendall(b"A")
        if done.wait(0.05):
            return


@pytest.mark.parametrize(
    ("protocol", "code"),
    [
        ("IMAP", Code.MAILBOX_TIMEOUT),
        ("POP3", Code.MAILBOX_TIMEOUT),
        ("SMTP", Code.SMTP_TIMEOUT),
    ],
)
def test_a_server_that_trickles_its_greeting_times_out(
    serve: Callable[[Serve], int], protocol: Protocol, code: Code
) -> None:
    assert _session(protocol, serve(_trickle), timeout=0.5) == code


def _endless(greeting: bytes, answer: bytes, line: bytes) -> Serve:
    def body(connection: socket.socket, done: threading.Event) -> None:
        connection.sendall(greeting)
        connection.recv(1024)
        connection.sendall(answer)
        for _ in range(64 * 1024):  # 64 MiB of answer lines, then the server gives up
            connection.sendall(line)

    return body


_LINE = b" " + b"B" * 1021 + b"\r\n"


@pytest.mark.parametrize(
    ("protocol", "server", "code"),
    [
        (
            "POP3",
            _endless(b"+OK hi\r\n", b"+OK capa\r\n", b"X-CAP" + _LINE),
            Code.MAILBOX_TEST_FAILED,
        ),
        ("IMAP", _endless(b"* OK hi\r\n", b"", b"* OK" + _LINE), Code.MAILBOX_TEST_FAILED),
        ("SMTP", _endless(b"220 hi\r\n", b"", b"250-X" + _LINE), Code.SMTP_TEST_FAILED),
    ],
)
def test_a_server_that_answers_without_end_is_left_after_a_bounded_read(
    serve: Callable[[Serve], int], protocol: Protocol, server: Serve, code: Code
) -> None:
    port = serve(server)
    target = Target("smtp" if protocol == "SMTP" else "incoming", protocol, "127.0.0.1", port, NONE)
    step = Step()
    with pytest.raises(Exception) as caught:
        probe(target, unverified_context(), 30, step)
    finding = classify(caught.value, target, step)
    assert finding.code == code
    assert "more than" in finding.message and "MiB" in finding.message


def _silent(connection: socket.socket, done: threading.Event) -> None:
    done.wait()


def test_an_smtp_server_that_never_greets_is_a_timeout(serve: Callable[[Serve], int]) -> None:
    assert _session("SMTP", serve(_silent), timeout=0.3) == Code.SMTP_TIMEOUT


def _huge_literal(connection: socket.socket, done: threading.Event) -> None:
    """Announce a 2 GB literal in the CAPABILITY answer, send 4 MiB of it, then wait."""
    connection.sendall(b"* OK hi\r\n")
    connection.recv(1024)
    connection.sendall(b"* CAPABILITY {2000000000}\r\n")
    for _ in range(4 * 1024):
        connection.sendall(b"C" * 1024)
    done.wait()


def test_an_imap_literal_larger_than_a_session_is_refused_before_it_is_read(
    serve: Callable[[Serve], int],
) -> None:
    target = Target("incoming", "IMAP", "127.0.0.1", serve(_huge_literal), NONE)
    step = Step()
    with pytest.raises(Exception) as caught:
        probe(target, unverified_context(), 5, step)
    finding = classify(caught.value, target, step)
    assert finding.code == Code.MAILBOX_TEST_FAILED  # not a wait for 2 GB until the deadline
    assert "more than 1 MiB" in finding.message


def test_ehlo_names_this_end_by_its_address_without_asking_dns(
    serve: Callable[[Serve], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As MailKit does: an address literal, not socket.getfqdn(), whose DNS look-ups no
    --timeout bounds and which would tell every server this machine's name."""
    said: list[bytes] = []

    def smtp(connection: socket.socket, done: threading.Event) -> None:
        connection.sendall(b"220 hi\r\n")
        with connection.makefile("rb") as lines:
            said.append(lines.readline())
            connection.sendall(b"250 mx.test\r\n")
            lines.readline()  # QUIT
            connection.sendall(b"221 bye\r\n")

    def no_dns(name: str = "") -> str:
        raise AssertionError("socket.getfqdn() called")

    monkeypatch.setattr(socket, "getfqdn", no_dns)
    target = Target("smtp", "SMTP", "127.0.0.1", serve(smtp), NONE)
    probe(target, unverified_context(), 5, Step())
    assert said == [b"ehlo [127.0.0.1]\r\n"]
