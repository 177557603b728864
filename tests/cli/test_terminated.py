"""SIGTERM (systemd's stop, a supervisor's timeout) before the import's rows: the run says
it stopped as Ctrl-C does (one JSON line, exit 3, a summary.json with the error) instead
of dying without a word.

The portal is a loopback socket that accepts and never answers: the run is then in its
first login, before the pool's own signal handling, when the signal comes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SAFETY = 120  # seconds: a safety net only; each wait ends on an event


@pytest.fixture
def silent_portal() -> socket.socket:
    """A listening socket on 127.0.0.1 that never answers (nothing accepts from it)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server


def test_sigterm_while_the_portal_is_asked_first_is_a_json_line_and_a_summary(
    tmp_path: Path, silent_portal: socket.socket
) -> None:
    sheet = tmp_path / "in.csv"
    sheet.write_text(
        "email,password,server,smtp_server\n"
        "a@mail.example.org,Mbox-pw-1,imap.mail.example.org,smtp.mail.example.org\n",
        encoding="utf-8",
    )
    port = silent_portal.getsockname()[1]
    args = [
        sys.executable, "-m", "bulkmail", "import", str(sheet),
        "--portal", f"http://127.0.0.1:{port}", "--user", "robot@example.org",
        "--state", str(tmp_path / "journal.sqlite"), "--report-dir", str(tmp_path / "reports"),
        "--log-format", "json", "--quiet",
    ]  # fmt: skip
    env = {**os.environ, "BULKMAIL_PASSWORD": "Portal-S3cret"}
    with subprocess.Popen(
        args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    ) as run:  # fmt: skip
        try:
            silent_portal.settimeout(SAFETY)
            connection, _ = silent_portal.accept()  # the run is asking the portal now
            with connection:
                run.send_signal(signal.SIGTERM)
                out, err = run.communicate(timeout=SAFETY)
        finally:
            run.kill()  # a no-op once it has ended
    assert run.returncode == 3, err
    assert "Traceback" not in err, err
    (line,) = [json.loads(text) for text in err.splitlines()]
    assert (line["event"], line["level"], line["exit_code"]) == ("run.failed", "error", 3)
    assert "SIGTERM" in line["message"]
    (folder,) = (tmp_path / "reports").iterdir()
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert (summary["exit_code"], summary["error"]) == (3, line["message"])
    assert out == "" and "Portal-S3cret" not in err + json.dumps(summary)


@pytest.mark.slow
def test_an_interrupted_demo_does_not_say_that_running_it_again_finishes_the_rest(
    tmp_path: Path,
) -> None:
    # The demo's portal and journal live in its process: a second demo starts over.
    args = [sys.executable, "-m", "bulkmail", "demo", "--latency", "1000", "--log-format", "json"]
    with subprocess.Popen(
        args, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    ) as demo:  # fmt: skip
        try:
            assert demo.stderr is not None
            for line in demo.stderr:  # wait for the first row sent, then Ctrl-C
                if '"row.created"' in line:
                    break
            demo.send_signal(signal.SIGINT)
            out, _ = demo.communicate(timeout=SAFETY)
        finally:
            demo.kill()
    assert demo.returncode == 3
    (interrupted,) = [line for line in out.splitlines() if line.startswith("  interrupted")]
    assert interrupted.endswith(" rows not sent")  # not "run the same command again ..."
    assert out.endswith(
        "demo: interrupted; `bulkmail demo` starts over (its portal and journal lived in its "
        "process)\n"
    )


@pytest.mark.slow
def test_a_signal_while_the_last_report_is_written_leaves_it_whole(tmp_path: Path) -> None:
    from bulkmail.simulator import SimConfig, running

    with running(SimConfig(latency_ms=1)) as url:
        run, events = _signalled(
            tmp_path, ("bulkmail.report.writer", "write_xlsx"), "import", str(_one_row(tmp_path)),
            "--portal", url, "--state", str(tmp_path / "journal.sqlite"),
        )  # fmt: skip
    assert run.returncode == 0, run.stderr  # every row was done: the run's own code
    taken = [e["signal"] for e in events if e["event"] == "run.interrupted"]
    assert taken == ["SIGTERM", "SIGINT"]
    (finished,) = [e for e in events if e["event"] == "run.finished"]
    assert finished["exit_code"] == 0
    folder, summary = _one_report(tmp_path)
    assert summary["exit_code"] == 0 and "error" not in summary
    assert summary["counts"]["created"] == 1 and summary["total"] == 1
    assert (folder / "report.xlsx").stat().st_size > 0


def test_a_signal_receiver_leaves_the_handlers_it_found() -> None:
    # asyncio puts SIG_DFL back when its receiver closes: the command line's SIGTERM handler
    # (or a library caller's) was lost for the rest of the run.
    import anyio

    from bulkmail.run.drive import handlers_kept

    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not called")

    before = signal.signal(signal.SIGTERM, mine)
    try:

        async def receive() -> None:
            with handlers_kept(signal.SIGTERM), anyio.open_signal_receiver(signal.SIGTERM):
                pass

        anyio.run(receive)
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before)


_SIGNALLED_END = """
import importlib, signal, sys
module, name = sys.argv[1:3]
*path, method = name.split(".")
owner = importlib.import_module(module)
for step in path:
    owner = getattr(owner, step)
original = getattr(owner, method)
def signalled(*args, **kwargs):
    signal.raise_signal(signal.SIGTERM)  # systemd's stop, after the last row
    signal.raise_signal(signal.SIGINT)  # and a late Ctrl-C
    return original(*args, **kwargs)
setattr(owner, method, signalled)
from bulkmail.cli import main
sys.exit(main(sys.argv[3:]))
"""


def _signalled(
    tmp_path: Path, moment: tuple[str, str], *argv: str
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """Run bulkmail `argv` (JSON log, reports in tmp_path) with SIGTERM then SIGINT raised as
    `moment` (module, function) is called; return the run and its log's events."""
    run = subprocess.run(
        [sys.executable, "-c", _SIGNALLED_END, *moment, *argv, "--report-dir",
         str(tmp_path / "reports"), "--log-format", "json"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=SAFETY,
    )  # fmt: skip
    return run, [json.loads(text) for text in run.stderr.splitlines()]


def _one_report(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """Return the one report folder under tmp_path/reports and its summary.json."""
    (folder,) = (tmp_path / "reports").iterdir()
    return folder, json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def _one_row(tmp_path: Path) -> Path:
    """Write a sheet of one row with its own portal user, and return it."""
    sheet = tmp_path / "in.csv"
    sheet.write_text(
        "portal_user,portal_password,email,password,server,smtp_server\n"
        "u1@corp.example.org,Portal-1-pw,a@mail.example.org,Mbox-pw-1,imap.mail.example.org,"
        "smtp.mail.example.org\n",
        encoding="utf-8",
    )
    return sheet


_END_OF_IMPORT = [
    ("bulkmail.run.outcomes", "Ledger.close"),  # every row just settled
    ("bulkmail.pipeline", "_commit"),  # the journal's last commit
    ("bulkmail.report.writer", "ReportWriter.__exit__"),  # the report's files closed
    ("bulkmail.journal.store", "Journal.close"),  # the journal closed
    ("bulkmail.cli.importing", "print_result"),  # the console summary, the report written
]


@pytest.mark.slow
@pytest.mark.parametrize("moment", _END_OF_IMPORT, ids=lambda m: m[1])
def test_a_signal_at_any_moment_of_an_import_s_end_leaves_one_whole_report(
    tmp_path: Path, moment: tuple[str, str]
) -> None:
    # Outside the report's own writing the signal was the command line's: a second folder
    # holding a summary.json that said "interrupted", exit 3, after run.finished said 0.
    from bulkmail.simulator import SimConfig, running

    with running(SimConfig(latency_ms=1)) as url:
        run, events = _signalled(
            tmp_path, moment, "import", str(_one_row(tmp_path)), "--portal", url, "--state",
            str(tmp_path / "journal.sqlite"),
        )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "run.failed" not in [e["event"] for e in events]
    assert [e["signal"] for e in events if e["event"] == "run.interrupted"][-2:] == [
        "SIGTERM", "SIGINT"
    ]  # fmt: skip
    _, summary = _one_report(tmp_path)
    assert summary["exit_code"] == 0 and summary["counts"]["created"] == 1


_END_OF_CHECK = [
    ("bulkmail.run.outcomes", "Ledger.close"),
    ("bulkmail.report.collector", "Collector.finish"),
    ("bulkmail.report.writer", "ReportWriter.__exit__"),
    ("bulkmail.cli.check", "print_result"),
]


@pytest.mark.parametrize("moment", _END_OF_CHECK, ids=lambda m: m[1])
def test_a_signal_at_any_moment_of_a_check_s_end_leaves_one_whole_report(
    tmp_path: Path, moment: tuple[str, str]
) -> None:
    # Port 9 on loopback: nothing listens, the row fails at once (exit 1). A signal while the
    # report was written went unsaid; once its files were closed it left a second folder.
    sheet = tmp_path / "in.csv"
    sheet.write_text(
        "email,password,server,port,smtp_server,smtp_port\n"
        "a@mail.example.org,Mbox-pw-1,127.0.0.1,9,127.0.0.1,9\n",
        encoding="utf-8",
    )
    run, events = _signalled(tmp_path, moment, "check", str(sheet), "--timeout", "5")
    assert run.returncode == 1, run.stderr
    assert "run.failed" not in [e["event"] for e in events]
    assert [e["signal"] for e in events if e["event"] == "run.interrupted"] == [
        "SIGTERM", "SIGINT"
    ]  # fmt: skip
    _, summary = _one_report(tmp_path)
    assert summary["exit_code"] == 1 and summary["counts"]["failed"] == 1


def test_a_signal_while_validate_prints_its_summary_leaves_one_report(tmp_path: Path) -> None:
    # The report is written by then: the signal left a second folder whose summary.json
    # said "interrupted", exit 3, beside the whole one that said 1.
    sheet = tmp_path / "in.csv"
    sheet.write_text(
        "email,password,server,smtp_server\nnot-an-address,Mbox-pw-1,imap.example.org,"
        "smtp.example.org\n",
        encoding="utf-8",
    )
    moment = ("bulkmail.cli.validate", "print_result")
    run, events = _signalled(tmp_path, moment, "validate", str(sheet))
    assert run.returncode == 1, run.stderr
    assert [e["signal"] for e in events if e["event"] == "run.interrupted"] == [
        "SIGTERM", "SIGINT"
    ]  # fmt: skip
    _, summary = _one_report(tmp_path)
    assert summary["exit_code"] == 1 and "error" not in summary
