"""Capped reading of answer bodies (`bulkmail.portal.bodies`), over streamed httpx responses.

`read_capped` takes a small cap here, so each edge is a few bytes away; memory is measured with
tracemalloc where the point is that a bomb is never inflated whole.
"""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterable

import httpx
import pytest

from bulkmail.codes import Code
from bulkmail.portal.answers import classify_unreadable
from bulkmail.portal.bodies import MAX_ANSWER_BYTES, Unreadable, read_capped

pytestmark = pytest.mark.anyio

CAP = 1000
MiB = 1024 * 1024


class Chunks(httpx.AsyncByteStream):
    """A body that arrives in the given chunks, as a server's would."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


def streamed(chunks: Iterable[bytes], status: int = 200, **headers: str) -> httpx.Response:
    fields = {k.replace("_", "-"): v for k, v in headers.items()}
    request = httpx.Request("GET", "https://portal.example.org/api/2.0/mail/accounts")
    return httpx.Response(status, headers=fields, stream=Chunks(chunks), request=request)


def zeros_in_pieces(total: int, piece: int = 64 * 1024) -> Iterable[bytes]:
    zero = bytes(piece)
    for _ in range(total // piece):
        yield zero


def deflated(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


def bomb_chunks(expanded: int) -> list[bytes]:
    """A gzip bomb of `expanded` zeros, in 64 KiB chunks as a socket would hand it over."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    body = b"".join([*(packer.compress(z) for z in zeros_in_pieces(expanded, MiB)), packer.flush()])
    return [body[i : i + 65536] for i in range(0, len(body), 65536)]


BODY = b'{"status":0,"response":[]}' * 10  # 260 bytes

READ = {
    "identity": (streamed([BODY[:7], BODY[7:]]), BODY),
    "exactly-the-cap": (streamed([b"x" * CAP]), b"x" * CAP),
    "gzip": (streamed([gzip.compress(BODY)], Content_Encoding="gzip"), BODY),
    "x-gzip": (streamed([gzip.compress(BODY)], Content_Encoding="x-gzip"), BODY),
    "gzip-in-pieces": (
        streamed([bytes([b]) for b in gzip.compress(BODY)], Content_Encoding="gzip"),
        BODY,
    ),
    "deflate-zlib": (
        streamed([deflated(BODY, zlib.MAX_WBITS)], Content_Encoding="deflate"),
        BODY,
    ),
    "deflate-raw": (
        streamed([deflated(BODY, -zlib.MAX_WBITS)], Content_Encoding="deflate"),
        BODY,
    ),
    "gzip-gzip": (
        streamed([gzip.compress(gzip.compress(BODY))], Content_Encoding="gzip, gzip"),
        BODY,
    ),
    "identity-named": (streamed([BODY], Content_Encoding="identity"), BODY),
    "after-the-gzip-end": (
        streamed([gzip.compress(BODY) + b"trailing"], Content_Encoding="gzip"),
        BODY,
    ),
}


@pytest.mark.parametrize(("response", "body"), READ.values(), ids=READ)
async def test_an_answer_within_the_cap_is_read_decoded(
    response: httpx.Response, body: bytes
) -> None:
    read = await read_capped(response, CAP)

    assert isinstance(read, httpx.Response)
    assert (read.status_code, read.content) == (200, body)
    assert "content-encoding" not in read.headers or read.headers["content-encoding"] == "identity"


REFUSED = {
    "one-byte-over": (streamed([b"x" * CAP, b"x"]), "size", "more than 1,000 bytes were sent"),
    "declared-over": (
        streamed([b"{}"], Content_Length=str(CAP + 1)),
        "size",
        "it declares 1,001 bytes, over 1,000 bytes",
    ),
    "gzip-over-once-decoded": (
        streamed([gzip.compress(b"x" * (CAP + 1))], Content_Encoding="gzip"),
        "size",
        "more than 1,000 bytes once gzip decoded",
    ),
    "brotli": (streamed([b"\x8b\x00\x80{}\x03"], Content_Encoding="br"), "coding", "'br'"),
    "zstd": (streamed([b"(\xb5/\xfd"], Content_Encoding="zstd"), "coding", "'zstd'"),
    "damaged-gzip": (
        streamed([b"\x1f\x8b\x08\x00not-gzip-at-all"], Content_Encoding="gzip"),
        "damaged",
        "its gzip body is damaged",
    ),
}


@pytest.mark.parametrize(("response", "reason", "said"), REFUSED.values(), ids=REFUSED)
async def test_an_answer_past_the_cap_or_unreadable_is_refused(
    response: httpx.Response, reason: str, said: str
) -> None:
    read = await read_capped(response, CAP)

    assert isinstance(read, Unreadable)
    assert read.reason == reason and said in read.detail
    assert read.response.status_code == 200


async def test_an_endless_body_is_read_to_the_cap_only() -> None:
    def endless() -> Iterable[bytes]:
        while True:
            yield bytes(65536)

    response = streamed(endless())
    read = await read_capped(response)
    assert isinstance(read, Unreadable) and read.reason == "size"
    assert read.detail == "more than 4 MiB were sent"


@pytest.mark.parametrize("coding", ["gzip", "gzip, gzip"])
async def test_a_bomb_is_never_inflated_whole(coding: str) -> None:
    chunks = bomb_chunks(64 * MiB)
    if coding == "gzip, gzip":
        chunks = [gzip.compress(b"".join(chunks))]
    tracemalloc.start()
    try:
        read = await read_capped(streamed(chunks, Content_Encoding=coding))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert isinstance(read, Unreadable) and read.reason == "size"
    # The body held, the piece being inflated and a copy: about three caps, not 64 MiB.
    assert peak < 4 * MAX_ANSWER_BYTES, f"{peak / MiB:.0f} MiB"


def test_tracemalloc_sees_what_zlib_inflates() -> None:
    """The measure above can fail: an inflated bomb is seen whole."""
    body = b"".join(bomb_chunks(64 * MiB))
    tracemalloc.start()
    try:
        zlib.decompress(body, zlib.MAX_WBITS | 16)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak >= 64 * MiB


CLASSIFIED = {
    "list-too-large": ("list", 200, "size", Code.ANSWER_TOO_LARGE, False),
    "create-saved-too-large": ("create", 201, "size", Code.ANSWER_TOO_LARGE, True),
    "create-refused-too-large": ("create", 500, "size", Code.ANSWER_TOO_LARGE, False),
    "create-saved-in-br": ("create", 201, "coding", Code.UNEXPECTED_ANSWER, True),
    "login-damaged": ("login", 201, "damaged", Code.UNEXPECTED_ANSWER, False),
}


@pytest.mark.parametrize(
    ("during", "status", "reason", "code", "ambiguous"), CLASSIFIED.values(), ids=CLASSIFIED
)
def test_an_unreadable_answer_is_a_verdict(
    during: str, status: int, reason: str, code: Code, ambiguous: bool
) -> None:
    response = httpx.Response(status, request=httpx.Request("GET", "https://portal.example.org"))
    answer = Unreadable(response, reason, "more than 4 MiB were sent")  # type: ignore[arg-type]

    verdict = classify_unreadable(answer, during=during)  # type: ignore[arg-type]

    assert (verdict.code, verdict.ambiguous, verdict.retryable, verdict.fatal) == (
        code,
        ambiguous,
        False,
        False,
    )
    assert verdict.message == (
        f"bulkmail stopped reading the portal's answer (HTTP {status}): more than 4 MiB were sent"
    )
    assert verdict.stage.value == ("login" if during == "login" else "portal")
    assert verdict.http_status == status and verdict.hint == code.hint


def test_the_cap_is_the_one_the_registry_and_readme_name() -> None:
    assert 4 * MiB == MAX_ANSWER_BYTES
    assert "(4 MiB, counted after decompression)" in Code.ANSWER_TOO_LARGE.meaning
