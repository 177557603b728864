"""The SMTP login tries one mechanism once: each refusal is a failed login on the server; an
interrupt ends running sessions at once."""

from __future__ import annotations

import queue
import smtplib
import ssl
import threading
from typing import Any

import pytest

from bulkmail.check.limits import _LATE
from bulkmail.check.protocols import Live, Step, _smtp_login, probe
from bulkmail.check.targets import NONE, Target
from tests.check.mailservers import Mail, MailServers


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


def test_end_all_ends_a_session_waiting_on_a_silent_server_and_refuses_new_ones(
    world: MailServers,
) -> None:
    imap = world.imap(Mail({}, silent=True))
    target = Target("incoming", "IMAP", "127.0.0.1", imap.port, NONE)
    live, ended = Live(), queue.SimpleQueue[BaseException]()

    def session() -> None:
        try:
            probe(target, ssl.create_default_context(), 60.0, Step(), live)
        except BaseException as err:  # what the session ended with, for the test
            ended.put(err)

    thread = threading.Thread(target=session)
    thread.start()
    assert imap.connected.wait(120)
    live.end_all()  # without it the session would wait for its 60 s timeout
    thread.join()
    err = ended.get_nowait()
    # The interrupt's end, not the socket's own timeout (also a TimeoutError): a session the
    # interrupt missed would end only then, and pass as well.
    assert isinstance(err, TimeoutError) and str(err) == _LATE
    with pytest.raises(TimeoutError, match="interrupted"):
        probe(target, ssl.create_default_context(), 600.0, Step(), live)
    assert imap.connections == 1  # the refused session never connected
