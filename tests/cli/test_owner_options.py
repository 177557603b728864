"""validate and check judge a row's portal identity as the import with the same --user,
--admin and --portal-user-from would: a sheet meant for `import --admin` validates."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bulkmail.check import CheckSettings, check_file
from bulkmail.cli import main
from bulkmail.errors import ConfigError
from bulkmail.pipeline import validate_file
from bulkmail.settings import InputSettings

HEADER = ["portal_user", "email", "password", "server", "smtp_server"]


def _sheet(folder: Path, owners: list[str]) -> Path:
    path = folder / "owners.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for n, owner in enumerate(owners):
            out.writerow([owner, f"box{n}@corp.example.org", f"Mailbox-pw-{n}", "imap.invalid",
                          "smtp.invalid"])  # fmt: skip
    return path


def _codes(folder: Path) -> list[str]:
    with (folder / "failed.csv").open(encoding="utf-8-sig") as f:
        return [row["code"] for row in csv.DictReader(f)]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_validate_without_admin_wants_each_users_portal_password(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sheet(here, ["anna@corp.example.org", "boris@corp.example.org"])
    assert main(["validate", "owners.csv", "--quiet"]) == 1
    folder = next((here / "reports").iterdir())
    assert _codes(folder) == ["portal-password-missing"] * 2


def test_validate_with_admin_needs_no_portal_passwords(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sheet(here, ["anna@corp.example.org", "boris@corp.example.org"])
    assert main(["validate", "owners.csv", "--admin", "admin@corp.example.org"]) == 0
    assert "valid 2" in capsys.readouterr().out
    summary = json.loads(next((here / "reports").iterdir()).joinpath("summary.json").read_text())
    assert summary["counts"]["valid"] == 2


def test_validate_with_portal_user_from_email_owns_the_rows_without_one(here: Path) -> None:
    _sheet(here, ["", ""])
    assert main(["validate", "owners.csv", "--quiet"]) == 1
    assert _codes(next((here / "reports").iterdir())) == ["portal-user-missing"] * 2
    args = ["validate", "owners.csv", "--admin", "a@corp.example.org", "--portal-user-from"]
    assert main([*args, "email", "--quiet", "--report-dir", "second"]) == 0


def test_validate_file_takes_admin_and_refuses_a_wrong_kind(tmp_path: Path) -> None:
    sheet = _sheet(tmp_path, ["anna@corp.example.org"])
    result = validate_file(sheet, tmp_path / "r", admin="admin@corp.example.org")
    assert result.summary.exit_code == 0 and [r.status for r in result.rows] == ["valid"]
    with pytest.raises(ConfigError, match="portal_user_from"):
        validate_file(sheet, tmp_path / "r", portal_user_from="login")  # type: ignore[arg-type]


def test_check_with_admin_checks_the_rows_instead_of_failing_them(tmp_path: Path) -> None:
    sheet = _sheet(tmp_path, ["anna@corp.example.org"])
    inp = InputSettings(path=sheet)
    plain = check_file(inp, tmp_path / "a")
    assert _codes(plain.paths.folder) == ["portal-password-missing"]
    acting = check_file(inp, tmp_path / "b", CheckSettings(acting=True))
    # Past validation: the check itself ran, and .invalid hosts do not resolve.
    assert _codes(acting.paths.folder) == ["mailbox-unreachable"]
