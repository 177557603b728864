"""import_file from Python against the simulator on 127.0.0.1: a DataFrame in, plain keywords,
every row's result out, and nothing written to the terminal unasked."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import structlog

import bulkmail
from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.slow

SECRET = "Mailbox-Lib-Pw-5"


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Email": [f"box{n}@mail.example.org" for n in (1, 2, 3)],
            "Password": [SECRET, SECRET, None],  # the third has none: invalid
            "IMAP server": "imap.mail.example.org",
            "SMTP server": "smtp.mail.example.org",
            "IMAP port": [993.0, float("nan"), 993.0],
        }
    )


@pytest.fixture
def unconfigured_logs() -> Iterator[None]:
    structlog.reset_defaults()  # a fresh program: nobody configured logging
    yield
    structlog.reset_defaults()


@pytest.mark.usefixtures("unconfigured_logs")
def test_a_dataframe_imports_with_plain_keywords_and_returns_its_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # as on a terminal: still no bar
    user, password = "lib@corp.example.org", "Portal-Lib-Pw-1"
    state, reports = str(tmp_path / "journal.sqlite"), str(tmp_path / "reports")
    with running(SimConfig()) as url:
        planned = bulkmail.import_file(
            frame(), portal=url, user=user, password=password, state=state,
            report_dir=reports, dry_run=True,
        )  # fmt: skip
        done = bulkmail.import_file(
            frame(), url, reports, user=user, password=password, state=state, concurrency=2
        )
        again = bulkmail.import_file(
            frame(), portal=url, user=user, password=password, state=state, report_dir=reports
        )
    assert capsys.readouterr() == ("", "")  # no log line, no progress bar, nothing printed

    def seen(result: bulkmail.RunResult) -> list[tuple[int, str, str]]:
        assert result.rows is not None
        return [(r.row, r.status.value, r.code) for r in result.rows]

    assert seen(planned) == [
        (2, "would create", ""),
        (3, "would create", ""),
        (4, "failed", "required"),
    ]
    assert seen(done)[:2] == [(2, "created", ""), (3, "created", "")]
    assert [r.status.value for r in again.rows or ()][:2] == ["skipped", "skipped"]  # journal
    assert done.rows is not None
    assert [r.mailbox_id for r in done.rows] == [1, 2, None]
    assert done.rows[0].fields["email"] == "box1@mail.example.org"
    assert done.rows[2].stage is bulkmail.Stage.VALIDATION and done.rows[2].hint
    table = done.to_pandas()
    assert list(table["status"]) == ["created", "created", "failed"]
    assert SECRET not in table.to_string() and "password" not in table.columns
    assert done.summary.extra["concurrency"] == 2 and planned.summary.extra["dry_run"] is True
