"""CSV and TSV: settle the encoding and delimiter, then stream the records.

Part of the reader. Records stream from the open file through the `csv` module, so a
million-row file is read in flat memory; only the first bytes are sampled up front. A row
is read only up to MAX_ROW_CHARS characters, so no line, however long, is held whole: the
reader looks ahead at a thousand rows, and each is bounded.

Excel's delimiter hint, a first line `sep=;`, sets the delimiter and is no row: Excel does
not show it, so the header stays row 1 and every row keeps the number Excel gives it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Final, TextIO

from bulkmail.errors import ConfigError, InputError
from bulkmail.models import InputInfo
from bulkmail.reader import limits
from bulkmail.reader.encoding import Detected, decode_head, detect, first_bad_byte, undecodable
from bulkmail.schema import ALIASES, fold

Records = Iterator[tuple[int, list[str]]]
"""(row number as a spreadsheet shows it, cells) per CSV record, blank records included."""

SAMPLE: Final = 256 * 1024
MAX_COLUMNS: Final = limits.SPARSE_COLUMNS
"""Cells in one row (A to AMJ), as read from a sparse sheet: a sheet of mailboxes needs about
twenty."""
MAX_CELL_CHARS: Final = limits.MAX_CELL_LENGTH
"""Characters in one cell: Excel's own limit."""
MAX_ROW_CHARS: Final = 65_536
"""Characters in one row, line breaks inside quoted cells included (two full cells).

With the thousand rows the reader looks ahead at, these bound what a CSV can make it hold
to about 200 MB, whatever the file holds."""
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
# Excel's delimiter hint: any one character but a quote or a line break, alone on line 1.
_SEP_LINE: Final = re.compile(r'\ufeff?sep=([^"\r\n])(?:\r\n|\r|\n|$)', re.IGNORECASE)


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
    hint = _SEP_LINE.match(text)
    if hint:
        text = text[hint.end() :]
    if len(head) == SAMPLE:  # drop the last line: the sample may have cut it
        text = text[: text.rfind("\n") + 1] or text
    chosen = forced or (hint and hint[1]) or ("\t" if fmt == "tsv" else sniff_delimiter(text))
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
        sep_line=hint is not None,
    )
    return info, _records(path, found.codec, chosen, skip_line=hint is not None)


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


class _Lines:
    """The lines of a text file for `csv.reader`, each read only up to MAX_ROW_CHARS.

    `taken` counts the characters handed out since the caller last set it to 0 (at each
    record), so a record that runs past MAX_ROW_CHARS stops the reading there.
    """

    __slots__ = ("_readline", "taken")

    def __init__(self, text: TextIO) -> None:
        self._readline = text.readline
        self.taken = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._readline(MAX_ROW_CHARS + 1)
        if not line:
            raise StopIteration
        self.taken += len(line)
        if self.taken > MAX_ROW_CHARS:
            raise _RowTooLong
        return line


class _RowTooLong(Exception):
    """A record ran past MAX_ROW_CHARS characters (raised through csv.reader)."""


def _records(path: Path, codec: str, delimiter: str, skip_line: bool = False) -> Records:
    number = 0
    with path.open("rb") as raw:
        # newline="" hands line ends to csv, so a quoted cell may hold a line break.
        text = io.TextIOWrapper(raw, encoding=codec, newline="")
        lines = _Lines(text)
        try:
            if skip_line:
                next(lines, None)  # the sep= line: no row in Excel
                lines.taken = 0
            for number, record in enumerate(csv.reader(lines, delimiter=delimiter), 1):
                if number == 1 and record and record[0].startswith("\ufeff"):
                    record[0] = record[0][1:]  # a BOM the chosen codec kept
                if len(record) > MAX_COLUMNS or lines.taken > MAX_CELL_CHARS:
                    _check_limits(path.name, number, record)
                lines.taken = 0
                yield number, record
        except _RowTooLong:
            raise _too_long(path.name, number + 1) from None
        except UnicodeDecodeError:
            # The wrapper decodes ahead of the csv reader: find the byte (and line) anew.
            raise undecodable(path.name, codec, first_bad_byte(str(path), codec)) from None
        except csv.Error as err:
            raise InputError(
                f"{path.name} row {number + 1} cannot be read as CSV: {err}",
                "check the quotes on that row, or save the sheet again as CSV",
            ) from None


def _check_limits(name: str, number: int, record: list[str]) -> None:
    """Raise InputError for a record beyond MAX_COLUMNS cells or MAX_CELL_CHARS in a cell."""
    if len(record) > MAX_COLUMNS:
        raise InputError(
            f"{name} row {number} has {len(record):,} cells: more than bulkmail reads in a "
            f"row ({MAX_COLUMNS:,} columns, A to AMJ)",
            "keep only the columns bulkmail needs and save the file again",
        )
    longest = max(map(len, record))
    if longest > MAX_CELL_CHARS:
        raise InputError(
            f"{name} row {number} has a cell of {longest:,} characters: more than a cell can "
            f"hold ({MAX_CELL_CHARS:,})",
            "shorten it, or close the quote that runs on from that cell",
        )


def _too_long(name: str, number: int) -> InputError:
    return InputError(
        f"{name} row {number} runs past {MAX_ROW_CHARS:,} characters: more than bulkmail "
        "reads in a row",
        "keep only the columns bulkmail needs, or close the quote that runs on from that row",
    )
