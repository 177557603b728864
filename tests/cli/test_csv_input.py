"""What a user sees of a CSV's encoding and delimiter: the console line, summary.json, exit 2.

The field cases of issue 11 (`cp1252-portuguese.csv`, `sep-line.csv`) with fixtures written
here, and the other outcomes of the encoding guess: sure, not sure, refused.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bulkmail.cli import main
from bulkmail.cli.output import describe_input
from bulkmail.models import InputInfo

ADMIN = "admin@corp.example"
PORTUGUESE = (
    "Email,Name,Password,IMAP server,SMTP server\r\n"
    "maria.silva@empresa.example,Maria da Conceição Silva,Verão2024!,"
    "imap.empresa.example,smtp.empresa.example\r\n"
    "joao.costa@empresa.example,Joao Costa,Sol-e-mar7,imap.empresa.example,smtp.empresa.example\r\n"
    "ana.lima@empresa.example,Ana Lima (Comunicação),Praia#2025,"
    "imap.empresa.example,smtp.empresa.example\r\n"
)
SEP_LINE = (
    "sep=;\r\n"
    "email;password;server;smtp_server\r\n"
    "anna@mail.example;Secret1;imap.mail.example;smtp.mail.example\r\n"
    "boris@mail.example;Secret2;imap.mail.example;smtp.mail.example\r\n"
)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def report(here: Path) -> tuple[dict[str, object], list[dict[str, str]]]:
    """Return summary.json and the report's rows (succeeded.csv, then failed.csv)."""
    folder = next((here / "reports").iterdir())
    rows: list[dict[str, str]] = []
    for name in ("succeeded.csv", "failed.csv"):
        with (folder / name).open(encoding="utf-8-sig", newline="") as f:
            rows += csv.DictReader(f)
    return json.loads((folder / "summary.json").read_text(encoding="utf-8")), rows


def test_a_western_european_csv_is_read_as_typed(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Saved as "CSV (comma delimited)" by a Portuguese Excel: cp1252, ção and ão in words.
    (here / "pt.csv").write_bytes(PORTUGUESE.encode("cp1252"))
    assert main(["validate", "pt.csv", "--user", ADMIN]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("validate pt.csv (csv, cp1252 detected, ',' detected): 3 rows in ")
    summary, rows = report(here)
    assert [(r["outcome"], r["Name"]) for r in rows] == [
        ("valid", "Maria da Conceição Silva"),
        ("valid", "Joao Costa"),
        ("valid", "Ana Lima (Comunicação)"),
    ]
    assert summary["input"] == {
        "path": "pt.csv",
        "format": "csv",
        "sheet": None,
        "encoding": "cp1252",
        "delimiter": ",",
        "encoding_detected": True,
        "delimiter_detected": True,
        "encoding_sure": True,
        "encoding_basis": "its words",
        "encoding_rivals": [],
        "sep_line": False,
        "report": False,
    }


def test_excels_sep_line_is_honoured_and_skipped(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "sep.csv").write_bytes(SEP_LINE.encode())
    assert main(["validate", "sep.csv", "--user", ADMIN]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("validate sep.csv (csv, utf-8 detected, ';' from sep=): 2 rows in ")
    summary, rows = report(here)
    assert [(r["row"], r["outcome"], r["email"]) for r in rows] == [
        ("2", "valid", "anna@mail.example"),
        ("3", "valid", "boris@mail.example"),
    ]
    assert summary["input"]["sep_line"] is True  # type: ignore[index]


def test_a_guess_that_is_not_sure_says_so_and_names_the_rival(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One name, saved on a Mac: mac-roman's ü is cp1250's ź, and Mźller spells too.
    text = (
        "email,name,password,server,smtp_server\r\n"
        "hans@firma.example,Müller,Pass-1,imap.firma.example,smtp.firma.example\r\n"
    )
    (here / "mac.csv").write_bytes(text.encode("mac-roman"))
    assert main(["validate", "mac.csv", "--user", ADMIN]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(
        "validate mac.csv (csv, mac-roman guessed, not sure (cp1250 reads it too), "
        "',' detected): 1 row in "
    )
    summary, rows = report(here)
    assert rows[0]["name"] == "Müller"
    assert {k: summary["input"][k] for k in ("encoding", "encoding_sure", "encoding_rivals")} == {  # type: ignore[index]
        "encoding": "mac-roman",
        "encoding_sure": False,
        "encoding_rivals": ["cp1250"],
    }


def test_a_forced_encoding_is_shown_as_given(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "pt.csv").write_bytes(PORTUGUESE.encode("cp1252"))
    assert main(["validate", "pt.csv", "--user", ADMIN, "--encoding", "latin-1"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("validate pt.csv (csv, iso8859-1, ',' detected): 3 rows in ")
    summary, _ = report(here)
    assert (summary["input"]["encoding_sure"], summary["input"]["encoding_basis"]) == (  # type: ignore[index]
        True,
        "--encoding",
    )


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            "email,name\r\na@x.example,é\r\n".encode("cp1252"),
            "cannot tell the text encoding of in.csv: its words read as cp1251 or cp1252 or "
            "koi8-r or mac-roman equally well (pass the right one with --encoding "
            "(e.g. --encoding cp1251), or save the file again as CSV UTF-8)",
        ),
        (
            # × and ÷ run together in cp1252: nothing one types, nor anything else
            b"email,name\r\na@x.example,\xd7\xf7\r\n",
            "cannot tell the text encoding of in.csv: no code page bulkmail knows reads its "
            "words (pass it with --encoding (utf-8, cp1251, cp1252, utf-16 ...), or save the "
            "file again as CSV UTF-8)",
        ),
        (
            b"email,name\r\n" + b"a@x.example," + b"x;" * 40_000 + b"\r\n",
            "in.csv row 2 runs past 65,536 characters: more than bulkmail reads in a row "
            "(keep only the columns bulkmail needs, or close the quote that runs on from that "
            "row)",
        ),
    ],
    ids=["two-code-pages", "no-code-page", "row-limit"],
)
def test_a_file_bulkmail_cannot_read_right_is_one_line_exit_2(
    here: Path, capsys: pytest.CaptureFixture[str], data: bytes, error: str
) -> None:
    (here / "in.csv").write_bytes(data)
    assert main(["validate", "in.csv", "--user", ADMIN]) == 2
    (summary,) = (here / "reports").glob("*/*")  # the error's summary.json, no rows
    assert capsys.readouterr() == (
        f"report: {summary.relative_to(here)}\n",
        f"bulkmail: error: {error}\n",
    )


@pytest.mark.parametrize(
    ("info", "shown"),
    [
        (
            InputInfo(
                "a.csv",
                "csv",
                encoding="cp1251",
                delimiter=";",
                encoding_detected=True,
                delimiter_detected=True,
                encoding_sure=True,
                encoding_basis="its words",
            ),
            "a.csv (csv, cp1251 detected, ';' detected)",
        ),
        (
            InputInfo(
                "a.csv",
                "csv",
                encoding="cp1251",
                delimiter=";",
                encoding_detected=True,
                encoding_sure=False,
                encoding_basis="its words, all in capitals",
            ),
            "a.csv (csv, cp1251 guessed, not sure (its words, all in capitals), ';')",
        ),
        (
            InputInfo(
                "a.csv",
                "csv",
                encoding="cp1252",
                delimiter="\t",
                encoding_detected=True,
                delimiter_detected=True,
                encoding_sure=False,
                encoding_basis="its words",
                encoding_rivals=("cp1250", "cp1257"),
            ),
            "a.csv (csv, cp1252 guessed, not sure (cp1250 and cp1257 read it too), tab detected)",
        ),
        (
            InputInfo(
                "a.csv",
                "csv",
                encoding="koi8-r",
                delimiter="|",
                encoding_detected=False,
                delimiter_detected=True,
                encoding_sure=True,
                encoding_basis="--encoding",
                sep_line=True,
            ),
            "a.csv (csv, koi8-r, '|' from sep=)",
        ),
        (InputInfo("a.xlsx", "xlsx", sheet="Accounts"), "a.xlsx (xlsx, sheet 'Accounts')"),
    ],
)
def test_the_console_line_says_how_the_input_was_read(info: InputInfo, shown: str) -> None:
    assert describe_input(info) == shown
