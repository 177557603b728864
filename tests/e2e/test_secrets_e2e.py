"""No secret anywhere: `python -m bulkmail import ... --log-format json` against a portal that
echoes what it is sent, then every output scanned for every secret in every escaped form.

The outputs: stdout, stderr (each JSON line decoded too), every file of the report folder
(the CSVs parsed, report.xlsx unzipped and its XML unescaped, summary.json decoded) and every
file beside the journal (the SQLite file read raw and through sqlite3). The portal is a tiny
starlette app served by uvicorn on 127.0.0.1 in a thread of this process.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

pytestmark = pytest.mark.slow

RUN_PASSWORD = 'Run"Pa\\ss&1'  # --user's, from BULKMAIL_PASSWORD
ANNA_PASSWORD = "Anna-Portal-pw1"  # a row's portal_password, accepted
USER_PASSWORD = 'Usr"B\\pw<2>'  # a row's portal_password, refused and echoed by the portal
MAILBOX_PASSWORD = 'Mb"ox\\Pw%3'
SMTP_PASSWORD = "Sm'tp\\Pw+4 x"
OLD_PASSWORD = 'Old"Pw\\5'  # an ignored column that looks like a password
URL_PASSWORD = 'Url"Pa\\ss6'
ROW_SECRETS = (ANNA_PASSWORD, USER_PASSWORD, MAILBOX_PASSWORD, SMTP_PASSWORD, OLD_PASSWORD)
MASK = "********"
HEADER = "portal_user,portal_password,email,password,smtp_password,server,smtp_server,Old password"


def forms(secret: str) -> set[str]:
    """Return `secret` as any output could hold it, escaped or not (the test's own list),
    and its first half likewise: what a message cut short would leave of it."""
    return _escaped(secret) | _escaped(secret[: len(secret) // 2 + 1])


def _escaped(text: str) -> set[str]:
    found = {text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    found |= {html.escape(text), html.escape(text, quote=False)}
    found |= {quote(text, safe=""), quote_plus(text, safe=""), quote(text)}
    return found | {re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), f) for f in found}


class Portal:
    """The portal: logs everyone in (but "refused@..."), lists nothing, fails every create
    with a message that echoes the request: its Authorization header, its passwords."""

    def __init__(self, echo: str, hang_for: str = "") -> None:
        self.echo = echo
        self.hang_for = hang_for  # the email whose create never gets an answer
        self.hanging = threading.Event()  # set when that create arrived
        self.tokens: list[str] = []
        self.creates = 0
        routes = [
            Route("/api/2.0/capabilities", self.capabilities, methods=["GET"]),
            Route("/api/2.0/authentication", self.login, methods=["POST"]),
            Route("/api/2.0/mail/accounts", self.accounts, methods=["GET", "POST"]),
        ]
        self.app = Starlette(routes=routes)

    async def capabilities(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": 0, "statusCode": 200, "response": {"ldapEnabled": False}})

    async def login(self, request: Request) -> JSONResponse:
        body = await request.json()
        if body["userName"].startswith("refused"):
            said = f"User authentication failed for {json.dumps(body)} ({body['password']})"
            return _error(500, said)
        # A token as real portals issue them: base64 characters, unique per login.
        self.tokens.append(f"Tok{len(self.tokens)}.Sess+ion/{os.urandom(12).hex()}==")
        result = {"token": self.tokens[-1], "expires": "2027-01-01T00:00:00.0000000+03:00"}
        return JSONResponse({"status": 0, "statusCode": 201, "response": result}, 201)

    async def accounts(self, request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse({"status": 0, "statusCode": 200, "response": []})
        self.creates += 1
        body = (await request.body()).decode()
        if self.hang_for and self.hang_for in body:
            self.hanging.set()
            await asyncio.Event().wait()  # until the server is stopped
        auth = request.headers["authorization"]
        if self.echo == "token":
            return _error(400, f"cannot bind the request of session {auth}")
        sent = json.loads(body)
        said = [
            body[body.index('"password"') : body.index(',"port"')],  # JSON-escaped
            html.escape(sent["smtp_password"]),
            quote(sent["password"]),
        ]
        return _error(500, "LOGIN refused: " + " / ".join(said))


def _error(status: int, message: str) -> JSONResponse:
    error = {"message": message, "hresult": -2146233088, "data": {}}
    return JSONResponse({"status": 1, "statusCode": status, "error": error}, status)


@pytest.fixture
def serve() -> Iterator[Any]:
    """Return a function serving a Portal on a loopback port; stop them all at the end."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(portal: Portal) -> str:
        # Listening before the thread starts: the CLI's connections wait in the backlog.
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        config = uvicorn.Config(portal.app, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, thread in running:
        server.should_exit = server.force_exit = True  # a hanging create is not waited for
        thread.join()


def write_sheet(path: Path, lines: list[list[str]]) -> Path:
    path.parent.mkdir(exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(lines)
    return path


def staff_sheet(tmp_path: Path) -> Path:
    def row(user: str, password: str, box: str) -> list[str]:
        email = f"{box}@mail.example.org"
        servers = ["imap.mail.example.org", "smtp.mail.example.org"]
        return [user, password, email, MAILBOX_PASSWORD, SMTP_PASSWORD, *servers, OLD_PASSWORD]

    return write_sheet(
        tmp_path / "input" / "staff.csv",
        [
            HEADER.split(","),
            row("anna@corp.example.org", ANNA_PASSWORD, "anna"),
            row("refused@corp.example.org", USER_PASSWORD, "refused"),
            row("", "", "run"),  # the run's --user
        ],
    )


def command(*args: str) -> tuple[list[str], dict[str, str]]:
    """Return the CLI's argv and environment as a user would run it, in tmp_path."""
    argv = [sys.executable, "-m", "bulkmail", *args, "--report-dir", "reports"]
    if args[0] == "import":
        argv += ["--state", "state/journal.sqlite", "--user", "run@corp.example.org"]
    return [*argv, "--log-format", "json"], {**os.environ, "BULKMAIL_PASSWORD": RUN_PASSWORD}


def bulkmail(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI to its end, its journal and reports under tmp_path."""
    argv, env = command(*args)
    return subprocess.run(
        argv,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a safety net only: the run ends by itself in seconds
        check=False,
    )


def outputs(tmp_path: Path, done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """Return every output of a run as text, decoded every way it could hide a secret."""
    texts = {"stdout": done.stdout, "stderr": done.stderr}
    for number, line in enumerate(done.stderr.splitlines()):
        if line.startswith("{"):
            texts[f"stderr line {number}"] = _strings(json.loads(line))
    written = [p for d in ("reports", "state") for p in (tmp_path / d).rglob("*") if p.is_file()]
    for path in sorted(written):
        name = str(path.relative_to(tmp_path))
        data = path.read_bytes()
        texts[name] = data.decode("utf-8", "replace")
        if path.suffix == ".csv":
            texts[name + " cells"] = _strings(list(csv.reader(io.StringIO(texts[name]))))
        elif path.suffix == ".json":
            texts[name + " values"] = _strings(json.loads(data))
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    xml = archive.read(member).decode("utf-8", "replace")
                    texts[f"{name}/{member}"] = xml + "\n" + html.unescape(xml)
        elif path.name == "journal.sqlite":
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                rows = conn.execute("SELECT * FROM entries").fetchall()
            texts[name + " rows"] = _strings(rows)
    return texts


def _strings(value: Any) -> str:
    """Return every string inside a decoded JSON value, CSV rows or SQLite rows."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple):
        return "\n".join(_strings(item) for item in value)
    return str(value)


def leaks(texts: dict[str, str], secrets: list[str]) -> list[tuple[str, str]]:
    """Return (output, secret) for each secret found, in any form, in any output."""
    return [
        (where, secret)
        for where, text in texts.items()
        for secret in secrets
        if any(form in text for form in forms(secret))
    ]


@pytest.mark.parametrize("echo", ["token", "passwords"])
def test_what_a_portal_echoes_reaches_no_output(tmp_path: Path, serve: Any, echo: str) -> None:
    """Leaks 1 and 4: a session token echoed in a create's error, and the passwords echoed
    JSON-escaped, HTML-escaped and percent-encoded."""
    portal = Portal(echo)
    url = serve(portal)
    done = bulkmail(tmp_path, "import", str(staff_sheet(tmp_path)), "--portal", url)

    assert done.returncode == 1, done.stderr
    assert len(portal.tokens) == 2 and portal.creates == 2  # anna and the run's user
    texts = outputs(tmp_path, done)
    assert leaks(texts, [*portal.tokens, *ROW_SECRETS, RUN_PASSWORD]) == []
    # the echoes did happen, masked, in every kind of output
    failed = texts[next(n for n in texts if n.endswith("failed.csv cells"))]
    for where in ("stdout", "stderr", failed, texts["state/journal.sqlite rows"]):
        assert MASK in texts.get(where, where), where
    assert ("code", "portal-login-failed") in [
        (k, v) for line in done.stderr.splitlines() for k, v in json.loads(line).items()
    ]


def test_a_killed_run_leaves_no_echoed_token_in_the_journal_or_its_wal(
    tmp_path: Path, serve: Any
) -> None:
    """Leak 1, as the journal's WAL holds it when the run is killed mid-way."""
    portal = Portal("token", hang_for="run@mail.example.org")
    url = serve(portal)
    argv, env = command("import", str(staff_sheet(tmp_path)), "--portal", url)
    # One worker: rows 2 and 3 fail first, and row 4's in-flight mark commits their records.
    argv += ["--concurrency", "1"]
    with subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=PIPE, stderr=PIPE, text=True) as run:
        assert portal.hanging.wait(timeout=300)  # a safety net only
        run.kill()
        stdout, stderr = run.communicate()
    done = subprocess.CompletedProcess(argv, run.returncode, stdout, stderr)

    assert (tmp_path / "state" / "journal.sqlite-wal").exists()
    texts = outputs(tmp_path, done)
    assert leaks(texts, [*portal.tokens, *ROW_SECRETS, RUN_PASSWORD]) == []
    wal = texts["state/journal.sqlite-wal"]
    assert "cannot bind the request of session ********" in wal  # the echo is there, masked
    assert "User authentication failed" in wal


def test_a_portal_url_with_a_password_is_refused_and_not_repeated(
    tmp_path: Path, serve: Any
) -> None:
    """Leak 2: `--portal https://user:pass@host`."""
    portal = Portal("token")
    host = serve(portal).removeprefix("http://")
    sheet = str(staff_sheet(tmp_path))
    done = bulkmail(tmp_path, "import", sheet, "--portal", f"http://admin:{URL_PASSWORD}@{host}")

    assert done.returncode == 2
    (summary,) = (tmp_path / "reports").glob("*/*")  # the error's summary.json, nothing sent
    assert done.stdout == f"report: {summary.relative_to(tmp_path)}\n"
    (line,) = (json.loads(text) for text in done.stderr.splitlines())  # --log-format json
    assert (line["event"], line["exit_code"]) == ("run.failed", 2)
    assert line["message"].startswith("--portal holds a user name or password")
    assert portal.tokens == []
    assert leaks(outputs(tmp_path, done), [URL_PASSWORD, RUN_PASSWORD]) == []


@pytest.mark.parametrize("command", ["validate", "import"])
def test_a_sheet_without_its_header_row_is_refused_without_quoting_it(
    tmp_path: Path, serve: Any, command: str
) -> None:
    """Leak 3: row 1 is data, a password in it; the error must still help, even --quiet."""
    sheet = write_sheet(
        tmp_path / "input" / "staff.csv",
        [
            ["anna@mail.example.org", MAILBOX_PASSWORD, "imap.mail.example.org", "SSL"],
            ["ivan@mail.example.org", OLD_PASSWORD, "imap.mail.example.org", "SSL"],
        ],
    )
    args = [command, str(sheet), "--quiet"]
    if command == "import":
        args += ["--portal", serve(Portal("token"))]
    done = bulkmail(tmp_path, *args)

    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.count("\n") == 1
    assert leaks(outputs(tmp_path, done), [MAILBOX_PASSWORD, OLD_PASSWORD]) == []
    assert "anna@" not in done.stderr  # nothing of the row is quoted, not even the email
    assert "row 1" in done.stderr and "header" in done.stderr
