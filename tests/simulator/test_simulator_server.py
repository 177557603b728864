"""Serving: the state file across restarts, `bulkmail simulate` as a user runs it, shutdown."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from test_simulator_accounts import ACCOUNTS, BODY

from bulkmail.cli import main
from bulkmail.simulator import PortalUser, SimConfig, running

pytestmark = pytest.mark.slow
LOGIN = {"userName": "anna@corp.example", "password": "Portal-1"}


def signed_in(url: str, login: dict[str, str] = LOGIN) -> httpx.Client:
    answer = httpx.post(f"{url}/api/2.0/authentication", json=login)
    token = answer.json()["response"]["token"]
    return httpx.Client(base_url=url, headers={"Authorization": token})


def test_a_portal_mailbox_of_the_config_never_takes_the_id_of_a_kept_mailbox(
    tmp_path: Path,
) -> None:
    # The config makes portal mailboxes on every start: numbered before the state file was
    # read, one took the id of a kept external account, which then listed as the user's
    # portal mailbox (bulkmail refused its rows, portal-own-address).
    state = tmp_path / "rehearsal.sqlite"
    anna = PortalUser("anna@corp.example", "Portal-1")
    with running(SimConfig(users=(anna,), state_path=state)) as url, signed_in(url) as client:
        client.post(ACCOUNTS, json=BODY).raise_for_status()
    own = replace(anna, portal_mailboxes=("anna@portal.example",))
    for _ in range(2):  # and again: the kept account is read back, the mailbox made anew
        with running(SimConfig(users=(own,), state_path=state)) as url, signed_in(url) as client:
            listed = client.get(ACCOUNTS).json()["response"]
        items = [(i["email"], i["isTeamlabMailbox"]) for i in listed]
        assert sorted(items) == [("anna.berg@corp.example", False), ("anna@portal.example", True)]
        assert len({i["mailboxId"] for i in listed}) == 2


def test_the_state_file_keeps_users_and_mailboxes_but_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "rehearsal.sqlite"
    with running(SimConfig(state_path=state)) as url, signed_in(url) as client:
        client.post(ACCOUNTS, json=BODY)
        client.post(
            ACCOUNTS, json=BODY | {"email": "gone@corp.example", "imap": False, "port": 995}
        )
        client.delete(ACCOUNTS, params={"email": "gone@corp.example"})
        token = client.headers["Authorization"]
    with running(SimConfig(state_path=state)) as url:
        other_password = httpx.post(f"{url}/api/2.0/authentication", json=LOGIN | {"password": "x"})
        with signed_in(url) as client:
            listed = client.get(ACCOUNTS).json()["response"]
            created = client.post(ACCOUNTS, json=BODY | {"email": "new@corp.example"}).json()
    assert other_password.status_code == 500  # the first password stays the user's
    assert [m["email"] for m in listed] == ["anna.berg@corp.example"]
    assert created["response"]["mailboxId"] == 3
    content = state.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("*-wal"))
    for secret in ("Box-pw-1", "Portal-1", token):
        assert secret.encode() not in content

    assert main(["simulate", "--show", str(state)]) == 0
    shown = re.sub(r"created \S+", "created T", capsys.readouterr().out)
    assert shown.splitlines() == [
        f"{state}: 2 mailboxes (1 removed) of 1 users; 1 users provisioned by logging in",
        "anna@corp.example",
        "  #1 anna.berg@corp.example name='Anna Berg' IMAP anna@imap.corp.example:993 SSL "
        "SMTP anna@smtp.corp.example:465 SSL auth=on enabled created T",
        "  #2 gone@corp.example name='Anna Berg' POP3 anna@imap.corp.example:995 SSL "
        "SMTP anna@smtp.corp.example:465 SSL auth=on removed created T",
        "  #3 new@corp.example name='Anna Berg' IMAP anna@imap.corp.example:993 SSL "
        "SMTP anna@smtp.corp.example:465 SSL auth=on enabled created T",
    ]


def test_bulkmail_simulate_serves_logs_one_line_a_request_and_stops_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bulkmail", "simulate", "--port", "0", "--latency", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    try:
        banner = process.stdout.readline()
        url = re.fullmatch(
            r"bulkmail simulator serving (http://127\.0\.0\.1:\d+) \(Ctrl-C to stop\)\n", banner
        )
        assert url, banner
        with signed_in(url[1]) as client:
            client.post(ACCOUNTS, json=BODY | {"password": "wrong"})
            token = str(client.headers["Authorization"])
        logged = [process.stderr.readline() for _ in range(2)]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert [re.sub(r"^\d\d:\d\d:\d\d | \d+\.\dms ", " ", line) for line in logged] == [
        " POST /api/2.0/authentication 201 user=anna@corp.example\n",
        " POST /api/2.0/mail/accounts 500 user=anna@corp.example\n",
    ]
    assert (out, err) == ("", "bulkmail simulator stopped\n")
    for secret in ("Portal-1", "wrong", token):
        assert secret not in "".join(logged)


def test_running_gives_a_free_port_back_when_it_stops() -> None:
    with running(SimConfig()) as url:
        port = urlsplit(url).port
        assert httpx.get(f"{url}/_sim/stats").status_code == 200
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port or 0), timeout=1):
        pass
