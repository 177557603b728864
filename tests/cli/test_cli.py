"""The command line as a user runs it: exact output, exit codes, one-line errors."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from bulkmail import __version__
from bulkmail.cli import build_parser, main
from bulkmail.cli.output import print_result
from bulkmail.models import InputInfo, Problem, Severity, Summary
from bulkmail.report.collector import RunResult
from bulkmail.report.preview import CODES_SHOWN, Preview
from bulkmail.report.writer import ReportPaths
from bulkmail.secrets import register, scrub
from bulkmail.settings import PortalSettings

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("accounts.xlsx", "accounts-ru.csv", "defaults.toml", "only-email-password.csv"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    return tmp_path


def test_validate_the_sample_prints_counts_problems_and_the_report(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "accounts.xlsx"]) == 1
    out = capsys.readouterr().out.splitlines()
    folder = next((here / "reports").iterdir())
    assert out[0].startswith("validate accounts.xlsx (xlsx, sheet 'Accounts'): 30 rows in ")
    assert out[1:7] == [
        "  valid 25, failed 5",
        "  row 1: column P 'Department' is not a known column (it is ignored)",
        "  errors: 5 in 5 rows (5 codes)",
        "    email-invalid: 1",
        "      fix: write one address like anna@example.org",
        '      row 7, email: "maria.lopez.example.org" has no @',
    ]
    assert out[-6:-2] == [
        "  warnings: 1 in 1 row (1 code)",
        "    port-encryption-mismatch: 1",
        "      fix: set the encryption to SSL, or check the port",
        "      row 16, port: port 993 expects SSL, encryption is StartTLS",
    ]
    assert out[-2:] == [f"report: reports/{folder.name}/report.xlsx", "exit code 1"]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["counts"]["valid"] == 25 and summary["exit_code"] == 1


def test_validate_the_russian_csv_reports_what_it_detected(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "accounts-ru.csv"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("validate accounts-ru.csv (csv, cp1251 detected, ';' detected): 8 rows")


def test_defaults_make_a_two_column_sheet_valid(here: Path) -> None:
    assert main(["validate", "only-email-password.csv", "--quiet"]) == 2
    assert (
        main(["validate", "only-email-password.csv", "--defaults", "defaults.toml", "--quiet"]) == 0
    )


def test_quiet_prints_nothing_but_the_final_event(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "accounts-ru.csv", "--quiet"]) == 0
    out, err = capsys.readouterr()
    folder = next((here / "reports").iterdir())
    assert out == "" and err.count("\n") == 1
    assert " run.finished command=validate exit_code=0 " in err
    assert f" report=reports/{folder.name} " in err and err.endswith(" total=8 valid=8\n")


def test_missing_columns_name_the_closest_header(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "bad.csv").write_text(
        "Email,Passwort,IMAP Server,SMTP Srv\na@b.org,x,i.b.org,s.b.org\n"
    )
    assert main(["validate", "bad.csv"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bulkmail: error: ") and err.count("\n") == 1
    assert "password" in err and "smtp_server" in err


def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["import", "x.csv"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "bulkmail: error: the following arguments are required: --portal "
        "(see `bulkmail import --help`)\n"
    )


def test_import_and_demo_defaults_are_the_run_settings_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = PortalSettings(url="https://portal.example.org")
    parser = build_parser()
    args = parser.parse_args(["import", "in.csv", "--portal", settings.url])
    assert (args.concurrency, args.max_concurrency, args.give_up_after) == (
        settings.concurrency,
        settings.max_concurrency,
        settings.give_up_after,
    )
    assert (args.timeout, args.retries, args.state) == (
        settings.timeout,
        settings.retries,
        settings.state,
    )
    assert (args.per_server, args.max_login_failures) == (
        settings.per_server,
        settings.max_login_failures,
    )
    assert parser.parse_args(["demo"]).concurrency == settings.concurrency
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # as one line, whatever the wrapping
    assert settings.concurrency is None and "at once (default auto: start at" in shown
    assert (
        "--max-concurrency N the most creates --concurrency auto puts in flight at once "
        f"(default {settings.max_concurrency}:" in shown
    )
    assert f"mid-run (default {settings.give_up_after:g}:" in shown
    assert f"per request (default {settings.timeout:g}:" in shown
    assert f"transient failure (default {settings.retries})" in shown
    assert f"journal of outcomes (default {settings.state})" in shown


@pytest.mark.parametrize(
    "portal",
    [
        "https://admin:Url-S3cret@portal.example.org",
        "https://admin:Url-S3cret@portal.example.org:8443/",
        "admin:Url-S3cret@portal.example.org",  # no scheme: still a password in a URL
        "https://Url-S3cret@portal.example.org/x?y=1",
    ],
)
def test_a_portal_url_with_a_password_is_refused_without_repeating_it(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, portal: str
) -> None:
    monkeypatch.setenv("BULKMAIL_PASSWORD", "Env-S3cret")
    args = ["import", "accounts.xlsx", "--portal", portal, "--user", "me@example.org"]
    assert main([*args, "--log-format", "json"]) == 2
    out, err = capsys.readouterr()
    host = "portal.example.org" + (":8443" if ":8443" in portal else "")
    folder = next((here / "reports").iterdir())
    assert out == f"report: reports/{folder.name}/summary.json\n"
    said = f"--portal holds a user name or password (...@{host}) (give the "
    said += "portal root only, e.g. https://portal.example.org, the login with --user and its "
    said += "password in BULKMAIL_PASSWORD or --password-file)"
    line = json.loads(err)
    assert (line["event"], line["message"], line["exit_code"]) == ("run.failed", said, 2)
    assert json.loads((folder / "summary.json").read_text())["error"] == said
    assert "S3cret" not in err and "S3cret" not in (folder / "summary.json").read_text()
    assert [p.name for p in folder.iterdir()] == ["summary.json"]  # the error, nothing sent
    assert not (here / ".bulkmail").exists()


def test_stray_arguments_are_named_without_their_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate", "x.csv", "--password", "Typed-S3cret", "--pwd=Other-S3cret"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        "bulkmail: error: unrecognized arguments: --password ... --pwd=... "
        "(see `bulkmail validate --help`)\n"
    )


def test_the_error_line_masks_a_registered_password(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The password, mistakenly given as the journal's path, comes back in the error.
    monkeypatch.setenv("BULKMAIL_PASSWORD", "Env-S3cret-9")
    (here / "Env-S3cret-9").mkdir()
    args = ["import", "accounts.xlsx", "--portal", "http://127.0.0.1:9", "--user", "me@x.org"]
    args += ["--give-up-after", "0.1"]  # nothing listens: no 10 s of retries first
    assert main([*args, "--state", "Env-S3cret-9", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bulkmail: error: journal ********") and "S3cret" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"bulkmail {__version__}\n"


def test_template_then_validate(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "new.xlsx"]) == 0
    assert main(["template", "new.xlsx"]) == 2  # never overwritten without --force
    assert main(["validate", "new.xlsx", "--quiet"]) == 0


@pytest.mark.slow
def test_demo_runs_the_bundled_sheet_against_the_embedded_simulator(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--latency", "0", "--log-format", "json"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("demo: portal simulator at http://127.0.0.1:")
    assert "  created 23, failed 7\n" in out
    assert "\nexit code 0\ndemo: the 7 failed rows are deliberate" in out
    assert "an import of this sheet exits 1, and the demo, which ran as intended, exits 0" in out
    summary = json.loads(next((here / "reports").glob("*/summary.json")).read_text())
    assert (summary["counts"]["created"], summary["counts"]["failed"]) == (23, 7)
    *_, finished, last = (json.loads(line) for line in err.splitlines())
    # The import's code is 1 (its report and run.finished say so); the demo's last word is 0,
    # what it exits with, and the console names both.
    assert (finished["event"], finished["exit_code"], summary["exit_code"]) == (
        "run.finished",
        1,
        1,
    )
    assert (last["event"], last["exit_code"], last["import_exit_code"]) == ("demo.finished", 0, 1)


@pytest.mark.slow
def test_demo_of_your_own_sheet_exits_with_its_import_and_calls_no_failure_deliberate(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only the bundled sample's failures are on purpose: a sheet given with --input that
    # fails rows is an import that failed rows (exit 1), whatever the demo says of its own.
    header = "email,password,server,smtp_server,portal_user,portal_password\n"
    sheet = here / "mine.csv"
    sheet.write_text(
        header
        + "not-an-address,Mbox-pw-1,imap.example.org,smtp.example.org,a@example.org,Pw-1\n"
        + "ok@example.org,Mbox-pw-2,imap.example.org,smtp.example.org,a@example.org,Pw-1\n",
        encoding="utf-8",
    )
    assert main(["demo", "--latency", "0", "--input", str(sheet), "--log-format", "json"]) == 1
    out, err = capsys.readouterr()
    assert "  created 1, failed 1\n" in out and out.endswith("\nexit code 1\n")
    assert "deliberate" not in out
    last = json.loads(err.splitlines()[-1])
    assert (last["event"], last["exit_code"], last["import_exit_code"]) == ("demo.finished", 1, 1)


@pytest.mark.slow
def test_a_quiet_demo_keeps_its_last_word_which_says_what_it_exits_with(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--latency", "0", "--log-format", "json", "--quiet"]) == 0
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in err.splitlines()]
    assert out == ""
    assert [(e["event"], e["exit_code"]) for e in events] == [
        ("run.finished", 1),  # the import's own code, as in its summary.json
        ("demo.finished", 0),  # what the process exits with
    ]


def test_the_console_summary_masks_registered_secrets_in_every_line(tmp_path: Path) -> None:
    register("Run-Pa55word")
    info = InputInfo("in/Run-Pa55word.csv", "csv")
    summary = Summary("import", 1, {"failed": 1}, 1, info, "a", "b", 1.0, problems={"x": 1})
    header = Problem(1, "", "unknown-column", Severity.WARNING, "column B 'Run-Pa55word' ...")
    preview = Preview()
    line = "row 2: said Run-Pa55word"
    preview.add(Severity.ERROR, "portal-error", "not Run-Pa55word", lambda: line, str)
    preview.row_done(Severity.ERROR)
    paths = ReportPaths(*(tmp_path / name for name in ("r", "x.xlsx", "s", "f", "j")))
    out = io.StringIO()
    print_result(RunResult(summary, paths, preview, (header,)), out)
    assert "Pa55" not in out.getvalue()
    assert out.getvalue().splitlines()[:7] == [
        "import in/********.csv (csv): 1 row in 1.0 s",
        "  failed 1",
        "  row 1: column B '********' ...",
        "  errors: 1 in 1 row (1 code)",
        "    portal-error: 1",
        "      fix: not ********",
        "      row 2: said ********",
    ]


def test_a_password_given_as_a_default_is_masked_like_the_portal_password(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BULKMAIL_PASSWORD", "Env-S3cret-2")
    (here / "in.csv").write_text("email,server,smtp_server\na@x.org,imap.x.org,smtp.x.org\n")
    args = ["import", "in.csv", "--portal", "http://127.0.0.1:9", "--user", "me@x.org"]
    args += ["--give-up-after", "0.1"]  # nothing listens: no 10 s of retries first
    (here / "defaults.toml").write_text('password = "Dflt-S3cret-1"\n')
    defaults = ["--defaults", "defaults.toml", "--retries", "0", "--quiet"]
    assert main([*args, *defaults]) in (1, 3)  # nothing listens on port 9
    assert scrub("Dflt-S3cret-1 and Env-S3cret-2") == "******** and ********"


IMPORT = ["import", "accounts.xlsx", "--user", "me@x.org"]


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--timeout", "nan"], "argument --timeout: must be above 0 and at most 3600, not nan"),
        (["--timeout", "0"], "argument --timeout: must be above 0 and at most 3600, not 0"),
        (["--timeout", "-1"], "argument --timeout: must be above 0 and at most 3600, not -1"),
        (["--retries", "-5"], "argument --retries: must be 0 or more, not -5"),
        (
            ["-c", "100000"],
            "argument --concurrency/-c: must be from 1 to 1,000, not 100000 (or auto)",
        ),
        (["--max-concurrency", "0"], "argument --max-concurrency: must be from 1 to 1,000, not 0"),
        (
            ["--give-up-after", "0"],
            "argument --give-up-after: must be above 0 and at most 86400, not 0",
        ),
        (["--per-server", "0"], "argument --per-server: must be from 1 to 1,000, not 0"),
        (["--max-login-failures", "0"], "argument --max-login-failures: must be 1 or more, not 0"),
        (["--admin", " "], "argument --admin: must be a portal login, not blank"),
        (["--user", ""], "argument --user: must be a portal login, not blank"),
    ],
)
def test_odd_option_values_are_one_line_and_exit_2(
    here: Path, capsys: pytest.CaptureFixture[str], option: list[str], said: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([*IMPORT, "--portal", "http://127.0.0.1:9", *option])
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert err.startswith(f"bulkmail: error: {said}") and err.count("\n") == 1, err
    assert not (here / "reports").exists()


@pytest.mark.parametrize(
    ("portal", "said"),
    [
        ("http://[::1", "--portal is not a usable URL (Invalid IPv6 URL)"),
        ("http://portal.example.org/\nx", "--portal holds a space or a control character"),
        ("http://p.example.org/?token=zzTOP", "--portal has a ?query or #fragment"),
        ("http://p.example.org/#zzTOP", "--portal has a ?query or #fragment"),
        ("http://p.example.org:99999", "--portal is not a usable URL (Port out of range"),
    ],
)
def test_a_portal_that_is_no_portal_root_is_one_line_and_exit_2(
    here: Path, capsys: pytest.CaptureFixture[str], portal: str, said: str
) -> None:
    assert main([*IMPORT, "--portal", portal]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"bulkmail: error: {said}") and err.count("\n") == 1, err
    (summary,) = (here / "reports").glob("*/*")  # the error's summary.json, nothing sent
    assert out == f"report: {summary.relative_to(here)}\n" and summary.name == "summary.json"
    assert "zzTOP" not in err + summary.read_text()


@pytest.mark.parametrize(
    "changes",
    [
        {"concurrency": 0},
        {"max_concurrency": 0},
        {"give_up_after": float("nan")},
        {"timeout": float("nan")},
        {"timeout": -1.0},
        {"retries": -1},
        {"per_server": 0},
        {"per_server": 1001},
        {"max_login_failures": 0},
    ],
)
def test_portal_settings_refuse_values_a_run_cannot_use(changes: dict[str, float]) -> None:
    from bulkmail.errors import ConfigError

    with pytest.raises(ConfigError):
        PortalSettings(url="https://portal.example.org", **changes)  # type: ignore[arg-type]


def test_an_aborted_runs_summary_says_why_not_that_there_were_no_errors(tmp_path: Path) -> None:
    info = InputInfo("in.csv", "csv")
    reason = "the portal did not answer for 300 s (connect-failed); run the same command again"
    extra = {"abort_reason": reason}
    counts = {"not attempted": 2}
    problems = {"not-attempted": 2}
    summary = Summary("import", 2, counts, 3, info, "a", "b", 1.0, problems=problems, extra=extra)
    paths = ReportPaths(*(tmp_path / name for name in ("r", "x.xlsx", "s", "f", "j")))
    out = io.StringIO()
    print_result(RunResult(summary, paths, Preview(), ()), out)
    lines = out.getvalue().splitlines()
    assert lines[1:3] == ["  not attempted 2", f"  stopped: {reason}"]
    assert "no errors" not in out.getvalue()


@pytest.mark.parametrize(
    ("left", "said"),
    [
        (
            3,
            "  interrupted with 3 rows not sent: run the same command again to finish the rest "
            "(rows done are skipped)",
        ),
        (0, "  interrupted, but every row had finished: nothing is left to send"),
    ],
)
def test_an_interrupted_runs_summary_says_whether_the_same_command_has_rows_to_finish(
    tmp_path: Path, left: int, said: str
) -> None:
    info = InputInfo("in.csv", "csv")
    counts = {"created": 2, "not attempted": left}
    extra = {"interrupted": True, "abort_reason": "interrupted by SIGINT"}
    summary = Summary("import", 2 + left, counts, 3, info, "a", "b", 1.0, extra=extra)
    paths = ReportPaths(*(tmp_path / name for name in ("r", "x.xlsx", "s", "f", "j")))
    out = io.StringIO()
    print_result(RunResult(summary, paths, Preview(), ()), out)
    assert out.getvalue().splitlines()[-3] == said


def test_codes_past_the_first_count_one_problem_as_one(tmp_path: Path) -> None:
    # The sample's summary said "... 2 more codes (2 errors)", and "(1 errors)" for one.
    preview = Preview()
    codes = [f"code-{i}" for i in range(CODES_SHOWN + 1)]
    for row, code in enumerate(codes):
        for _ in range(2 if code != codes[-1] else 1):
            preview.add(Severity.ERROR, code, "fix it", lambda row=row: f"row {row}", str)
        preview.row_done(Severity.ERROR)
    info = InputInfo("in.csv", "csv")
    summary = Summary("validate", 6, {"failed": 6}, 1, info, "a", "b", 1.0)
    paths = ReportPaths(*(tmp_path / name for name in ("r", "x.xlsx", "s", "f", "j")))
    out = io.StringIO()
    print_result(RunResult(summary, paths, preview, ()), out)
    hidden = f"    ... 1 more code (1 error) in the report's Failed sheet: {codes[-1]}"
    assert hidden in out.getvalue().splitlines()
