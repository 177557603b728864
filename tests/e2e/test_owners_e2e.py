"""A sheet without a portal_user column: `validate` and `check` say what `import` will do.

The import refuses such a sheet unless the run names the owner (--user, a portal_user in
--set or --defaults, --portal-user-from email). validate and check take it, but their exit 0
must not hide the refusal: a `portal-user-column-missing` warning says so. An owner given in
--defaults is an owner for the import too (it used to refuse it while validate took it).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bulkmail.cli import main
from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.slow

HEADER = ["email", "password", "server", "port", "smtp_server", "smtp_port"]
WARNING = "portal-user-column-missing"


def sheet(tmp_path: Path) -> Path:
    path = tmp_path / "boxes.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for n in range(2):
            out.writerow(
                [f"box{n}@mail.example.org", "mailbox-pass-1", "imap.mail.example.org", "993",
                 "smtp.mail.example.org", "465"]
            )  # fmt: skip
    return path


def owner_defaults(tmp_path: Path) -> Path:
    path = tmp_path / "defaults.toml"
    path.write_text(
        'portal_user = "user1@corp.example.org"\nportal_password = "Portal-1-pw"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def summary(report_dir: Path) -> dict[str, Any]:
    folder = sorted(report_dir.iterdir())[-1]
    return dict(json.loads((folder / "summary.json").read_text(encoding="utf-8")))


def test_validate_warns_that_the_import_will_want_an_owner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    assert main(["validate", str(sheet(tmp_path)), "--report-dir", str(reports)]) == 0
    out = capsys.readouterr().out
    assert "no portal_user column" in out and "--user LOGIN" in out
    assert summary(reports)["warnings"] == {WARNING: 1}


@pytest.mark.parametrize(
    "owner",
    [
        ["--user", "user1@corp.example.org"],
        ["--admin", "admin@corp.example.org", "--portal-user-from", "email"],
        ["defaults"],
    ],
    ids=["user", "portal-user-from", "defaults"],
)
def test_an_owner_from_the_run_takes_the_warning_away(tmp_path: Path, owner: list[str]) -> None:
    if owner == ["defaults"]:
        owner = ["--defaults", str(owner_defaults(tmp_path))]
    reports = tmp_path / "reports"
    code = main(["validate", str(sheet(tmp_path)), "--report-dir", str(reports), *owner])
    assert WARNING not in summary(reports)["warnings"]
    assert code == 0


def test_check_warns_too_before_it_connects_to_anything(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    # Port 9 on loopback: nothing listens, the rows fail as unreachable; the warning stands.
    path = tmp_path / "boxes.csv"
    path.write_text(
        "email,password,server,port,smtp_server,smtp_port\n"
        "box@mail.example.org,mailbox-pass-1,127.0.0.1,9,127.0.0.1,9\n",
        encoding="utf-8",
    )
    main(["check", str(path), "--report-dir", str(reports), "--timeout", "5"])
    assert summary(reports)["warnings"].get(WARNING) == 1


def test_an_owner_in_defaults_is_the_import_s_owner_too(tmp_path: Path) -> None:
    with running(SimConfig(latency_ms=1)) as url:
        code = main(
            ["import", str(sheet(tmp_path)), "--portal", url, "--report-dir",
             str(tmp_path / "reports"), "--state", str(tmp_path / "journal.sqlite"), "--quiet",
             "--defaults", str(owner_defaults(tmp_path))]
        )  # fmt: skip
        counters = httpx.get(f"{url}/_sim/stats").json()
    assert code == 0
    assert {u: t["creates"] for u, t in counters["users"].items() if t["creates"]} == {
        "user1@corp.example.org": 2
    }


def test_the_import_still_refuses_a_sheet_with_no_owner_at_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 9 on loopback: the refusal comes before any connection, so nothing is asked.
    code = main(
        ["import", str(sheet(tmp_path)), "--portal", "http://127.0.0.1:9", "--report-dir",
         str(tmp_path / "reports"), "--state", str(tmp_path / "journal.sqlite")]
    )  # fmt: skip
    assert code == 2
    assert "no portal_user column and no --user" in capsys.readouterr().err


def blank_owner(tmp_path: Path, how: str) -> list[str]:
    if how == "set":
        return ["--set", "portal_user="]
    path = tmp_path / "blank.toml"
    path.write_text('portal_user = "  "\nportal_password = "Portal-1-pw"\n', encoding="utf-8")
    path.chmod(0o600)
    return ["--defaults", str(path)]


@pytest.mark.parametrize("how", ["set", "defaults"])
def test_a_blank_portal_user_in_the_defaults_is_no_owner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    # `--set portal_user=` fills no cell: validate said nothing, and the import logged in as
    # "" (portal-login-failed on every row, or portal-user-unknown with --admin).
    reports = tmp_path / "reports"
    blank = blank_owner(tmp_path, how)
    assert main(["validate", str(sheet(tmp_path)), "--report-dir", str(reports), *blank]) == 0
    assert summary(reports)["warnings"][WARNING] == 1
    capsys.readouterr()
    code = main(
        ["import", str(sheet(tmp_path)), "--portal", "http://127.0.0.1:9", "--report-dir",
         str(reports), "--state", str(tmp_path / "journal.sqlite"), *blank]
    )  # fmt: skip
    assert code == 2
    assert "no portal_user column and no --user" in capsys.readouterr().err
