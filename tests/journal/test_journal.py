"""The journal, its run lock and the re-run plan, on real SQLite files under tmp_path."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bulkmail.errors import ConfigError, LockedError
from bulkmail.journal import db
from bulkmail.journal.lock import RunLock
from bulkmail.journal.plan import Plan, plan
from bulkmail.journal.store import (
    BATCH_ROWS,
    BATCH_SECONDS,
    Entry,
    Journal,
    normalise_portal,
    row_digest,
)
from bulkmail.secrets import MASK, register

PORTAL = "https://portal.example.com"
SECRET = "Imap-Secret-4242"
SMTP_SECRET = "Smtp-Secret-9090"
PORTAL_SECRET = "Portal-Secret-7777"
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def cells(email: str = "ann@example.com", password: str = SECRET) -> dict[str, str]:
    return {
        "portal_user": "boss@example.com",
        "portal_password": PORTAL_SECRET,
        "email": email,
        "password": password,
        "server": "imap.example.com",
        "smtp_server": "smtp.example.com",
        "smtp_password": "",
    }


def entry(state: str = "created", **changes: object) -> Entry:
    base = Entry("boss@example.com", "ann@example.com", state, 17, "", "", False, "d1", 2, 1, "")
    return replace(base, **changes)  # type: ignore[arg-type]


def without_time(found: Entry | None) -> Entry:
    assert found is not None
    assert ISO_UTC.fullmatch(found.updated_at), found.updated_at
    return replace(found, updated_at="")


def read_rows(path: Path, query: str) -> list[tuple[object, ...]]:
    """Read the file through a second connection: it sees only what was committed."""
    with sqlite3.connect(path) as other:
        return other.execute(query).fetchall()


def test_record_round_trips_through_a_reopened_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.sqlite"
    with Journal.open(path, PORTAL) as journal:
        journal.record("Boss@Example.com", "Ann@Example.com", state="created", row=2,
                       digest="d1", mailbox_id=17, attempts=1, cells=cells())  # fmt: skip
    with Journal.open(path, PORTAL) as journal:
        found = journal.lookup("boss@example.com", "ann@example.com")
        assert without_time(found) == entry()
        assert journal.stats() == {"created": 1}
        assert journal.took_over_from is None


@pytest.mark.parametrize(
    ("user", "email"),
    [("boss@example.com", "ann@example.com"), ("BOSS@EXAMPLE.COM", "Ann@Example.Com")],
)
def test_lookup_ignores_case(tmp_path: Path, user: str, email: str) -> None:
    with Journal.open(tmp_path / "j.sqlite", PORTAL) as journal:
        journal.record("Boss@example.com", "ANN@example.com", state="created", row=2,
                       digest="d1", mailbox_id=17, attempts=1)  # fmt: skip
        assert without_time(journal.lookup(user, email)) == entry()
        assert journal.lookup(user, "bob@example.com") is None


def test_portals_are_kept_apart(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path, PORTAL) as journal:
        journal.record("boss@example.com", "ann@example.com", state="created", row=2, digest="d")
    with Journal.open(path, "https://other.example.com") as journal:
        assert journal.lookup("boss@example.com", "ann@example.com") is None
        assert journal.stats() == {}
    with Journal.open(path, "HTTPS://Portal.Example.com:443/") as journal:
        assert journal.stats() == {"created": 1}


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://portal.example.com", "https://portal.example.com"),
        ("HTTPS://Portal.Example.COM/", "https://portal.example.com"),
        ("https://portal.example.com:443", "https://portal.example.com"),
        ("http://portal.example.com:80/", "http://portal.example.com"),
        ("https://portal.example.com:8443/Office/", "https://portal.example.com:8443/Office"),
        ("portal.example.com", "https://portal.example.com"),
        ("https://admin:pw@portal.example.com/?x=1#top", "https://portal.example.com"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_portal_url_is_normalised(url: str, key: str) -> None:
    assert normalise_portal(url) == key


class Clock:
    """A clock that moves only when the test says, so a batch ages exactly as told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failure_keeps_its_stage(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with Journal.open(path, PORTAL) as journal:
        journal.record("boss@example.com", "ann@example.com", state="failed", row=2,
                       digest="d1", code="portal-forbidden", permanent=True,
                       stage="login")  # fmt: skip
    with Journal.open(path, PORTAL) as journal:
        found = journal.lookup("boss@example.com", "ann@example.com")
    assert found is not None and (found.code, found.stage) == ("portal-forbidden", "login")


def test_a_version_1_journal_is_upgraded_and_keeps_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    v1 = db.SCHEMA.replace("    stage TEXT NOT NULL DEFAULT '',\n", "")
    assert v1 != db.SCHEMA
    with sqlite3.connect(path) as old:
        old.executescript(
            f"{v1} PRAGMA application_id = {db.APPLICATION_ID}; PRAGMA user_version = 1;"
            "INSERT INTO generations VALUES (1, 'https://portal.example.com', 'x');"
            "INSERT INTO entries VALUES (1, 'boss@example.com', 'ann@example.com', 'failed',"
            " NULL, 'mailbox-login-refused', 'refused', 1, 'd1', 2, 1, NULL,"
            " '2026-11-23T19:40:01Z');"
        )
    with Journal.open(path, PORTAL) as journal:
        found = journal.lookup("boss@example.com", "ann@example.com")
    assert found is not None and (found.code, found.stage) == ("mailbox-login-refused", "")
    assert read_rows(path, "PRAGMA user_version") == [(db.SCHEMA_VERSION,)]


def version_2(path: Path, *entries: tuple[str, str, str | None, str]) -> None:
    """Write a version 2 journal, whose entries (email key, state, the row's email cell,
    updated_at) are keyed as version 2 keyed them: the address by Python's str.lower()."""
    with sqlite3.connect(path) as old:
        old.executescript(
            f"{db.SCHEMA} PRAGMA application_id = {db.APPLICATION_ID}; PRAGMA user_version = 2;"
            f"INSERT INTO generations VALUES (1, '{PORTAL}', 'x');"
        )
        for n, (email, state, typed, updated_at) in enumerate(entries):
            row = None if typed is None else json.dumps(cells(typed))
            old.execute(
                "INSERT INTO entries VALUES (1, 'boss@example.com', ?, ?, ?, '', '', 0, 'd1',"
                " ?, 1, ?, ?, '')",
                (email, state, 100 + n, n + 2, row, updated_at),
            )


def test_a_version_2_journal_is_keyed_as_the_portal_keys_an_address(tmp_path: Path) -> None:
    # Version 2 keyed "ΟΔΟΣ@" as "οδος@" (the portal: "οδοσ@"), "İNFO@" as "i" + U+0307 +
    # "nfo@" (the portal: "info@"), and an address typed decomposed apart from the same
    # typed composed: the re-run of the same sheet missed the entries and sent the rows again.
    path = tmp_path / "journal.sqlite"
    day, later = "2026-11-23T19:40:01Z", "2026-11-24T08:00:00Z"
    version_2(
        path,
        ("ann@example.com", "created", "Ann@example.com", day),
        ("οδος@example.com", "created", "ΟΔΟΣ@example.com", day),  # the cell tells: "Σ"
        ("σοφιας@example.com", "in-flight", None, day),  # no cell: typed as it reads
        ("i\u0307nfo@example.com", "in-flight", None, day),  # İ, or I + U+0307: both "i"
        ("jose\u0301@example.com", "failed", "JOSE\u0301@example.com", day),
        ("jos\u00e9@example.com", "created", "Jos\u00e9@example.com", later),  # the newer
        ("z\u00fcri@example.com", "failed", "Z\u00fcri@example.com", day),
        ("zu\u0308ri@example.com", "created", "zu\u0308ri@example.com", later),  # the newer
    )
    with Journal.open(path, PORTAL) as journal:
        found = {
            email: journal.lookup("Boss@example.com", email)
            for email in (
                "ann@example.com",
                "ΟΔΟΣ@example.com",
                "σοφιας@example.com",
                "İNFO@example.com",
                "JOSE\u0301@example.com",
                "Z\u00dcRI@example.com",
            )
        }
        assert journal.stats() == {"created": 4, "in-flight": 2}
    assert {email: (e.state, e.mailbox_id) for email, e in found.items() if e} == {
        "ann@example.com": ("created", 100),
        "ΟΔΟΣ@example.com": ("created", 101),
        "σοφιας@example.com": ("in-flight", 102),
        "İNFO@example.com": ("in-flight", 103),
        "JOSE\u0301@example.com": ("created", 105),
        "Z\u00dcRI@example.com": ("created", 107),
    }
    assert read_rows(path, "PRAGMA user_version") == [(db.SCHEMA_VERSION,)]


def test_records_are_committed_in_batches_and_on_flush(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    count = "SELECT count(*) FROM entries"
    clock = Clock()
    with Journal.open(path, PORTAL, clock=clock) as journal:
        for n in range(3):
            journal.record("u", f"{n}@example.com", state="created", row=n + 2, digest="d")
        assert read_rows(path, count) == [(0,)]
        journal.flush()
        assert read_rows(path, count) == [(3,)]
        for n in range(3, 3 + BATCH_ROWS):
            journal.record("u", f"{n}@example.com", state="failed", row=n + 2, digest="d")
        assert read_rows(path, count) == [(3 + BATCH_ROWS,)]  # the 100th record committed
        opened = clock.now
        journal.record("u", "late@example.com", state="created", row=999, digest="d")
        clock.now = opened + BATCH_SECONDS / 2
        journal.record("u", "later@example.com", state="created", row=1000, digest="d")
        assert read_rows(path, count) == [(3 + BATCH_ROWS,)]  # not old enough yet
        clock.now = opened + BATCH_SECONDS
        journal.record("u", "last@example.com", state="created", row=1001, digest="d")
        assert read_rows(path, count) == [(6 + BATCH_ROWS,)]  # the batch grew too old


def test_mark_in_flight_is_committed_before_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path, PORTAL) as journal:
        journal.record("u", "a@example.com", state="failed", row=2, digest="d1", code="timeout",
                       message="timed out", attempts=3)  # fmt: skip
        journal.mark_in_flight("u", "a@example.com", row=2, digest="d1")
        query = "SELECT state, code, message, attempts FROM entries"
        assert read_rows(path, query) == [("in-flight", "", "", 0)]
        assert [without_time(e) for e in journal.in_flight()] == [
            Entry("u", "a@example.com", "in-flight", None, "", "", False, "d1", 2, 0, "")
        ]


def test_record_takes_only_final_states(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite", PORTAL) as journal:
        for state in ("in-flight", "done"):
            with pytest.raises(ValueError, match=state):
                journal.record("u", "a@example.com", state=state, row=2, digest="d")


def test_fresh_starts_a_new_generation_and_keeps_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path, PORTAL) as journal:
        journal.record("u", "a@example.com", state="created", row=2, digest="d")
        first = journal.generation
    with Journal.open(path, PORTAL, fresh=True) as journal:
        assert journal.generation == first + 1
        assert journal.lookup("u", "a@example.com") is None
        journal.record("u", "b@example.com", state="failed", row=3, digest="d")
    with Journal.open(path, PORTAL) as journal:  # a plain re-run resumes the fresh run
        assert journal.stats() == {"failed": 1}
    query = "SELECT generation, email FROM entries ORDER BY generation"
    assert read_rows(path, query) == [(first, "a@example.com"), (first + 1, "b@example.com")]


def test_stored_cells_mask_every_secret_and_messages_are_scrubbed(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    row = {**cells(), "Пароль": "alias-secret-1", "imap password": "alias-secret-2"}
    with Journal.open(path, PORTAL) as journal:
        journal.record("u", "a@example.com", state="failed", row=2, digest="d", cells=row,
                       message=f"IMAP response: LOGIN {SECRET} refused")  # fmt: skip
    (stored, message), = read_rows(path, "SELECT cells, message FROM entries")  # fmt: skip
    assert json.loads(str(stored)) == {
        **cells(),
        "portal_password": MASK,
        "password": MASK,
        "Пароль": MASK,
        "imap password": MASK,
    }
    assert message == f"IMAP response: LOGIN {MASK} refused"


def test_messages_are_scrubbed_of_registered_secrets_too(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    register("Session-Token-4242")  # a login's token: not in the row's cells
    with Journal.open(path, PORTAL) as journal:
        journal.record("u", "a@example.com", state="failed", row=2, digest="d",
                       message='sent {"Authorization":"Session-Token-4242"}')  # fmt: skip
    assert read_rows(path, "SELECT message FROM entries") == [
        (f'sent {{"Authorization":"{MASK}"}}',)
    ]


def test_a_lock_left_behind_is_reported_by_its_known_keys_only(tmp_path: Path) -> None:
    left = {"pid": 7, "started_at": "x", "host": "h", "argv": ["import", "in.csv"], "pw": "p"}
    (tmp_path / "j.sqlite.lock").write_text(json.dumps(left))
    with Journal.open(tmp_path / "j.sqlite", PORTAL) as journal:
        assert journal.took_over_from == {k: v for k, v in left.items() if k != "pw"}


def test_record_without_cells_keeps_the_stored_ones(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path, PORTAL) as journal:
        journal.mark_in_flight("u", "a@example.com", row=2, digest="d", cells={"name": "Ann"})
        journal.record("u", "a@example.com", state="created", row=2, digest="d", mailbox_id=5)
    assert read_rows(path, "SELECT cells, mailbox_id FROM entries") == [('{"name": "Ann"}', 5)]


def test_digest_follows_the_values_secrets_included() -> None:
    key = bytes(32)
    digest = row_digest(key, cells())
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    reordered = dict(reversed(list(cells().items())))
    assert row_digest(key, reordered) == digest
    assert row_digest(key, {**cells(), "restrict": ""}) == digest  # a blank column adds nothing
    assert row_digest(key, cells(password="Fixed-Password-1")) != digest
    assert row_digest(key, {**cells(), "smtp_password": "x"}) != digest
    assert row_digest(bytes(range(32)), cells()) != digest


def test_key_file_is_private_and_kept_across_opens(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path, PORTAL) as journal:
        key = journal.digest_key
    key_file = tmp_path / "j.sqlite.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_file.read_text() == key.hex() + "\n"
    assert len(key) == 32
    with Journal.open(path, PORTAL) as journal:
        assert journal.digest_key == key
    assert read_rows(path, "SELECT count(*) FROM entries") == [(0,)]


def test_damaged_key_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "j.sqlite.key").write_text("not hex\n")
    with pytest.raises(ConfigError) as caught:
        Journal.open(tmp_path / "j.sqlite", PORTAL)
    assert caught.value.message == f"journal key {tmp_path / 'j.sqlite.key'} is damaged"


def test_second_open_in_the_same_process_names_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path, PORTAL, argv=["import", "staff.xlsx"]):
        holder = json.loads((tmp_path / "j.sqlite.lock").read_text())
        with pytest.raises(LockedError) as caught:
            Journal.open(path, PORTAL)
    started = holder["started_at"].replace("T", " ")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", started), started
    assert holder["argv"] == ["import", "staff.xlsx"]
    assert str(caught.value) == (
        f"journal {path} is in use by another bulkmail run (pid {os.getpid()}, started "
        f"{started}) (wait for it to finish, or give this run its own --state PATH)"
    )
    assert caught.value.exit_code == 2
    with Journal.open(path, PORTAL) as journal:  # close() released it, cleanly
        assert journal.took_over_from is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is a spreadsheet, not a database" * 200, "is not usable: file is not a database"),
        ("sqlite-other", "is an SQLite file but not a bulkmail journal"),
        ("sqlite-v99", "has schema version 99; this bulkmail reads version 3"),
    ],
)
def test_unusable_file_is_a_config_error(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "j.sqlite"
    if content == "sqlite-other":
        with sqlite3.connect(path) as other:
            other.execute("CREATE TABLE people (name TEXT)")
    elif content == "sqlite-v99":
        Journal.open(path, PORTAL).close()
        with sqlite3.connect(path) as other:
            other.execute("PRAGMA user_version = 99")
    else:
        path.write_bytes(content)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as caught:
        Journal.open(path, PORTAL)
    assert caught.value.message.endswith(message)
    assert str(path) in caught.value.message
    assert "move it away" in caught.value.hint
    RunLock.acquire(tmp_path / "j.sqlite.lock", journal=path).release()  # not left held


@pytest.mark.parametrize(
    ("found", "digest", "expected"),
    [
        (None, "d1", "send"),
        (entry("created"), "d1", "done"),
        (entry("updated"), "changed", "done"),
        (entry("skipped"), "d1", "done"),
        (entry("failed", permanent=True), "d1", "failed"),
        (entry("failed", permanent=True), "changed", "send"),
        (entry("failed", permanent=False), "d1", "send"),
        (entry("in-flight"), "d1", "check"),
    ],
)
def test_plan(found: Entry | None, digest: str, expected: str) -> None:
    assert plan(found, digest) == Plan(expected, found)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (None, "send"),
        (entry("created"), "done"),  # --retry-failed never sends a create twice
        (entry("updated"), "done"),
        (entry("skipped"), "done"),
        (entry("failed", permanent=True), "send"),  # the cause was fixed elsewhere
        (entry("failed", permanent=False), "send"),
        (entry("in-flight"), "check"),
    ],
)
def test_plan_with_retry_failed(found: Entry | None, expected: str) -> None:
    assert plan(found, "d1", retry_failed=True) == Plan(expected, found)  # type: ignore[arg-type]


def test_plan_rejects_an_unknown_state() -> None:
    with pytest.raises(ValueError, match="'lost'"):
        plan(entry("lost"), "d1")


CHILD = """
import os, sys
from pathlib import Path
from bulkmail.journal.store import Journal
from bulkmail.journal.lock import RunLock

path = Path(sys.argv[1])
if sys.argv[2] == "exit-holding-lock":
    RunLock.acquire(path.with_name(path.name + ".lock"), journal=path, argv=["import", "in.csv"])
    os._exit(0)
cells = {"email": "x", "password": sys.argv[3], "portal_password": sys.argv[4]}
# A clock that stands still: no batch commits by age, so "c" stays uncommitted however slow.
journal = Journal.open(path, "https://portal.example.com", argv=["import", "in.csv"],
                       clock=lambda: 0.0)
journal.mark_in_flight("u", "a@example.com", row=2, digest="da", cells=cells)
journal.record("u", "b@example.com", state="created", row=3, digest="db", mailbox_id=9,
               cells=cells, message="echo " + sys.argv[3])
journal.flush()
journal.record("u", "c@example.com", state="created", row=4, digest="dc", cells=cells)
print("ready", flush=True)
sys.stdin.read()
"""


def run_child(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    argv = [sys.executable, str(script), str(tmp_path / "j.sqlite"), mode, SECRET, PORTAL_SECRET]
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_a_killed_run_keeps_what_it_flushed_and_leaves_no_secret(tmp_path: Path) -> None:
    child = run_child(tmp_path, "work")
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    with pytest.raises(LockedError, match=f"another bulkmail run \\(pid {child.pid}, started"):
        Journal.open(tmp_path / "j.sqlite", PORTAL)
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "j.sqlite-wal" in files  # checked as the kill left them, before any reopen
    for name in files:
        data = (tmp_path / name).read_bytes()
        for secret in (SECRET, PORTAL_SECRET):
            assert secret.encode() not in data, name
    with Journal.open(tmp_path / "j.sqlite", PORTAL) as journal:
        assert journal.took_over_from is not None
        assert journal.took_over_from["pid"] == child.pid
        assert journal.took_over_from["argv"] == ["import", "in.csv"]
        assert without_time(journal.lookup("u", "b@example.com")) == Entry(
            "u", "b@example.com", "created", 9, "", f"echo {MASK}", False, "db", 3, 0, ""
        )
        assert [e.email for e in journal.in_flight()] == ["a@example.com"]
        assert journal.lookup("u", "c@example.com") is None  # never flushed: lost, as allowed
        assert journal.stats() == {"created": 1, "in-flight": 1}


@pytest.mark.slow
def test_a_lock_left_by_an_exited_process_is_taken_over(tmp_path: Path) -> None:
    child = run_child(tmp_path, "exit-holding-lock")
    assert child.wait() == 0
    with Journal.open(tmp_path / "j.sqlite", PORTAL) as journal:
        stale = journal.took_over_from
        assert stale is not None
        assert (stale["pid"], stale["argv"]) == (child.pid, ["import", "in.csv"])
        assert sorted(stale) == ["argv", "host", "pid", "started_at"]
        mine = json.loads((tmp_path / "j.sqlite.lock").read_text())
        assert mine["pid"] == os.getpid()
    assert (tmp_path / "j.sqlite.lock").read_text() == ""
