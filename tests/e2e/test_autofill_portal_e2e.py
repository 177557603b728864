"""`bulkmail import --autofill portal` end to end: a sheet of just email and password gets its
servers from the simulator's GET mail/accounts/setups, asked once per domain as the run's
--user (or --admin), each value noted, the portal's guess marked as one."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bulkmail.cli import main
from bulkmail.simulator import PortalUser, SimConfig, running
from bulkmail.simulator.config import Impersonation

pytestmark = pytest.mark.slow

USER, USER_PASSWORD = "it@corp.example", "It-portal-pw-1"
ADMIN, ADMIN_PASSWORD = "admin@corp.example", "Admin-pw-1"
USERS = (
    PortalUser(USER, USER_PASSWORD),
    PortalUser(ADMIN, ADMIN_PASSWORD, admin=True),
    PortalUser("anna@corp.example", "Anna-pw-1"),
)
ON = Impersonation(config_key=True, enabled=True, enable_type="all-admins")


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with running(SimConfig(users=USERS, open_portal=False, impersonation=ON)) as url:
        yield url


@pytest.fixture
def fresh(sim: str) -> str:
    httpx.post(f"{sim}/_sim/reset").raise_for_status()
    return sim


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(tmp_path: Path, sheet: Path, url: str, *extra: str) -> int:
    return main(
        ["import", str(sheet), "--portal", url, "--autofill", "portal",
         "--report-dir", str(tmp_path / "reports"), "--state", str(tmp_path / "j.sqlite"),
         "--log-format", "json", *extra]
    )  # fmt: skip


def report(tmp_path: Path) -> tuple[dict[str, Any], list[dict[str, str]], list[dict[str, str]]]:
    folder = sorted((tmp_path / "reports").iterdir())[-1]
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    rows = []
    for name in ("succeeded.csv", "failed.csv"):
        with (folder / name).open(encoding="utf-8-sig", newline="") as f:
            rows.append(list(csv.DictReader(f)))
    return summary, rows[0], rows[1]


def stored(url: str) -> dict[str, tuple[Any, ...]]:
    boxes = httpx.get(f"{url}/_sim/mailboxes").json()
    return {
        b["email"]: (b["server"], b["port"], b["smtp_server"], b["smtp_port"], b["account"])
        for b in boxes
    }


def events(err: str, name: str) -> list[dict[str, Any]]:
    return [e for line in err.splitlines() if (e := json.loads(line))["event"] == name]


def test_a_sheet_of_email_and_password_is_imported_with_the_portals_settings(
    tmp_path: Path, fresh: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BULKMAIL_PASSWORD", USER_PASSWORD)
    sheet = write(tmp_path / "in.csv", ["email", "password"], [
        ["nina@gmail.com", "App-pw-1"], ["ivan@yandex.ru", "App-pw-2"],
        ["bob@branch.example", "Box-pw-3"], ["olga@gmail.com", "App-pw-4"]])  # fmt: skip

    assert run(tmp_path, sheet, fresh, "--user", USER) == 0

    assert stored(fresh) == {
        "nina@gmail.com": ("imap.gmail.com", 993, "smtp.gmail.com", 465, "nina@gmail.com"),
        "ivan@yandex.ru": ("imap.yandex.ru", 993, "smtp.yandex.ru", 465, "ivan"),
        "bob@branch.example": ("imap.branch.example", 993, "smtp.branch.example", 25,
                               "bob@branch.example"),
        "olga@gmail.com": ("imap.gmail.com", 993, "smtp.gmail.com", 465, "olga@gmail.com"),
    }  # fmt: skip
    (asked,) = events(capsys.readouterr().err, "autofill.asked")
    assert (asked["domains"], asked["guesses"], asked["failed"]) == (3, 1, 0)  # once a domain
    summary, succeeded, failed = report(tmp_path)
    assert failed == [] and [r["outcome"] for r in succeeded] == ["created"] * 4
    nina = succeeded[0]["notes"]
    assert (
        "autofilled: server imap.gmail.com, port 993, incoming_encryption_type SSL from the "
        "portal's settings for gmail.com (accounts/setups)" in nina
    )
    assert "autofill-guess" not in nina
    assert "autofilled: account ivan (the address's local part" in succeeded[1]["notes"]
    assert (
        "autofill-guess: the portal does not know branch.example: imap.branch.example:993 "
        "and smtp.branch.example:25 are its guess" in succeeded[2]["notes"]
    )
    assert summary["problems"]["autofill-guess"] == 1


def test_a_dry_run_plans_with_the_portals_settings_and_creates_nothing(
    tmp_path: Path, fresh: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BULKMAIL_PASSWORD", USER_PASSWORD)
    rows = [["nina@gmail.com", "App-pw-1", ""], ["ann@gmail.com", "App-pw-2", "relay.b.example"]]
    sheet = write(tmp_path / "in.csv", ["email", "password", "smtp_server"], rows)

    assert run(tmp_path, sheet, fresh, "--user", USER, "--dry-run") == 0

    assert stored(fresh) == {}
    _, succeeded, _ = report(tmp_path)
    assert [r["outcome"] for r in succeeded] == ["would create"] * 2
    assert "smtp_server smtp.gmail.com" in succeeded[0]["notes"]
    assert "smtp_server smtp.gmail.com" not in succeeded[1]["notes"]  # its own cell wins


def test_with_admin_the_admins_session_asks_and_each_owner_gets_the_account(
    tmp_path: Path, fresh: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BULKMAIL_ADMIN_PASSWORD", ADMIN_PASSWORD)
    sheet = write(tmp_path / "in.csv", ["portal_user", "email", "password"], [
        ["anna@corp.example", "anna.private@gmail.com", "App-pw-1"]])  # fmt: skip

    assert run(tmp_path, sheet, fresh, "--admin", ADMIN) == 0

    boxes = httpx.get(f"{fresh}/_sim/mailboxes").json()
    assert [(b["user"], b["email"], b["server"]) for b in boxes] == [
        ("anna@corp.example", "anna.private@gmail.com", "imap.gmail.com")
    ]


def test_without_a_run_identity_it_is_one_line_and_exit_2(
    tmp_path: Path, fresh: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write(tmp_path / "in.csv", ["portal_user", "portal_password", "email", "password"], [
        ["anna@corp.example", "Anna-pw-1", "anna@gmail.com", "App-pw-1"]])  # fmt: skip

    assert run(tmp_path, sheet, fresh) == 2

    err = capsys.readouterr().err
    last = json.loads(err.splitlines()[-1])  # the run logs JSON
    assert (last["event"], last["exit_code"]) == ("run.failed", 2)
    assert last["message"] == (
        "--autofill portal asks the portal as the run's own portal user, and "
        "the run has none (give --user LOGIN (its password in BULKMAIL_PASSWORD) or --admin "
        "LOGIN, or use --autofill known)"
    )
    assert "Traceback" not in err
    # Nothing was sent; the one file is the summary of a run that stopped (issue 15).
    (summary,) = (tmp_path / "reports").glob("*/summary.json")
    assert json.loads(summary.read_text())["exit_code"] == 2
    assert [p.name for p in summary.parent.iterdir()] == ["summary.json"]


def test_a_refused_login_fails_the_rows_that_needed_it_and_is_not_tried_again(
    tmp_path: Path, fresh: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's --user refused: as in any import, the run stops (exit 3) with its report;
    the rows that needed the portal's settings say why they have none; the login that
    asked is the run's own, so the portal sees one refused login, not two."""
    monkeypatch.setenv("BULKMAIL_PASSWORD", "wrong-portal-pw")
    sheet = write(tmp_path / "in.csv", ["email", "password", "server", "smtp_server"], [
        ["nina@gmail.com", "App-pw-1", "", ""],
        ["ann@corp.example", "Box-pw-2", "imap.corp.example", "smtp.corp.example"]])  # fmt: skip

    assert run(tmp_path, sheet, fresh, "--user", USER) == 3

    assert httpx.get(f"{fresh}/_sim/stats").json()["login_failures"] == 1
    summary, succeeded, failed = report(tmp_path)
    assert succeeded == []
    nina, ann = failed
    assert (nina["stage"], nina["code"]) == ("validation", "autofill-failed")  # not "required"
    assert nina["message"].startswith(
        f"server: --autofill portal: the login of {USER} failed: portal-login-failed"
    )
    assert (ann["outcome"], ann["code"]) == ("failed", "portal-login-failed")  # as any import
    assert summary["abort_reason"] == f"the portal refused the login of --user {USER}"
    assert "wrong-portal-pw" not in json.dumps(summary) + json.dumps(failed)


def test_a_domain_written_in_unicode_and_in_punycode_is_asked_once(
    tmp_path: Path, fresh: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BULKMAIL_PASSWORD", USER_PASSWORD)
    sheet = write(tmp_path / "in.csv", ["email", "password"], [
        ["anna@почта.рф", "Box-pw-1"], ["ivan@XN--80A1ACNY.xn--p1ai", "Box-pw-2"],
        ["olga@Почта.РФ", "Box-pw-3"]])  # fmt: skip

    run(tmp_path, sheet, fresh, "--user", USER)

    (asked,) = events(capsys.readouterr().err, "autofill.asked")
    assert asked["domains"] == 1  # one domain to DNS and to the portal: asked once
    _, succeeded, failed = report(tmp_path)
    assert failed == [] and len(succeeded) == 3
    assert len({box[0] for box in stored(fresh).values()}) == 1  # the one answer, for all
