"""Secrets that would reach the process list, or escape masking through a shifted row.

`--set password=...` is refused (every local user reads a process's arguments) and points to
`--defaults FILE`; a defaults file holding a password that others can read is warned about;
a row whose password stands in another of its cells (`password-in-column`) is an error and
that cell is masked in the report, the console and the logs.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from bulkmail.cli import main
from bulkmail.models import InputInfo, Row, Table
from bulkmail.schema import MASK, SECRET_FIELDS
from bulkmail.validation.table import validate

SECRET = "Summer-2024x"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BULKMAIL_PASSWORD", raising=False)
    (tmp_path / "in.csv").write_text("email,server,smtp_server\na@x.org,imap.x.org,smtp.x.org\n")
    return tmp_path


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (f"password={SECRET}", "password"),
        (f"Пароль={SECRET}", "password"),
        (f"SMTP password={SECRET}", "smtp_password"),
        (f"portal_password={SECRET}", "portal_password"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "import"])
def test_a_password_given_with_set_is_refused_pointing_to_defaults(
    here: Path, capsys: pytest.CaptureFixture[str], item: str, field: str, command: str
) -> None:
    portal = (
        ["--portal", "https://127.0.0.1:9", "--user", "me@x.org"] if command == "import" else []
    )
    # import: refused before it asks for --user's password (there is none to give here)
    assert main([command, "in.csv", *portal, "--set", "server=imap.x.org", "--set", item]) == 2
    out, err = capsys.readouterr()
    (summary,) = (here / "reports").glob("*/*")  # the error's summary.json, nothing else
    assert (out, err) == (
        f"report: {summary.relative_to(here)}\n",
        f"bulkmail: error: --set {field}=... puts a password on the command line, where every "
        "user of this machine can read it (the process list) and the shell's history keeps it "
        f'(put `{field} = "..."` in a --defaults FILE that only you can read (chmod 600 FILE))\n',
    )
    assert summary.name == "summary.json" and SECRET not in summary.read_text()


def test_other_fields_are_still_taken_from_set(here: Path) -> None:
    (here / "in.csv").write_text(f"email,password\na@x.org,{SECRET}\n")
    args = ["validate", "in.csv", "--set", "server=imap.x.org", "--set", "smtp_server=smtp.x.org"]
    assert main([*args, "--quiet"]) == 0


@pytest.mark.parametrize(("mode", "warned"), [(0o644, True), (0o640, True), (0o600, False)])
def test_a_defaults_file_with_a_password_that_others_can_read_is_warned_about(
    here: Path, capsys: pytest.CaptureFixture[str], mode: int, warned: bool
) -> None:
    defaults = here / "defaults.toml"
    defaults.write_text(f'password = "{SECRET}"\n')
    defaults.chmod(mode)
    assert main(["validate", "in.csv", "--defaults", str(defaults)]) == 0
    err = capsys.readouterr().err
    assert ("defaults.readable" in err and "hint='chmod 600 " in err) is warned
    assert SECRET not in err


def test_a_defaults_file_without_a_password_is_not_warned_about(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "in.csv").write_text(f"email,password,smtp_server\na@x.org,{SECRET},smtp.x.org\n")
    (here / "defaults.toml").write_text('server = "imap.x.org"\n')
    (here / "defaults.toml").chmod(0o644)
    assert main(["validate", "in.csv", "--defaults", "defaults.toml"]) == 0
    assert "defaults.readable" not in capsys.readouterr().err


# -- password-in-column --------------------------------------------------------------------

# The smtp_server cell is missing: every cell after it moved one column to the left, and the
# password, which this sheet repeats as smtp_password, landed in smtp_account.
SHIFTED = (
    "email,password,server,smtp_server,smtp_account,smtp_password,Comment\n"
    f"anna@x.org,{SECRET},imap.x.org,anna@x.org,{SECRET}\n"
    f"boris@x.org,{SECRET},imap.x.org,smtp.x.org,boris@x.org,{SECRET},{SECRET}\n"
    f"vera@x.org,{SECRET},imap.x.org,smtp.x.org,vera@x.org,{SECRET},ok\n"
)


def report_texts(folder: Path) -> str:
    """Return every report file's text, report.xlsx's XML parts included."""
    texts = [p.read_text(encoding="utf-8-sig") for p in folder.glob("*.csv")]
    texts.append((folder / "summary.json").read_text(encoding="utf-8"))
    with zipfile.ZipFile(folder / "report.xlsx") as book:
        texts += [book.read(name).decode("utf-8") for name in book.namelist()]
    return "\n".join(texts)


def test_a_shifted_rows_password_is_an_error_and_masked_everywhere(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "shifted.csv").write_text(SHIFTED)
    assert main(["validate", "shifted.csv", "--log-format", "json"]) == 1
    out, err = capsys.readouterr()
    (folder,) = (here / "reports").iterdir()
    assert SECRET not in out + err + report_texts(folder)
    assert (
        "      row 2, smtp_account: smtp_account holds the same text as this row's password "
        "(masked here): the row's cells are probably shifted\n"
    ) in out
    assert (
        "      fix: check that the row's cells line up with the header: a comma inside an "
        "unquoted CSV cell splits it in two (quote that cell); a password may not equal "
        "another cell\n"
    ) in out
    with (folder / "failed.csv").open(encoding="utf-8-sig", newline="") as f:
        failed = {row["row"]: row for row in csv.DictReader(f)}
    assert set(failed) == {"2", "3"}
    assert failed["2"]["code"] == "host-invalid; password-in-column"
    assert failed["2"]["message"] == (
        'smtp_server: "anna@x.org" is an address, not a host name; smtp_account: smtp_account '
        "holds the same text as this row's password (masked here): the row's cells are "
        "probably shifted"
    )
    assert (failed["2"]["smtp_account"], failed["2"]["smtp_password"]) == (MASK, "")
    assert failed["2"]["smtp_server"] == "anna@x.org" and failed["2"]["Comment"] == ""
    # An ignored column is named by its letter; the password columns themselves stay masked.
    assert failed["3"]["code"] == "password-in-column"
    assert failed["3"]["message"] == (
        "column G holds the same text as this row's password (masked here): the row's cells "
        "are probably shifted"
    )
    assert failed["3"]["Comment"] == MASK and failed["3"]["password"] == MASK


def checked(headers: list[str], cells: list[str], **defaults: str) -> tuple[list[str], str]:
    """Return the row's password-in-column codes and its last cell after validation."""
    table = Table(
        headers=tuple(headers),
        fields=tuple(h if h in SECRET_FIELDS | {"email", "server", "smtp_server", "account",
                                                 "name", "portal_user"} else None
                     for h in headers),
        info=InputInfo(path="accounts.csv", format="csv"),
        rows=iter([Row(2, tuple(cells))]),
    )  # fmt: skip
    (row,) = validate(table, defaults=defaults, run_user="me@x.org")
    codes = [p.code for p in row.problems if p.code == "password-in-column"]
    return codes, row.row.cells[-1]


BASE = ["email", "password", "server", "smtp_server"]
HOSTS = ["imap.x.org", "smtp.x.org"]


@pytest.mark.parametrize(
    ("headers", "cells", "defaults", "flagged"),
    [
        # the same password in two password columns is usual
        ([*BASE, "smtp_password"], ["a@x.org", SECRET, *HOSTS, SECRET], {}, False),
        # a password of five characters is too common a text to be told from a value
        ([*BASE, "account"], ["a@x.org", "abc12", *HOSTS, "abc12"], {}, False),
        ([*BASE, "account"], ["a@x.org", "abc123", *HOSTS, "abc123"], {}, True),
        # a password cell keeps its spaces; the comparison does not
        ([*BASE, "name"], ["a@x.org", f" {SECRET} ", *HOSTS, SECRET], {}, True),
        # an ignored column whose header looks like a password is masked as one already
        ([*BASE, "Old password"], ["a@x.org", SECRET, *HOSTS, SECRET], {}, False),
        ([*BASE, "Comment"], ["a@x.org", SECRET, *HOSTS, SECRET], {}, True),
        # a password from --defaults counts too
        (["email", "server", "smtp_server", "name"], ["a@x.org", *HOSTS, SECRET],
         {"password": SECRET}, True),
        # the portal password as well
        ([*BASE, "portal_user", "portal_password", "name"],
         ["a@x.org", "pw-1234567", *HOSTS, "me@x.org", SECRET, SECRET], {}, True),
    ],
)  # fmt: skip
def test_which_cells_count_as_a_password_elsewhere(
    headers: list[str], cells: list[str], defaults: dict[str, str], flagged: bool
) -> None:
    codes, last = checked(headers, cells, **defaults)
    assert (codes, last) == ((["password-in-column"], MASK) if flagged else ([], cells[-1]))


def test_a_long_password_in_another_cell_is_not_quoted_cut_short(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Quotes are cut at 40 characters, and what is left is no longer the secret that
    # masking looks for: the cell's other problems (not a host name) are left out.
    long = "Correct-Horse-Battery-Staple:and-more-words-2024!"
    (here / "long.csv").write_text(
        f"email,password,server,smtp_server\nanna@x.org,{long},{long},smtp.x.org\n"
    )
    assert main(["validate", "long.csv"]) == 1
    out, err = capsys.readouterr()
    (folder,) = (here / "reports").iterdir()
    assert long[:12] not in out + err + report_texts(folder)
    with (folder / "failed.csv").open(encoding="utf-8-sig", newline="") as f:
        (failed,) = csv.DictReader(f)
    assert (failed["code"], failed["server"]) == ("password-in-column", MASK)
