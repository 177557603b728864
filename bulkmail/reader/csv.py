"""CSV and TSV: settle the encoding and delimiter, then stream the records.

Part of the reader. Records stream from the open file through the `csv` module, so a
million-row file is read in flat memory; only the first bytes are sampled up front.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Final

from bulkmail.errors import ConfigError, InputError
from bulkmail.models import InputInfo
from bulkmail.reader.encoding import Detected, decode_head, detect, first_bad_byte, undecodable
from bulkmail.schema import ALIASES, fold

Records = Iterator[tuple[int, list[str]]]
"""(row number as a spreadsheet shows it, cells) per CSV record, blank records included."""

SAMPLE: Final = 256 * 1024
_SNIFF_RECORDS: Final = 50
_CANDIDATES: Final = (",", ";", "\t", "|")  # order breaks ties
DELIMITERS: Final[dict[str, str]] = {
    ",": ",",
    "comma": ",",
    ";": ";",
    "semicolon": ";",
    "\t": "\t",
    "\\t": "\t",
    "tab": "\t",
    "|": "|",
    "pipe": "|",
}
_SIGNATURES: Final = (
    (b"PK\x03\x04", "a zip archive (an .xlsx or .ods workbook?)", ".xlsx or .ods"),
    (b"\xd0\xcf\x11\xe0", "an Office binary file (an .xls workbook?)", ".xls"),
)


def open_csv(
    path: Path, fmt: str, encoding: str | None, delimiter: str | None
) -> tuple[InputInfo, Records]:
    """Return what was settled about a CSV/TSV file and a lazy stream of its records."""
    forced = _delimiter_option(delimiter) if delimiter is not None else None
    with path.open("rb") as f:
        head = f.read(SAMPLE)
        _check_is_text(head, path.name)
        if encoding is not None:
            found = Detected(_encoding_option(encoding), "--encoding")
        else:
            found = detect(head, f, path.name)
    text = decode_head(head, found.codec, path.name)
    if len(head) == SAMPLE:  # drop the last line: the sample may have cut it
        text = text[: text.rfind("\n") + 1] or text
    chosen = forced or ("\t" if fmt == "tsv" else sniff_delimiter(text))
    info = InputInfo(
        path=str(path),
        format=fmt,
        encoding=found.codec,
        delimiter=chosen,
        encoding_detected=encoding is None,
        delimiter_detected=delimiter is None,
        encoding_sure=found.sure,
        encoding_basis=found.basis,
        encoding_rivals=found.rivals,
    )
    return info, _records(path, found.codec, chosen)


def sniff_delimiter(text: str) -> str:
    """Return the delimiter that splits the first lines into known, consistent columns.

    csv.Sniffer guesses from character frequencies and picks letters or spaces on small files;
    parsing the lines with each candidate and scoring the result is sturdier.
    """
    best, best_score = ",", (0, 0.0, 1)
    for candidate in _CANDIDATES:
        records = _first_records(text, candidate)
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        known = sum(fold(cell) in ALIASES for cell in records[0])
        body = records[1:]
        consistent = sum(len(r) == width for r in body) / len(body) if body else 1.0
        score = (known, consistent, width)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _first_records(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return [r for r in islice(reader, _SNIFF_RECORDS) if any(r)]
    except csv.Error:  # a record this delimiter cannot parse: not the one
        return []


def _delimiter_option(value: str) -> str:
    chosen = DELIMITERS.get(value if value == "\t" else value.strip().lower())
    if chosen is None:
        raise ConfigError(f"unsupported delimiter {value!r}", "use ',', ';', 'tab' or '|'")
    return chosen


def _encoding_option(value: str) -> str:
    try:
        return codecs.lookup(value).name
    except LookupError:
        raise ConfigError(
            f"unknown encoding {value!r}", "use e.g. utf-8, utf-8-sig, cp1251 or utf-16"
        ) from None


def _check_is_text(head: bytes, name: str) -> None:
    if not head:
        raise InputError(f"{name} is empty: no header row", "put the column names on line 1")
    for signature, what, extension in _SIGNATURES:
        if head.startswith(signature):
            raise InputError(f"{name} is {what}, not CSV text", f"rename it to {extension}")


def _records(path: Path, codec: str, delimiter: str) -> Records:
    number = 0
    with path.open("rb") as raw:
        # newline="" hands line ends to csv, so a quoted cell may hold a line break.
        text = io.TextIOWrapper(raw, encoding=codec, newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            for number, record in enumerate(reader, 1):
                if number == 1 and record and record[0].startswith("\ufeff"):
                    record[0] = record[0][1:]  # a BOM the chosen codec kept
                yield number, record
        except UnicodeDecodeError:
            # The wrapper decodes ahead of the csv reader: find the byte (and line) anew.
            raise undecodable(path.name, codec, first_bad_byte(str(path), codec)) from None
        except csv.Error as err:
            raise InputError(
                f"{path.name} row {number + 1} cannot be read as CSV: {err}",
                "check the quotes on that row, or save the sheet again as CSV",
            ) from None
