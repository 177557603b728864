"""Broken disks and journals: every failure ends with its exit code and one line, nothing lost.

A full disk is real where the machine lets a test mount a small tmpfs in its own mount
namespace (`unshare`); elsewhere those tests are skipped and the same paths are driven by an
injected error: SQLite's own "database or disk is full" (a page limit on the journal's
connection) and `OSError(ENOSPC)` from the report's files.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from xlsxwriter.exceptions import FileCreateError

import bulkmail
from bulkmail.cli import main
from bulkmail.journal import db, failures
from bulkmail.journal.store import Journal
from bulkmail.report import writer as writer_module
from bulkmail.simulator import SimConfig, running

HEADER = ["portal_user", "portal_password", "email", "password", "server", "smtp_server"]


def write_sheet(path: Path, rows: int, users: int = 5) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        sheet = csv.writer(out)
        sheet.writerow(HEADER)
        for i in range(rows):
            user = f"user{i % users}@corp.example.org"
            box = f"box{i}@mail.example.org"
            sheet.writerow(
                [user, f"Portal-{i % users}-pw", box, "mailbox-pw-1", "imap.x.org", "smtp.x.org"]
            )
    return path


def newest_report(
    report_dir: Path,
) -> tuple[dict[str, Any], list[dict[str, str]], list[dict[str, str]]]:
    folder = sorted(p for p in report_dir.iterdir() if p.is_dir())[-1]
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    tables = []
    for name in ("succeeded.csv", "failed.csv"):
        with (folder / name).open(encoding="utf-8-sig", newline="") as handle:
            tables.append(list(csv.DictReader(handle)))
    return summary, tables[0], tables[1]


def stats(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/_sim/stats").json())


def emails(rows: list[dict[str, str]], outcome: str) -> set[str]:
    return {r["email"] for r in rows if r["outcome"] == outcome}


@pytest.fixture
def sim() -> Iterator[str]:
    with running(SimConfig()) as url:
        yield url


def run_cli(tmp_path: Path, sheet: Path, url: str, *extra: str) -> int:
    return main(
        [
            "import",
            str(sheet),
            "--portal",
            url,
            "--state",
            str(tmp_path / "journal.sqlite"),
            "--report-dir",
            str(tmp_path / "reports"),
            *(extra if "--log-format" in extra else ("--quiet", *extra)),  # json: warnings too
        ]
    )


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert lines, "nothing on stderr"
    return lines[-1]


# --- a real full disk: a small tmpfs in a mount namespace of the child's own -------------


def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = [
        "unshare",
        "--user",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        "mount -t tmpfs tmpfs /mnt",
    ]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


small_disk = pytest.mark.skipif(not _can_mount(), reason="cannot mount a small tmpfs here")


def on_small_disk(disk: Path, size_kb: int, first: list[str], then: list[str]) -> list[int]:
    """Run `bulkmail FIRST` with a `size_kb` tmpfs at `disk`, make it 16 MiB, run `bulkmail
    THEN`; copy what the disk holds to `disk`.out; return both exit codes."""
    disk.mkdir()
    out = disk.with_suffix(".out")
    bulkmail_cmd = f"{sys.executable} -m bulkmail"
    script = "\n".join(
        [
            f'mount -t tmpfs -o size={size_kb}k tmpfs "{disk}" || exit 99',
            f'{bulkmail_cmd} {" ".join(first)} 2>"{disk}.err1"; echo $? >"{disk}.rc"',
            f'mount -o remount,size=16m tmpfs "{disk}" || exit 98',
            f'{bulkmail_cmd} {" ".join(then)} 2>"{disk}.err2"; echo $? >>"{disk}.rc"',
            f'cp -a "{disk}" "{out}"',
        ]
    )
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 0, done.stderr
    return [int(code) for code in Path(f"{disk}.rc").read_text().split()]


@pytest.mark.slow
@small_disk
def test_a_journal_disk_that_fills_mid_run_ends_exit_3_and_the_same_command_finishes(
    tmp_path: Path, sim: str
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", 300)
    disk, reports = tmp_path / "disk", tmp_path / "reports"
    args = [
        "import", str(sheet), "--portal", sim, "--state", f"{disk}/journal.sqlite",
        "--report-dir", str(reports), "--quiet",
    ]  # fmt: skip
    first, second = on_small_disk(disk, 120, args, args)

    err = Path(f"{disk}.err1").read_text()
    assert first == 3 and "Traceback" not in err
    assert last_line(err).startswith(f"bulkmail: error: journal {disk}/journal.sqlite could not")
    assert "the disk is full" in err and "run the same command again" in err
    folders = sorted(reports.iterdir())
    summary = json.loads((folders[0] / "summary.json").read_text())
    assert summary["exit_code"] == 3 and "journal" in summary["abort_reason"]
    assert summary["error"] == summary["abort_reason"]  # as every stopped run's says
    assert sum(summary["counts"].values()) == 300
    with (folders[0] / "succeeded.csv").open(encoding="utf-8-sig") as handle:
        created_first = emails(list(csv.DictReader(handle)), "created")
    assert 0 < len(created_first) < 300  # the disk filled part-way

    assert second == 0, Path(f"{disk}.err2").read_text()
    again, succeeded, failed = newest_report(reports)
    assert failed == [] and again["counts"]["created"] + again["counts"]["skipped"] == 300
    assert not created_first & emails(succeeded, "created") - _resumed(succeeded)
    counters = stats(sim)
    assert (counters["creates"], counters["overwrites"]) == (300, 0)  # each row once


def _resumed(rows: list[dict[str, str]]) -> set[str]:
    return {r["email"] for r in rows if r["notes"].startswith("resumed")}


@pytest.mark.slow
@small_disk
def test_a_report_disk_that_fills_mid_run_ends_exit_3_and_a_re_run_writes_the_report(
    tmp_path: Path, sim: str
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", 300)
    disk, state = tmp_path / "disk", tmp_path / "journal.sqlite"
    args = [
        "import", str(sheet), "--portal", sim, "--state", str(state),
        "--report-dir", f"{disk}/reports", "--quiet",
    ]  # fmt: skip
    first, second = on_small_disk(disk, 40, args, args)

    err = Path(f"{disk}.err1").read_text()
    assert first == 3 and "Traceback" not in err, err
    line = last_line(err)
    assert line.startswith("bulkmail: error: the report could not be written (")
    assert "No space left on device" in line
    assert f"the journal {state} holds every outcome" in line
    assert line.endswith("run the same command again: it writes the report)")
    assert second == 0, Path(f"{disk}.err2").read_text()
    summary, _, failed = newest_report(Path(f"{disk}.out") / "reports")
    assert failed == [] and summary["total"] == 300
    assert summary["counts"]["created"] + summary["counts"]["skipped"] == 300
    assert summary["counts"]["skipped"] > 0  # what the first run created, from the journal
    counters = stats(sim)
    assert (counters["creates"], counters["overwrites"]) == (300, 0)


@pytest.mark.slow
@small_disk
@pytest.mark.parametrize("where", ["journal", "report"])
def test_a_read_only_disk_is_refused_before_anything_is_sent(
    tmp_path: Path, sim: str, where: str
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", 3)
    disk = tmp_path / "disk"
    disk.mkdir()
    state = disk / "j.sqlite" if where == "journal" else tmp_path / "j.sqlite"
    reports = disk / "reports" if where == "report" else tmp_path / "reports"
    run = (
        f'mount -t tmpfs -o ro tmpfs "{disk}" || exit 99\n'
        f'{sys.executable} -m bulkmail import "{sheet}" --portal {sim} --state "{state}" '
        f'--report-dir "{reports}" --quiet'
    )
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", run],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f"bulkmail: error: journal {state} cannot be used: {state}.lock: Read-only file system "
        "(fix the file or its folder, or use another --state PATH)\n"
        if where == "journal"
        else f"bulkmail: error: cannot create a report folder in {reports}: Read-only file "
        "system (make it writable, free some space, or choose another --report-dir)\n"
    )
    assert stats(sim)["creates"] == 0


# --- the same paths, with the failure injected -------------------------------------------


def journal_full_after(pages: int) -> Callable[[Path], sqlite3.Connection]:
    """Return db.connect giving a journal SQLite calls full `pages` pages past its size."""
    connect = db.connect

    def limited(path: Path) -> sqlite3.Connection:
        conn = connect(path)
        size = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {size + pages}")
        return conn

    return limited


@pytest.mark.slow
def test_a_journal_that_fills_mid_run_reports_what_happened_and_exits_3(
    tmp_path: Path, sim: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", 400)
    monkeypatch.setattr(db, "connect", journal_full_after(3))
    assert run_cli(tmp_path, sheet, sim) == 3
    err = capsys.readouterr().err
    assert last_line(err) == (
        f"bulkmail: error: journal {tmp_path}/journal.sqlite could not be written: the disk is "
        "full; the run stopped (free some space, or use --state PATH on another disk, then run "
        "the same command again: it finishes the rest)"
    )
    summary, succeeded, failed = newest_report(tmp_path / "reports")
    assert summary["exit_code"] == 3 and summary["total"] == 400
    mailboxes = {m["email"] for m in httpx.get(f"{sim}/_sim/mailboxes").json()}
    assert mailboxes == emails(succeeded, "created")  # what the portal has is reported created
    assert {r["outcome"] for r in failed} == {"not attempted"}
    assert len(failed) == 400 - len(mailboxes) > 0

    monkeypatch.undo()  # space again: the same command finishes the rest, each row once
    assert run_cli(tmp_path, sheet, sim) == 0
    counters = stats(sim)
    assert (counters["creates"], counters["overwrites"]) == (400, 0)


def journal_unreadable_after(lookups: int) -> Callable[[Path], sqlite3.Connection]:
    """Return db.connect giving a journal whose reads fail after `lookups` row look-ups, as a
    page that goes bad part-way would (SQLite interrupts the statement)."""
    connect = db.connect

    def failing(path: Path) -> sqlite3.Connection:
        conn = connect(path)
        seen = [0]

        def trace(sql: str) -> None:
            seen[0] += sql.startswith("SELECT portal_user")
            if seen[0] > lookups:
                conn.set_progress_handler(lambda: 1, 1)

        conn.set_trace_callback(trace)
        return conn

    return failing


@pytest.mark.slow
def test_a_journal_that_cannot_be_read_part_way_stops_the_run_with_exit_3(
    tmp_path: Path, sim: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", 300)
    monkeypatch.setattr(db, "connect", journal_unreadable_after(100))
    assert run_cli(tmp_path, sheet, sim) == 3
    # SQLite looks at the progress handler every few instructions: the look-up that turns it
    # on may end first, and the next statement (a look-up, or a write) is the one that fails;
    # the look-ups after it fail the same way, and the run stops all the same.
    line = last_line(capsys.readouterr().err)
    assert re.fullmatch(
        f"bulkmail: error: journal {re.escape(str(tmp_path))}/journal.sqlite could not be "
        r"(read|written): interrupted; the run stopped \(fix the file or its folder, or use "
        r"another --state PATH, then run the same command again: it finishes the rest\)",
        line,
    ), line
    summary, succeeded, failed = newest_report(tmp_path / "reports")
    assert summary["exit_code"] == 3 and sum(summary["counts"].values()) == 300
    mailboxes = {m["email"] for m in httpx.get(f"{sim}/_sim/mailboxes").json()}
    assert mailboxes == emails(succeeded, "created") and len(mailboxes) <= 100
    assert {r["outcome"] for r in failed} == {"not attempted"}

    monkeypatch.undo()
    assert run_cli(tmp_path, sheet, sim) == 0
    assert (stats(sim)["creates"], stats(sim)["overwrites"]) == (300, 0)


def test_a_validate_report_that_fills_is_exit_3_saying_to_run_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", 500)
    fill_report_disk_after(monkeypatch, 6000)
    assert main(["validate", str(sheet), "--report-dir", str(tmp_path / "r"), "-q"]) == 3
    folder = next((tmp_path / "r").iterdir())
    assert capsys.readouterr().err == (
        f"bulkmail: error: the report could not be written ({folder}/succeeded.csv: No space "
        "left on device) (free some space or fix the folder, then run the same command again)\n"
    )


class _FillingFile:
    """A text file whose disk fills after `room` characters: then every write fails."""

    def __init__(self, handle: Any, room: list[int]) -> None:
        self._handle, self._room = handle, room

    def write(self, text: str) -> int:
        self._room[0] -= len(text)
        if self._room[0] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(self._handle.write(text))

    def close(self) -> None:
        self._handle.close()


def fill_report_disk_after(monkeypatch: pytest.MonkeyPatch, characters: int) -> None:
    room = [characters]

    def opening(*args: Any, **kwargs: Any) -> _FillingFile:
        return _FillingFile(open(*args, **kwargs), room)  # the writer closes it

    monkeypatch.setattr(writer_module, "open", opening, raising=False)


@pytest.mark.slow
def test_a_report_that_fills_mid_run_says_the_journal_holds_every_outcome(
    tmp_path: Path, sim: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", 200)
    fill_report_disk_after(monkeypatch, 6000)
    assert run_cli(tmp_path, sheet, sim) == 3
    folder = next((tmp_path / "reports").iterdir())
    assert last_line(capsys.readouterr().err) == (
        f"bulkmail: error: the report could not be written ({folder}/succeeded.csv: No space "
        f"left on device); the journal {tmp_path}/journal.sqlite holds every outcome (free "
        "some space or fix the folder, then run the same command again: it writes the report)"
    )
    summary = json.loads((folder / "summary.json").read_text())  # the room freed by then
    assert summary["exit_code"] == 3 and "succeeded.csv" in summary["report_error"]
    created = stats(sim)["creates"]
    with Journal.open(tmp_path / "journal.sqlite", sim) as journal:
        assert journal.stats() == {"created": created}  # every create, journaled

    monkeypatch.undo()
    assert run_cli(tmp_path, sheet, sim) == 0
    again, _, failed = newest_report(tmp_path / "reports")
    assert failed == [] and again["counts"]["skipped"] == created
    assert again["counts"]["created"] == 200 - created and stats(sim)["creates"] == 200


@pytest.mark.slow
def test_a_workbook_that_cannot_be_written_at_the_end_is_exit_3_with_summary_json(
    tmp_path: Path, sim: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", 5)

    def full(path: Path, *_: object) -> str:
        raise FileCreateError(OSError(errno.ENOSPC, "No space left on device", str(path)))

    monkeypatch.setattr(writer_module, "write_xlsx", full)
    assert run_cli(tmp_path, sheet, sim) == 3
    folder = next((tmp_path / "reports").iterdir())
    line = last_line(capsys.readouterr().err)
    assert line.startswith(f"bulkmail: error: the report could not be written ({folder}/report")
    assert "holds every outcome" in line
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["exit_code"] == 3 and summary["counts"]["created"] == 5
    assert sorted(p.name for p in folder.iterdir()) == [
        "failed.csv",
        "succeeded.csv",
        "summary.json",
    ]  # no temporary file left behind


# --- damaged and empty journals ----------------------------------------------------------


def damage(path: Path) -> None:
    """Overwrite the middle of a real journal's second page (its first table) with junk."""
    with path.open("r+b") as handle:
        handle.seek(4096 + 8)
        handle.write(b"\xde\xad\xbe\xef" * 64)


@pytest.mark.slow
def test_a_damaged_journal_is_refused_naming_it_and_fresh_sets_it_aside(
    tmp_path: Path, sim: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", 30)
    assert run_cli(tmp_path, sheet, sim) == 0
    journal = tmp_path / "journal.sqlite"
    assert not Path(f"{journal}-wal").exists()  # checkpointed at close: all in the file
    damage(journal)
    capsys.readouterr()

    assert run_cli(tmp_path, sheet, sim) == 2
    line = last_line(capsys.readouterr().err)
    assert line.startswith(f"bulkmail: error: journal {journal} is damaged (")
    assert "run the same command with --fresh to set it aside" in line

    assert run_cli(tmp_path, sheet, sim, "--fresh", "--log-format", "json") == 0
    events = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    [aside] = [e for e in events if e["event"] == "journal.damaged_set_aside"]
    assert Path(aside["moved_to"]).name.startswith("journal.sqlite.damaged-")
    assert Path(aside["moved_to"]).read_bytes()[4096 + 8 : 4096 + 12] == b"\xde\xad\xbe\xef"
    summary, _, _ = newest_report(tmp_path / "reports")
    assert summary["counts"]["skipped"] == 30  # found on the portal: none created twice
    assert stats(sim)["creates"] == 30


@pytest.mark.slow
def test_a_zero_byte_journal_is_used_as_new_with_a_warning(
    tmp_path: Path, sim: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", 3)
    (tmp_path / "journal.sqlite").write_bytes(b"")
    assert run_cli(tmp_path, sheet, sim, "--log-format", "json") == 0
    events = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    [empty] = [e for e in events if e["event"] == "journal.empty"]
    assert empty["level"] == "warning" and empty["path"] == str(tmp_path / "journal.sqlite")
    with Journal.open(tmp_path / "journal.sqlite", sim) as journal:
        assert journal.stats() == {"created": 3} and not journal.started_empty


def test_a_journal_that_fails_part_way_fails_every_later_call_and_keeps_what_it_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "connect", journal_full_after(2))
    journal = Journal.open(tmp_path / "j.sqlite", "https://portal.example.org")
    marked = 0
    with pytest.raises(bulkmail.AbortError) as caught:
        for marked in range(10_000):
            journal.mark_in_flight("u@x.org", f"a{marked}@x.org", row=marked + 2, digest="d")
    assert caught.value.exit_code == 3 and journal.failure is not None and marked > 0
    with pytest.raises(bulkmail.AbortError, match="could not be written: the disk is full"):
        journal.lookup("u@x.org", "a0@x.org")  # no read behind a failed write
    journal.close()  # nothing more committed, and the lock given back
    monkeypatch.undo()
    with Journal.open(tmp_path / "j.sqlite", "https://portal.example.org") as again:
        assert again.stats() == {"in-flight": marked}  # every commit before the failure


# --- each cause named, with its exit code ------------------------------------------------


def sqlite_error(name: str, text: str) -> sqlite3.Error:
    err = sqlite3.OperationalError(text)
    setattr(err, "sqlite_errorname", name)  # noqa: B010 - set as SQLite's own errors have it
    return err


@pytest.mark.parametrize(
    ("err", "cause", "fix"),
    [
        (sqlite_error("SQLITE_FULL", "database or disk is full"), "the disk is full", "free"),
        (sqlite_error("SQLITE_IOERR_WRITE", "disk I/O error"), "the disk failed", "check the disk"),
        (sqlite_error("SQLITE_READONLY", "readonly"), "it is read-only", "make it and its"),
        (sqlite_error("SQLITE_BUSY", "database is locked"), "another program holds it", "close"),
        (OSError(errno.ENOSPC, "No space left on device"), "the disk is full", "free"),
        (OSError(errno.EACCES, "Permission denied"), "Permission denied", "fix the file"),
        (OSError(errno.EROFS, "Read-only file system"), "Read-only file system", "fix the file"),
        (OSError(errno.ELOOP, "Too many levels"), "it is a symbolic link", "fix the file"),
    ],
)
def test_each_journal_failure_names_its_cause_and_fix(
    tmp_path: Path, err: sqlite3.Error | OSError, cause: str, fix: str
) -> None:
    path = tmp_path / "j.sqlite"
    at_start, part_way = failures.opening(path, err), failures.failing(path, err)
    assert (at_start.exit_code, part_way.exit_code) == (2, 3)
    assert (
        at_start.message == f"journal {path} cannot be used: {cause}" or cause in at_start.message
    )
    assert at_start.hint.startswith(fix)
    assert part_way.message.startswith(f"journal {path} could not be written: ")
    assert cause in part_way.message and part_way.hint.startswith(fix)
    assert part_way.hint.endswith("then run the same command again: it finishes the rest")


def test_a_damaged_file_is_told_from_a_file_that_is_not_a_journal(tmp_path: Path) -> None:
    corrupt = sqlite_error("SQLITE_CORRUPT", "database disk image is malformed")
    journal = tmp_path / "j.sqlite"
    Journal.open(journal, "https://p.example.org").close()
    damaged = failures.opening(journal, corrupt)
    assert isinstance(damaged, failures.DamagedError) and "--fresh" in damaged.hint
    sheet = tmp_path / "accounts.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not a database")
    refused = failures.opening(sheet, sqlite_error("SQLITE_NOTADB", "file is not a database"))
    assert not isinstance(refused, failures.DamagedError)  # --fresh never moves a sheet away
    assert "--fresh cannot repair it" in refused.hint


@pytest.mark.parametrize(
    ("make", "message"),
    [
        ("state-is-a-folder", "journal {state} cannot be used: it is a folder"),
        ("report-dir-is-a-file", "cannot create a report folder in {reports}: it is a file"),
    ],
)
def test_paths_of_the_wrong_kind_are_refused_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: str, message: str
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", 1)
    state, reports = tmp_path / "journal.sqlite", tmp_path / "reports"
    if make == "state-is-a-folder":
        state.mkdir()
    else:
        reports.write_text("a file")
    assert run_cli(tmp_path, sheet, "http://127.0.0.1:9", "--give-up-after", "0.1") == 2
    line = last_line(capsys.readouterr().err)
    assert line.startswith("bulkmail: error: " + message.format(state=state, reports=reports))


# --- cells longer than a spreadsheet cell ------------------------------------------------


def test_a_cell_that_fills_a_spreadsheet_cell_stays_readable_once_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 32,767 characters starting with "=": the CSV's formula escape makes it one longer
    # than Excel (or bulkmail's reader, fed the report back) takes, so it is cut to fit.
    name = "=" + "N" * 32_766
    sheet = tmp_path / "in.csv"
    sheet.write_text(
        f"email,password,server,smtp_server,name\na@x.org,pw-1234,imap.x.org,smtp.x.org,{name}\n"
    )
    main(["validate", str(sheet), "--user", "me@x.org", "--report-dir", str(tmp_path / "r"), "-q"])
    assert " run.finished command=validate exit_code=0 " in capsys.readouterr().err
    folder = next((tmp_path / "r").iterdir())
    [row] = [r for part in newest_report(tmp_path / "r")[1:] for r in part]
    marker = " [... cut: 32,768 characters in all]"
    assert len(row["name"]) == 32_767 and row["name"].endswith(marker)
    assert row["name"].startswith("'=NNN")  # still escaped: never a formula
    book = openpyxl.load_workbook(folder / "report.xlsx", read_only=True)
    cells = [
        c
        for ws in book.worksheets[1:]
        for r in ws.iter_rows(min_row=2, values_only=True)
        for c in r
    ]
    assert row["name"][1:] in cells  # the workbook holds the same text, unescaped
    fed_back = bulkmail.read(
        folder / ("succeeded.csv" if row["outcome"] == "valid" else "failed.csv")
    )
    assert [r.number for r in fed_back.rows] == [2]  # readable: no cell past the limit


@pytest.mark.parametrize("start", ["x", "="])
def test_a_report_cell_longer_than_a_spreadsheet_cell_is_cut_with_a_marker(
    tmp_path: Path, start: str
) -> None:
    message = start + "Invalid value " * 3000  # 42,001 characters, from a library caller
    outcome = bulkmail.Outcome(
        row=bulkmail.Row(2, ("a@x.org",)),
        status=bulkmail.Status.FAILED,
        stage=bulkmail.Stage.PORTAL,
        code="portal-error",
        message=message,
    )
    info = bulkmail.InputInfo(path="in.csv", format="csv")
    with bulkmail.ReportWriter(tmp_path, ("email",), ("email",)) as report:
        report.add(outcome)
        summary = bulkmail.Summary(
            "import", 1, dict(report.counts), 1, info, "", "", 0.0, extra={"abort_reason": message}
        )
        paths = report.finish(summary)
    marker = f" [... cut: {len(message) + (start == '='):,} characters in all]"
    with paths.failed_csv.open(encoding="utf-8-sig", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert len(row["message"]) == 32_767 and row["message"].endswith(marker)
    assert row["message"].startswith("'=Invalid" if start == "=" else "xInvalid")
    book = openpyxl.load_workbook(paths.xlsx, read_only=True)
    [cell] = [r[4] for r in book["Failed"].iter_rows(min_row=2, values_only=True)]
    assert cell == row["message"].removeprefix("'")  # the workbook: the same, unescaped
    summary_cells = dict(book["Summary"].iter_rows(min_row=2, values_only=True))
    reason = summary_cells["abort_reason"]
    assert len(reason) == 32_767 and reason.endswith(
        f" [... cut: {len(message):,} characters in all]"
    )
    assert json.loads(paths.summary_json.read_text())["abort_reason"] == message  # JSON: whole


@pytest.mark.slow
def test_a_journal_another_program_holds_locked_stops_the_run_saying_so(
    tmp_path: Path, sim: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write_sheet(tmp_path / "in.csv", 3)
    Journal.open(tmp_path / "journal.sqlite", sim).close()  # it exists, for this portal
    shell = sqlite3.connect(tmp_path / "journal.sqlite", isolation_level=None)
    shell.execute("BEGIN IMMEDIATE")  # an sqlite3 shell in the middle of a write
    try:
        code = run_cli(tmp_path, sheet, sim)  # waits the busy timeout (5 s), then gives up
    finally:
        shell.close()
    assert code == 3
    assert last_line(capsys.readouterr().err) == (
        f"bulkmail: error: journal {tmp_path}/journal.sqlite could not be written: another "
        "program holds it locked (an sqlite3 shell?); the run stopped (close that program, "
        "then run the same command again: it finishes the rest)"
    )
    _, succeeded, failed = newest_report(tmp_path / "reports")
    assert succeeded == [] and [r["outcome"] for r in failed] == ["not attempted"] * 3
    assert stats(sim)["creates"] == 0  # nothing is sent that the journal cannot record


@pytest.mark.parametrize("state", ["/", ".", ""])
def test_a_state_path_with_no_file_name_is_a_folder_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, state: str
) -> None:
    monkeypatch.chdir(tmp_path)
    sheet = write_sheet(tmp_path / "in.csv", 1)
    with running(SimConfig()) as url:  # a portal that answers: the journal is opened next
        assert run_cli(tmp_path, sheet, url, "--state", state) == 2
        line = last_line(capsys.readouterr().err)
        with pytest.raises(bulkmail.ConfigError, match=r"cannot be used: it is a folder"):
            bulkmail.import_file(sheet, portal=url, state=state, report_dir=tmp_path)
    assert line.startswith(
        f"bulkmail: error: journal {state or '.'} cannot be used: it is a folder"
    )
