"""Tell the encoding of a CSV from its bytes, and find where a file stops decoding.

Part of the reader. What Excel and LibreOffice really write is UTF-8 (with or without a
BOM), UTF-16 with a BOM ("Unicode text") and, on Windows, the system's legacy code page:
cp1251 in Russia, cp1252 in Western Europe. BOMs, UTF-16's zero bytes and UTF-8's strict
syntax are certain; a legacy code page is guessed from the words it spells
(`reader.codepages`), and the guess says whether it is sure.
"""

from __future__ import annotations

import codecs
import re
from typing import BinaryIO, Final, NamedTuple

from bulkmail.errors import InputError
from bulkmail.reader.codepages import guess

_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHUNK: Final = 1 << 20
_WINDOW: Final = 64 * 1024  # enough words for a guess
_NON_ASCII: Final = re.compile(rb"[\x80-\xff]")


class Detected(NamedTuple):
    """The codec of a text file, what told it, and the code pages that read it as well."""

    codec: str
    basis: str  # "byte order mark", "UTF-16 zero bytes", "ASCII only", "valid UTF-8", ...
    rivals: tuple[str, ...] = ()
    sure: bool = True


def detect(head: bytes, rest: BinaryIO, name: str) -> Detected:
    """Return the codec of a text file from its first bytes (`rest` reads on from there).

    Raises InputError naming `--encoding` when a legacy code page cannot be told.
    """
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return Detected(codec, "byte order mark")
    utf16 = _utf16_without_bom(head[:_WINDOW], name)
    if utf16:
        return Detected(utf16, "UTF-16 zero bytes")
    if head.isascii():
        # An ASCII start says nothing: look where the first non-ASCII byte is, so that a
        # cp1251 name on line 50,000 is not read as broken UTF-8.
        head = _non_ascii_window(rest)
        if not head:
            return Detected("utf-8", "ASCII only")
    if _is_utf8(head):
        return Detected("utf-8", "valid UTF-8")
    found = guess(head[:_WINDOW], name)
    return Detected(found.codec, found.basis, found.rivals, found.sure)


def decode_head(head: bytes, codec: str, name: str) -> str:
    """Decode the first bytes of a file, tolerating a character cut at their end."""
    try:
        return codecs.getincrementaldecoder(codec)().decode(head, final=False)
    except UnicodeDecodeError as err:
        raise undecodable(name, codec, (err.start, head[err.start])) from None


def undecodable(
    name: str, codec: str, bad: tuple[int, int] | tuple[int, int, int] | None
) -> InputError:
    """Return the error for bytes `codec` cannot decode: `bad` is (offset, byte[, line])."""
    where = "some bytes"
    if bad is not None:
        where = f"the byte 0x{bad[1]:02X} at offset {bad[0]}"
        where += f" (line {bad[2]})" if len(bad) == 3 else ""
    return InputError(
        f"{name} is not valid {codec}: {where} cannot be decoded",
        "pass the file's real encoding with --encoding (utf-8, cp1251, utf-16 ...) "
        "or save it again as UTF-8",
    )


def first_bad_byte(path: str, codec: str) -> tuple[int, int, int] | None:
    """Return (offset, byte, line) of the first byte `codec` cannot decode, if any."""
    decoder = codecs.getincrementaldecoder(codec)()
    offset, lines = 0, 1
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            # A buffered decoder keeps an incomplete character from the last chunk: the
            # error's offsets count from that kept tail.
            pending = len(decoder.getstate()[0])
            try:
                lines += decoder.decode(chunk, final=not chunk).count("\n")
            except UnicodeDecodeError as err:
                good = codecs.decode(err.object[: err.start], codec, "replace")
                return offset - pending + err.start, err.object[err.start], lines + good.count("\n")
            if not chunk:
                return None
            offset += len(chunk)


def _utf16_without_bom(head: bytes, name: str) -> str | None:
    """Tell UTF-16 LE or BE without a BOM by where ASCII characters put their zero bytes.

    A stray NUL in 8-bit text is no such pattern (csvkit's null_byte.csv): zero bytes must
    fill one in ten code units, nearly all on one side.
    """
    even, odd = head[0::2].count(0), head[1::2].count(0)
    units = len(head) // 2
    if not (even or odd) or max(even, odd) * 10 < units:
        return None
    if odd > 4 * even:
        return "utf-16-le"
    if even > 4 * odd:
        return "utf-16-be"
    raise InputError(f"{name} holds binary data, not text", "is it really a CSV file?")


def _non_ascii_window(rest: BinaryIO) -> bytes:
    """Read on to the first non-ASCII byte and return the bytes from there ("" if none)."""
    while chunk := rest.read(_CHUNK):
        if chunk.isascii():
            continue
        found = _NON_ASCII.search(chunk)
        assert found is not None  # a chunk that is not ASCII has such a byte
        window = chunk[found.start() : found.start() + _WINDOW]
        return window + rest.read(_WINDOW - len(window))
    return b""


def _is_utf8(data: bytes) -> bool:
    try:
        # final=False: the sample may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True
