"""Files that hold people's data or secrets: owner-only whatever the umask, never through a link.

The report folder and files, the journal with its -wal, -shm, key and lock, and the
simulator's state file are made 0700 (folders) and 0600 (files), or 0750/0640 for
`--report-mode group`; a symbolic link planted where bulkmail creates a file is refused and
its target left as it was; a folder the user names may itself be a link.
"""

from __future__ import annotations

import csv
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulkmail import files
from bulkmail.cli import main
from bulkmail.errors import ConfigError
from bulkmail.journal.store import Journal
from bulkmail.simulator import SimConfig, running
from bulkmail.simulator.persist import StateFile

SECRET = "the target's own content, which must stay as it is\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def umask() -> Iterator[None]:
    """Run the test with umask 0, the loosest: whatever bulkmail makes is its own choice."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def sim() -> Iterator[str]:
    with running(SimConfig()) as url:
        yield url


def write_sheet(path: Path, rows: int = 3) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        sheet = csv.writer(out)
        sheet.writerow(
            ["portal_user", "portal_password", "email", "password", "server", "smtp_server"]
        )
        for i in range(rows):
            sheet.writerow(
                [
                    "u@corp.example.org",
                    "Portal-pw-1",
                    f"box{i}@x.org",
                    "pw-1",
                    "imap.x.org",
                    "smtp.x.org",
                ]
            )
    return path


def run_cli(sheet: Path, url: str, *extra: str) -> int:
    return main(["import", str(sheet), "--portal", url, "--quiet", *extra])


@pytest.mark.slow
@pytest.mark.usefixtures("umask")
def test_an_import_writes_everything_owner_only_whatever_the_umask(
    tmp_path: Path, sim: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the defaults: reports/ and .bulkmail/journal.sqlite here
    assert run_cli(write_sheet(tmp_path / "in.csv"), sim) == 0
    [folder] = (tmp_path / "reports").iterdir()
    made = {
        "reports": tmp_path / "reports",
        "folder": folder,
        **{p.name: p for p in folder.iterdir()},
        ".bulkmail": tmp_path / ".bulkmail",
        **{p.name: p for p in (tmp_path / ".bulkmail").iterdir()},
    }
    assert {name: oct(mode(path)) for name, path in made.items()} == {
        "reports": "0o700",
        "folder": "0o700",
        "report.xlsx": "0o600",
        "succeeded.csv": "0o600",
        "failed.csv": "0o600",
        "summary.json": "0o600",
        "report.html": "0o600",
        ".bulkmail": "0o700",
        "journal.sqlite": "0o600",
        "journal.sqlite.key": "0o600",
        "journal.sqlite.lock": "0o600",
    }


@pytest.mark.slow
def test_report_mode_group_lets_the_folder_s_group_read_whatever_the_umask(
    tmp_path: Path, sim: str
) -> None:
    old = os.umask(0o077)  # the strictest usual umask: the mode is bulkmail's, not the umask's
    try:
        reports = tmp_path / "reports"
        code = run_cli(
            write_sheet(tmp_path / "in.csv"),
            sim,
            "--report-mode",
            "group",
            "--report-dir",
            str(reports),
            "--state",
            str(tmp_path / "j.sqlite"),
        )
    finally:
        os.umask(old)
    assert code == 0
    [folder] = reports.iterdir()
    assert (mode(reports), mode(folder)) == (0o750, 0o750)
    assert {p.name: mode(p) for p in folder.iterdir()} == dict.fromkeys(
        ("report.xlsx", "succeeded.csv", "failed.csv", "summary.json", "report.html"), 0o640
    )
    assert mode(tmp_path / "j.sqlite") == 0o600  # the journal stays the owner's


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder another group needs root")
def test_a_report_folder_s_group_reaches_every_run_s_folder_and_file(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    os.chown(reports, -1, 4242)  # "monitoring"
    os.chmod(reports, 0o2750)  # set-group-ID: what is made inside gets the folder's group
    folder = files.make_folder(reports / "run", files.GROUP.folder) and reports / "run"
    os.close(files.create(folder / "succeeded.csv", files.GROUP.file))
    assert (folder.stat().st_gid, (folder / "succeeded.csv").stat().st_gid) == (4242, 4242)
    assert mode(folder) == 0o2750 and mode(folder / "succeeded.csv") == 0o640


@pytest.mark.usefixtures("umask")
def test_the_journal_its_wal_shm_key_and_lock_are_owner_only_while_it_is_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state" / "j.sqlite"
    with Journal.open(path, "https://portal.example.org") as journal:
        journal.mark_in_flight("u@x.org", "a@x.org", row=2, digest="d")
        around = {p.name: oct(mode(p)) for p in path.parent.iterdir()}
    assert around == {
        name: "0o600"
        for name in ("j.sqlite", "j.sqlite-wal", "j.sqlite-shm", "j.sqlite.key", "j.sqlite.lock")
    }
    assert mode(path.parent) == 0o700  # made by bulkmail


@pytest.mark.parametrize(
    ("planted", "message"),
    [
        ("j.sqlite.lock", "journal {journal} cannot be used: {planted}: it is a symbolic link"),
        ("j.sqlite.key", "journal key {planted} cannot be read: it is a symbolic link"),
        ("j.sqlite", "journal {journal} cannot be used: it is a symbolic link"),
        ("j.sqlite-wal", "journal {journal} cannot be used: {planted}: it is a symbolic link"),
        ("j.sqlite-shm", "journal {journal} cannot be used: {planted}: it is a symbolic link"),
    ],
)
def test_a_link_planted_beside_the_journal_is_refused_and_its_target_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], planted: str, message: str
) -> None:
    target = tmp_path / "victim.txt"
    target.write_text(SECRET)
    state = tmp_path / "state"
    state.mkdir()
    (state / planted).symlink_to(target)
    sheet = write_sheet(tmp_path / "in.csv")
    code = run_cli(
        sheet,
        "http://127.0.0.1:9",
        "--give-up-after",  # nothing listens: no 10 s of retries first
        "0.1",
        "--state",
        str(state / "j.sqlite"),
        "--report-dir",
        str(tmp_path / "r"),
    )
    assert code == 2
    err = capsys.readouterr().err
    expected = message.format(journal=state / "j.sqlite", planted=state / planted)
    assert err.startswith(f"bulkmail: error: {expected}, and bulkmail never follows one there")
    assert target.read_text() == SECRET and (state / planted).is_symlink()
    (summary,) = (tmp_path / "r").glob("*/*")  # refused before anything else: the error only
    assert summary.name == "summary.json" and SECRET not in summary.read_text()


def test_a_link_planted_at_the_old_temporary_key_name_receives_nothing(tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text(SECRET)
    (tmp_path / "j.sqlite.key.tmp").symlink_to(target)
    with Journal.open(tmp_path / "j.sqlite", "https://portal.example.org"):
        pass
    assert target.read_text() == SECRET
    key = tmp_path / "j.sqlite.key"
    assert not key.is_symlink() and len(key.read_text().strip()) == 64 and mode(key) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if ".tmp" in p.name) == ["j.sqlite.key.tmp"]


@pytest.mark.slow
def test_folders_the_user_names_may_be_links(tmp_path: Path, sim: str) -> None:
    real_reports, real_state = tmp_path / "real-reports", tmp_path / "real-state"
    real_reports.mkdir()
    real_state.mkdir()
    (tmp_path / "reports").symlink_to(real_reports)
    (tmp_path / "state").symlink_to(real_state)
    code = run_cli(
        write_sheet(tmp_path / "in.csv"),
        sim,
        "--report-dir",
        str(tmp_path / "reports"),
        "--state",
        str(tmp_path / "state" / "j.sqlite"),
    )
    assert code == 0
    [folder] = real_reports.iterdir()
    assert (folder / "summary.json").is_file() and (real_state / "j.sqlite").is_file()
    assert mode(real_reports) == 0o755 or mode(real_reports) == stat.S_IMODE(
        real_reports.stat().st_mode
    )


@pytest.mark.usefixtures("umask")
def test_the_simulator_state_file_is_owner_only_and_never_a_planted_link(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "sim.sqlite")
    state.close()
    assert mode(tmp_path / "sim.sqlite") == 0o600
    target = tmp_path / "victim.txt"
    target.write_text(SECRET)
    (tmp_path / "planted.sqlite").symlink_to(target)
    with pytest.raises(
        ConfigError, match=r"planted\.sqlite: not a usable state file: it is a symbolic link"
    ):
        StateFile(tmp_path / "planted.sqlite")
    assert target.read_text() == SECRET
    linked = tmp_path / "linked"
    linked.symlink_to(tmp_path, target_is_directory=True)
    StateFile(linked / "other.sqlite").close()  # the folder may be a link
    assert mode(tmp_path / "other.sqlite") == 0o600


# --- bulkmail.files ----------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o277])
def test_modes_are_exact_whatever_the_umask(tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        assert files.make_folder(tmp_path / "a" / "b", 0o750)
        os.close(files.create(tmp_path / "f", 0o640))
        files.replace(tmp_path / "g", b"data", 0o600)
    finally:
        os.umask(old)
    assert (mode(tmp_path / "a" / "b"), mode(tmp_path / "f"), mode(tmp_path / "g")) == (
        0o750,
        0o640,
        0o600,
    )


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir(mode=0o755)
    os.chmod(tmp_path / "mine", 0o755)
    assert files.make_folder(tmp_path / "mine", 0o700, exist_ok=True) is False
    assert mode(tmp_path / "mine") == 0o755
    with pytest.raises(FileExistsError):
        files.make_folder(tmp_path / "mine", 0o700)


def test_create_and_open_never_follow_a_link(tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text(SECRET)
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(FileExistsError):
        files.create(tmp_path / "link")
    with pytest.raises(OSError) as caught:
        files.open_or_create(tmp_path / "link")
    assert caught.value.errno == errno.ELOOP
    assert (
        files.reason(caught.value) == "it is a symbolic link, and bulkmail never follows one there"
    )
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError, match="not a regular file"):
        files.open_or_create(tmp_path / "fifo")
    assert target.read_text() == SECRET


def test_replace_is_whole_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text("old")
    before = path.stat().st_ino
    files.replace(path, b"new")
    assert path.read_text() == "new" and path.stat().st_ino != before  # renamed over, not rewritten
    with pytest.raises(RuntimeError), files.replacing(path) as temporary:
        temporary.write_text("half")
        raise RuntimeError("the writer failed")
    assert path.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == [
        "summary.json"
    ]
    (tmp_path / "summary.json").unlink()
    (tmp_path / "summary.json").symlink_to(tmp_path / "victim.txt")
    files.replace(path, b"mine")  # a link at the name itself is replaced, not written through
    assert not path.is_symlink() and not (tmp_path / "victim.txt").exists()
