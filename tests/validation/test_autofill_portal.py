"""`--autofill portal`, the pure half: the portal's answers read (`portal.setups`) and put in
a row's blank cells (`PortalSetups.fill`); a cell wins over --set/--defaults, which win over
the portal; an answer of the portal's own pattern is marked as a guess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bulkmail.codes import Code
from bulkmail.models import Checked, Severity
from bulkmail.portal.setups import Setup, read_setup
from bulkmail.reader.table import read
from bulkmail.validation.autofill import PortalSetups, Unanswered, wanted
from bulkmail.validation.table import validate

GMAIL = Setup("imap.gmail.com", 993, 1, "smtp.gmail.com", 465, 1, local_login=False, guess=False)
YANDEX = Setup("imap.yandex.ru", 993, 1, "smtp.yandex.ru", 465, 1, local_login=True, guess=False)
GUESS = Setup("imap.corp.example", 993, 1, "smtp.corp.example", 25, 0, False, guess=True)


def answer(server: str, port: Any, enc: Any, smtp: str, smtp_port: Any, smtp_enc: Any,
           account: str = "anna@corp.example") -> dict[str, Any]:  # fmt: skip
    return {"server": server, "port": port, "incoming_encryption_type": enc,
            "smtp_server": smtp, "smtp_port": smtp_port, "outcoming_encryption_type": smtp_enc,
            "account": account}  # fmt: skip


@pytest.mark.parametrize(
    ("data", "pop3", "expected"),
    [
        (answer("imap.corp.example", "993", 1, "smtp.corp.example", "25", 0), False,
         Setup("imap.corp.example", 993, 1, "smtp.corp.example", 25, 0, False, guess=True)),
        (answer("pop.corp.example", "110", 0, "smtp.corp.example", "25", 0), True,
         Setup("pop.corp.example", 110, 0, "smtp.corp.example", 25, 0, False, guess=True)),
        # the pattern of the other protocol, or another port: looked up, not the guess
        (answer("pop.corp.example", "110", 0, "smtp.corp.example", "25", 0), False,
         Setup("pop.corp.example", 110, 0, "smtp.corp.example", 25, 0, False, guess=False)),
        (answer("imap.corp.example", "993", 1, "smtp.corp.example", "587", 2), False,
         Setup("imap.corp.example", 993, 1, "smtp.corp.example", 587, 2, False, guess=False)),
        (answer("imap.yandex.ru", 993, 1, "smtp.yandex.ru", 465, 1, account="ANNA"), False,
         Setup("imap.yandex.ru", 993, 1, "smtp.yandex.ru", 465, 1, True, guess=False)),
        (answer("", "993", 1, "smtp.corp.example", "25", 0), False, None),
        (answer("imap.corp.example", "x", 1, "smtp.corp.example", "25", 0), False, None),
        (answer("imap.corp.example", "993", 7, "smtp.corp.example", "25", 0), False, None),
        (answer("imap.corp.example", "993", True, "smtp.corp.example", "25", 0), False, None),
        (answer("imap.corp.example", "70000", 1, "smtp.corp.example", "25", 0), False, None),
        # digits Python's isdigit() takes and int() does not (a traceback once), or other
        # scripts' digits: a port is ASCII digits
        (answer("imap.corp.example", "\u00b2", 1, "smtp.corp.example", "25", 0), False, None),
        (answer("imap.corp.example", "993", 1, "smtp.corp.example", "\uff12\uff15", 0),
         False, None),
        ({}, False, None),
    ],
)  # fmt: skip
def test_read_setup(data: dict[str, Any], pop3: bool, expected: Setup | None) -> None:
    assert read_setup(data, "anna@corp.example", pop3=pop3) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"email": "Anna@Gmail.COM"}, ("gmail.com", False)),
        ({"email": "anna@gmail.com", "imap": "no"}, ("gmail.com", True)),
        ({"email": "anna@gmail.com", "server": "imap.x.org"}, ("gmail.com", False)),
        ({"email": "anna@gmail.com", "server": "a", "smtp_server": "b"}, None),
        ({"email": "anna"}, None),
        ({"email": "anna@ПОЧТА.рф"}, ("xn--80a1acny.xn--p1ai", False)),
        ({"email": "anna@xn--80a1acny.XN--P1AI"}, ("xn--80a1acny.xn--p1ai", False)),
        # Lowered as mailbox_key lowers a domain, not casefolded: straße.de and strasse.de
        # are two domains (xn--strae-oqa.de), and were asked as one.
        ({"email": "anna@Straße.de"}, ("xn--strae-oqa.de", False)),
    ],
)
def test_wanted(values: dict[str, str], expected: tuple[str, bool] | None) -> None:
    assert wanted(values) == expected


def checked(
    tmp_path: Path, text: str, setups: PortalSetups, defaults: dict[str, str] | None = None
) -> list[Checked]:
    path = tmp_path / "accounts.csv"
    path.write_text(text, encoding="utf-8")
    return list(validate(read(path), defaults=defaults, autofill=setups))


def notes(row: Checked) -> list[tuple[str, str, Severity, str]]:
    return [(p.column, p.code, p.severity, p.message) for p in row.problems if "autofill" in p.code]


def test_the_portals_settings_fill_a_sheet_of_email_and_password(tmp_path: Path) -> None:
    setups = PortalSetups(
        {("gmail.com", False): GMAIL, ("yandex.ru", False): YANDEX, ("corp.example", False): GUESS},
        asked=True,
    )
    text = "email,password\nnina@gmail.com,pw-1\nivan@yandex.ru,pw-2\nbob@corp.example,pw-3\n"
    gmail, yandex, guess = checked(tmp_path, text, setups)
    a = gmail.account
    assert a is not None
    assert (a.server, a.port, a.incoming_encryption_type, a.account) == (
        "imap.gmail.com", 993, 1, "nina@gmail.com")  # fmt: skip
    assert (a.smtp_server, a.smtp_port, a.outcoming_encryption_type) == ("smtp.gmail.com", 465, 1)
    source = "from the portal's settings for gmail.com (accounts/setups)"
    assert notes(gmail) == [
        ("server", "autofilled", Severity.INFO,
         f"server imap.gmail.com, port 993, incoming_encryption_type SSL {source}"),
        ("smtp_server", "autofilled", Severity.INFO,
         f"smtp_server smtp.gmail.com, smtp_port 465, outcoming_encryption_type SSL {source}"),
    ]  # fmt: skip
    assert yandex.account is not None and yandex.account.account == "ivan"
    assert ("account", "autofilled") in [(c, code) for c, code, _, _ in notes(yandex)]
    assert guess.account is not None and guess.account.smtp_port == 25
    assert notes(guess)[-1] == (
        "server", "autofill-guess", Severity.WARNING,
        "the portal does not know corp.example: imap.corp.example:993 and "
        "smtp.corp.example:25 are its guess from the name, not looked up",
    )  # fmt: skip


def test_a_cell_wins_over_set_which_wins_over_the_portal(tmp_path: Path) -> None:
    setups = PortalSetups({("gmail.com", False): GMAIL}, asked=True)
    text = "email,password,port,smtp_server\nnina@gmail.com,pw-1,143,\nbob@gmail.com,pw,,mx.b\n"
    rows = checked(tmp_path, text, setups, defaults={"smtp_server": "relay.corp.example"})
    first, second = (r.account for r in rows)
    assert first is not None and second is not None
    assert (first.server, first.port, first.smtp_server) == (
        "imap.gmail.com", 143, "relay.corp.example")  # fmt: skip
    assert (second.server, second.smtp_server) == ("imap.gmail.com", "mx.b")
    assert [c for c, *_ in notes(rows[0])] == ["server"]  # the SMTP side was the run's own


def test_a_domain_the_portal_did_not_answer_fails_its_rows(tmp_path: Path) -> None:
    failed = Unanswered("the portal's settings for corp.example failed: portal-error: boom", "fix")
    setups = PortalSetups({("corp.example", False): failed}, asked=True)
    text = "email,password,server,smtp_server\nbob@corp.example,pw,,\nann@x.org,pw,a.x,b.x\n"
    bob, ann = checked(tmp_path, text, setups)
    assert bob.account is None
    (problem,) = [p for p in bob.problems if p.code is Code.AUTOFILL_FAILED]
    assert (problem.column, problem.message, problem.hint) == ("server", failed.message, "fix")
    assert ann.ok  # its own servers: nothing asked, nothing failed


def test_before_the_answers_nothing_is_filled_but_a_stand_in_has_the_guess(
    tmp_path: Path,
) -> None:
    text = "email,password\nbob@corp.example,pw\n"
    (pending,) = checked(tmp_path, text, PortalSetups())
    assert pending.account is None
    assert {p.column for p in pending.problems if p.code is Code.REQUIRED} == {
        "server",
        "smtp_server",
    }
    (row,) = checked(tmp_path, text, PortalSetups(stand_in=True))
    assert row.account is not None and row.account.server == "imap.corp.example"
    assert notes(row) == []
