"""The simulator as a server facing a hostile client: a 1 MiB body limit answered 413, counted
while read whatever the client declares; a 64 KiB head limit answered 431; and a warning when
it listens beyond loopback.

Most cases use the simulator in a thread (`running`); the memory case runs `bulkmail simulate`
as a child process and reads its peak memory (`os.wait4`) once it has stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bulkmail.simulator import SimConfig, running
from bulkmail.simulator.bodylimit import MAX_REQUEST_BYTES
from bulkmail.simulator.exposure import exposure_warning
from bulkmail.simulator.headlimit import MAX_HEAD_BYTES, http_protocol

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
LOGIN = "/api/2.0/authentication"
_HANG = 60.0  # seconds: only a hang waits this long


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with running(SimConfig()) as url:
        yield url


def endless(total: int = 256 * MiB) -> Iterator[bytes]:
    """A body sent chunked, without a length: 256 MiB, so that a regression ends too."""
    piece = bytes(64 * 1024)
    for _ in range(total // len(piece)):
        yield piece


def requests_seen(url: str) -> int:
    """Return how many API requests the simulator handled (/_sim ones are not counted)."""
    return int(httpx.get(f"{url}/_sim/stats").json()["requests"])


def assert_refused(answer: httpx.Response) -> None:
    assert answer.status_code == 413
    assert answer.headers["connection"] == "close"
    assert answer.headers["content-type"].startswith("text/html")
    assert "413 Request Entity Too Large" in answer.text


OVER = {
    "one-byte-over": lambda: bytes(MAX_REQUEST_BYTES + 1),
    "chunked-endless": endless,
}


@pytest.mark.parametrize("body", OVER.values(), ids=OVER)
def test_a_body_over_the_limit_is_refused_before_the_portal_sees_it(sim: str, body: object) -> None:
    before = requests_seen(sim)
    answer = httpx.post(f"{sim}{LOGIN}", content=body())  # type: ignore[operator]

    assert_refused(answer)
    assert requests_seen(sim) == before  # the API never saw it


def test_a_body_of_exactly_the_limit_reaches_the_portal(sim: str) -> None:
    answer = httpx.post(
        f"{sim}{LOGIN}",
        content=bytes(MAX_REQUEST_BYTES),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400  # the portal's own answer to a body that is not JSON
    assert answer.json()["error"]["message"].startswith("Expecting value")


def test_the_control_endpoints_have_the_limit_too(sim: str) -> None:
    assert_refused(httpx.post(f"{sim}/_sim/reset", content=endless()))


def test_a_declared_length_over_the_limit_is_refused_at_once(sim: str) -> None:
    """10 GB declared and never sent: the answer comes without waiting for the body."""
    head = f"POST {LOGIN} HTTP/1.1\r\nHost: sim\r\nContent-Length: {10**10}\r\n\r\n{{"
    answer = raw_exchange(sim, head.encode())  # the simulator closes after its 413
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in answer.lower()


def test_the_limit_is_the_one_documented() -> None:
    assert MiB == MAX_REQUEST_BYTES
    doc = (Path(__file__).parents[2] / "docs" / "portal-api.md").read_text(encoding="utf-8")
    assert "The simulator refuses\n  bodies over 1 MiB with `413 Request Entity Too Large`" in doc


# --- the request's head ---------------------------------------------------------------------


def raw_exchange(url: str, data: bytes) -> bytes:
    """Send `data` on a new connection and return all the simulator answers until it closes."""
    address = (httpx.URL(url).host, httpx.URL(url).port)
    with socket.create_connection(address, timeout=_HANG) as conn:
        conn.sendall(data)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


HEADS = {
    "a-long-header": b"GET /_sim/stats HTTP/1.1\r\nHost: sim\r\nX-Long: ",
    "a-long-url": b"GET /_sim/stats?q=",
}


@pytest.mark.skipif(isinstance(http_protocol(), str), reason="h11 limits the head by itself")
@pytest.mark.parametrize("start", HEADS.values(), ids=HEADS)
def test_a_head_over_the_limit_is_refused(sim: str, start: bytes) -> None:
    answer = raw_exchange(sim, start + b"a" * MAX_HEAD_BYTES)

    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"connection: close" in answer


def test_a_head_under_the_limit_is_read(sim: str) -> None:
    long = "a" * (MAX_HEAD_BYTES - 1024)
    assert httpx.get(f"{sim}/_sim/stats", headers={"X-Long": long}).status_code == 200
    # Another request on the same connection starts a new head; a body is never counted as one.
    with httpx.Client(base_url=sim) as client:
        for _ in range(3):
            assert client.get("/_sim/stats", headers={"X-Long": long}).status_code == 200
            body, kind = bytes(200 * 1024), {"Content-Type": "application/json"}
            assert client.post(LOGIN, content=body, headers=kind).status_code == 400


# --- memory: the point of the limit ------------------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kilobytes on Linux")
def test_endless_bodies_cost_the_simulator_no_memory(tmp_path: Path) -> None:
    err_path = tmp_path / "err.txt"
    with err_path.open("w") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "bulkmail", "simulate", "--port", "0", "--quiet"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        assert child.stdout is not None
        banner = child.stdout.readline()  # "bulkmail simulator serving http://127.0.0.1:PORT ..."
        url = banner.split()[3]
        try:
            answers = [httpx.post(f"{url}{LOGIN}", content=endless()) for _ in range(2)]
            endless_head(url)
            peak_kib = _peak_kib(child.pid)
        finally:
            child.send_signal(signal.SIGINT)
            _, status, _usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            child.stdout.close()
    for answer in answers:
        assert_refused(answer)
    assert child.returncode == 0
    assert "WARNING" not in err_path.read_text()  # loopback: nothing to warn about
    # 512 MiB of bodies and 64 MiB of head were offered; the simulator itself takes ~60 MB.
    assert peak_kib * 1024 < 150 * MiB, f"peak {peak_kib // 1024} MiB"


def _peak_kib(pid: int) -> int:
    """Return a live process's own peak resident memory (VmHWM, KiB).

    Not wait4's ru_maxrss: Linux keeps the peak of the image a child replaced at exec, and
    that image was this (forked) test process, whose size depends on the tests run before.
    """
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


# --- listening beyond loopback ----------------------------------------------------------------


def endless_head(url: str) -> None:
    """Offer a header that does not end (64 MiB), until the simulator closes the connection."""
    address = (httpx.URL(url).host, httpx.URL(url).port)
    with socket.create_connection(address, timeout=_HANG) as conn:
        conn.sendall(b"GET /_sim/stats HTTP/1.1\r\nHost: sim\r\nX-Long: ")
        piece = b"a" * 65536
        try:
            for _ in range(1024):
                conn.sendall(piece)
        except OSError:  # reset: the simulator refused the head and closed
            pass


LOOPBACK = ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]
EXPOSED = {
    "0.0.0.0": "0.0.0.0:8080",
    "::": "[::]:8080",
    "192.168.1.20": "192.168.1.20:8080",
    "fe80::1%eth0": "[fe80::1%eth0]:8080",
    "::ffff:10.0.0.1": "[::ffff:10.0.0.1]:8080",
}


@pytest.mark.parametrize("address", LOOPBACK)
def test_loopback_is_not_warned_about(address: str) -> None:
    assert exposure_warning(address, 8080) is None


@pytest.mark.parametrize(("address", "shown"), EXPOSED.items(), ids=EXPOSED)
def test_any_other_address_is_warned_about(address: str, shown: str) -> None:
    assert exposure_warning(address, 8080) == (
        f"WARNING: the simulator listens on {shown}, not on loopback: anyone who can reach it "
        "can reset it (POST /_sim/reset) and list every mailbox (GET /_sim/mailboxes) without "
        "logging in; use --host 127.0.0.1 unless other machines must reach it"
    )
