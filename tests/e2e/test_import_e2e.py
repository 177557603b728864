"""`bulkmail import` end to end against the simulator on a loopback port.

The CLI runs in this process (`main([...])`) for speed, talking real HTTP to a simulator
served by uvicorn in a background thread; the interrupt test runs it as a subprocess.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from childlog import ChildLog
from gate import Gate, gated

from bulkmail.cli import main
from bulkmail.simulator import PortalUser, SimConfig, running

pytestmark = pytest.mark.slow

HEADER = [
    "portal_user",
    "portal_password",
    "email",
    "password",
    "server",
    "smtp_server",
    "port",
    "smtp_port",
    "name",
]


def write_sheet(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HEADER)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in HEADER})
    return path


def account(
    user: int, box: int, *, password: str = "mailbox-pass-1", **extra: str
) -> dict[str, str]:
    row = {
        "portal_user": f"user{user}@corp.example.org",
        "portal_password": f"Portal-{user}-pw",
        "email": f"box{box}@mail.example.org",
        "password": password,
        "server": "imap.mail.example.org",
        "smtp_server": "smtp.mail.example.org",
        "port": "993",
        "smtp_port": "465",
        "name": f"Box {box}",
    }
    return row | extra


def stats(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/_sim/stats").json())


def report(report_dir: Path) -> tuple[dict[str, Any], list[dict[str, str]], list[dict[str, str]]]:
    """Return summary.json, succeeded and failed rows of the newest report in `report_dir`."""
    folder = sorted(report_dir.iterdir())[-1]
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    rows = []
    for name in ("succeeded.csv", "failed.csv"):
        with (folder / name).open(encoding="utf-8-sig", newline="") as f:
            rows.append(list(csv.DictReader(f)))
    return summary, rows[0], rows[1]


@pytest.fixture
def sim() -> Iterator[str]:
    with running(SimConfig(latency_ms=5)) as url:
        yield url


def run_import(tmp_path: Path, sheet: Path, url: str, *extra: str) -> int:
    return main(
        [
            "import",
            str(sheet),
            "--portal",
            url,
            "--report-dir",
            str(tmp_path / "reports"),
            "--state",
            str(tmp_path / "journal.sqlite"),
            "--quiet",
            *extra,
        ]
    )


def test_good_rows_created_for_their_users_bad_ones_reported(tmp_path: Path, sim: str) -> None:
    rows = [account(u, u * 10 + b) for u in range(3) for b in range(3)]
    rows[4]["password"] = "wrong-password"  # the simulator's mail server refuses it
    rows[7]["port"] = "99999"  # invalid: never sent
    sheet = write_sheet(tmp_path / "in.csv", rows)

    assert run_import(tmp_path, sheet, sim, "--concurrency", "4") == 1

    summary, succeeded, failed = report(tmp_path / "reports")
    assert summary["counts"]["created"] == 7 and summary["counts"]["failed"] == 2
    assert summary["total"] == 9 and summary["exit_code"] == 1
    assert [(r["row"], r["stage"], r["code"]) for r in failed] == [
        ("6", "portal", "mailbox-login-refused"),
        ("9", "validation", "port-out-of-range"),
    ]
    assert len(succeeded) == 7 and {r["outcome"] for r in succeeded} == {"created"}
    counters = stats(sim)
    assert counters["creates"] == 7 and counters["overwrites"] == 0
    assert {u: t["creates"] for u, t in counters["users"].items() if t["creates"]} == {
        "user0@corp.example.org": 3,
        "user1@corp.example.org": 2,
        "user2@corp.example.org": 2,
    }
    mailboxes = httpx.get(f"{sim}/_sim/mailboxes").json()
    assert "mailbox-pass-1" not in json.dumps(mailboxes)


def test_skip_update_and_dry_run(tmp_path: Path, sim: str) -> None:
    sheet = write_sheet(tmp_path / "in.csv", [account(1, b) for b in range(4)])
    assert run_import(tmp_path, sheet, sim, "--dry-run") == 0
    summary, succeeded, _ = report(tmp_path / "reports")
    assert summary["counts"]["would create"] == 4 and stats(sim)["creates"] == 0

    assert run_import(tmp_path, sheet, sim) == 0
    assert stats(sim)["creates"] == 4

    assert run_import(tmp_path, sheet, sim) == 0  # the journal knows them
    summary, succeeded, _ = report(tmp_path / "reports")
    assert {(r["outcome"], r["notes"].split(":")[0]) for r in succeeded} == {
        ("skipped", "done-earlier")
    }
    assert all(r["mailbox_id"] and r["done_at"] for r in succeeded)

    assert run_import(tmp_path, sheet, sim, "--fresh") == 0  # the portal knows them
    summary, succeeded, _ = report(tmp_path / "reports")
    assert summary["counts"]["skipped"] == 4
    assert {r["notes"].split(":")[0] for r in succeeded} == {"exists"}

    assert run_import(tmp_path, sheet, sim, "--fresh", "--if-exists", "update") == 0
    summary, _, _ = report(tmp_path / "reports")
    assert summary["counts"]["updated"] == 4
    counters = stats(sim)
    assert (counters["creates"], counters["overwrites"]) == (4, 4)


def test_faults_end_in_success_without_duplicates(tmp_path: Path) -> None:
    config = SimConfig(fail_503=0.15, fail_429=0.1, drop_after_create=0.15, retry_after=0, seed=7)
    rows = [account(u, u * 100 + b) for u in range(4) for b in range(15)]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    with running(config) as url:
        code = run_import(tmp_path, sheet, url, "--concurrency", "6", "--retries", "8")
        counters = stats(url)
    summary, _, failed = report(tmp_path / "reports")
    assert (code, failed) == (0, [])
    assert summary["counts"]["created"] == 60
    assert all(counters["faults"].get(kind, 0) > 0 for kind in ("503", "429", "drop"))
    assert (counters["creates"], counters["overwrites"]) == (60, 0)


def test_a_wrong_portal_password_is_tried_exactly_once(tmp_path: Path) -> None:
    config = SimConfig(
        users=(PortalUser("boss@corp.example.org", "Right-pw-1"),), open_portal=False
    )
    rows = [
        account(0, b, portal_user="boss@corp.example.org", portal_password="Not-right-1")
        for b in range(5)
    ]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    with running(config) as url:
        code = run_import(tmp_path, sheet, url, "--concurrency", "5", "--retries", "5")
        counters = stats(url)
    _, _, failed = report(tmp_path / "reports")
    assert code == 1
    # One authentication request in all (it failed), and nothing created.
    assert (counters["logins"], counters["login_failures"], counters["creates"]) == (0, 1, 0)
    assert {(r["stage"], r["code"]) for r in failed} == {("login", "portal-login-failed")}


def test_interrupt_writes_a_complete_report_and_exits_3(tmp_path: Path) -> None:
    rows = [account(0, b) for b in range(40)]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    gate = Gate("POST", "/api/2.0/mail/accounts", allow=1)  # the run cannot end by itself
    with gated(SimConfig(), gate) as url:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bulkmail",
                "import",
                str(sheet),
                "--portal",
                url,
                "--concurrency",
                "2",
                "--report-dir",
                str(tmp_path / "reports"),
                "--state",
                str(tmp_path / "journal.sqlite"),
                "--log-format",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )
        log = ChildLog(proc)
        log.wait_for("row.created")
        proc.send_signal(signal.SIGINT)
        log.wait_for("run.interrupted")
        # The creates in flight may finish within the grace period (10 s, ample).
        gate.open()
        out, err = log.finish()
        counters = stats(url)
        summary, succeeded, failed = report(tmp_path / "reports")
        # The summary says how to finish, and the same command does.
        left = len(failed)
        assert (
            f"  interrupted with {left} rows not sent: run the same command again to finish "
            "the rest (rows done are skipped)"
        ) in out.splitlines()
        assert run_import(tmp_path, sheet, url, "--concurrency", "2") == 0
        again, _, _ = report(tmp_path / "reports")
        assert (again["counts"]["skipped"], again["counts"]["created"]) == (40 - left, left)
        assert stats(url)["creates"] == 40
    assert proc.returncode == 3, err
    assert summary["exit_code"] == 3 and summary["interrupted"] is True
    assert len(succeeded) + len(failed) == 40 == summary["total"]
    assert sorted(int(r["row"]) for r in succeeded + failed) == list(range(2, 42))
    assert 1 <= len(succeeded) == counters["creates"] <= 3  # the one let in, those in flight
    assert {r["outcome"] for r in failed} == {"not attempted"}
    assert "Traceback" not in err


def test_a_library_callers_portal_password_is_masked_like_the_clis(tmp_path: Path) -> None:
    from bulkmail import InputSettings, PortalSettings, import_file
    from bulkmail.secrets import scrub

    sheet = write_sheet(tmp_path / "in.csv", [account(1, 1) | {"portal_user": ""}])
    secret = "Lib-Caller-Pw-77"
    with running(SimConfig()) as url:
        portal = PortalSettings(
            url=url, user="lib@corp.example.org", password=secret, state=None, progress=False
        )
        result = import_file(InputSettings(path=sheet), portal, tmp_path / "reports")
    assert result.summary.counts["created"] == 1
    assert scrub(f"the portal said {secret}") == "the portal said ********"
