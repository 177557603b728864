"""The SMTP login tries one mechanism once: each refusal is a failed login on the server."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest

from bulkmail.check.protocols import _smtp_login


class Refusing(smtplib.SMTP):
    """An SMTP client that records each AUTH it would send and is refused every time."""

    def __init__(self) -> None:
        super().__init__()  # no host: nothing is connected
        self.tried: list[str] = []

    def auth(self, mechanism: str, authobject: Any, *, initial_response_ok: bool = True) -> Any:
        self.tried.append(mechanism)
        raise smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid")


@pytest.mark.parametrize(
    ("offered", "tried"),
    [
        ({"LOGIN", "PLAIN"}, ["PLAIN"]),
        ({"LOGIN"}, ["LOGIN"]),
        ({"CRAM-MD5", "PLAIN"}, ["CRAM-MD5"]),
    ],
)
def test_a_refused_smtp_login_is_not_tried_again_with_another_mechanism(
    offered: set[str], tried: list[str]
) -> None:
    client = Refusing()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        _smtp_login(client, frozenset(offered), ("anna@example.org", "Secret-1"))
    assert client.tried == tried


def test_no_mechanism_in_common_is_not_supported() -> None:
    client = Refusing()
    with pytest.raises(smtplib.SMTPNotSupportedError):
        _smtp_login(client, frozenset({"XOAUTH2"}), ("anna@example.org", "Secret-1"))
    assert client.tried == []
