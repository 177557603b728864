"""Python callers: paths, records or a Table in, per-row results out, silent logs, masked reprs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import structlog

import bulkmail
import bulkmail.logs
from bulkmail import InputSettings, Job, PortalSettings
from bulkmail.errors import ConfigError
from bulkmail.library import _table_source, portal_settings
from bulkmail.models import Outcome, Stage, Status
from bulkmail.portal.client import Identity, Token
from bulkmail.report.results import RowResultMaker
from tests.records import SECRET, cells_of, record


@pytest.mark.parametrize("source", [42, {"E-mail": "a@b.org"}, [1, 2]])
def test_every_entry_point_refuses_what_it_cannot_read_in_one_line(
    source: Any, tmp_path: Path
) -> None:
    for call in (
        lambda: bulkmail.validate(source),
        lambda: bulkmail.validate_file(source, tmp_path),
        lambda: bulkmail.import_file(source, portal="http://127.0.0.1:9", user="u", password="p"),
    ):
        with pytest.raises(ConfigError, match=r"cannot read a|takes records") as raised:
            call()
        assert "\n" not in str(raised.value)


def test_validate_yields_checked_rows_and_their_results() -> None:
    checks = bulkmail.validate([record(1), record(2, **{"E-mail": "nope"})])
    first = next(checks)
    assert first.ok and first.row.number == 2
    (second,) = checks.results()
    assert second.row == 3 and second.status is Status.FAILED
    assert second.stage is Stage.VALIDATION and second.code == "email-invalid"
    assert second.fields["email"] == "nope" and "password" not in second.fields
    frame = bulkmail.validate([record(1), record(2, **{"E-mail": "nope"})]).to_pandas()
    assert list(frame["status"]) == ["valid", "failed"]
    assert list(frame["code"]) == ["", "email-invalid"]
    assert "password" not in frame.columns and SECRET not in frame.to_string()


def test_validate_file_takes_records_and_keywords_and_returns_every_row(tmp_path: Path) -> None:
    rows = [record(1), record(2, **{"IMAP port": "abc"}), record(3)]
    result = bulkmail.validate_file(rows, tmp_path, defaults={"smtp_port": "465"})
    assert result.rows is not None
    assert [(r.row, r.status.value, r.code) for r in result.rows] == [
        (2, "valid", ""),
        (3, "failed", "port-invalid"),
        (4, "valid", ""),
    ]
    assert result.rows[1].message and result.rows[1].hint
    frame = result.to_pandas()
    assert list(frame["row"]) == [2, 3, 4] and frame["mailbox_id"].isna().all()
    assert result.summary.counts["failed"] == 1 and result.summary.input.path == "records"
    assert result.paths.failed_csv.exists()


def test_a_run_asked_to_keep_no_rows_says_so(tmp_path: Path) -> None:
    result = bulkmail.validate_file([record(1)], tmp_path, keep_rows=False)
    assert result.rows is None
    with pytest.raises(ConfigError, match="kept no per-row results"):
        result.to_pandas()


def test_import_file_keywords_are_checked_before_anything_runs(tmp_path: Path) -> None:
    rows = [record(1)]
    with pytest.raises(ConfigError, match=r"needs the portal's address"):
        bulkmail.import_file(rows, user="u", password="p")
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'dryrun'.*dry_run"):
        bulkmail.import_file(rows, portal="http://127.0.0.1:9", dryrun=True)  # type: ignore[call-arg]
    portal = PortalSettings(url="http://127.0.0.1:9")
    with pytest.raises(ConfigError, match=r"a PortalSettings and the keywords dry_run"):
        bulkmail.import_file(rows, portal, dry_run=True)
    with pytest.raises(ConfigError, match=r"an InputSettings and the keywords sheet"):
        bulkmail.validate_file(InputSettings(tmp_path / "in.csv"), tmp_path, sheet="x")
    with pytest.raises(ConfigError, match=r"concurrency must be from 1"):
        bulkmail.import_file(rows, portal="http://127.0.0.1:9", concurrency=0)
    auto = portal_settings("http://127.0.0.1:9", {"concurrency": "auto"}, "import_file")
    assert auto.concurrency is None and auto.progress is False  # as --concurrency auto


def test_a_table_read_twice_says_what_to_pass_instead() -> None:
    source = _table_source(bulkmail.table([record(1)]), "import_file")
    source()
    with pytest.raises(ConfigError, match="pass a list of records, a DataFrame or the file"):
        source()
    again = _table_source([record(1)], "import_file")
    assert cells_of(again()) == cells_of(again())  # a list is read anew each time


def test_pandas_is_imported_only_for_a_dataframe(tmp_path: Path) -> None:
    probe = (
        "import sys, bulkmail\n"
        "rows = [{'email': 'a@corp.example.org', 'password': 'x', 'server': 'imap.example.org',"
        " 'smtp_server': 'smtp.example.org'}]\n"
        f"r = bulkmail.validate_file(rows, {str(tmp_path)!r})\n"
        "list(bulkmail.validate(rows).results())\n"
        "assert r.rows[0].ok, r.rows\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False", out.stderr


def test_to_pandas_without_pandas_says_how_to_get_it(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "sys.modules['pandas'] = None  # as if not installed\n"
        "import bulkmail\n"
        "rows = [{'email': 'a@corp.example.org', 'password': 'x', 'server': 'imap.example.org',"
        " 'smtp_server': 'smtp.example.org'}]\n"
        f"r = bulkmail.validate_file(rows, {str(tmp_path)!r})\n"
        "try:\n"
        "    r.to_pandas()\n"
        "except bulkmail.ConfigError as err:\n"
        "    print(err)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == (
        "to_pandas() needs pandas, which is not installed "
        "(pip install 'bulkmail[pandas]', or read the results' fields directly)"
    )


@pytest.fixture
def unconfigured_logs() -> Iterator[None]:
    structlog.reset_defaults()  # as in a fresh process that never configured logging
    yield
    structlog.reset_defaults()


@pytest.mark.usefixtures("unconfigured_logs")
def test_the_library_logs_nothing_until_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [record(1), record(2, **{"E-mail": "nope"})]
    bulkmail.validate_file(rows, tmp_path / "quiet")
    assert capsys.readouterr() == ("", "")
    stream = io.StringIO()
    bulkmail.logs.configure("json", stream=stream)
    bulkmail.validate_file(rows, tmp_path / "asked")
    events = [json.loads(line)["event"] for line in stream.getvalue().splitlines()]
    assert events == ["row.invalid", "run.finished"]
    assert capsys.readouterr() == ("", "")


@pytest.mark.usefixtures("unconfigured_logs")
def test_a_program_that_configured_structlog_itself_gets_the_events(tmp_path: Path) -> None:
    with structlog.testing.capture_logs() as logs:
        bulkmail.validate_file([record(1)], tmp_path)
    assert [e["event"] for e in logs] == ["run.finished"]


def shown(value: object) -> str:
    """Return every way a person prints `value`."""
    printed = io.StringIO()
    with redirect_stdout(printed):
        print(value)
    return "\n".join([repr(value), str(value), f"{value}", f"{value!r}", printed.getvalue()])


def test_no_repr_shows_a_password(tmp_path: Path) -> None:
    token = "Tok-" + SECRET
    rows = [record(1), record(2, **{"E-mail": "nope", "Old password": token})]
    table = bulkmail.table(rows)
    checked = list(bulkmail.validate(rows))
    account = checked[0].account
    assert account is not None and account.password == SECRET  # the secret is there...
    result = bulkmail.validate_file(rows, tmp_path)
    assert result.rows is not None
    maker = RowResultMaker(table.headers, table.fields)
    cells = dict(table.values(checked[0].row))
    assert cells["password"] == SECRET
    outcome = Outcome(checked[1].row, Status.FAILED, Stage.VALIDATION, problems=checked[1].problems)
    shows: list[object] = [
        table,
        next(bulkmail.table(rows).rows),
        checked[0],
        checked[1],
        account,
        outcome,
        maker.outcome(outcome),
        InputSettings(tmp_path / "in.csv", defaults={"password": SECRET, "token": token}),
        InputSettings(tmp_path / "in.csv", source=_table_source(rows, "validate")),
        PortalSettings(url="https://portal.example.org", password=SECRET, admin_password=token),
        result,
        result.rows,
        bulkmail.validate(rows),
        Job(0, checked[0].row, account, Identity("u@corp.example.org", token), cells=cells),
        Identity("u@corp.example.org", SECRET),
        Token(SECRET),
    ]
    for value in shows:
        text = shown(value)
        assert SECRET not in text, text  # ...and no way of printing it shows it
    assert "********" in shown(shows[7])  # a default password is masked, not dropped
