"""Invisible and look-alike characters in the cells that name something (issue 11, kind 6).

An invisible character at either end is removed with a warning; inside, it is an error; a
look-alike is an error wherever it is. Each names the code point and its position.
"""

from __future__ import annotations

import csv
import sys
import unicodedata
from pathlib import Path

import pytest

from bulkmail.cli import main
from bulkmail.codes import Code
from bulkmail.models import InputInfo, Problem, Row, Severity, Table
from bulkmail.validation.cells import Findings
from bulkmail.validation.identifiers import IDENTIFIER_COLUMNS, bare, describe, identifier
from bulkmail.validation.table import validate, validate_row

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO
ADMIN = "admin@corp.example"

# A row whose every identifier column is given, so each case shows only its own problem.
ROW = {
    "portal_user": "boss@example.org",
    "portal_password": "Portal-Boss-1",
    "email": "anna@example.org",
    "account": "anna.login",
    "password": "Imap-Secret-1",
    "server": "imap.example.org",
    "port": "993",
    "smtp_server": "smtp.example.org",
    "smtp_port": "465",
    "smtp_account": "anna.smtp",
    "smtp_password": "Smtp-Secret-2",
}
# The Account attribute each identifier column becomes.
FIELD = {column: column for column in IDENTIFIER_COLUMNS}

FORMAT_CHARACTERS = [
    chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"
]
UNICODE_SPACES = [
    chr(c)
    for c in range(0x80, sys.maxunicode + 1)
    if unicodedata.category(chr(c)) in ("Zs", "Zl", "Zp")
]


def check(text: str, column: str = "email") -> tuple[str, bool, list[Problem]]:
    found = Findings(2)
    value, clean = identifier(column, text, found)
    return value, clean, found.problems


def codes(problems: list[Problem]) -> list[tuple[str, Severity]]:
    return [(p.code, p.severity) for p in problems]


def test_the_columns_are_the_ones_that_name_something() -> None:
    expected = {"email", "account", "smtp_account", "portal_user", "server", "smtp_server"}
    assert expected == IDENTIFIER_COLUMNS


@pytest.mark.parametrize("text", ["anna@example.org", "  anna@example.org\t", "", "a b"])
def test_printable_ascii_is_taken_as_it_is_stripped(text: str) -> None:
    assert check(text) == (text.strip(), True, [])


def test_every_format_character_inside_is_an_error_naming_it_and_its_position() -> None:
    assert len(FORMAT_CHARACTERS) > 150  # zero-width, BOM, soft hyphen, bidi, tags...
    wrong = []
    for char in FORMAT_CHARACTERS:
        _, clean, problems = check(f"anna{char}@example.org")
        message = f'"anna<U+{ord(char):04X}>@example.org" has an invisible character inside: '
        message += f"{describe(char)} at position 5"
        if clean or [(p.code, p.message) for p in problems] != [
            (Code.INVISIBLE_CHARACTER, message)
        ]:
            wrong.append(describe(char))
    assert wrong == []


def test_every_format_character_at_either_end_is_removed_with_a_warning() -> None:
    wrong = []
    for char in FORMAT_CHARACTERS:
        for text, position in ((char + "anna@example.org", 1), ("anna@example.org" + char, 17)):
            value, clean, problems = check(text)
            message = f"invisible {describe(char)} at position {position} removed: "
            message += '"anna@example.org" is used'
            if (value, clean) != ("anna@example.org", True) or [
                (p.code, p.severity, p.message) for p in problems
            ] != [(Code.INVISIBLE_STRIPPED, W, message)]:
                wrong.append(f"{describe(char)} at {position}")
    assert wrong == []


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("\x01anna@example.org", "U+0001 (a control character) at position 1"),
        ("anna@example.org\x7f", "U+007F DELETE at position 17"),
        ("\u034fanna@example.org", "U+034F COMBINING GRAPHEME JOINER at position 1"),
        ("anna@example.org\ufe0f", "U+FE0F VARIATION SELECTOR-16 at position 17"),
        ("\u3164anna@example.org", "U+3164 HANGUL FILLER at position 1"),
        ("\ue000anna@example.org", "U+E000 (a private-use character) at position 1"),
    ],
)
def test_other_invisible_characters_at_the_ends_are_removed(text: str, named: str) -> None:
    value, clean, problems = check(text)
    assert (value, clean) == ("anna@example.org", True)
    assert [p.message for p in problems] == [
        f'invisible {named} removed: "anna@example.org" is used'
    ]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("an\tna@example.org", "U+0009 CHARACTER TABULATION at position 3"),
        ("anna@exa\nmple.org", "U+000A LINE FEED at position 9"),
        ("anna@example\x00.org", "U+0000 NULL at position 13"),
        ("anna\u034f@example.org", "U+034F COMBINING GRAPHEME JOINER at position 5"),
        ("anna@ex\u180bample.org", "U+180B MONGOLIAN FREE VARIATION SELECTOR ONE at position 8"),
    ],
)
def test_controls_and_other_invisibles_inside_are_errors(text: str, named: str) -> None:
    _, clean, problems = check(text)
    assert not clean
    assert codes(problems) == [(Code.INVISIBLE_CHARACTER, E)]
    assert problems[0].message.endswith(f"has an invisible character inside: {named}")


def test_a_cell_of_only_invisible_characters_is_blank() -> None:
    account, problems = validate_row({**ROW, "email": "\u200b\ufeff"}, 2)
    assert account is None
    assert [(p.code, p.column, p.message) for p in problems if p.severity is not N] == [
        (
            Code.INVISIBLE_STRIPPED,
            "email",
            "invisible U+200B ZERO WIDTH SPACE at position 1, U+FEFF ZERO WIDTH NO-BREAK SPACE "
            "at position 2 removed",
        ),
        (Code.REQUIRED, "email", "email is blank"),
    ]


def test_every_unicode_space_inside_is_a_look_alike() -> None:
    assert "\u00a0" in UNICODE_SPACES and "\u3000" in UNICODE_SPACES
    wrong = []
    for char in UNICODE_SPACES:
        _, clean, problems = check(f"anna{char}b@example.org", "account")
        named = f"{describe(char)} at position 5 (not a space)"
        said = [(p.code, p.message.endswith(named)) for p in problems]
        if clean or said != [(Code.LOOKALIKE_CHARACTER, True)]:
            wrong.append(describe(char))
    assert wrong == []


def test_spaces_at_the_ends_are_stripped_silently_as_in_every_cell() -> None:
    assert check("\u00a0anna@example.org\u3000") == ("anna@example.org", True, [])


LOOKALIKES = [
    ("anna\uff20example.org", "U+FF20 FULLWIDTH COMMERCIAL AT at position 5", "@"),
    ("anna\ufe6bexample.org", "U+FE6B SMALL COMMERCIAL AT at position 5", "@"),
    ("anna@example\uff0eorg", "U+FF0E FULLWIDTH FULL STOP at position 13", "."),
    ("anna@example\u3002org", "U+3002 IDEOGRAPHIC FULL STOP at position 13", "."),
    ("anna@example\uff61org", "U+FF61 HALFWIDTH IDEOGRAPHIC FULL STOP at position 13", "."),
    ("anna@example\u2024org", "U+2024 ONE DOT LEADER at position 13", "."),
    ("anna@example\ufe52org", "U+FE52 SMALL FULL STOP at position 13", "."),
    ("anna@my\u2010example.org", "U+2010 HYPHEN at position 8", "-"),
    ("anna@my\u2011example.org", "U+2011 NON-BREAKING HYPHEN at position 8", "-"),
    ("anna@my\u2012example.org", "U+2012 FIGURE DASH at position 8", "-"),
    ("anna@my\u2013example.org", "U+2013 EN DASH at position 8", "-"),
    ("anna@my\u2212example.org", "U+2212 MINUS SIGN at position 8", "-"),
    ("anna@my\ufe63example.org", "U+FE63 SMALL HYPHEN-MINUS at position 8", "-"),
    ("anna@my\uff0dexample.org", "U+FF0D FULLWIDTH HYPHEN-MINUS at position 8", "-"),
    ("o\u2019hara@example.org", "U+2019 RIGHT SINGLE QUOTATION MARK at position 2", "'"),
    ("o\u2018hara@example.org", "U+2018 LEFT SINGLE QUOTATION MARK at position 2", "'"),
    ("o\u02bchara@example.org", "U+02BC MODIFIER LETTER APOSTROPHE at position 2", "'"),
    ("\uff41nna@example.org", "U+FF41 FULLWIDTH LATIN SMALL LETTER A at position 1", "a"),
    ("anna@example.org\uff11", "U+FF11 FULLWIDTH DIGIT ONE at position 17", "1"),
]


@pytest.mark.parametrize(("text", "named", "meant"), LOOKALIKES)
def test_look_alike_punctuation_is_an_error_naming_it(text: str, named: str, meant: str) -> None:
    value, clean, problems = check(text)
    assert (value, clean) == (text, False)
    assert [(p.code, p.message, p.hint) for p in problems] == [
        (
            Code.LOOKALIKE_CHARACTER,
            f'"{text}" has a character that only looks like an ASCII one: {named} (not "{meant}")',
            f"type {meant} again with the keyboard in English (Latin, half-width) mode",
        )
    ]


def test_a_look_alike_at_an_end_is_not_removed() -> None:
    value, clean, problems = check("anna@example.org\u3002")
    assert (value, clean, codes(problems)) == (
        "anna@example.org\u3002",
        False,
        [(Code.LOOKALIKE_CHARACTER, E)],
    )


def test_several_characters_are_named_three_then_counted() -> None:
    _, _, problems = check("a\u200bn\u200cn\u200da\u2060@\u00adexample.org")
    assert problems[0].message == (
        '"a<U+200B>n<U+200C>n<U+200D>a<U+2060>@<U+00AD>example.org" has invisible characters '
        "inside: U+200B ZERO WIDTH SPACE at position 2, U+200C ZERO WIDTH NON-JOINER at "
        "position 4, U+200D ZERO WIDTH JOINER at position 6 and 2 more"
    )


def test_invisible_and_look_alike_in_one_cell_are_both_named() -> None:
    _, _, problems = check("anna\u200b\uff20example.org")
    assert codes(problems) == [(Code.INVISIBLE_CHARACTER, E), (Code.LOOKALIKE_CHARACTER, E)]


MIXED = [
    # (text, the word, the odd letters named)
    ("\u0430nna@example.org", "\u0430nna", "U+0430 CYRILLIC SMALL LETTER A at position 1"),
    ("anna@ex\u0430mple.org", "ex\u0430mple", "U+0430 CYRILLIC SMALL LETTER A at position 8"),
    ("anna@example.\u0441om", "\u0441om", "U+0441 CYRILLIC SMALL LETTER ES at position 14"),
    ("g\u03bfogle.com", "g\u03bfogle", "U+03BF GREEK SMALL LETTER OMICRON at position 2"),
    (
        "\u041fa\u0432\u0435\u043b",
        "\u041fa\u0432\u0435\u043b",
        "U+0061 LATIN SMALL LETTER A at position 2",
    ),
    ("\u0440\u043e", "\u0440\u043e", ""),  # all Cyrillic: no mix
]


@pytest.mark.parametrize(("text", "word", "named"), MIXED)
def test_a_word_mixing_alphabets_is_an_error_naming_the_odd_letters(
    text: str, word: str, named: str
) -> None:
    _, clean, problems = check(text, "account")
    if not named:
        assert (clean, problems) == (True, [])
        return
    assert not clean
    assert [(p.code, p.message) for p in problems] == [
        (Code.LOOKALIKE_CHARACTER, f'"{text}" mixes alphabets in the word "{word}": {named}')
    ]


@pytest.mark.parametrize(
    "text",
    [
        "иван@почта.рф",
        "josé.müller@bücher.example",
        "ivan.петров@corp.example",  # two words, one alphabet each
        "σοφία@example.gr",
        "user@例え.jp",
        "straße@example.de",
        "DOMAIN\\иван",
        "почта.пример.рф",
    ],
)
def test_letters_of_any_one_alphabet_per_word_are_fine(text: str) -> None:
    assert check(text, "account") == (text, True, [])


@pytest.mark.parametrize("column", sorted(IDENTIFIER_COLUMNS))
def test_every_identifier_column_is_cleaned_and_the_account_holds_the_clean_value(
    column: str,
) -> None:
    good = ROW[column]
    account, problems = validate_row({**ROW, column: "\u200b" + good + "\u200e"}, 2)
    assert account is not None
    assert getattr(account, FIELD[column]) == good
    assert [(p.code, p.column) for p in problems if p.severity is not N] == [
        (Code.INVISIBLE_STRIPPED, column)
    ]


@pytest.mark.parametrize("column", sorted(IDENTIFIER_COLUMNS))
@pytest.mark.parametrize(
    ("inserted", "code"),
    [("\u200b", Code.INVISIBLE_CHARACTER), ("\u00a0", Code.LOOKALIKE_CHARACTER)],
)
def test_every_identifier_column_refuses_a_character_inside(
    column: str, inserted: str, code: Code
) -> None:
    good = ROW[column]
    account, problems = validate_row({**ROW, column: good[:3] + inserted + good[3:]}, 2)
    assert account is None
    # One error for the cell: the column's own syntax check does not pile a second one on.
    errors = [p for p in problems if p.severity is not N]
    assert [(p.code, p.column) for p in errors] == [(code, column)]
    assert "at position 4" in errors[0].message


def test_a_host_with_an_ideographic_dot_is_named_not_just_called_invalid() -> None:
    _, problems = validate_row({**ROW, "smtp_server": "smtp\u3002example.org"}, 2)
    assert [(p.code, p.column, p.message) for p in problems if p.severity is E] == [
        (
            Code.LOOKALIKE_CHARACTER,
            "smtp_server",
            '"smtp\u3002example.org" has a character that only looks like an ASCII one: '
            'U+3002 IDEOGRAPHIC FULL STOP at position 5 (not ".")',
        )
    ]


def test_no_message_holds_an_invisible_character_raw() -> None:
    for char in [*FORMAT_CHARACTERS, "\x00", "\t", "\u00a0", "\u2028"]:
        _, _, problems = check(f"an{char}na@example.org")
        assert all(
            unicodedata.category(c)[0] != "C" and c not in "\u00a0\u2028"
            for p in problems
            for c in p.message
        ), describe(char)


@pytest.mark.parametrize(
    "text",
    ["anna@example.org", " \u200banna@example.org\ufeff ", "\u00a0x\u200b", "\u200b", ""],
)
def test_bare_is_the_value_identifier_uses(text: str) -> None:
    assert bare(text) == check(text)[0]


def table(rows: list[list[str]]) -> Table:
    fields = ("portal_user", "portal_password", "email", "password", "server", "smtp_server")
    return Table(
        headers=fields,
        fields=fields,
        info=InputInfo(path="accounts.csv", format="csv"),
        rows=(Row(n, tuple(cells)) for n, cells in enumerate(rows, start=2)),
    )


def test_an_invisible_character_does_not_hide_a_duplicate_mailbox() -> None:
    servers = ["imap.example.org", "smtp.example.org"]
    rows = [
        ["boss@example.org", "Pb-1", "anna@example.org", "p1", *servers],
        ["\u200bboss@example.org", "Pb-1", "\ufeffanna@example.org\u200b", "p2", *servers],
    ]
    checked = list(validate(table(rows)))
    assert [c.ok for c in checked] == [True, False]
    assert [p.message for p in checked[1].problems if p.severity is E] == [
        "anna@example.org is the same mailbox as row 2 for portal user boss@example.org: the "
        "portal would overwrite it"
    ]


# -- the field case: zero-width-email.csv ------------------------------------------------------


def report_rows(folder: Path) -> dict[int, dict[str, str]]:
    """Return the report's rows by row number, from succeeded.csv and failed.csv."""
    (run,) = [p for p in folder.iterdir() if p.is_dir()]
    rows: dict[int, dict[str, str]] = {}
    for name in ("succeeded.csv", "failed.csv"):
        with (run / name).open(encoding="utf-8-sig", newline="") as f:
            rows.update({int(r["row"]): {**r, "_file": name} for r in csv.DictReader(f)})
    return rows


def test_field_case_zero_width_space_before_an_address(tmp_path: Path) -> None:
    sheet = tmp_path / "zero-width-email.csv"
    sheet.write_bytes(
        "email,password,server,smtp_server\r\n"
        "\u200bvera.k@corp.example,Pass-1,imap.corp.example,smtp.corp.example\r\n"
        "will.l@corp.example,Pass-2,imap.corp.example,smtp.corp.example\r\n".encode()
    )
    reports = tmp_path / "reports"
    args = ["validate", str(sheet), "--user", ADMIN, "--report-dir", str(reports), "--quiet"]
    assert main(args) == 0
    rows = report_rows(reports)
    assert [(n, r["_file"], r["outcome"]) for n, r in sorted(rows.items())] == [
        (2, "succeeded.csv", "valid"),
        (3, "succeeded.csv", "valid"),
    ]
    assert rows[2]["notes"].startswith(
        "invisible-stripped: invisible U+200B ZERO WIDTH SPACE at position 1 removed: "
        '"vera.k@corp.example" is used; '
    )
    assert "account taken from email vera.k@corp.example" in rows[2]["notes"]
    assert "invisible" not in rows[3]["notes"]


@pytest.mark.parametrize(
    "changes",
    [
        {"email": "anna\u200b@example.org", "account": "", "smtp_account": ""},
        {"account": "anna\u202e.login", "smtp_account": ""},
        {"portal_user": "boss\u200b@example.org", "portal_password": ""},
        {"server": "imap\u200b.example.org"},
    ],
)
def test_no_other_message_of_the_row_repeats_the_invisible_character(
    changes: dict[str, str],
) -> None:
    account, problems = validate_row({**ROW, **changes}, 2)
    assert account is None
    texts = [p.message + p.hint for p in problems]
    assert [t for t in texts if any(unicodedata.category(c) == "Cf" for c in t)] == []
    assert [p.code for p in problems if p.severity is E] == [Code.INVISIBLE_CHARACTER]
