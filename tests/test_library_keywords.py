"""A Python caller's keywords and portal address: the wrong kind of value is one ConfigError
naming the keyword, before anything is read, sent or written; the command line's values
mean the same from Python (`autofill="known"`, `retry_failed`, `defaults={"port": 993}`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import bulkmail
from bulkmail.errors import ConfigError
from bulkmail.library import input_settings, portal_settings
from bulkmail.settings import PortalSettings
from bulkmail.simulator import SimConfig, running
from bulkmail.validation.autofill import PortalSetups

SECRET = "Kw-Secret-Pw-31"
NOWHERE = "http://127.0.0.1:9"  # nothing is sent: every call below stops first


def record(**changed: Any) -> dict[str, Any]:
    return {
        "email": "anna@corp.example.org",
        "password": SECRET,
        "server": "imap.corp.example.org",
        "smtp_server": "smtp.corp.example.org",
    } | changed


@pytest.mark.parametrize(
    ("keyword", "value", "says"),
    [
        ("concurrency", "many", "concurrency must be a whole number or 'auto', not a str"),
        ("concurrency", True, "concurrency must be a whole number or 'auto', not True"),
        ("timeout", "10", "timeout must be a number of seconds, not a str"),
        ("timeout", float("nan"), "timeout must be a number of seconds, not a float"),
        ("retries", 2.5, "retries must be a whole number, not a float"),
        ("dry_run", "no", "dry_run must be True or False, not a str"),
        ("dry_run", 1, "dry_run must be True or False, not an int"),
        ("if_exists", "replace", "if_exists must be 'skip' or 'update', not a str"),
        ("portal_user_from", "login", "portal_user_from must be 'email' or None, not a str"),
        ("user", 5, "user must be a portal login \\(str\\) or None, not an int"),
        ("password", 12345678, "password must be a password \\(str\\) or None, not an int"),
        ("state", 3, "state must be a file path or None \\(no journal\\), not an int"),
        ("defaults", ["port=993"], "defaults must be a mapping of field name -> value, not a list"),
        ("autofill", "yes", "autofill must be 'known', 'portal' or False, not a str"),
    ],
)
def test_a_keyword_of_the_wrong_kind_is_one_line_naming_it(
    keyword: str, value: Any, says: str, tmp_path: Path
) -> None:
    with pytest.raises(
        ConfigError, match=f"^import_file\\(\\): {says} \\(e\\.g\\. {keyword}="
    ) as err:
        bulkmail.import_file([record()], portal=NOWHERE, report_dir=tmp_path, **{keyword: value})
    assert "\n" not in str(err.value)
    assert "many" not in str(err.value) and "12345678" not in str(err.value)  # never the value
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_portal_settings_refuse_the_wrong_kind_too() -> None:
    with pytest.raises(ConfigError, match=r"^PortalSettings: timeout must be a number"):
        PortalSettings(url=NOWHERE, timeout="10")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^PortalSettings: dry_run must be True or False"):
        PortalSettings(url=NOWHERE, dry_run="false")  # type: ignore[arg-type]
    assert PortalSettings(url=NOWHERE, concurrency="auto").concurrency is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://robot:Url-Pw-7781@127.0.0.1:9", r"holds a user name or password \(\.\.\.@127"),
        ("http://127.0.0.1:9/?token=Tok-Secret-1", r"has a \?query or #fragment"),
        ("ftp://127.0.0.1:9", r"'ftp://127.0.0.1:9' is not an http\(s\) URL"),
        ("127.0.0.1:9", r"'127.0.0.1:9' is not an http\(s\) URL"),
        ("http://127.0.0.1:99999", r"is not a usable URL \(Port out of range"),
        ("http://bad host", r"holds a space or a control character"),
    ],
)
def test_a_portal_address_that_is_no_portal_root_is_refused_as_on_the_command_line(
    url: str, says: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=f"^import_file\\(\\): portal {says}") as err:
        bulkmail.import_file([record()], portal=url, user="u@x.org", report_dir=tmp_path)
    assert "Url-Pw-7781" not in str(err.value) and "Tok-Secret-1" not in str(err.value)
    with pytest.raises(ConfigError, match=f"^PortalSettings url {says}"):
        PortalSettings(url=url)
    assert list(tmp_path.iterdir()) == []


def test_the_portal_root_loses_its_trailing_slash() -> None:
    assert portal_settings(NOWHERE + "/", {}, "import_file").url == NOWHERE
    assert PortalSettings(url=NOWHERE + "/").url == NOWHERE


def test_the_portal_given_as_something_else_says_what_it_takes() -> None:
    with pytest.raises(ConfigError, match=r"portal must be the portal's URL or a PortalSettings"):
        bulkmail.import_file([record()], portal=5)  # type: ignore[arg-type]


def test_autofill_takes_the_command_lines_words() -> None:
    known = input_settings([record()], {"autofill": "known"}, "import_file")
    assert known.autofill is True
    portal = input_settings([record()], {"autofill": "portal"}, "import_file")
    assert isinstance(portal.autofill, PortalSetups) and not portal.autofill.asked
    assert input_settings([record()], {"autofill": False}, "validate_file").autofill is False
    with pytest.raises(ConfigError, match=r"autofill='portal' asks the portal, which only an imp"):
        input_settings([record()], {"autofill": "portal"}, "validate_file")
    with pytest.raises(ConfigError, match=r"autofill='portal' asks the portal"):
        bulkmail.validate([record()], autofill="portal")  # type: ignore[arg-type]


def test_autofill_known_fills_a_sheet_of_addresses_and_passwords(tmp_path: Path) -> None:
    rows = [{"email": "anna@gmail.com", "password": SECRET}]
    (checked,) = bulkmail.validate(rows, autofill="known")
    assert checked.ok and checked.account is not None
    assert checked.account.server == "imap.gmail.com"
    result = bulkmail.validate_file(rows, tmp_path, autofill="known")
    assert result.summary.counts["valid"] == 1


def test_defaults_take_header_aliases_and_plain_values(tmp_path: Path) -> None:
    inp = input_settings(
        [record()], {"defaults": {"IMAP port": 143, "restrict": True}}, "validate_file"
    )
    assert inp.defaults == {"port": "143", "restrict": "true"}
    (checked,) = bulkmail.validate([record()], defaults={"IMAP port": 143})
    assert checked.account is not None and checked.account.port == 143
    with pytest.raises(
        ConfigError, match=r'validate_file\(\): defaults: unknown field "prot".*port'
    ):
        bulkmail.validate_file([record()], tmp_path, defaults={"prot": "993"})
    with pytest.raises(ConfigError, match=r"defaults: port must be text, a number or true/false"):
        bulkmail.validate_file([record()], tmp_path, defaults={"port": [993]})
    with pytest.raises(ConfigError, match=r"defaults set port twice"):
        bulkmail.validate_file([record()], tmp_path, defaults={"port": "1", "IMAP port": "2"})


def test_import_takes_every_option_the_command_line_has() -> None:
    portal = portal_settings(NOWHERE, {"retry_failed": True, "progress_every": 2.5}, "import_file")
    assert portal.retry_failed is True and portal.progress_every == 2.5


def test_import_file_in_a_running_event_loop_says_to_await_import_async(tmp_path: Path) -> None:
    import asyncio

    async def notebook_cell() -> None:  # Jupyter runs every cell inside its event loop
        bulkmail.import_file([record()], portal=NOWHERE, user="u@x.org", report_dir=tmp_path)

    with pytest.raises(ConfigError, match=r"^import_file\(\) runs its own event loop.*"
                       r"await bulkmail\.import_async\(\.\.\.\) there instead"):  # fmt: skip
        asyncio.run(notebook_cell())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("keyword", "value", "says"),
    [
        ("report_dir", None, "report_dir must be a folder path, not None"),
        ("report_mode", "world", "report_mode must be 'owner' or 'group', not a str"),
    ],
)
def test_the_report_folder_and_mode_of_the_wrong_kind_are_one_line(
    keyword: str, value: Any, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=f"^validate_file\\(\\): {says}"):
        bulkmail.validate_file([record()], **{keyword: value})
    with pytest.raises(ConfigError, match=f"^import_file\\(\\): {says}"):
        bulkmail.import_file([record()], portal=NOWHERE, **{keyword: value})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("logins", "says"),
    [
        (
            {"user": "robot@corp.example.org"},
            r"user='robot@corp\.example\.org' was given without its password=",
        ),
        ({"user": "robot@corp.example.org", "password": ""}, r"user=.* without its password="),
        (
            {"admin": "owner@corp.example.org"},
            r"admin='owner@corp\.example\.org' was given without its admin_password=",
        ),
    ],
)
def test_a_login_without_its_password_stops_before_the_portal_is_asked(
    logins: dict[str, str], says: str, tmp_path: Path
) -> None:
    with running(SimConfig()) as url:  # a login with no password would be a refused one
        with pytest.raises(ConfigError, match=f"^import_file\\(\\): {says}"):
            bulkmail.import_file([record()], portal=url, report_dir=tmp_path, **logins)
        stats = httpx.get(f"{url}/_sim/stats").json()
    assert stats["requests"] == 0
    assert list(tmp_path.iterdir()) == []


def test_a_one_pass_source_read_twice_names_what_reads_it_first(tmp_path: Path) -> None:
    rows = [{"email": "anna@gmail.com", "password": SECRET}]
    twice = r"reads them twice.*autofill='portal' every row's"
    with running(SimConfig()) as url, pytest.raises(ConfigError, match=twice):
        bulkmail.import_file(
                iter(rows), portal=url, user="u@corp.example.org", password="Portal-Kw-1",
                autofill="portal", dry_run=True, state=None, report_dir=tmp_path,
            )  # fmt: skip


@pytest.mark.parametrize(
    ("keyword", "value", "says"),
    [
        ("progress_every", 0, "progress_every must be above 0 seconds"),
        ("progress_every", -5.0, "progress_every must be above 0 seconds"),
        ("grace", -1, "grace must be 0 seconds or more"),
        ("give_up_after", 86401, "give_up_after must be above 0 and at most 86400 seconds"),
    ],
)
def test_seconds_out_of_range_are_refused(keyword: str, value: float, says: str) -> None:
    with pytest.raises(ConfigError, match=f"^{says}$"):
        bulkmail.import_file([record()], portal=NOWHERE, **{keyword: value})
