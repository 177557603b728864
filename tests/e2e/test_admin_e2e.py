"""`bulkmail import --admin` end to end against the simulator on a loopback port.

The admin acts as each row's portal user (impersonation, docs/portal-api.md §20): the
simulator's counters (`/_sim/stats`) say how many sessions were opened and ended and whose
Mail got each account. The CLI runs in this process (`main([...])`), except the run whose
every output is scanned for the tokens, which runs as a user runs it.
"""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import Message, Receive, Scope, Send
from test_secrets_e2e import leaks, outputs

from bulkmail.cli import main
from bulkmail.pipeline import import_file
from bulkmail.settings import InputSettings, PortalSettings
from bulkmail.simulator import PortalUser, SimConfig, create_app, running
from bulkmail.simulator.config import Impersonation

pytestmark = pytest.mark.slow

ADMIN, ADMIN_PASSWORD = "admin@corp.example", "Admin-pw-1"
ON = Impersonation(config_key=True, enabled=True, enable_type="all-admins")
STAFF = tuple(PortalUser(f"user{i:02}@corp.example", f"User-{i}-pw") for i in range(50))
SPECIAL = (
    PortalUser(ADMIN, ADMIN_PASSWORD, admin=True),
    PortalUser("owner@corp.example", "Owner-pw", owner=True, admin=True),
    PortalUser("other.admin@corp.example", "Other-pw", admin=True),
    PortalUser("left@corp.example", "Left-pw", status="terminated"),
    PortalUser("guest@corp.example", "Guest-pw", visitor=True),
    PortalUser("secret@corp.example", "Secret-pw"),
)
HEADER = ["portal_user", "portal_password", "email", "password", "server", "smtp_server"]


def portal(impersonation: Impersonation = ON, **extra: Any) -> SimConfig:
    users = (*SPECIAL, *STAFF, *extra.pop("users", ()))
    return SimConfig(users=users, open_portal=False, impersonation=impersonation, **extra)


def row(user: str, box: str, portal_password: str = "") -> dict[str, str]:
    return {
        "portal_user": user,
        "portal_password": portal_password,
        "email": f"{box}@mail.example.org",
        "password": "mailbox-pass-1",
        "server": "imap.mail.example.org",
        "smtp_server": "smtp.mail.example.org",
    }


def write_sheet(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_import(tmp_path: Path, sheet: Path, url: str, *extra: str) -> int:
    return main(
        ["import", str(sheet), "--portal", url, "--admin", ADMIN,
         "--report-dir", str(tmp_path / "reports"), "--state", str(tmp_path / "journal.sqlite"),
         "--quiet", *extra]
    )  # fmt: skip


def stats(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/_sim/stats").json())


def report(tmp_path: Path) -> tuple[dict[str, Any], list[dict[str, str]], list[dict[str, str]]]:
    """Return summary.json, succeeded and failed rows of the newest report."""
    folder = sorted((tmp_path / "reports").iterdir())[-1]
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    rows = []
    for name in ("succeeded.csv", "failed.csv"):
        with (folder / name).open(encoding="utf-8-sig", newline="") as f:
            rows.append(list(csv.DictReader(f)))
    return summary, rows[0], rows[1]


@pytest.fixture(autouse=True)
def admin_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULKMAIL_ADMIN_PASSWORD", ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with running(portal()) as url:
        yield url


@pytest.fixture
def fresh(sim: str) -> str:
    httpx.post(f"{sim}/_sim/reset").raise_for_status()
    return sim


def test_fifty_users_each_get_their_accounts_through_one_impersonation(
    tmp_path: Path, fresh: str
) -> None:
    rows = [row(f"user{u:02}@corp.example", f"box{u}-{b}") for u in range(50) for b in range(2)]
    rows.append(row(ADMIN, "admin-box"))  # the admin's own: its own token
    sheet = write_sheet(tmp_path / "in.csv", rows)

    assert run_import(tmp_path, sheet, fresh) == 0

    counters = stats(fresh)
    created = {u: t["creates"] for u, t in counters["users"].items() if t["creates"]}
    assert created == {f"user{u:02}@corp.example": 2 for u in range(50)} | {ADMIN: 1}
    impersonated = {u: t["impersonated"] for u, t in counters["users"].items() if t["impersonated"]}
    assert impersonated == {f"user{u:02}@corp.example": 1 for u in range(50)}
    assert (counters["impersonations"], counters["impersonations_ended"]) == (50, 50)
    assert counters["impersonation"]["open_sessions"] == 0
    assert counters["logins"] == 1  # the admin's, once
    assert counters["people_requests"] == 1  # one page of the listing: 56 users
    summary, succeeded, _ = report(tmp_path)
    assert summary["impersonation"] == {
        "admin": ADMIN, "impersonations": 50, "impersonations_ended": 50,
        "users_refused": {}, "off": None,
    }  # fmt: skip
    notes = {r["portal_user"]: r["notes"].rpartition("; ")[2] for r in succeeded}
    assert notes["user07@corp.example"] == (
        "via-impersonation: sent as user07@corp.example through --admin"
    )
    assert notes[ADMIN].startswith("via-admin:")


def test_each_user_who_cannot_be_acted_for_fails_with_its_own_code(
    tmp_path: Path, fresh: str
) -> None:
    users = ["owner", "other.admin", "left", "guest", "nobody", "user01"]
    sheet = write_sheet(tmp_path / "in.csv", [row(f"{u}@corp.example", u) for u in users])

    assert run_import(tmp_path, sheet, fresh) == 1

    _, succeeded, failed = report(tmp_path)
    assert [(r["portal_user"], r["code"], r["attempts"]) for r in failed] == [
        ("owner@corp.example", "impersonation-owner", "0"),
        ("other.admin@corp.example", "impersonation-admin", "0"),
        ("left@corp.example", "portal-user-disabled", "0"),
        ("guest@corp.example", "portal-user-guest", "0"),
        ("nobody@corp.example", "portal-user-unknown", "0"),
    ]
    assert [r["portal_user"] for r in succeeded] == ["user01@corp.example"]
    counters = stats(fresh)
    assert (counters["impersonations"], counters["impersonation_refusals"]) == (1, 0)


def test_a_restricted_user_is_refused_and_a_row_with_its_password_falls_back(
    tmp_path: Path,
) -> None:
    restricted = Impersonation(
        config_key=True, enabled=True, enable_type="all-admins",
        restricted_users=("secret@corp.example", "user02@corp.example"),
    )  # fmt: skip
    rows = [row("user01@corp.example", "a"), row("secret@corp.example", "b"),
            row("user02@corp.example", "c", portal_password="User-2-pw")]  # fmt: skip
    sheet = write_sheet(tmp_path / "in.csv", rows)
    with running(portal(restricted)) as url:
        assert run_import(tmp_path, sheet, url) == 1
        counters = stats(url)

    _, succeeded, failed = report(tmp_path)
    assert [(r["portal_user"], r["code"]) for r in failed] == [
        ("secret@corp.example", "impersonation-refused")
    ]
    assert [(r["portal_user"], r["notes"].rpartition("; ")[2][:14]) for r in succeeded] == [
        ("user01@corp.example", "via-impersonat"),
        ("user02@corp.example", "via-own-login:"),
    ]
    assert counters["users"]["user02@corp.example"]["creates"] == 1
    assert (counters["logins"], counters["impersonations"]) == (2, 1)  # admin and user02


@pytest.mark.parametrize(
    ("switches", "says"),
    [
        (Impersonation(), "core.user.impersonate is false"),
        (Impersonation(config_key=True), "act as none of the"),
        (Impersonation(routes=False), "a server before 12.5"),
    ],
)
def test_impersonation_off_is_one_line_and_only_rows_with_passwords_go(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], switches: Impersonation, says: str
) -> None:
    only_admin = write_sheet(tmp_path / "a.csv", [row("user01@corp.example", "a")])
    mixed = write_sheet(tmp_path / "b.csv", [row("user01@corp.example", "a"),
                        row("user02@corp.example", "b", portal_password="User-2-pw")])  # fmt: skip
    with running(portal(switches)) as url:
        assert run_import(tmp_path, only_admin, url) == 3
        nothing = stats(url)
        assert run_import(tmp_path, mixed, url) == 1
        counters = stats(url)

    assert (nothing["creates"], nothing["impersonations"]) == (0, 0)
    assert says in capsys.readouterr().err
    _, succeeded, failed = report(tmp_path)
    assert [(r["portal_user"], r["code"]) for r in failed] == [
        ("user01@corp.example", "impersonation-off")
    ]
    assert [r["portal_user"] for r in succeeded] == ["user02@corp.example"]
    assert (counters["creates"], counters["impersonations"]) == (1, 0)


def test_a_refused_admin_login_ends_the_run_before_any_row(
    tmp_path: Path, fresh: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BULKMAIL_ADMIN_PASSWORD", "not-the-password")
    sheet = write_sheet(tmp_path / "in.csv", [row("user01@corp.example", "a")])

    assert run_import(tmp_path, sheet, fresh) == 3

    summary, _, failed = report(tmp_path)
    assert [r["code"] for r in failed] == ["not-attempted"]
    assert "refused the login of --admin" in summary["abort_reason"]
    assert (stats(fresh)["creates"], stats(fresh)["people_requests"]) == (0, 0)


def test_the_admins_two_factor_code_is_asked_and_without_a_terminal_it_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    guarded = PortalUser("guarded@corp.example", "Guarded-pw", admin=True, tfa="tfa")
    sheet = write_sheet(tmp_path / "in.csv", [row("user01@corp.example", "a")])
    with running(portal(users=(guarded,))) as url:
        argv = [
            "import",
            str(sheet),
            "--portal",
            url,
            "--admin",
            "guarded@corp.example",
            "--report-dir",
            str(tmp_path / "reports"),
            "--state",
            str(tmp_path / "j"),
        ]
        with pytest.MonkeyPatch.context() as env:
            env.setenv("BULKMAIL_ADMIN_PASSWORD", "Guarded-pw")
            assert main(argv) == 2  # pytest's stdin is no terminal
        asked: list[str] = []

        def code(prompt: str) -> str:
            asked.append(prompt)
            return "123456"

        settings = PortalSettings(url=url, admin="guarded@corp.example",
                                  admin_password="Guarded-pw", state=None)  # fmt: skip
        result = import_file(InputSettings(sheet), settings, tmp_path / "reports", ask_code=code)
        counters = stats(url)

    assert "asks --admin guarded@corp.example for a two-factor code" in capsys.readouterr().err
    assert asked == ["two-factor code for guarded@corp.example: "]
    assert result.summary.exit_code == 0
    assert counters["users"]["user01@corp.example"]["creates"] == 1


def test_a_dry_run_checks_each_user_and_opens_no_session(tmp_path: Path, fresh: str) -> None:
    rows = [row("user01@corp.example", "a"), row("user02@corp.example", "b"),
            row("owner@corp.example", "c")]  # fmt: skip
    sheet = write_sheet(tmp_path / "in.csv", rows)

    assert run_import(tmp_path, sheet, fresh, "--dry-run") == 1
    summary, succeeded, failed = report(tmp_path)
    counters = stats(fresh)
    assert run_import(tmp_path, sheet, fresh, "--dry-run", "--list-existing") == 1
    listed = stats(fresh)

    assert (counters["impersonations"], counters["creates"]) == (0, 0)
    assert [(r["outcome"], r["notes"].rpartition("; ")[2][:21]) for r in succeeded] == [
        ("would create", "impersonation-checked"),
        ("would create", "impersonation-checked"),
    ]
    assert [r["code"] for r in failed] == ["impersonation-owner"]
    assert summary["counts"]["would create"] == 2
    assert (listed["impersonations"], listed["impersonations_ended"], listed["creates"]) == (
        2, 2, 0,
    )  # fmt: skip


class Recorder:
    """The simulator, noting every token it hands out (logins and impersonations)."""

    def __init__(self, config: SimConfig) -> None:
        self.app = create_app(config)
        self.tokens: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                self._note(message["body"])
            await send(message)

        await self.app(scope, receive, noting)

    def _note(self, body: bytes) -> None:
        try:
            answer = json.loads(body).get("response")
        except (ValueError, AttributeError):
            return
        token = answer.get("token") if isinstance(answer, dict) else answer
        if isinstance(token, str) and len(token) > 20:
            self.tokens.append(token)


@pytest.fixture
def recorded() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder(portal())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(recorder, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield recorder, f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join()
    sock.close()


def test_no_token_reaches_any_output(tmp_path: Path, recorded: tuple[Recorder, str]) -> None:
    recorder, url = recorded
    rows = [row(f"user{u:02}@corp.example", f"box{u}") for u in range(5)]
    sheet = write_sheet(tmp_path / "in.csv", [*rows, row("owner@corp.example", "x")])
    done = subprocess.run(
        [sys.executable, "-m", "bulkmail", "import", str(sheet), "--portal", url,
         "--admin", ADMIN, "--report-dir", str(tmp_path / "reports"),
         "--state", str(tmp_path / "state" / "journal.sqlite"), "--log-format", "json"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"BULKMAIL_ADMIN_PASSWORD": ADMIN_PASSWORD, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    assert len(recorder.tokens) == 6  # the admin's login and five impersonations
    assert leaks(outputs(tmp_path, done), [*recorder.tokens, ADMIN_PASSWORD]) == []
    assert '"event": "run.impersonations"' in done.stderr


def test_rows_without_portal_user_go_to_user_or_their_emails_user(
    tmp_path: Path, fresh: str
) -> None:
    header = ["email", "password", "server", "smtp_server"]
    sheet = tmp_path / "no-owner.csv"
    with sheet.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for user in ("user03", "user04"):
            writer.writerow([f"{user}@corp.example", "mb-1", "imap.mail.example.org",
                             "smtp.mail.example.org"])  # fmt: skip

    assert run_import(tmp_path, sheet, fresh, "--user", "user05@corp.example") == 0
    to_user = stats(fresh)
    httpx.post(f"{fresh}/_sim/reset").raise_for_status()
    assert run_import(tmp_path, sheet, fresh, "--portal-user-from", "email", "--fresh") == 0
    to_email = stats(fresh)

    assert {u: t["creates"] for u, t in to_user["users"].items() if t["creates"]} == {
        "user05@corp.example": 2
    }
    assert (to_user["impersonations"], to_user["logins"]) == (1, 1)  # the admin's login only
    assert {u: t["creates"] for u, t in to_email["users"].items() if t["creates"]} == {
        "user03@corp.example": 1,
        "user04@corp.example": 1,
    }


def test_list_existing_needs_a_dry_run(
    tmp_path: Path, fresh: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", [row("user01@corp.example", "a")])
    assert run_import(tmp_path, sheet, fresh, "--list-existing") == 2
    assert "--list-existing goes with --dry-run and --admin" in capsys.readouterr().err
    assert stats(fresh)["logins"] == 0


def test_each_session_ends_after_its_users_last_row(
    tmp_path: Path, fresh: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [row(f"user{u:02}@corp.example", f"b{u}-{b}") for u in range(3) for b in range(2)]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    argv = ["import", str(sheet), "--portal", fresh, "--admin", ADMIN, "--concurrency", "1",
            "--report-dir", str(tmp_path / "reports"), "--state", str(tmp_path / "j.sqlite"),
            "--log-format", "json"]  # fmt: skip
    assert main(argv) == 0

    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    steps = [(e["event"], e.get("user") or e.get("portal_user")) for e in events
             if e["event"] in ("row.created", "impersonation.ended")]  # fmt: skip
    for u in range(3):
        user = f"user{u:02}@corp.example"
        last_row = max(i for i, step in enumerate(steps) if step == ("row.created", user))
        assert steps[last_row + 1 :].count(("impersonation.ended", user)) == 1
    assert {e.get("after") for e in events if e["event"] == "impersonation.ended"} == {"last row"}


def test_rows_whose_servers_are_autofilled_go_to_their_owners(tmp_path: Path, fresh: str) -> None:
    """--autofill known makes rows with blank server cells valid: their owners must be
    found in People too, not failed as unknown (the owners were counted without autofill)."""
    rows = [row("user01@corp.example", "a") | {"email": "a@gmail.com", "server": "",
                                               "smtp_server": ""},
            row("user02@corp.example", "b")]  # fmt: skip
    sheet = write_sheet(tmp_path / "in.csv", rows)

    assert run_import(tmp_path, sheet, fresh, "--autofill", "known") == 0

    counters = stats(fresh)
    assert counters["users"]["user01@corp.example"]["creates"] == 1
    assert (counters["impersonations"], counters["impersonations_ended"]) == (2, 2)


def test_a_session_ends_after_its_users_last_row_even_when_that_row_was_done_earlier(
    tmp_path: Path, fresh: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A re-run: user00's last row was created by the first run, far behind its new row.
    The journal settles it as the router reads it; the session must end then, not be left
    open until the run ends (a kill in between would leave it open)."""
    done_earlier = row("user00@corp.example", "later")
    sheet = write_sheet(tmp_path / "in.csv", [done_earlier])
    argv = ["import", str(sheet), "--portal", fresh, "--admin", ADMIN, "--concurrency", "1",
            "--report-dir", str(tmp_path / "reports"), "--state", str(tmp_path / "j.sqlite"),
            "--log-format", "json"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    between = [row("user01@corp.example", f"b{n}") for n in range(100)]  # past the read-ahead
    rows = [row("user00@corp.example", "first"), *between, done_earlier,
            row("user02@corp.example", "c")]  # fmt: skip
    write_sheet(sheet, rows)

    assert main(argv) == 0

    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    ended = {e["user"]: e["after"] for e in events if e["event"] == "impersonation.ended"}
    assert ended == {f"user0{u}@corp.example": "last row" for u in range(3)}
    assert stats(fresh)["impersonation"]["open_sessions"] == 0


def test_users_whose_logins_differ_only_by_casefolding_keep_their_own_mail(
    tmp_path: Path,
) -> None:
    """ "strauß" and "strauss" are two portal users (casefold() makes them one): each row's
    account goes to its own user, through its own session."""
    users = (PortalUser("strauß@corp.example", "pw-1"), PortalUser("strauss@corp.example", "pw-2"))
    sheet = write_sheet(tmp_path / "in.csv", [row(u.login, f"box{n}") for n, u in enumerate(users)])
    with running(portal(users=users)) as url:
        assert run_import(tmp_path, sheet, url) == 0
        boxes = httpx.get(f"{url}/_sim/mailboxes").json()

    assert sorted((b["user"], b["email"]) for b in boxes) == [
        ("strauss@corp.example", "box1@mail.example.org"),
        ("strauß@corp.example", "box0@mail.example.org"),
    ]


def test_a_busy_portal_neither_fails_rows_at_impersonation_nor_keeps_sessions_open(
    tmp_path: Path,
) -> None:
    """503s with Retry-After (nothing done) on impersonations and logouts are asked again:
    every row is created and every session ended (rows failed at the impersonation, and
    sessions whose logout met a 503 stayed open)."""
    rows = [row(f"user{u:02}@corp.example", f"box{u}") for u in range(20)]
    sheet = write_sheet(tmp_path / "in.csv", rows)
    with running(portal(fail_503=0.3, retry_after=0, seed=3)) as url:
        code = run_import(tmp_path, sheet, url, "--concurrency", "1", "--retries", "20")
        counters = stats(url)

    assert code == 0
    assert counters["faults"]["503"] > 0
    assert counters["impersonation"]["open_sessions"] == 0


def test_one_person_named_by_login_and_by_email_gets_a_mailbox_once(tmp_path: Path) -> None:
    # "anna" and "anna@portal.sim" are one user in People: validation cannot tell (two
    # names), so the second row would overwrite the first row's account, both reported done.
    anna = PortalUser("anna", "Anna-pw-1")
    sheet = write_sheet(tmp_path / "in.csv", [
        row("anna", "box1"), row("ANNA@portal.sim", "Box1"), row("anna@portal.sim", "box2"),
        row("user01@corp.example", "box1")])  # fmt: skip
    with running(portal(users=(anna,))) as url:
        assert run_import(tmp_path, sheet, url) == 1
        counters = stats(url)
    assert counters["creates"] == 3 and counters["overwrites"] == 0
    _, succeeded, failed = report(tmp_path)
    assert [r["row"] for r in succeeded] == ["2", "4", "5"]
    (twice,) = failed
    assert (twice["row"], twice["code"], twice["stage"]) == ("3", "duplicate-account", "validation")
    assert "same mailbox as row 2" in twice["message"] and "one person" in twice["message"]


@pytest.mark.parametrize("again", [["--if-exists", "update"], ["--retry-failed"]])
def test_one_person_under_two_names_is_refused_on_a_re_run_too(
    tmp_path: Path, again: list[str]
) -> None:
    # The journal settles the first row (done by an earlier run) before --admin sees it: the
    # second row was then the first of that mailbox, sent, and overwrote the first's account.
    anna = PortalUser("anna", "Anna-pw-1")
    first = write_sheet(tmp_path / "first.csv", [row("anna", "box1")])
    both = write_sheet(tmp_path / "in.csv", [row("anna", "box1"), row("anna@portal.sim", "Box1")])
    with running(portal(users=(anna,))) as url:
        assert run_import(tmp_path, first, url) == 0
        if again == ["--retry-failed"]:  # the second row failed as a duplicate: tried again
            assert run_import(tmp_path, both, url) == 1
        assert run_import(tmp_path, both, url, *again) == 1
        counters = stats(url)
    assert counters["creates"] == 1 and counters["overwrites"] == 0
    _, succeeded, failed = report(tmp_path)
    assert [(r["row"], r["code"]) for r in failed] == [("3", "duplicate-account")]
    assert [r["row"] for r in succeeded] == ["2"]
