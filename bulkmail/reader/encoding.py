"""Tell the encoding of a CSV from its bytes, and find where a file stops decoding.

Part of the reader: what Excel and LibreOffice really write is UTF-8 (with or without a BOM),
UTF-16 with a BOM ("Unicode text") and, on Russian Windows, cp1251. charset-normalizer is the
last resort, because on a few short lines of cp1251 it guesses big5 or mac_cyrillic.
"""

from __future__ import annotations

import codecs
import re
from typing import BinaryIO, Final

from charset_normalizer import from_bytes

from bulkmail.errors import InputError

_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHUNK: Final = 1 << 20
_WINDOW: Final = 64 * 1024  # enough text for a guess; charset-normalizer slows with more
_NON_ASCII: Final = re.compile(rb"[\x80-\xff]")
_HIGH_BYTES: Final = bytes(range(0x80, 0x100))
# Cyrillic letters in cp1251 (Ё, ё, А..я) in runs of two or more: Russian words are such
# runs, while accented letters in Western text sit alone between ASCII letters.
_CP1251_RUN: Final = re.compile(rb"[\xa8\xb8\xc0-\xff]{2,}")
_CYRILLIC_CODECS: Final = frozenset(
    {
        "cp1251",
        "koi8-r",
        "koi8-u",
        "mac-cyrillic",
        "cp1125",
        "cp866",
        "iso8859-5",
        "kz1048",
        "ptcp154",
    }
)


def detect(head: bytes, rest: BinaryIO, name: str) -> str:
    """Return the codec of a text file from its first bytes (`rest` reads on from there)."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    if b"\0" in head[:_WINDOW]:
        return _utf16_without_bom(head[:_WINDOW], name)
    if head.isascii():
        # An ASCII start says nothing: look where the first non-ASCII byte is, so that a
        # cp1251 name on line 50,000 is not read as broken UTF-8.
        head = _non_ascii_window(rest)
        if not head:
            return "utf-8"
    if _is_utf8(head):
        return "utf-8"
    if _looks_cp1251(head[:_WINDOW]):
        return "cp1251"
    return _normalizer_guess(head[:_WINDOW], name)


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


def _utf16_without_bom(head: bytes, name: str) -> str:
    """Tell UTF-16 LE from BE by where the zero bytes of ASCII characters fall."""
    even, odd = head[0::2].count(0), head[1::2].count(0)
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


def _looks_cp1251(data: bytes) -> bool:
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    in_runs = sum(len(run) for run in _CP1251_RUN.findall(data))
    return high > 0 and in_runs >= 0.6 * high and _decodes(data, "cp1251")


def _normalizer_guess(data: bytes, name: str) -> str:
    best = from_bytes(data).best()
    if best is None:
        raise InputError(
            f"cannot tell the text encoding of {name}",
            "pass it with --encoding (utf-8, cp1251, utf-16 ...)",
        )
    codec = codecs.lookup(best.encoding).name
    # Russian Excel saves cp1251; the other Cyrillic codecs are near-misses of the guesser.
    if codec in _CYRILLIC_CODECS and _decodes(data, "cp1251"):
        return "cp1251"
    return codec


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True
