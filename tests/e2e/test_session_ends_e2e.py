"""The portal ends the sessions mid-run (its session lifetime, or the owner's "log out from all
active connections"), end to end from the command line against the simulator on 127.0.0.1.

The sessions end at a moment the test chooses by event, not by time: just before the portal
handles the n-th request of a kind (`KillAt`). Every run must log in again once per dead
token, send every row exactly once (the simulator's counters and mailboxes say so) and end
as if nothing happened; a login that cannot be repeated stops the run (exit 3), and the
same command finishes it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from gate import gated
from starlette.types import ASGIApp, Receive, Scope, Send

from bulkmail.cli import main
from bulkmail.pipeline import import_file
from bulkmail.settings import InputSettings, PortalSettings
from bulkmail.simulator import PortalUser, SimConfig
from bulkmail.simulator.config import Impersonation
from bulkmail.simulator.state import Store

pytestmark = pytest.mark.slow

USER, USER_PASSWORD = "it@corp.example", "It-portal-pw-1"
ADMIN, ADMIN_PASSWORD = "admin@corp.example", "Admin-pw-1"
STAFF = tuple(PortalUser(f"user{i}@corp.example", f"User-{i}-pw") for i in range(4))
ON = Impersonation(config_key=True, enabled=True, enable_type="all-admins")
CREATE = ("POST", "/api/2.0/mail/accounts")
LISTING = ("GET", "/api/2.0/mail/accounts")
AS_USER = ("--user", USER)
HEADER = ["portal_user", "portal_password", "email", "password", "server", "smtp_server"]


class KillAt:
    """End every session just before the portal handles the n-th request `method path*`,
    for each n of `at` (or, with `password`, change `user`'s password: its sessions end and
    its old password is refused from then on)."""

    def __init__(
        self, method: str, path: str, *at: int, user: str = "", password: str = ""
    ) -> None:
        self.method, self.path, self.at = method, path, set(at)
        self.user, self.password = user, password
        self.seen = 0

    def wrap(self, app: ASGIApp) -> ASGIApp:
        store: Store = app.store  # type: ignore[attr-defined]

        async def killing(scope: Scope, receive: Receive, send: Send) -> None:
            if (
                scope["type"] == "http"
                and scope["method"] == self.method
                and str(scope["path"]).startswith(self.path)
            ):
                self.seen += 1
                if self.seen in self.at:
                    self._kill(store)
            await app(scope, receive, send)

        return killing

    def _kill(self, store: Store) -> None:
        if self.password:
            store.users[self.user.lower()].set_password(self.password)
            store.log_out(self.user)
        else:
            store.log_out()


def portal(**extra: Any) -> SimConfig:
    users = (PortalUser(USER, USER_PASSWORD), PortalUser(ADMIN, ADMIN_PASSWORD, admin=True),
             *STAFF, *extra.pop("users", ()))  # fmt: skip
    return SimConfig(users=users, open_portal=False, impersonation=ON, **extra)


def row(box: str, user: str = "", portal_password: str = "") -> dict[str, str]:
    return {
        "portal_user": user,
        "portal_password": portal_password,
        "email": f"{box}@mail.example.org",
        "password": "mailbox-pass-1",
        "server": "imap.mail.example.org",
        "smtp_server": "smtp.mail.example.org",
    }


def sheet_of(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write `rows` as a CSV, without the columns blank in every row (no portal_user column:
    every row is --user's)."""
    header = [name for name in HEADER if any(r[name] for r in rows)]
    rows = [{name: r[name] for name in header} for r in rows]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(tmp_path: Path, sheet: Path, url: str, *extra: str) -> int:
    return main(
        ["import", str(sheet), "--portal", url, "--report-dir", str(tmp_path / "reports"),
         "--state", str(tmp_path / "journal.sqlite"), "--log-format", "json",
         "--concurrency", "4", *extra]
    )  # fmt: skip


def stats(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/_sim/stats").json())


def mailboxes(url: str) -> list[str]:
    return sorted(b["email"] for b in httpx.get(f"{url}/_sim/mailboxes").json())


def summary(tmp_path: Path) -> dict[str, Any]:
    folder = sorted((tmp_path / "reports").iterdir())[-1]
    return dict(json.loads((folder / "summary.json").read_text(encoding="utf-8")))


def failed(tmp_path: Path) -> list[dict[str, str]]:
    folder = sorted((tmp_path / "reports").iterdir())[-1]
    with (folder / "failed.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def events(err: str, name: str) -> list[dict[str, Any]]:
    found = []
    for line in err.splitlines():
        if line.startswith("{") and (event := json.loads(line))["event"] == name:
            found.append(event)
    return found


def boxes(count: int) -> list[str]:
    return [f"box{i:02}@mail.example.org" for i in range(count)]


@pytest.fixture(autouse=True)
def passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULKMAIL_PASSWORD", USER_PASSWORD)
    monkeypatch.setenv("BULKMAIL_ADMIN_PASSWORD", ADMIN_PASSWORD)


def killed(
    config: SimConfig, kill: KillAt, act: Callable[[str], int]
) -> tuple[int, dict[str, Any], list[str]]:
    """Return the exit code of `act(url)` against a portal that ends sessions at `kill`, and
    the portal's counters and mailboxes after it."""
    with gated(config, kill) as url:  # type: ignore[arg-type]  # a gate: anything with wrap()
        code = act(url)
        return code, stats(url), mailboxes(url)


def test_a_user_run_logs_in_again_once_per_logout_and_creates_each_row_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = sheet_of(tmp_path / "in.csv", [row(f"box{i:02}") for i in range(20)])
    kill = KillAt(*CREATE, 5, 12)  # the owner logs everyone out, twice

    code, counters, stored = killed(portal(), kill, lambda url: run(tmp_path, sheet, url, *AS_USER))

    assert code == 0
    assert stored == boxes(20)
    assert (counters["creates"], counters["overwrites"]) == (20, 0)
    assert counters["logins"] == 3  # the first, and one for each logout
    assert counters["sessions_ended"] == 2
    assert summary(tmp_path)["portal_sessions"] == {"ended": 2, "renewed": 2}
    err = capsys.readouterr().err
    ended, renewed = events(err, "session.ended"), events(err, "session.renewed")
    assert (len(ended), len(renewed)) == (2, 2)
    assert {e["user"] for e in ended + renewed} == {USER}
    assert all(set(e) <= {"event", "level", "timestamp", "user", "message", "renewals"}
               for e in ended + renewed)  # fmt: skip


def test_rows_of_several_portal_users_each_log_in_again_at_most_once(tmp_path: Path) -> None:
    rows = [row(f"box{i:02}", f"user{i % 4}@corp.example", f"User-{i % 4}-pw") for i in range(16)]
    sheet = sheet_of(tmp_path / "in.csv", rows)

    code, counters, stored = killed(
        portal(), KillAt(*CREATE, 6), lambda url: run(tmp_path, sheet, url)
    )

    assert code == 0
    assert stored == boxes(16)
    assert (counters["creates"], counters["overwrites"]) == (16, 0)
    renewed = summary(tmp_path)["portal_sessions"]["renewed"]
    assert 1 <= renewed <= 4 and counters["logins"] == 4 + renewed


def test_an_admin_run_logs_the_admin_in_again_and_impersonates_again(tmp_path: Path) -> None:
    rows = [row(f"box{i:02}", f"user{i % 4}@corp.example") for i in range(16)]
    sheet = sheet_of(tmp_path / "in.csv", rows)

    code, counters, stored = killed(
        portal(), KillAt(*CREATE, 6), lambda url: run(tmp_path, sheet, url, "--admin", ADMIN)
    )

    assert code == 0
    assert stored == boxes(16)
    assert (counters["creates"], counters["overwrites"]) == (16, 0)
    assert counters["logins"] == 2  # the admin's, and once more after the logout
    again = counters["impersonations"] - 4  # users whose session was opened once more
    assert 1 <= again <= 4
    assert counters["impersonation"]["open_sessions"] == 0  # every live one was ended
    facts = summary(tmp_path)
    assert facts["impersonation"]["impersonations"] == counters["impersonations"]
    # None left open: each was ended by bulkmail, or by the portal's logout (its 401 said so).
    assert facts["impersonation"]["impersonations_ended"] == counters["impersonations"]
    assert facts["portal_sessions"]["renewed"] == 1 + again


def test_the_listing_for_if_exists_skip_asks_again_after_the_logout(tmp_path: Path) -> None:
    first = sheet_of(tmp_path / "first.csv", [row("box00")])
    sheet = sheet_of(tmp_path / "in.csv", [row(f"box{i:02}") for i in range(6)])

    def act(url: str) -> int:
        assert run(tmp_path, first, url, "--user", USER, "--state", str(tmp_path / "j1")) == 0
        return run(tmp_path, sheet, url, "--user", USER)  # the listing says box00 exists

    code, counters, stored = killed(portal(), KillAt(*LISTING, 2), act)

    assert code == 0
    assert stored == boxes(6)
    assert (counters["creates"], counters["overwrites"]) == (6, 0)
    assert counters["logins"] == 3  # the first run's, the second's, and its login again
    assert summary(tmp_path)["counts"]["skipped"] == 1


def test_autofill_portal_asks_again_after_the_logout(tmp_path: Path) -> None:
    rows = [[f"a{i}@{domain}", "mailbox-pass-1"] for i, domain in
            enumerate(["gmail.com", "yandex.ru", "corp.example", "mail.example.org"])]  # fmt: skip
    sheet = tmp_path / "in.csv"
    with sheet.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["email", "password"], *rows])
    kill = KillAt("GET", "/api/2.0/mail/accounts/setups", 2)

    argv = ("--user", USER, "--autofill", "portal")
    code, counters, stored = killed(portal(), kill, lambda url: run(tmp_path, sheet, url, *argv))

    assert code == 0
    assert len(stored) == 4 and counters["overwrites"] == 0
    assert counters["logins"] == 2
    assert summary(tmp_path)["portal_sessions"] == {"ended": 1, "renewed": 1}


def test_an_admin_dry_run_asks_again_after_the_logout(tmp_path: Path) -> None:
    rows = [row(f"box{i:02}", f"user{i}@corp.example") for i in range(4)]
    sheet = sheet_of(tmp_path / "in.csv", rows)
    # The first GET of security/impersonate/ reads the owner's switch, the next ones are the
    # check route's questions, asked side by side.
    kill = KillAt("GET", "/api/2.0/security/impersonate/", 3)

    code, counters, stored = killed(
        portal(), kill, lambda url: run(tmp_path, sheet, url, "--admin", ADMIN, "--dry-run")
    )

    assert code == 0
    assert stored == [] and counters["impersonations"] == 0
    assert counters["logins"] == 2
    assert summary(tmp_path)["counts"]["would create"] == 4


def test_a_two_factor_admin_stops_the_run_and_the_same_command_finishes_it(
    tmp_path: Path,
) -> None:
    guarded = PortalUser("guarded@corp.example", "Guarded-pw", admin=True, tfa="tfa")
    rows = [row(f"box{i:02}", f"user{i % 4}@corp.example") for i in range(12)]
    sheet = sheet_of(tmp_path / "in.csv", rows)
    codes: list[str] = []

    def ask_code(prompt: str) -> str:
        codes.append(prompt)
        return "123456"

    def act(url: str) -> int:
        settings = PortalSettings(url=url, admin=guarded.login, admin_password="Guarded-pw",
                                  state=tmp_path / "journal.sqlite", concurrency=2)  # fmt: skip
        first = import_file(InputSettings(sheet), settings, tmp_path / "reports", ask_code=ask_code)
        assert first.summary.exit_code == 3
        facts = summary(tmp_path)
        assert "two-factor code" in facts["abort_reason"]
        assert facts["portal_sessions"]["renewed"] == 0  # the admin's and its users' ended
        assert {r["code"] for r in failed(tmp_path)} <= {"not-attempted", "interrupted"}
        again = import_file(InputSettings(sheet), settings, tmp_path / "reports", ask_code=ask_code)
        return again.summary.exit_code

    code, counters, stored = killed(portal(users=(guarded,)), KillAt(*CREATE, 4), act)

    assert code == 0
    assert stored == boxes(12)
    assert (counters["creates"], counters["overwrites"]) == (12, 0)
    assert len(codes) == 2  # one per run: none asked mid-run


def test_a_refused_login_again_of_the_run_user_stops_the_run_without_a_second_try(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = sheet_of(tmp_path / "in.csv", [row(f"box{i:02}") for i in range(10)])
    kill = KillAt(*CREATE, 4, user=USER, password="Changed-pw-2")

    code, counters, stored = killed(portal(), kill, lambda url: run(tmp_path, sheet, url, *AS_USER))

    assert code == 3
    assert counters["login_failures"] == 1  # never tried again: five lock the user out
    assert len(stored) == counters["creates"] >= 3
    assert "refused the login of --user it@corp.example" in summary(tmp_path)["abort_reason"]
    assert capsys.readouterr().err.count('"event": "session.ended"') == 1


def test_a_refused_login_again_of_a_rows_portal_user_fails_only_its_rows(
    tmp_path: Path,
) -> None:
    rows = [row(f"box{i:02}", f"user{i % 4}@corp.example", f"User-{i % 4}-pw") for i in range(16)]
    sheet = sheet_of(tmp_path / "in.csv", rows)
    kill = KillAt(*CREATE, 6, user="user1@corp.example", password="Changed-pw-2")

    code, counters, stored = killed(portal(), kill, lambda url: run(tmp_path, sheet, url))

    assert code == 1
    assert counters["login_failures"] == 1  # user1's login again, never repeated
    refused = failed(tmp_path)
    assert {(r["portal_user"], r["code"]) for r in refused} == {
        ("user1@corp.example", "portal-login-failed")
    }
    assert len(stored) == counters["creates"] == 16 - len(refused)
    assert counters["overwrites"] == 0


def test_a_portal_that_ends_every_session_at_once_stops_the_run(tmp_path: Path) -> None:
    sheet = sheet_of(tmp_path / "in.csv", [row(f"box{i:02}") for i in range(5)])

    code, counters, stored = killed(
        portal(session_lifetime=0.0),
        KillAt(*CREATE),
        lambda url: run(tmp_path, sheet, url, *AS_USER),
    )

    assert code == 3
    assert stored == [] and counters["logins"] == 3  # bounded: no login for every row
    facts = summary(tmp_path)
    assert "refused each of 2 new ones" in facts["abort_reason"]
    assert {r["code"] for r in failed(tmp_path)} == {"not-attempted"}


def test_the_admins_people_lookups_ask_again_after_the_logout(tmp_path: Path) -> None:
    rows = [row(f"box{i:02}", f"user{i}@corp.example") for i in range(4)]
    sheet = sheet_of(tmp_path / "in.csv", rows)
    kill = KillAt("GET", "/api/2.0/people/", 2)  # among the lookups, asked side by side

    code, counters, stored = killed(
        portal(), kill, lambda url: run(tmp_path, sheet, url, "--admin", ADMIN)
    )

    assert code == 0
    assert stored == boxes(4) and counters["overwrites"] == 0
    assert counters["logins"] == 2


def test_the_look_up_after_a_lost_answer_asks_again_after_the_logout(tmp_path: Path) -> None:
    sheet = sheet_of(tmp_path / "in.csv", [row(f"box{i:02}") for i in range(3)])
    kill = KillAt("GET", "/api/2.0/mail/accounts/single", 1)

    code, counters, stored = killed(
        portal(drop_after_create=1.0),  # every create is stored, then its answer lost
        kill,
        lambda url: run(tmp_path, sheet, url, *AS_USER, "--timeout", "30"),
    )

    assert code == 0
    assert stored == boxes(3)
    assert (counters["creates"], counters["overwrites"]) == (3, 0)  # found, not sent again
    assert counters["logins"] == 2
    assert summary(tmp_path)["portal_sessions"] == {"ended": 1, "renewed": 1}


@pytest.mark.parametrize(
    ("owner", "argv", "logins"),
    [
        ("", AS_USER, 2),  # the user's listing; it logs in again
        ("user1@corp.example", ("--admin", ADMIN, "--list-existing"), 2),  # the admin again
    ],
    ids=["user", "admin-list-existing"],
)
def test_a_dry_run_lists_again_after_the_logout(
    tmp_path: Path, owner: str, argv: tuple[str, ...], logins: int
) -> None:
    sheet = sheet_of(tmp_path / "in.csv", [row(f"box{i:02}", owner) for i in range(4)])

    code, counters, stored = killed(
        portal(), KillAt(*LISTING, 1), lambda url: run(tmp_path, sheet, url, "--dry-run", *argv)
    )

    assert code == 0
    assert stored == [] and counters["logins"] == logins
    assert summary(tmp_path)["counts"]["would create"] == 4
    assert summary(tmp_path)["portal_sessions"]["ended"] >= 1
