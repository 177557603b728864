"""The one escaping of file text for messages: printable, one line, short, and stable."""

from __future__ import annotations

import pytest

from bulkmail.printable import cell_quoted, listing, printable, quoted


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Email", "Email"),
        ("Электронная почта", "Электронная почта"),
        ("back\\slash", "back\\slash"),  # kept: escaping twice must change nothing
        ("E-mail\naddress", "E-mail\\naddress"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),  # an ANSI colour
        ("\x00\x7f\x85", "\\x00\\x7f\\x85"),  # NUL, DEL, a C1 control (NEL)
        ("\u00a0", "\\xa0"),  # a no-break space: visible at last
        ("x\u2028y\u2029z", "x\\u2028y\\u2029z"),  # line and paragraph separators
        ("abc\u202edcba", "abc\\u202edcba"),  # a right-to-left override reordering the line
        ("\u200bvera@x.org", "\\u200bvera@x.org"),  # a zero-width space
        ("\ufeffemail", "\\ufeffemail"),  # a BOM
        ("bad\udcff", "bad\\udcff"),  # a lone surrogate (undecodable byte): printing would fail
        ("\U000e0041", "\\U000e0041"),  # a tag character beyond the BMP
    ],
)
def test_printable_escapes_what_a_terminal_would_not_show_as_it_is(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert printable(shown) == shown
    assert shown.isprintable()


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        ("abcdef", 6, "abcdef"),
        ("abcdefg", 6, "abcde…"),
        ("ab\ncdef", 6, "ab\\nc…"),
        ("ab\ncd", 5, "ab\\n…"),  # never cut inside an escape
        ("a\x1bbcdef", 5, "a…"),
        ("x" * 100_000, 10, "xxxxxxxxx…"),
    ],
)
def test_printable_cuts_to_the_limit_with_an_ellipsis(text: str, limit: int, shown: str) -> None:
    assert printable(text, limit) == shown
    assert len(shown) <= limit


def test_quoted_and_listing() -> None:
    assert quoted("Old\npassword") == "'Old\\npassword'"
    assert quoted("y" * 50) == "'" + "y" * 39 + "…'"
    assert listing(["'a'", "'b'"]) == "'a', 'b'"
    items = [f"'{n}'" for n in range(10_000)]
    assert listing(items) == "'0', '1', '2', '3', '4' and 9,995 more"
    assert listing(items, 2) == "'0', '1' and 9,998 more"


def test_a_cell_is_quoted_whole_up_to_its_limit_then_cut_with_its_length() -> None:
    assert cell_quoted("a" * 80) == '"' + "a" * 80 + '"'
    assert cell_quoted("a" * 81) == '"' + "a" * 79 + '…" (81 characters)'
    assert cell_quoted("x" * 32_767, 5) == '"xxxx…" (32,767 characters)'
    # Cut before a character's combining marks, not between: "é" typed as e + U+0301 (41
    # times) showed a bare "e" as its last character.
    assert cell_quoted("e\u0301" * 41) == '"' + "e\u0301" * 39 + '…" (82 characters)'
    assert cell_quoted("x" * 78 + "\U0001f44d\U0001f3fd" + "x") == (
        '"' + "x" * 78 + '…" (81 characters)'
    )  # a thumb and its skin tone (a modifier) stay together
    assert cell_quoted("a\u200bb", mark=lambda t: t.replace("\u200b", "<U+200B>")) == (
        '"a<U+200B>b"'
    )


@pytest.mark.parametrize(
    ("column", "text", "code"),
    [
        ("email", "box" + "x" * 3000 + "@example.org", "email-invalid"),
        ("server", "imap" + "x" * 3000 + ".example.org", "host-invalid"),
        ("port", "99" + "x" * 3000, "port-invalid"),
        ("imap", "maybe" * 600, "bool-invalid"),
        ("incoming_encryption_type", "tls" * 1000, "encryption-invalid"),
        ("email", "b\u200box" + "x" * 3000 + "@example.org", "invisible-character"),
        ("email", "\u200bbox" + "x" * 3000 + "@example.org", "invisible-stripped"),
        ("portal_user", "u " * 1500 + "@corp.example.org", "portal-user-invalid"),
        # A number past int()'s 4,300 digits was a ValueError traceback; under it, the
        # message printed it whole. Hints quoted the cell's parts whole.
        ("port", "9" * 3000, "port-out-of-range"),
        ("port", "9" * 5000, "port-out-of-range"),
        ("port", "-" + "1" * 5000 + ".0", "port-out-of-range"),
        ("incoming_encryption_type", "7" * 5000, "encryption-invalid"),
        ("server", "imap.example.org:" + "1" * 3000, "host-invalid"),
        ("server", "https://imap" + "x" * 3000 + ".example.org/", "host-invalid"),
    ],
)
def test_no_validation_message_quotes_a_long_cell_whole(column: str, text: str, code: str) -> None:
    import bulkmail

    row = {
        "portal_user": "u@corp.example.org", "portal_password": "Portal-pw-1",
        "email": "box@example.org", "password": "Secret-1", "server": "imap.example.org",
        "port": "993", "smtp_server": "smtp.example.org", "smtp_port": "465",
    } | {column: text}  # fmt: skip
    (checked,) = bulkmail.validate([row])
    (problem,) = [p for p in checked.problems if p.code == code]
    assert "characters)" in problem.message
    for any_problem in checked.problems:  # the notes that name the cell too
        assert len(any_problem.message) < 250, any_problem.message
        assert len(any_problem.hint) < 250, any_problem.hint
