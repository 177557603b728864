"""Untrusted text reaching a terminal: a portal whose messages hold terminal escapes.

The portal (a starlette app on 127.0.0.1) answers with messages holding ESC [2J (clear the
screen), CR (overwrite the line: fake "ALL GOOD"), BEL, a C1 control (U+009B, CSI on 8-bit
terminals) and a bidi override (U+202E). Every output a person reads must show them escaped
(`bulkmail.printable`): the console summary, console and JSON logs, failed.csv, report.xlsx
and summary.json.
"""

from __future__ import annotations

import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
import uvicorn
from openpyxl import load_workbook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bulkmail.cli import main
from bulkmail.logs import printable_event
from bulkmail.printable import printable
from bulkmail.report.escaping import json_printable

pytestmark = pytest.mark.slow

EVIL = "bad\x1b[2J\x1b[H\rALL GOOD\x07 \x9b31m \u202eevil\u202c end"
SHOWN = "bad\\x1b[2J\\x1b[H ALL GOOD\\x07 \\x9b31m \\u202eevil\\u202c end"  # CR: one line
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c", "\r")


class Hostile:
    """Logs in everyone but "boris", lists nothing, and fails every create, each time with
    EVIL in its message; `status` is the create's HTTP status (500: a mail-server refusal)."""

    def __init__(self, status: int) -> None:
        self.status = status
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
        if body["userName"].startswith("boris"):
            return _error(500, f"User authentication failed for boris {EVIL}")
        result = {"token": "Tok-abcdefghijklmnop", "expires": "2027-01-01T00:00:00"}
        return JSONResponse({"status": 0, "statusCode": 201, "response": result}, 201)

    async def accounts(self, request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse({"status": 0, "statusCode": 200, "response": []})
        if self.status == 500:
            return _error(500, f'<span class="attempt_header">IMAP response:</span><br/>{EVIL}')
        return _error(self.status, EVIL)


def _error(status: int, message: str) -> JSONResponse:
    error = {"message": message, "hresult": -2146233088, "data": {}}
    return JSONResponse({"status": 1, "statusCode": status, "error": error}, status)


def _serve(app: Starlette) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()  # the listening socket queues the CLI's connections until it serves
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


@pytest.fixture
def refusing() -> Iterator[str]:
    yield from _serve(Hostile(500).app)


@pytest.fixture
def unpaid() -> Iterator[str]:
    yield from _serve(Hostile(402).app)


def run_import(tmp_path: Path, url: str, *extra: str, name: str = "accounts.csv") -> int:
    sheet = tmp_path / name
    sheet.write_text(
        "portal_user,portal_password,email,password,server,smtp_server\n"
        "anna@corp.org,Portal-pw-1,anna@mail.org,Mailbox-pw-1,imap.mail.org,smtp.mail.org\n"
        "boris@corp.org,Portal-pw-2,boris@mail.org,Mailbox-pw-2,imap.mail.org,smtp.mail.org\n",
        encoding="utf-8",
    )
    report, state = str(tmp_path / "reports"), str(tmp_path / "journal.sqlite")
    args = ["--report-dir", report, "--state", state, "--retries", "0", *extra]
    return main(["import", str(sheet), "--portal", url, *args])


def assert_printable(name: str, text: str) -> None:
    """Assert that every line of `text` (CRLF or LF ended) is printable, escapes and all."""
    for line in text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n"):
        assert line.isprintable(), f"{name}: {line!r}"


def report_outputs(tmp_path: Path) -> dict[str, str]:
    """Return the text of each report file a person may read; report.xlsx's cells joined."""
    (folder,) = (tmp_path / "reports").iterdir()
    texts = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.csv")}
    texts["summary.json"] = (folder / "summary.json").read_text(encoding="utf-8")
    book = load_workbook(folder / "report.xlsx", read_only=True)
    cells = [str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row]
    texts["report.xlsx"] = "\n".join(c for c in cells if c != "None")
    with zipfile.ZipFile(folder / "report.xlsx") as parts:  # Excel's own escapes: _x001B_
        texts["report.xlsx parts"] = "".join(parts.read(n).decode() for n in parts.namelist())
    return texts


def test_a_mail_servers_escapes_are_shown_escaped_in_every_output(
    tmp_path: Path, refusing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The file's name too: the run.started log line quotes it without spaces around it.
    assert run_import(tmp_path, refusing, name="acc\x1b[2Jounts\u202e.csv") == 1
    out, err = capsys.readouterr()
    outputs = {"stdout": out, "stderr": err, **report_outputs(tmp_path)}
    for name, text in outputs.items():
        assert_printable(name, text)
        assert "_x001B_" not in text and "_x0007_" not in text, name
    assert f"      row 2: IMAP: {SHOWN}\n" in out
    assert "      row 3: the portal refused the login: User " in out
    assert f"message='IMAP: {SHOWN}'" in err  # the console log line of row 2
    assert f"IMAP: {SHOWN}" in outputs["failed.csv"]
    assert f"IMAP: {SHOWN}" in outputs["report.xlsx"]


def test_json_logs_and_summary_json_escape_them_and_keep_the_text(
    tmp_path: Path, unpaid: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A file name is text from outside too: a C1 control and a bidi override in it.
    sheet = "acc\x9bounts\u202e.csv"
    assert run_import(tmp_path, unpaid, "--log-format", "json", name=sheet) == 3  # 402: stops
    out, err = capsys.readouterr()
    outputs = {"stdout": out, "stderr": err, **report_outputs(tmp_path)}
    for name, text in outputs.items():
        assert_printable(name, text)
    summary = json.loads(outputs["summary.json"])
    assert summary["input"]["path"] == str(tmp_path / sheet)  # escaped as JSON, the same text
    reason = f"the portal's subscription is not paid (HTTP 402 Payment Required: {SHOWN})"
    assert summary["abort_reason"] == reason
    assert summary["error"] == reason  # as every stopped run's summary.json says
    assert f"abort_reason\n{reason}" in outputs["report.xlsx"]  # the Summary sheet
    failed = [json.loads(line) for line in err.splitlines() if '"row.failed"' in line]
    # JSON lines carry the text itself, escaped by JSON on the line (checked above)
    assert reason in [printable(event["message"]) for event in failed]


def test_summary_json_escapes_what_json_itself_leaves_raw() -> None:
    text = json.dumps({"sheet": "Лист\x9b1\u202e", "n": 1}, indent=2, ensure_ascii=False)
    escaped = json_printable(text)
    assert escaped == '{\n  "sheet": "Лист\\u009b1\\u202e",\n  "n": 1\n}'
    assert json.loads(escaped) == json.loads(text)


@pytest.mark.parametrize(
    "value",
    [EVIL, "no\x1b[2Jspaces\x9b", "\u202eevil", "cr\rin", "ok"],
)
def test_console_log_lines_show_every_value_escaped_once(value: str) -> None:
    render = structlog.dev.ConsoleRenderer(colors=False)
    event = {"event": "row.failed", "message": value, "timestamp": "t"}
    line = render(None, "warning", printable_event(None, "warning", event))
    assert line.isprintable()
    assert printable(value) in line  # as printable writes it, or as repr() does: the same
    assert "\\\\x" not in line  # never escaped twice
