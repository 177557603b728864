"""Local time with its offset: report folder names, summary.json, done_at, the JSON log."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bulkmail.times import add_timestamp, folder_stamp, from_journal, iso

MOSCOW = timezone(timedelta(hours=3))
REPO = Path(__file__).resolve().parents[1]


def test_iso_and_folder_stamp_keep_the_moments_own_offset() -> None:
    moment = datetime(2026, 11, 30, 2, 30, 5, 123456, tzinfo=MOSCOW)
    assert iso(moment) == "2026-11-30T02:30:05+03:00"
    assert folder_stamp(moment) == "2026-11-30_02-30-05+0300"


def test_a_journal_time_is_shown_in_local_time() -> None:
    shown = from_journal("2026-11-29T23:30:05Z")
    assert datetime.fromisoformat(shown) == datetime(2026, 11, 29, 23, 30, 5, tzinfo=UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", shown), shown
    assert from_journal("edited by hand") == "edited by hand"


def test_the_log_timestamp_has_an_offset() -> None:
    event = add_timestamp(None, "info", {"event": "run.started"})
    assert datetime.fromisoformat(event["timestamp"]).utcoffset() is not None


@pytest.mark.slow
def test_a_moscow_run_shows_moscow_time_everywhere(tmp_path: Path) -> None:
    sheet = tmp_path / "in.csv"
    sheet.write_text(
        "email,password,server,smtp_server\n"
        "ann@mail.example.org,Secret-1,imap.mail.example.org,smtp.mail.example.org\n",
        encoding="utf-8",
    )
    env = {**os.environ, "TZ": "Europe/Moscow"}  # +03:00 all year since 2014
    done = subprocess.run(
        [sys.executable, "-m", "bulkmail", "validate", str(sheet), "--report-dir",
         str(tmp_path / "reports"), "--log-format", "json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp_path / "reports").iterdir()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\+0300_validate", folder.name)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["started_at"].endswith("+03:00") and summary["finished_at"].endswith("+03:00")
    stamps = [json.loads(line)["timestamp"] for line in done.stderr.splitlines()]
    assert stamps and all(s.endswith("+03:00") for s in stamps), stamps
    assert folder.name[:10] == summary["started_at"][:10]  # filed under the local day
    assert f"{folder.name}/report.xlsx" in done.stdout  # the console names it, local time too
