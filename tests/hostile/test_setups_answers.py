"""`import --autofill portal` against a portal whose GET mail/accounts/setups answers oddly:
each domain it does not answer fails its rows `autofill-failed` with one line and a hint about
the domain's settings (never a create's hint), the others go on, and nothing is a traceback."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from answers_portal import Answer, Portal, Request, answer, envelope, serving

from bulkmail.cli import main
from bulkmail.codes import Code

pytestmark = pytest.mark.slow

SETUPS = "GET /api/2.0/mail/accounts/setups"
GOOD = {"server": "imap.good.example", "port": "993", "incoming_encryption_type": 1,
        "smtp_server": "smtp.good.example", "smtp_port": "465", "outcoming_encryption_type": 1,
        "account": "nina@good.example"}  # fmt: skip
FAILED = {"status": 1, "statusCode": 500, "error": {"message": "boom", "hresult": 1, "data": {}}}


def by_domain(odd: Answer) -> Answer:
    """Answer good.example's settings, and `odd` for every other domain."""

    async def write(request: Request) -> None:
        if request.query.get("email", "").endswith("@good.example"):
            await answer(200, envelope(200, GOOD, count=1))(request)
        else:
            await odd(request)

    return write


ODD = {
    "500": (answer(500, json.dumps(FAILED).encode()), "portal-error: the portal failed: boom"),
    "empty-object": (answer(200, b"{}"), "unexpected-answer: the portal answered HTTP 200"),
    "a-list": (answer(200, envelope(200, [1, 2])), "unexpected-answer"),
    "superscript-port": (
        answer(200, envelope(200, {**GOOD, "server": "imap.odd.example", "port": "\u00b2"})),
        "the portal's settings for odd.example (accounts/setups) hold no servers",
    ),
}


@pytest.mark.parametrize(("odd", "said"), ODD.values(), ids=ODD)
def test_a_domain_the_portal_answers_oddly_fails_its_rows_with_a_hint_about_its_settings(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    odd: Answer,
    said: str,
) -> None:
    monkeypatch.setenv("BULKMAIL_PASSWORD", "Portal-pw-1")
    portal = Portal({SETUPS: by_domain(odd)})
    code = _import_two_domains(tmp_path, portal)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 1
    assert portal.seen[SETUPS] == 2  # once per domain
    (folder,) = (tmp_path / "r").iterdir()
    with (folder / "failed.csv").open(encoding="utf-8-sig", newline="") as f:
        (ann,) = list(csv.DictReader(f))
    with (folder / "succeeded.csv").open(encoding="utf-8-sig", newline="") as f:
        (nina,) = list(csv.DictReader(f))
    assert (ann["email"], ann["code"], ann["stage"]) == (
        "ann@odd.example", Code.AUTOFILL_FAILED, "validation",
    )  # fmt: skip
    assert said in ann["message"]
    # What to do about the domain's settings, not a create's hint ("after the mail servers
    # accepted the login", "bulkmail logs in again once"...) nor one of a wrong --portal.
    assert ann["hint"] == Code.AUTOFILL_FAILED.hint
    assert (nina["email"], nina["outcome"]) == ("nina@good.example", "created")


def test_a_question_refused_401_even_from_new_logins_stops_the_run_with_few_logins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 401 means the portal ended the session: the user logs in again and the question is
    asked again (run/renewal.py); a portal that refuses each new token at once (a proxy that
    drops the header would) stops the run after 2 of them, not a login per question."""
    monkeypatch.setenv("BULKMAIL_PASSWORD", "Portal-pw-1")
    portal = Portal({SETUPS: by_domain(answer(401, b"Unauthorized"))})
    code = _import_two_domains(tmp_path, portal)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 3
    assert portal.seen["POST /api/2.0/authentication"] == 3  # the first, and 2 again
    assert "session of it@corp.example mid-run and refused each of 2 new ones" in err
    assert "POST /api/2.0/mail/accounts" not in portal.seen


def test_an_address_the_portal_cannot_parse_does_not_fail_its_domains_other_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The domain is asked with an address the rule accepts: the first row's broken one
    made the portal answer 500 (FormatException), and every row of gmail.com failed."""
    monkeypatch.setenv("BULKMAIL_PASSWORD", "Portal-pw-1")
    asked: list[str] = []

    async def setups(request: Request) -> None:
        email = request.query.get("email", "")
        asked.append(email)
        if email.startswith("nina."):
            body = {**FAILED, "error": {"message": "The specified string is not in the form "
                                       "required for an e-mail address.", "data": {}}}  # fmt: skip
            await answer(500, json.dumps(body).encode())(request)
        else:
            await answer(200, envelope(200, GOOD, count=1))(request)

    sheet = tmp_path / "in.csv"
    sheet.write_text("email,password\nnina.@good.example,pw-1\nolga@good.example,pw-2\n")
    with serving(Portal({SETUPS: setups})) as url:
        code = main(
            ["import", str(sheet), "--portal", url, "--user", "it@corp.example",
             "--autofill", "portal", "--retries", "0", "--report-dir", str(tmp_path / "r"),
             "--state", str(tmp_path / "j.sqlite")]
        )  # fmt: skip
    assert "Traceback" not in "".join(capsys.readouterr())
    assert code == 1
    assert asked == ["olga@good.example"]
    (folder,) = (tmp_path / "r").iterdir()
    rows: dict[str, Any] = {}
    for name in ("failed.csv", "succeeded.csv"):
        with (folder / name).open(encoding="utf-8-sig", newline="") as f:
            rows |= {r["email"]: r for r in csv.DictReader(f)}
    assert rows["nina.@good.example"]["code"] == Code.EMAIL_INVALID
    assert rows["olga@good.example"]["outcome"] == "created"


def test_a_portal_that_only_answers_busy_stops_the_questions_and_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """503 with Retry-After for every question: past --give-up-after the questions stop and
    the run stops (exit 3), as the run's own outage rule says. Each domain was asked
    --retries times over whatever the time (hours for many domains), then every row failed
    as if the rows were wrong (exit 1)."""
    monkeypatch.setenv("BULKMAIL_PASSWORD", "Portal-pw-1")
    sheet = tmp_path / "in.csv"
    domains = 6
    rows = "".join(f"u@d{n}.example,pw-{n}\n" for n in range(domains))
    sheet.write_text("email,password\n" + rows)
    portal = Portal({SETUPS: answer(503, b"busy", Retry_After="0.05")})
    with serving(portal) as url:
        code = main(
            ["import", str(sheet), "--portal", url, "--user", "it@corp.example",
             "--autofill", "portal", "--retries", "1000000", "--give-up-after", "0.5",
             "--report-dir", str(tmp_path / "r"), "--state", str(tmp_path / "j.sqlite")]
        )  # fmt: skip
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 3
    assert portal.seen[SETUPS] < 1000  # not a million retries per domain
    (folder,) = (tmp_path / "r").iterdir()
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["abort_reason"].startswith(
        "the portal did not answer GET mail/accounts/setups for 0.5 s (--give-up-after): "
        "portal-unavailable"
    )
    assert summary["counts"]["created"] == 0


def _import_two_domains(tmp_path: Path, portal: Portal) -> int:
    """Import ann@odd.example and nina@good.example with --autofill portal against `portal`
    (--user it@corp.example, no retries); return the exit code. Reports in tmp_path/r."""
    sheet = tmp_path / "in.csv"
    with sheet.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(
            [["email", "password"], ["ann@odd.example", "pw-1"], ["nina@good.example", "pw-2"]]
        )
    with serving(portal) as url:
        return main(
            ["import", str(sheet), "--portal", url, "--user", "it@corp.example",
             "--autofill", "portal", "--retries", "0", "--report-dir", str(tmp_path / "r"),
             "--state", str(tmp_path / "j.sqlite")]
        )  # fmt: skip
