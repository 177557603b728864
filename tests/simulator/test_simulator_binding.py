"""The simulator binds parameters as the portal does: sources, names, int/bool/enum, emails."""

from __future__ import annotations

import pytest

from bulkmail.schema import AUTH, ENCRYPTION
from bulkmail.simulator.binding import ApiError, Params, gather
from bulkmail.simulator.facts import parse_address

JSON = "application/json"


@pytest.mark.parametrize(
    ("query", "content_type", "body", "expected"),
    [
        ([], JSON, b'{"Email": "a@b.c", "PORT": 993}', {"email": "a@b.c", "port": "993"}),
        ([], "application/json; charset=utf-8", b'{"imap": true}', {"imap": "true"}),
        ([("email", "q@b.c")], JSON, b'{"email": "a@b.c"}', {"email": "q@b.c"}),
        ([], "text/plain", b'{"email": "a@b.c"}', {}),
        ([], "", b'{"email": "a@b.c"}', {}),
        ([], JSON, b"", {}),
        ([], "application/x-www-form-urlencoded", b"email=a%40b.c&Port=",
         {"email": "a@b.c", "port": ""}),
        ([], JSON, b'{"name": null, "port": 993.0, "restrict": false}',
         {"name": "", "port": "993", "restrict": "false"}),
        ([], JSON, b'{"a": {"b": 1}, "c": [1, 2]}', {"a[b]": "1", "c": "1,2"}),
    ],
)  # fmt: skip
def test_gather_reads_query_then_body_by_content_type(
    query: list[tuple[str, str]], content_type: str, body: bytes, expected: dict[str, str]
) -> None:
    assert gather(query, content_type, body) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"email": ', "Expecting value. Path '', line 1, position 11."),
        (b"[1, 2]", "XmlNodeConverter can only convert JSON that begins with an object."
                    " Path '', line 1, position 1."),
    ],
)  # fmt: skip
def test_a_bad_json_body_is_400(body: bytes, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        gather([], JSON, body)
    assert (caught.value.status, caught.value.message) == (400, message)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 0), ("", 0), ("993", 993), (" 993 ", 993), ("-1", -1), ("+25", 25)],
)
def test_int_binding(value: str | None, expected: int) -> None:
    values = {} if value is None else {"port": value}
    assert Params(values).integer("port") == expected


@pytest.mark.parametrize(
    ("value", "message", "hresult"),
    [
        ("x", "Input string was not in a correct format.", -2146233033),
        ("993.5", "Input string was not in a correct format.", -2146233033),
        ("2147483648", "Value was either too large or too small for an Int32.", -2146233066),
    ],
)
def test_int_binding_errors(value: str, message: str, hresult: int) -> None:
    with pytest.raises(ApiError) as caught:
        Params({"port": value}).integer("port")
    assert (caught.value.status, caught.value.message, caught.value.hresult) == (
        400,
        message,
        hresult,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("", False), ("true", True), ("True", True), (" FALSE ", False)],
)
def test_bool_binding(value: str | None, expected: bool) -> None:
    values = {} if value is None else {"imap": value}
    assert Params(values).boolean("imap") is expected


@pytest.mark.parametrize("value", ["1", "0", "yes", "on"])
def test_bool_binding_accepts_only_true_and_false(value: str) -> None:
    with pytest.raises(ApiError) as caught:
        Params({"imap": value}).boolean("imap")
    assert (caught.value.status, caught.value.message) == (
        400,
        "String was not recognized as a valid Boolean.",
    )


@pytest.mark.parametrize(
    ("value", "names", "expected"),
    [
        ("", ENCRYPTION, 0),
        ("1", ENCRYPTION, 1),
        ("SSL", ENCRYPTION, 1),
        ("starttls", ENCRYPTION, 2),
        ("SSL,StartTLS", ENCRYPTION, 3),
        ("9", ENCRYPTION, 9),
        ("cramMD5", AUTH, 4),
        ("OAuth2", AUTH, 5),
    ],
)
def test_enum_binding(value: str, names: dict[str, int], expected: int) -> None:
    assert Params({"e": value}).enum("e", names) == expected


def test_an_unknown_enum_name_is_400_naming_it() -> None:
    with pytest.raises(ApiError) as caught:
        Params({"e": "TLS"}).enum("e", ENCRYPTION)
    assert (caught.value.status, caught.value.message, caught.value.hresult) == (
        400,
        "Requested value 'TLS' was not found.",
        -2147024809,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("anna@example.org", "anna@example.org"),
        ("  Anna@Example.org ", "Anna@Example.org"),
        ("Anna Berg <anna@example.org>", "anna@example.org"),
        ('"Berg, Anna" <anna@example.org>', "anna@example.org"),
        ("a@b", "a@b"),
        ("first.last+tag@sub.example.org", "first.last+tag@sub.example.org"),
        ("anna.example.org", None),
        ("anna@", None),
        ("@example.org", None),
        ("an na@example.org", None),
        ("anna@@example.org", None),
        ("anna..berg@example.org", None),
    ],
)
def test_parse_address_reads_what_mailaddress_accepts(value: str, expected: str | None) -> None:
    assert parse_address(value) == expected
