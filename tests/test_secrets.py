"""bulkmail.secrets: what is secret, the registry, and the one scrubber."""

from __future__ import annotations

import json
import random
import secrets as stdlib_secrets

import pytest

from bulkmail.secrets import (
    MASK,
    REGISTRY,
    forms,
    is_secret_name,
    looks_like_data,
    masked_cells,
    quotable,
    register,
    scrub,
    scrub_data,
    scrub_texts,
    secret_columns,
    secret_values,
)

ODD = 'Pa"ss\\w&rd<ä> +%'  # every character some escaping changes


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("Portal Password", True),
        ("Пароль", True),
        ("smtp-pwd", True),
        ("Old password", True),  # not a known column, but looks like one
        ("token", True),
        ("Authorization", True),
        ("asc_auth_key", True),
        ("Cookie", True),
        ("email", False),
        ("smtp auth", False),  # a known column decides by its field
        ("auth_type_in", False),
        ("message", False),
        ("portal_user", False),
    ],
)
def test_is_secret_name(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_secret_columns_are_secret_fields_and_ignored_password_like_headers() -> None:
    headers = ("Email", "Pass", "Login", "Old Password", "Notes", "Password", "Token")
    fields = ("email", "password", "account", None, None, None)  # "Password" is a duplicate
    assert secret_columns(headers, fields) == frozenset({1, 3, 5, 6})


def test_secret_values_and_masked_cells_go_by_the_cells_names() -> None:
    cells = {"email": "a@x.org", "password": "p1", "Пароль": "p2", "smtp_password": "", "x": "1"}
    assert secret_values(cells) == ["p1", "p2"]
    assert masked_cells(cells) == {**cells, "password": MASK, "Пароль": MASK}


@pytest.mark.parametrize(
    "text",
    [
        ODD,
        json.dumps(ODD)[1:-1],  # Python's JSON
        json.dumps(ODD, ensure_ascii=False)[1:-1],
        "Pa\\u0022ss\\\\w\\u0026rd\\u003C\\u00E4\\u003E \\u002B%",  # .NET's System.Text.Json
        "Pa&quot;ss\\w&amp;rd&lt;ä&gt; +%",  # HTML, named entities
        "Pa&#34;ss\\w&#38;rd&#60;ä&#62; +%",  # HTML, decimal entities
        "Pa%22ss%5Cw%26rd%3C%C3%A4%3E%20%2B%25",  # percent-encoding
        "Pa%22ss%5cw%26rd%3c%c3%a4%3e+%2b%25",  # lower-case, + for space
    ],
)
def test_a_secret_is_masked_in_every_form_text_gives_it(text: str) -> None:
    assert text in forms(ODD)
    assert scrub(f"said <{text}>.", [ODD]) == f"said <{MASK}>."
    register(ODD)
    assert scrub(f"said <{text}>.") == f"said <{MASK}>."


def test_a_plain_secret_has_one_form() -> None:
    assert forms("Plain-S3cret_1.x~") == frozenset({"Plain-S3cret_1.x~"})


def test_registered_values_are_masked_from_then_on_short_ones_never() -> None:
    text = "login S3cret-pass refused (ab, 12)"
    assert scrub(text) is text
    register("S3cret-pass", None, "", "ab", "12")
    assert scrub(text) == f"login {MASK} refused (ab, 12)"
    REGISTRY.clear()
    assert scrub(text) is text


def test_extra_values_are_masked_without_being_registered() -> None:
    assert scrub("a Row-S3cret b", ["Row-S3cret", "", "abc"]) == f"a {MASK} b"
    assert scrub("a Row-S3cret b") == "a Row-S3cret b"


def test_url_userinfo_is_masked() -> None:
    text = (
        "GET https://admin:pw@portal.example.org/x and ftp://tok@h, not mail@x.org or https://h/a@b"
    )
    assert scrub(text) == (
        f"GET https://{MASK}@portal.example.org/x and ftp://{MASK}@h, "
        "not mail@x.org or https://h/a@b"
    )


def test_overlapping_and_adjacent_secrets_leave_nothing_between_them() -> None:
    assert scrub("xxabyy and xxabxxab", ["xxab", "abyy"]) == f"{MASK} and {MASK}"
    register("abcdefgh")
    assert scrub("abcdefghij", ["ghij"]) == MASK
    assert scrub("****, x****y", ["****"]) == f"{MASK}, x{MASK}y"  # never inside the mask


def test_tokens_are_found_plain_inside_a_run_and_escaped() -> None:
    token = "Ab+/Cd=EfGh_Ij-Kl_Mn9"
    register(token)
    for said in (
        token,
        f"Authorization:{token}",
        f'{{"token":"{token}"}}',
        "Ab%2B%2FCd%3DEfGh_Ij-Kl_Mn9",  # percent-encoded
        "Ab\\u002B\\/Cd\\u003DEfGh_Ij-Kl_Mn9",  # JSON-escaped, .NET style
    ):
        assert token[:4] not in scrub(f"a {said} b"), said
    # the whole run of token characters goes: it is the token with what stuck to it
    assert scrub(f"a x{token}y b") == f"a {MASK} b"
    assert scrub(f"a {token[:-1]} b") == f"a {token[:-1]} b"  # not the token
    register("eyJhbGciOi.eyJzdWIiOi.SflKxwRJSM")  # a JWT: dots, so matched as a password is
    assert scrub("Bearer eyJhbGciOi.eyJzdWIiOi.SflKxwRJSM;") == f"Bearer {MASK};"


def test_thousands_of_tokens_are_all_found() -> None:
    tokens = [stdlib_secrets.token_urlsafe(32) for _ in range(5000)]
    register(*tokens)
    assert all(scrub(f"Authorization: {t};") == f"Authorization: {MASK};" for t in tokens[::97])
    assert scrub("the portal failed: IMAP: Invalid credentials") == (
        "the portal failed: IMAP: Invalid credentials"
    )


def test_no_secret_survives_random_texts() -> None:
    rnd = random.Random(20261123)
    alphabet = 'ab1"\\&<% +'
    for _ in range(2000):
        secrets = ["".join(rnd.choices(alphabet, k=rnd.randint(4, 7))) for _ in range(2)]
        pieces = [rnd.choice([*secrets, *forms(secrets[0]), "x", " ", "a"]) for _ in range(6)]
        text = "".join(pieces)
        masked = scrub(text, secrets)
        left = [f for s in secrets for f in forms(s) if f in masked.replace(MASK, "\0")]
        assert left == [], (text, secrets, masked)


def test_scrub_texts_returns_the_same_list_when_nothing_is_secret() -> None:
    texts = ["2", "failed", "IMAP: refused"]
    assert scrub_texts(texts, ["S3cret!"]) is texts
    assert scrub_texts(["2", "LOGIN S3cret!"], ["S3cret!"]) == ["2", f"LOGIN {MASK}"]


def test_scrub_data_masks_secret_keys_and_scrubs_nested_values() -> None:
    register("Portal-Pa55")
    data = {
        "portal": "https://u:p@h",
        "reason": "said Portal-Pa55",
        "previous": {"argv": ("import", "Portal-Pa55"), "token": None, "pid": 4},
        "counts": [1, {"password": "x"}],
    }
    assert scrub_data(data) == {
        "portal": f"https://{MASK}@h",
        "reason": f"said {MASK}",
        "previous": {"argv": ("import", MASK), "token": MASK, "pid": 4},
        "counts": [1, {"password": MASK}],
    }


def test_scrub_data_keeps_a_count_keyed_by_a_code_that_names_a_password() -> None:
    problems = {"password-masked": 2, "password-in-column": 1, "port-out-of-range": 3}
    assert scrub_data({"problems": problems}) == {"problems": problems}
    assert scrub_data({"password": "1234", "token": None}) == {"password": MASK, "token": MASK}


@pytest.mark.parametrize(
    ("cells", "shown"),
    [
        (("Email", "Old password", "Phone 2", "Фамилия", "(optional) note"), (True,) * 5),
        (
            ("Mail accounts", "2024", "Summer2024!", "imap.example.org", "Pa$$"),
            (True,) + (False,) * 4,
        ),
        # a sheet without its header row: nothing of row 1 is quoted
        (("john@example.org", "S3cret", "SSL", "Notes"), (False,) * 4),
        (("Portal", "https://portal.example.org"), (False, False)),
    ],
)
def test_quotable_header_cells(cells: tuple[str, ...], shown: tuple[bool, ...]) -> None:
    assert quotable(cells) == shown


def test_looks_like_data() -> None:
    assert looks_like_data(["x", "a@b.org"]) and not looks_like_data(["Email", "@handle", "a@"])
