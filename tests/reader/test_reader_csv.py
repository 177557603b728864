"""The reader on real CSV/TSV files: encodings, delimiters, overrides, row numbers, streaming."""

from __future__ import annotations

import codecs
import tracemalloc
from itertools import islice
from pathlib import Path

import pytest

from bulkmail.errors import ConfigError, InputError
from bulkmail.models import InputInfo, Row
from bulkmail.reader.csv import SAMPLE
from bulkmail.reader.table import read

RUSSIAN = "Имя;Почта;Пароль;Сервер\nИванов Иван;ivanov@example.ru; пароль 1 ;imap.mail.ru\n"
RUSSIAN_ROW = Row(2, ("Иванов Иван", "ivanov@example.ru", " пароль 1 ", "imap.mail.ru"))


def write(path: Path, text: str, encoding: str = "utf-8", bom: bytes = b"") -> Path:
    path.write_bytes(bom + text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "bom", "delimiter", "detected", "basis"),
    [
        # Russian Excel's "CSV (разделители - запятые)"
        ("cp1251", b"", ";", "cp1251", "its words"),
        ("utf-8", codecs.BOM_UTF8, ",", "utf-8-sig", "byte order mark"),  # Excel's "CSV UTF-8"
        ("utf-8", b"", ",", "utf-8", "valid UTF-8"),
        # Excel's "Unicode text"
        ("utf-16-le", codecs.BOM_UTF16_LE, "\t", "utf-16-le", "byte order mark"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "|", "utf-16-be", "byte order mark"),
        # no BOM: told by where the zero bytes are
        ("utf-16-le", b"", "\t", "utf-16-le", "UTF-16 zero bytes"),
    ],
)
def test_encoding_and_delimiter_detected(
    tmp_path: Path, encoding: str, bom: bytes, delimiter: str, detected: str, basis: str
) -> None:
    text = RUSSIAN.replace(";", delimiter).replace("\n", "\r\n")
    path = write(tmp_path / "in.csv", text, encoding, bom)
    table = read(path)
    assert table.info == InputInfo(
        path=str(path),
        format="csv",
        encoding=detected,
        delimiter=delimiter,
        encoding_detected=True,
        delimiter_detected=True,
        encoding_sure=True,
        encoding_basis=basis,
    )
    assert table.headers == ("Имя", "Почта", "Пароль", "Сервер")
    assert table.fields == ("name", "email", "password", "server")
    assert list(table.rows) == [RUSSIAN_ROW]


def test_tsv_means_tab(tmp_path: Path) -> None:
    path = write(tmp_path / "in.tsv", "email\tname\na@x.ru\tIvanov, Ivan; Jr\n")
    table = read(path)
    assert (table.info.format, table.info.delimiter) == ("tsv", "\t")
    assert list(table.rows) == [Row(2, ("a@x.ru", "Ivanov, Ivan; Jr"))]


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        # Commas inside quoted names outnumber the semicolons: still ";".
        ('email;name;server\na@x.ru;"A, B, C, D";h\nb@x.ru;"E, F, G";h\n', ";"),
        ("email,name\na@x.ru,Ann\n", ","),
        ("email|name|server\na@x.ru|Ann|h\n", "|"),
        ("email\na@x.ru\n", ","),  # one column: nothing to split on
    ],
)
def test_delimiter_detection(tmp_path: Path, text: str, delimiter: str) -> None:
    assert read(write(tmp_path / "in.csv", text)).info.delimiter == delimiter


AMBIGUOUS = "email;x\tname\na@x.ru;1\tAnn\n"  # ";" and tab both split it into a known column


def test_ambiguous_delimiter_prefers_the_earlier_candidate(tmp_path: Path) -> None:
    table = read(write(tmp_path / "in.csv", AMBIGUOUS))
    assert (table.info.delimiter, table.info.delimiter_detected) == (";", True)


@pytest.mark.parametrize("option", ["tab", "\t", "\\t", " TAB "])
def test_delimiter_override(tmp_path: Path, option: str) -> None:
    table = read(write(tmp_path / "in.csv", AMBIGUOUS), delimiter=option)
    assert (table.info.delimiter, table.info.delimiter_detected) == ("\t", False)
    assert table.fields == (None, "name")
    assert list(table.rows) == [Row(2, ("a@x.ru;1", "Ann"))]


def test_encoding_override(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", RUSSIAN, "koi8-r")
    table = read(path, encoding="KOI8_R")
    assert (table.info.encoding, table.info.encoding_detected) == ("koi8-r", False)
    assert list(table.rows) == [RUSSIAN_ROW]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"delimiter": ":"}, "unsupported delimiter ':'"),
        ({"encoding": "klingon"}, "unknown encoding 'klingon'"),
    ],
)
def test_bad_options(tmp_path: Path, options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read(write(tmp_path / "in.csv", "email\n"), **options)
    assert caught.value.message == message


def test_forced_encoding_that_does_not_decode(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", RUSSIAN, "cp1251")
    with pytest.raises(InputError) as caught:
        read(path, encoding="utf-8")
    assert caught.value.message == (
        "in.csv is not valid utf-8: the byte 0xC8 at offset 0 cannot be decoded"
    )
    assert "--encoding" in caught.value.hint


def test_cp1251_after_a_long_ascii_start(tmp_path: Path) -> None:
    filler = "".join(f"user{i}@x.ru;pw;imap.x.ru\n" for i in range(SAMPLE // 20))
    path = write(
        tmp_path / "in.csv", "email;password;server\n" + filler + "ю@x.ru;Пароль;h\n", "cp1251"
    )
    table = read(path)
    assert table.info.encoding == "cp1251"
    assert list(table.rows)[-1] == Row(SAMPLE // 20 + 2, ("ю@x.ru", "Пароль", "h"))


def test_bytes_that_stop_decoding_part_way(tmp_path: Path) -> None:
    head = "email;name\n" + "".join(f"u{i}@x.ru;Иван\n" for i in range(SAMPLE // 20))
    path = tmp_path / "in.csv"
    path.write_bytes(head.encode() + "z@x.ru;Пётр\n".encode("cp1251"))
    table = read(path)
    assert table.info.encoding == "utf-8"
    with pytest.raises(InputError) as caught:
        list(table.rows)
    # "П" (0xCF 0xB8 in cp1251) happens to be valid UTF-8; "т" (0xF2) is not.
    offset = len(head.encode()) + len("z@x.ru;Пё".encode("cp1251"))
    assert caught.value.message == (
        f"in.csv is not valid utf-8: the byte 0xF2 at offset {offset} "
        f"(line {SAMPLE // 20 + 2}) cannot be decoded"
    )


def test_rows_are_records_and_blank_lines_count(tmp_path: Path) -> None:
    text = (
        '\ufeffEmail , Password,Server\na@x.ru, p w ,"imap\nx"\n\n,,\nb@x.ru\nc@x.ru,pw,h,extra\n'
    )
    table = read(write(tmp_path / "in.csv", text))
    assert table.headers == ("Email", "Password", "Server")
    assert [(p.row, p.code) for p in table.problems] == [(6, "extra-cells")]
    assert list(table.rows) == [
        Row(2, ("a@x.ru", " p w ", "imap\nx")),
        Row(5, ("b@x.ru", "", "")),
        Row(6, ("c@x.ru", "pw", "h")),
    ]


def test_header_below_blank_lines(tmp_path: Path) -> None:
    table = read(write(tmp_path / "in.csv", "\n\nemail,server\na@x.ru,h\n"))
    assert list(table.rows) == [Row(4, ("a@x.ru", "h"))]


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.csv"
    line = "ivan.petrov{}@example.ru;Пётр Иванов;secret{};imap.example.ru;993;true\n"
    with path.open("w", encoding="utf-8") as f:
        f.write("email;name;password;server;port;imap\n")
        f.writelines(line.format(i, i) for i in range(200_000))
    assert path.stat().st_size > 15_000_000
    return path


def _peak_bytes(path: Path, rows: int | None) -> tuple[int, int]:
    """Return (rows consumed, peak traced memory) reading `rows` rows (None = all)."""
    tracemalloc.start()
    try:
        table = read(path)
        count = sum(1 for _ in islice(table.rows, rows))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_first_row_does_not_read_the_whole_file(big_csv: Path) -> None:
    table = read(big_csv)
    assert next(table.rows) == Row(
        2, ("ivan.petrov0@example.ru", "Пётр Иванов", "secret0", "imap.example.ru", "993", "true")
    )
    count, peak = _peak_bytes(big_csv, 1)
    assert count == 1
    assert peak < 3_000_000  # the sample and the look-ahead, not a 15 MB file


@pytest.mark.slow
def test_large_csv_streams_in_flat_memory(big_csv: Path) -> None:
    count, peak = _peak_bytes(big_csv, None)
    assert count == 200_000
    assert peak < 3_000_000


@pytest.mark.parametrize("data", [b"x", b"e", b"\xe9"])
def test_a_one_byte_file_is_text_without_a_header_not_binary(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "one.csv"
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        read(path)
    assert "binary" not in str(caught.value)
