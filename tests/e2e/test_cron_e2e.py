"""The README's cron line, run as cron runs it, against the simulator on a loopback port.

The line is taken from the README's ```cron block (so the two cannot drift), its paths and
portal swapped for a temporary folder and the simulator, and run by /bin/sh under
`env -i` with only the venv's bin and the system's on PATH, no terminal, stdin closed.
Monitoring then has what the README promises: every stderr line is JSON, the last word is
`run.finished` or `run.failed`, and the report folder holds a summary.json.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bulkmail.simulator import PortalUser, SimConfig, running

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
ADMIN_PASSWORD = "Admin-pw-1"
BIN = Path(sys.executable).parent  # the venv running the tests
HEADER = ["portal_user", "email", "password", "server", "smtp_server"]


def readme_cron_command() -> str:
    """Return the command of the README's cron entry (the line without its 5 time fields)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Unattended runs (cron, systemd)", 1)[1]
    block = re.search(r"```cron\n(.*?)```", section, re.S)
    assert block is not None, "the Unattended runs section has no ```cron block"
    (entry,) = [line for line in block.group(1).splitlines() if line and line[0] != "#"]
    fields = entry.split(maxsplit=5)
    assert len(fields) == 6 and fields[:5] == ["30", "2", "*", "*", "*"], entry
    return fields[5]


@dataclass(frozen=True)
class Night:
    """One cron run: its exit code, what it printed, its JSON log, the report folders."""

    code: int
    stdout: str
    log: list[dict[str, Any]]
    work: Path

    def summary(self) -> dict[str, Any]:
        (path,) = (self.work / "reports").glob("*/summary.json")
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def last(self) -> dict[str, Any]:
        return self.log[-1]


def run_as_cron(tmp_path: Path, url: str, rows: list[dict[str, str]] | None) -> Night:
    """Run the README's cron line in `tmp_path` (no sheet when `rows` is None)."""
    command = readme_cron_command()
    places = {  # what the README's line names -> what this test gives instead
        "/srv/bulkmail": tmp_path / "work",
        ".venv/bin/bulkmail": BIN / "bulkmail",
        "/srv/drop/accounts.xlsx": tmp_path / "drop/accounts.csv",
        "/etc/bulkmail/admin-password": tmp_path / "etc/admin-password",
        "/var/log/bulkmail.jsonl": tmp_path / "log/bulkmail.jsonl",
        "https://portal.example.org": url,
    }
    for name, place in places.items():
        assert name in command, f"the README's cron line no longer names {name}"
        command = command.replace(name, str(place))
    for folder in ("work", "drop", "etc", "log"):
        (tmp_path / folder).mkdir(exist_ok=True)
    if rows is not None:
        with (tmp_path / "drop/accounts.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=HEADER)
            writer.writeheader()
            writer.writerows(rows)
    done = subprocess.run(
        ["env", "-i", f"PATH={BIN}:/usr/bin:/bin", "/bin/sh", "-c", command],
        stdin=subprocess.DEVNULL,  # cron gives no terminal and no input
        capture_output=True,  # what cron would mail
        text=True,
        cwd=tmp_path,
        timeout=300,  # a safety net only: the run ends by itself in seconds
        check=False,
    )
    assert done.stderr == ""  # the line sends stderr to the log
    text = (tmp_path / "log/bulkmail.jsonl").read_text(encoding="utf-8")
    log = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert log, "the JSON log is empty"
    assert all({"event", "level", "timestamp"} <= line.keys() for line in log)
    return Night(done.returncode, done.stdout, log, tmp_path / "work")


def row(user: int, password: str = "mailbox-pass-1") -> dict[str, str]:
    return {
        "portal_user": f"user{user}@corp.example.org",
        "email": f"box{user}@mail.example.org",
        "password": password,
        "server": "imap.mail.example.org",
        "smtp_server": "smtp.mail.example.org",
    }


def admin_of(tmp_path: Path, **more: str) -> PortalUser:
    """Return the cron line's --admin as a portal admin, its password in the line's file."""
    words = shlex.split(readme_cron_command())
    login = words[words.index("--admin") + 1]
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/admin-password").write_text(ADMIN_PASSWORD + "\n", encoding="utf-8")
    return PortalUser(login, ADMIN_PASSWORD, admin=True, **more)


@pytest.fixture
def portal(tmp_path: Path) -> Any:
    """The simulator (an open portal) with the cron line's --admin."""
    with running(SimConfig(users=(admin_of(tmp_path),))) as url:
        yield url


def test_a_good_night_logs_run_finished_and_writes_the_summary(tmp_path: Path, portal: str) -> None:
    night = run_as_cron(tmp_path, portal, [row(1), row(2), row(3)])
    summary = night.summary()
    assert (night.code, night.stdout) == (0, "")  # --quiet: cron mails nothing
    assert [line["event"] for line in night.log] == ["run.finished"]
    finished = night.last()
    assert (finished["exit_code"], finished["total"], finished["created"]) == (0, 3, 3)
    assert (night.work / finished["report"] / "summary.json").is_file()
    assert (summary["exit_code"], summary["counts"]["created"], summary["total"]) == (0, 3, 3)


def test_a_night_where_every_row_fails_says_so_with_exit_1(tmp_path: Path, portal: str) -> None:
    night = run_as_cron(tmp_path, portal, [row(1, "wrong-pw-1"), row(2, "wrong-pw-2")])
    finished, summary = night.last(), night.summary()
    assert (night.code, night.stdout) == (1, "")
    assert [line["event"] for line in night.log] == ["run.finished"]
    assert (finished["exit_code"], finished["total"], finished["failed"]) == (1, 2, 2)
    assert "created" not in finished
    assert (night.work / finished["report"] / "summary.json").is_file()
    assert (summary["exit_code"], summary["counts"]["failed"]) == (1, 2)
    assert summary["problems"] == {"mailbox-login-refused": 2}


@pytest.mark.parametrize("missing", ["input", "password file"])
def test_a_missing_file_is_a_json_error_line_and_a_summary_with_exit_2(
    tmp_path: Path, portal: str, missing: str
) -> None:
    if missing == "password file":
        (tmp_path / "etc/admin-password").unlink()
    night = run_as_cron(tmp_path, portal, None if missing == "input" else [row(1)])
    failed, summary = night.last(), night.summary()
    assert (night.code, night.stdout, len(night.log)) == (2, "", 1)
    assert (failed["event"], failed["level"], failed["exit_code"]) == ("run.failed", "error", 2)
    named = "accounts.csv" if missing == "input" else "admin-password"
    assert named in failed["message"] and failed["command"] == "import"
    assert (night.work / failed["report"] / "summary.json").is_file()
    assert (summary["exit_code"], summary["error"], summary["total"]) == (2, failed["message"], 0)
    assert summary["input"]["path"].endswith("drop/accounts.csv")
    assert ADMIN_PASSWORD not in json.dumps(night.log) + json.dumps(summary)


def test_an_admin_asked_for_a_two_factor_code_is_never_prompted_without_a_terminal(
    tmp_path: Path,
) -> None:
    with running(SimConfig(users=(admin_of(tmp_path, tfa="tfa"),))) as url:
        night = run_as_cron(tmp_path, url, [row(1)])
    failed, summary = night.last(), night.summary()
    assert (night.code, night.stdout, len(night.log)) == (2, "", 1)
    assert (failed["event"], failed["exit_code"]) == ("run.failed", 2)
    assert "two-factor code" in failed["message"] and summary["error"] == failed["message"]


def test_a_refused_admin_login_is_an_error_line_and_a_summary_with_the_error_exit_3(
    tmp_path: Path,
) -> None:
    # The run got as far as its report (every row not attempted): summary.json still says
    # why it stopped, under `error` as every stopped run's does, and the log has it as an
    # error line before run.finished.
    admin = dataclasses.replace(admin_of(tmp_path), password="Not-the-file-1")
    with running(SimConfig(users=(admin,))) as url:
        night = run_as_cron(tmp_path, url, [row(1), row(2)])
    finished, summary = night.last(), night.summary()
    errors = [line for line in night.log if line["level"] == "error"]
    assert (night.code, night.stdout, finished["event"], finished["exit_code"]) == (
        3, "", "run.finished", 3,
    )  # fmt: skip
    assert len(errors) == 1 and "refused the login of --admin" in errors[0]["reason"]
    assert summary["exit_code"] == 3 and summary["error"] == errors[0]["reason"]
    assert ADMIN_PASSWORD not in json.dumps(night.log) + json.dumps(summary)
