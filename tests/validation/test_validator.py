"""The validator's rules, the defaults (--set and TOML), column checks and duplicates."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from bulkmail.codes import Code
from bulkmail.errors import ConfigError, InputError
from bulkmail.models import Account, Checked, InputInfo, Problem, Row, Severity, Table
from bulkmail.reader.defaults import load_defaults, merge, parse_set
from bulkmail.schema import ALIASES, MASK, SECRET_FIELDS, fold
from bulkmail.validation.cells import Findings, as_int, parse_auth, parse_bool, parse_encryption
from bulkmail.validation.table import check_columns, validate, validate_row

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO

# Every cell given and consistent: no problem at all, so each case shows only its own.
FULL = {
    "name": "Anna Berg",
    "email": "anna@example.org",
    "account": "anna",
    "password": "Imap-Secret-1",
    "server": "imap.example.org",
    "port": "993",
    "imap": "true",
    "incoming_encryption_type": "SSL",
    "auth_type_in": "Login",
    "smtp_server": "smtp.example.org",
    "smtp_port": "465",
    "outcoming_encryption_type": "SSL",
    "smtp_auth": "true",
    "auth_type_smtp": "Login",
    "smtp_account": "anna",
    "smtp_password": "Smtp-Secret-2",
    "restrict": "false",
}
FULL_ACCOUNT = Account(
    email="anna@example.org",
    name="Anna Berg",
    account="anna",
    password="Imap-Secret-1",
    server="imap.example.org",
    port=993,
    imap=True,
    incoming_encryption_type=1,
    auth_type_in=1,
    smtp_server="smtp.example.org",
    smtp_port=465,
    smtp_auth=True,
    smtp_account="anna",
    smtp_password="Smtp-Secret-2",
    outcoming_encryption_type=1,
    auth_type_smtp=1,
    restrict=False,
)
MINIMAL = {
    "email": "anna@example.org",
    "password": "Imap-Secret-1",
    "server": "imap.example.org",
    "smtp_server": "smtp.example.org",
}
# What MINIMAL becomes: SSL on both sides, IMAP, the incoming login and password for SMTP.
MINIMAL_ACCOUNT = dataclasses.replace(
    FULL_ACCOUNT,
    name="",
    account="anna@example.org",
    smtp_account="anna@example.org",
    smtp_password="Imap-Secret-1",
)
MINIMAL_NOTES = [
    "account",
    "imap",
    "incoming_encryption_type",
    "port",
    "outcoming_encryption_type",
    "smtp_port",
    "smtp_account",
    "smtp_password",
]


def found(problems: list[Problem], *, notes: bool = False) -> list[tuple[str, Severity, str]]:
    """Return (code, severity, column) of each problem, notes left out unless asked.

    Every code must be a registry member, not text that happens to equal one (test_codes.py).
    """
    assert [p.code for p in problems if not isinstance(p.code, Code)] == []
    assert [p.code for p in problems if p.severity is not p.code.severity] == []
    return [(p.code, p.severity, p.column) for p in problems if notes or p.severity is not N]


def test_full_row_has_no_problem() -> None:
    assert validate_row(FULL, 2) == (FULL_ACCOUNT, [])


RULES = [
    # required values
    ({"email": ""}, [("required", E, "email")]),
    ({"password": ""}, [("required", E, "password")]),
    ({"password": "   "}, [("required", E, "password")]),
    ({"server": ""}, [("required", E, "server")]),
    ({"smtp_server": " "}, [("required", E, "smtp_server")]),
    # email syntax
    ({"email": "anna.example.org"}, [("email-invalid", E, "email")]),
    ({"email": "Anna Berg <anna@example.org>"}, [("email-invalid", E, "email")]),
    ({"email": "anna@@example.org"}, [("email-invalid", E, "email")]),
    ({"email": "anna berg@example.org"}, [("email-invalid", E, "email")]),
    ({"email": "a@example.org, b@example.org"}, [("email-invalid", E, "email")]),
    ({"email": ".anna@example.org"}, [("email-invalid", E, "email")]),
    ({"email": "anna@example..org"}, [("email-invalid", E, "email")]),
    ({"email": "anna@-example.org"}, [("email-invalid", E, "email")]),
    ({"email": "anna@"}, [("email-invalid", E, "email")]),
    ({"email": "anna@localhost"}, [("email-no-tld", W, "email")]),
    ({"email": "anna@192.0.2.1"}, [("email-invalid", E, "email")]),
    ({"email": "anna@" + "a" * 64 + ".org"}, [("email-invalid", E, "email")]),
    ({"email": "anna@exam(ple.org"}, [("email-invalid", E, "email")]),
    ({"email": "an(na@example.org"}, [("email-invalid", E, "email")]),
    ({"email": "anna.@example.org"}, [("email-invalid", E, "email")]),
    ({"email": "anna@example.org\u00a0x"}, [("lookalike-character", E, "email")]),
    # the stricter reading where the portal's facts are silent (docs/portal-api.md §9)
    ({"email": "anna@example.org."}, [("email-invalid", E, "email")]),
    ({"email": "anna@mail_host.example.org"}, [("email-invalid", E, "email")]),
    ({"email": "anna@[192.0.2.1]"}, []),
    ({"email": "анна@почта.рф"}, []),
    ({"email": "o'hara+news@mail.example.org"}, []),
    # host syntax
    ({"server": "imaps://imap.example.org"}, [("host-invalid", E, "server")]),
    ({"server": "imap.example.org:993"}, [("host-invalid", E, "server")]),
    ({"server": "imap example.org"}, [("host-invalid", E, "server")]),
    ({"server": "imap.example.org/mail"}, [("host-invalid", E, "server")]),
    ({"server": "anna@example.org"}, [("host-invalid", E, "server")]),
    ({"server": "-imap.example.org"}, [("host-invalid", E, "server")]),
    ({"server": "999.0.2.1"}, [("host-invalid", E, "server")]),
    ({"server": "a" * 64 + ".example.org"}, [("host-invalid", E, "server")]),
    ({"smtp_server": "smtp.example.org:587"}, [("host-invalid", E, "smtp_server")]),
    ({"server": "imap..example.org"}, [("host-invalid", E, "server")]),
    ({"server": "imap.example.org:"}, [("host-invalid", E, "server")]),
    ({"server": "192.0.2.10"}, []),
    ({"server": "2001:db8::1"}, []),
    ({"server": "[2001:db8::1]"}, []),
    ({"server": "mailhost"}, []),
    ({"server": "imap.example.org."}, []),
    ({"server": "почта.пример.рф"}, []),
    # ports
    ({"port": "99a"}, [("port-invalid", E, "port")]),
    ({"port": "993.5"}, [("port-invalid", E, "port")]),
    ({"port": "0"}, [("port-out-of-range", E, "port")]),
    ({"port": "99999"}, [("port-out-of-range", E, "port")]),
    ({"port": "-993"}, [("port-out-of-range", E, "port")]),
    ({"smtp_port": "smtp"}, [("port-invalid", E, "smtp_port")]),
    ({"smtp_port": "65536"}, [("port-out-of-range", E, "smtp_port")]),
    ({"port": "993.0"}, []),
    # enums and booleans
    (
        {"incoming_encryption_type": "TLS1.3"},
        [("encryption-invalid", E, "incoming_encryption_type")],
    ),
    ({"outcoming_encryption_type": "3"}, [("encryption-invalid", E, "outcoming_encryption_type")]),
    ({"auth_type_in": "Kerberos"}, [("auth-invalid", E, "auth_type_in")]),
    ({"auth_type_smtp": "2"}, [("auth-invalid", E, "auth_type_smtp")]),
    ({"imap": "maybe"}, [("bool-invalid", E, "imap")]),
    ({"smtp_auth": "2"}, [("bool-invalid", E, "smtp_auth")]),
    ({"restrict": "last month"}, [("bool-invalid", E, "restrict")]),
    # what the portal cannot do
    ({"auth_type_in": "OAuth2"}, [("oauth2-unsupported", E, "auth_type_in")]),
    ({"auth_type_smtp": "5"}, [("oauth2-unsupported", E, "auth_type_smtp")]),
    ({"imap": "false", "port": "995", "auth_type_in": "Ntlm"}, [("ntlm-pop3", E, "auth_type_in")]),
    (
        {"imap": "", "port": "995", "auth_type_in": "7"},
        [("defaulted", N, "imap"), ("ntlm-pop3", E, "auth_type_in")],
    ),
    ({"auth_type_in": "Ntlm"}, []),
    # contradictions that still let the row through
    ({"incoming_encryption_type": "StartTLS"}, [("port-encryption-mismatch", W, "port")]),
    ({"incoming_encryption_type": "None"}, [("port-encryption-mismatch", W, "port")]),
    ({"port": "143"}, [("port-encryption-mismatch", W, "port")]),
    ({"smtp_port": "587"}, [("port-encryption-mismatch", W, "smtp_port")]),
    ({"outcoming_encryption_type": "StartTLS"}, [("port-encryption-mismatch", W, "smtp_port")]),
    ({"port": "995"}, [("protocol-port-mismatch", W, "imap")]),
    (
        {"port": "143", "imap": "false", "incoming_encryption_type": "StartTLS"},
        [("protocol-port-mismatch", W, "imap")],
    ),
    ({"port": "465"}, [("protocol-port-mismatch", W, "port")]),
    ({"smtp_port": "993"}, [("protocol-port-mismatch", W, "smtp_port")]),
    ({"smtp_auth": "false"}, [("smtp-auth-ignored", W, "auth_type_smtp")]),
    ({"auth_type_smtp": "None"}, [("smtp-auth-none", W, "auth_type_smtp")]),
    ({"smtp_auth": "no", "auth_type_smtp": "0"}, []),
    # secrets
    ({"password": " Imap-Secret-1"}, [("password-whitespace", W, "password")]),
    ({"smtp_password": "Smtp-Secret-2\t"}, [("password-whitespace", W, "smtp_password")]),
    ({"password": "Imap Secret 1"}, []),
    ({"password": MASK}, [("password-masked", E, "password")]),
    ({"smtp_password": MASK}, [("password-masked", E, "smtp_password")]),
    # portal identity (a portal_user key means the sheet has the column)
    ({"portal_user": ""}, [("portal-user-missing", E, "portal_user")]),
    ({"portal_user": "boss@example.org"}, [("portal-password-missing", E, "portal_password")]),
    (
        {"portal_user": "anna berg", "portal_password": "Portal-Anna-2026"},
        [("portal-user-invalid", E, "portal_user")],
    ),
    (
        {"portal_user": "boss@example.org", "portal_password": MASK},
        [("password-masked", E, "portal_password")],
    ),
    (
        {"portal_user": "boss@example.org", "portal_password": "Portal-Boss-2026 "},
        [("password-whitespace", W, "portal_password")],
    ),
    ({"portal_password": "Portal-Anna-2026"}, [("portal-password-unused", W, "portal_password")]),
    ({"portal_user": "boss@example.org", "portal_password": "Portal-Boss-2026"}, []),
]


@pytest.mark.parametrize(("changes", "expected"), RULES)
def test_rule(changes: dict[str, str], expected: list[tuple[str, Severity, str]]) -> None:
    account, problems = validate_row({**FULL, **changes}, 7)
    assert found(problems, notes=True) == expected
    assert all(p.row == 7 and p.message for p in problems)
    blocked = any(p.severity is E for p in problems)
    assert (account is None) is blocked


@pytest.mark.parametrize(("changes", "expected"), RULES)
def test_no_secret_in_any_problem(changes: dict[str, str], expected: object) -> None:
    row = {**FULL, **changes, "portal_password": changes.get("portal_password", "Portal-X-99")}
    _, problems = validate_row(row, 7, run_user="boss@example.org")
    secrets = [row[f].strip() for f in SECRET_FIELDS if row.get(f, "").strip() not in ("", MASK)]
    for problem in problems:
        for secret in secrets:
            assert secret not in problem.message and secret not in problem.hint


FILLED = [
    ({}, {}, MINIMAL_NOTES),
    (
        {"port": "995"},
        {"port": 995, "imap": False},
        [
            "account",
            "imap",
            "incoming_encryption_type",
            "outcoming_encryption_type",
            "smtp_port",
            "smtp_account",
            "smtp_password",
        ],
    ),
    ({"port": "110"}, {"port": 110, "imap": False, "incoming_encryption_type": 2}, None),
    ({"port": "143"}, {"port": 143, "incoming_encryption_type": 2}, None),
    ({"port": "1143"}, {"port": 1143, "incoming_encryption_type": 2}, None),
    ({"port": "10993.0"}, {"port": 10993, "incoming_encryption_type": 2}, None),
    ({"incoming_encryption_type": "starttls"}, {"port": 143, "incoming_encryption_type": 2}, None),
    (
        {"imap": "нет", "incoming_encryption_type": "plain"},
        {"port": 110, "imap": False, "incoming_encryption_type": 0},
        None,
    ),
    ({"imap": "POP3"}, {"port": 995, "imap": False}, None),
    ({"smtp_port": "25"}, {"smtp_port": 25, "outcoming_encryption_type": 0}, None),
    ({"smtp_port": "587"}, {"smtp_port": 587, "outcoming_encryption_type": 2}, None),
    ({"outcoming_encryption_type": "0"}, {"smtp_port": 25, "outcoming_encryption_type": 0}, None),
    (
        {"outcoming_encryption_type": "Start TLS"},
        {"smtp_port": 587, "outcoming_encryption_type": 2},
        None,
    ),
    (
        {"incoming_encryption_type": "SSL/TLS", "auth_type_in": "cram-md5"},
        {"auth_type_in": 4},
        None,
    ),
    (
        {"smtp_auth": "FALSE"},
        {"smtp_auth": False, "auth_type_smtp": 0, "smtp_account": "", "smtp_password": ""},
        None,
    ),
    (
        {"auth_type_smtp": "none"},
        {"smtp_auth": False, "auth_type_smtp": 0, "smtp_account": "", "smtp_password": ""},
        None,
    ),
    ({"auth_type_smtp": "Ntlm"}, {"auth_type_smtp": 7}, None),
    ({"account": "anna.b"}, {"account": "anna.b", "smtp_account": "anna.b"}, None),
    ({"smtp_password": "Smtp-3"}, {"smtp_password": "Smtp-3"}, None),
    ({"restrict": "Да", "name": "Анна Берг"}, {"restrict": True, "name": "Анна Берг"}, None),
    (
        {"email": "Anna.Berg@Example.ORG"},
        {
            "email": "Anna.Berg@Example.ORG",
            "account": "Anna.Berg@Example.ORG",
            "smtp_account": "Anna.Berg@Example.ORG",
        },
        None,
    ),
    ({"password": "123456"}, {"password": "123456", "smtp_password": "123456"}, None),
]


@pytest.mark.parametrize(("changes", "fields", "notes"), FILLED)
def test_blank_cells_are_filled(
    changes: dict[str, str], fields: dict[str, object], notes: list[str] | None
) -> None:
    account, problems = validate_row({**MINIMAL, **changes}, 3)
    assert account == dataclasses.replace(MINIMAL_ACCOUNT, **fields)  # type: ignore[arg-type]
    assert found(problems) == []
    if notes is not None:
        assert [p.column for p in problems] == notes


def test_notes_say_what_was_assumed() -> None:
    _, problems = validate_row({**MINIMAL, "port": "995"}, 3)
    assert [str(p) for p in problems[:3]] == [
        "row 3, account: account taken from email anna@example.org",
        "row 3, imap: POP3 assumed from port 995",
        "row 3, incoming_encryption_type: SSL assumed from port 995",
    ]


def test_messages_name_value_and_fix() -> None:
    cases = [
        (
            {"port": "99999"},
            "row 4, port: port 99999 is outside 1..65535 (use the "
            "server's port: IMAP 993 or 143, POP3 995 or 110, SMTP 465, 587 or 25)",
        ),
        (
            {"server": "imap.example.org:993"},
            'row 4, server: "imap.example.org:993" has '
            "a port in it (put 993 in port and only imap.example.org here)",
        ),
        (
            {"server": "imaps://imap.example.org"},
            'row 4, server: "imaps://imap.example.org"'
            " has a scheme (drop the scheme: write imap.example.org)",
        ),
        (
            {"incoming_encryption_type": "tls"},
            'row 4, incoming_encryption_type: "tls" is '
            "not an encryption type (use SSL for port 993, 995 or 465 and StartTLS for 143, "
            "110 or 587)",
        ),
        (
            {"password": MASK},
            "row 4, password: password is the mask ********, not a "
            "password (fill in the real password, or feed the original sheet with "
            "--secrets-from)",
        ),
    ]
    for changes, text in cases:
        assert [str(p) for p in validate_row({**FULL, **changes}, 4)[1]] == [text]


PORTAL = [  # (portal cells, run_user) -> (portal_user, portal_password) of the account
    ({}, None, (None, None)),
    ({}, "boss@example.org", (None, None)),
    ({"portal_user": ""}, "boss@example.org", (None, None)),
    ({"portal_user": "Boss@Example.org"}, "boss@example.org", (None, None)),
    (
        {"portal_user": "anna@example.org", "portal_password": "Portal-Anna-2026"},
        "boss@example.org",
        ("anna@example.org", "Portal-Anna-2026"),
    ),
    (
        {"portal_user": "boss@example.org", "portal_password": "Portal-Boss-2026"},
        "boss@example.org",
        ("boss@example.org", "Portal-Boss-2026"),
    ),
]


@pytest.mark.parametrize(("cells", "run_user", "owner"), PORTAL)
def test_portal_identity(
    cells: dict[str, str], run_user: str | None, owner: tuple[str | None, str | None]
) -> None:
    account, problems = validate_row({**FULL, **cells}, 2, run_user=run_user)
    assert problems == []
    assert account == dataclasses.replace(
        FULL_ACCOUNT, portal_user=owner[0], portal_password=owner[1]
    )


def test_defaults_fill_blank_cells_and_cells_win() -> None:
    defaults = {
        "server": "imap.example.net",
        "port": "143",
        "incoming_encryption_type": "2",
        "smtp_server": "smtp.example.net",
        "name": "Northwind",
    }
    cells = {"email": "anna@example.org", "password": "P-1", "server": "", "name": "Anna"}
    account, problems = validate_row(cells, 5, defaults=defaults)
    assert account is not None
    assert (
        account.server,
        account.port,
        account.incoming_encryption_type,
        account.name,
        account.smtp_server,
    ) == ("imap.example.net", 143, 2, "Anna", "smtp.example.net")
    assert found(problems) == []


def test_a_portal_user_default_means_a_portal_column() -> None:
    _, problems = validate_row(MINIMAL, 2, defaults={"portal_user": "boss@example.org"})
    assert found(problems) == [("portal-password-missing", E, "portal_password")]


# --- whole tables ---------------------------------------------------------------------------


def table(headers: list[str | None], rows: list[list[str]] | Iterator[Row]) -> Table:
    """Return a Table whose headers are the canonical names (None: an ignored column)."""
    rows_iter = (
        rows
        if isinstance(rows, Iterator)
        else (Row(number, tuple(cells)) for number, cells in enumerate(rows, start=2))
    )
    return Table(
        headers=tuple(h or "Notes" for h in headers),
        fields=tuple(headers),
        info=InputInfo(path="accounts.csv", format="csv"),
        rows=rows_iter,
    )


HEADERS: list[str | None] = [
    "portal_user",
    "portal_password",
    "email",
    "password",
    "server",
    "smtp_server",
    None,
]


def test_duplicates_across_rows() -> None:
    rows = [
        [
            "anna@example.org",
            "Pa-1",
            "anna@example.org",
            "p1",
            "imap.example.org",
            "smtp.example.org",
            "",
        ],
        [
            "boss@example.org",
            "Pb-1",
            "anna@example.org",
            "p2",
            "imap.example.org",
            "smtp.example.org",
            "",
        ],
        [
            "ANNA@example.org",
            "Pa-1",
            "Anna@Example.org",
            "p3",
            "imap.example.org",
            "smtp.example.org",
            "",
        ],
        ["", "", "anna@example.org", "p4", "imap.example.org", "smtp.example.org", "x"],
        ["", "", "anna@example.org", "p5", "imap.example.org", "smtp.example.org", ""],
    ]
    checked = list(validate(table(HEADERS, rows), run_user="admin@example.org"))
    assert [c.row.number for c in checked] == [2, 3, 4, 5, 6]
    assert [c.ok for c in checked] == [True, True, False, True, False]
    assert [str(p) for c in checked for p in c.problems if p.severity is E] == [
        "row 4, email: Anna@Example.org is the same mailbox as row 2 for portal user "
        "ANNA@example.org: the portal would overwrite it (delete this row or merge it into "
        "row 2)",
        "row 6, email: anna@example.org is the same mailbox as row 5 for portal user "
        "admin@example.org: the portal would overwrite it (delete this row or merge it into "
        "row 5)",
    ]


def test_a_duplicate_quotes_its_cells_printable() -> None:
    email, owner = "anna\x1b[2J@example.org", "boss\n@example.org"
    rows = [[owner, "Pb-1", email, "p1", "imap.example.org", "smtp.example.org", ""]]
    checked = list(validate(table(HEADERS, rows * 2)))
    assert [p.message for p in checked[1].problems if p.code == "duplicate-account"] == [
        "anna\\x1b[2J@example.org is the same mailbox as row 2 for portal user "
        "boss\\n@example.org: the portal would overwrite it"
    ]


def test_duplicates_without_a_portal_user() -> None:
    rows = [["anna@example.org", "p1", "imap.example.org", "smtp.example.org"]] * 2
    checked = list(validate(table(["email", "password", "server", "smtp_server"], rows)))
    assert [(p.code, p.message) for p in checked[1].problems if p.severity is E] == [
        (
            "duplicate-account",
            "anna@example.org is the same mailbox as row 2 for the run's "
            "portal user: the portal would overwrite it",
        )
    ]


def test_repeated_settings_are_reported_on_each_row() -> None:
    # Settings are checked once per distinct set of cells: each row still gets its own
    # problems, with its own row number and its own login.
    headers: list[str | None] = ["email", "password", "server", "port", "imap", "smtp_server"]
    pop3_port = ["imap.example.org", "995", "true", "smtp.example.org"]
    rows = [
        ["anna@example.org", "p1", *pop3_port],
        ["bob@example.org", "p2", "imap.example.org", "99a", "true", "smtp.example.org"],
        ["carl@example.org", "p3", *pop3_port],
    ]
    checked = list(validate(table(headers, rows)))
    assert [c.ok for c in checked] == [True, False, True]
    assert [str(p) for p in checked[2].problems] == [
        "row 4, account: account taken from email carl@example.org",
        "row 4, incoming_encryption_type: SSL assumed from port 995",
        "row 4, imap: port 995 is POP3's, imap is true (set imap to false for POP3, "
        "or use the IMAP port (993 or 143))",
        "row 4, outcoming_encryption_type: SSL assumed: no port given",
        "row 4, smtp_port: 465 assumed: the SMTP port for SSL",
        "row 4, smtp_account: smtp_account taken from the incoming login carl@example.org",
        "row 4, smtp_password: smtp_password taken from the incoming password",
    ]
    assert [p.row for p in checked[0].problems] == [2] * 7
    assert str(checked[0].problems[5]) == (
        "row 2, smtp_account: smtp_account taken from the incoming login anna@example.org"
    )
    assert [(p.row, p.code) for p in checked[1].problems if p.severity is E] == [
        (3, "port-invalid")
    ]


def test_findings_notes_are_replayed_on_another_row() -> None:
    first = Findings(0)
    first.add("port", Code.PORT_ENCRYPTION_MISMATCH, "port 993 expects SSL", "set SSL")
    first.info("imap", "IMAP assumed")
    warned = Findings(9)
    warned.extend(first.notes())
    assert warned.problems == [
        Problem(9, "port", "port-encryption-mismatch", W, "port 993 expects SSL", "set SSL"),
        Problem(9, "imap", "defaulted", N, "IMAP assumed", ""),
    ]
    assert not warned.blocked
    first.add("port", Code.PORT_INVALID, '"x" is not a whole port number')
    blocked = Findings(10)
    blocked.extend(first.notes())
    assert [(p.row, p.code) for p in blocked.problems] == [
        (10, "port-encryption-mismatch"),
        (10, "defaulted"),
        (10, "port-invalid"),
    ]
    assert blocked.blocked


def test_hand_built_table_with_short_rows() -> None:
    # The reader pads every row to the headers; a Table built by hand may not.
    headers: list[str | None] = ["email", "password", "server", "smtp_server", "port"]
    rows = [
        ["anna@example.org", "p1", "imap.example.org", "smtp.example.org"],
        ["bob@example.org", "p2"],
    ]
    checked = list(validate(table(headers, rows)))
    assert [c.account.port if c.account else None for c in checked] == [993, None]
    assert [(p.code, p.column) for p in checked[1].problems if p.severity is E] == [
        ("required", "server"),
        ("required", "smtp_server"),
    ]


def test_hand_built_table_with_a_repeated_field() -> None:
    # The reader maps a field to one column; by hand, the last column of a field counts.
    headers: list[str | None] = ["email", "password", "server", "smtp_server", "email"]
    rows = [
        ["anna@example.org", "p2", "imap.example.org", "smtp.example.org", "bob@example.org"],
        ["carl@example.org", "p3", "imap.example.org", "smtp.example.org", " "],
    ]
    checked = list(validate(table(headers, rows)))
    assert [c.account.email if c.account else None for c in checked] == ["bob@example.org", None]
    assert [(p.code, p.column) for p in checked[1].problems if p.severity is E] == [
        ("required", "email")
    ]


def test_validate_yields_checked_rows_with_defaults() -> None:
    rows = [["anna@example.org", "p1", ""], ["bob@example.org", "p2", "imap.example.net"]]
    checked = list(
        validate(
            table(["email", "password", "server"], rows),
            defaults={"server": "imap.example.org", "smtp_server": "smtp.example.org"},
        )
    )
    assert [c.account.server if c.account else None for c in checked] == [
        "imap.example.org",
        "imap.example.net",
    ]
    assert all(
        isinstance(c, Checked) and c.row.number == n for c, n in zip(checked, (2, 3), strict=True)
    )


def test_a_bad_default_says_where_it_comes_from() -> None:
    rows = [["anna@example.org", "p1", ""], ["bob@example.org", "p2", "70000"]]
    defaults = {"server": "imap.example.org", "smtp_server": "smtp.example.org", "port": "99999"}
    first, second = list(validate(table(["email", "password", "port"], rows), defaults=defaults))
    [from_default] = [p for p in first.problems if p.column == "port"]
    [from_cell] = [p for p in second.problems if p.column == "port"]
    assert (from_default.code, from_cell.code) == ("port-out-of-range", "port-out-of-range")
    assert from_default.hint.endswith("(--set or --defaults): fix it there")
    assert "--set" not in from_cell.hint
    _, alone = validate_row({"email": "anna@example.org", "password": "p1"}, 2, defaults=defaults)
    assert [p.hint.endswith("fix it there") for p in alone if p.column == "port"] == [True]


def test_validate_is_lazy() -> None:
    pulled: list[int] = []

    def endless() -> Iterator[Row]:
        for number in itertools.count(2):
            pulled.append(number)
            yield Row(
                number, (f"u{number}@example.org", "p", "imap.example.org", "smtp.example.org")
            )

    checked = validate(table(["email", "password", "server", "smtp_server"], endless()))
    assert pulled == []
    first = list(itertools.islice(checked, 3))
    assert [c.row.number for c in first] == [2, 3, 4] and pulled == [2, 3, 4]


def test_validate_checks_columns_before_any_row() -> None:
    def untouchable() -> Iterator[Row]:
        raise AssertionError("rows read")
        yield  # pragma: no cover

    with pytest.raises(InputError):
        validate(table(["email", "password"], untouchable()))


def test_check_columns_names_missing_columns_and_closest_headers() -> None:
    sheet = Table(
        headers=("E-Mail Adress", "Password", "IMAP Servr", "Kommentar"),
        fields=(None, "password", None, None),
        info=InputInfo(path="in/accounts.xlsx", format="xlsx"),
        rows=iter(()),
    )
    with pytest.raises(InputError) as caught:
        check_columns(sheet, {"smtp_server": "smtp.example.org"})
    assert str(caught.value) == (
        "in/accounts.xlsx: missing required columns in the header (row 1): email (closest "
        "header: 'E-Mail Adress'), server (closest header: 'IMAP Servr') (rename the header "
        "to the column's name, or give every row one with --set server=HOST)"
    )


def test_check_columns_never_quotes_a_header_that_could_be_a_password() -> None:
    # A sheet without its header row, whose "SSL" cell made row 1 pass for a header.
    sheet = Table(
        headers=("john@example.org", "Password1!", "imap.example.org", "SSL"),
        fields=(None, None, None, "incoming_encryption_type"),
        info=InputInfo(path="in.csv", format="csv"),
        rows=iter(()),
    )
    with pytest.raises(InputError) as caught:
        check_columns(sheet, {})
    assert "Password1!" not in str(caught.value)
    assert caught.value.message == (
        "in.csv: missing required columns in the header (row 1): email, password, server, "
        "smtp_server"
    )


def test_check_columns_without_similar_header_or_with_defaults() -> None:
    sheet = table(["email", "password", "server", None], [])
    with pytest.raises(InputError) as caught:
        check_columns(sheet, {"smtp_server": "  "})
    assert caught.value.message == (
        "accounts.csv: missing required column in the header (row 1): smtp_server"
    )
    with pytest.raises(InputError) as secret:
        check_columns(table(["email", "server", "smtp_server"], []), {})
    assert secret.value.hint == "rename the header to the column's name"
    check_columns(sheet, {"smtp_server": "smtp.example.org"})  # no error: a default fills it


# --- cell parsers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("993", 993),
        (" 993 ", 993),
        ("993.0", 993),
        ("993.", 993),
        ("+5", 5),
        ("-5", -5),
        ("993.5", None),
        ("99a", None),
        ("1e3", None),
        ("", None),
        ("٩٩٣", None),
    ],
)
def test_as_int(text: str, value: int | None) -> None:
    assert as_int(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("None", 0),
        ("plain", 0),
        ("NO", 0),
        ("0", 0),
        ("SSL", 1),
        ("ssl/tls", 1),
        ("TLS/SSL", 1),
        ("1.0", 1),
        ("StartTLS", 2),
        ("start tls", 2),
        ("START-TLS", 2),
        ("2", 2),
        ("TLS", None),
        ("TLS1.3", None),
        ("3", None),
        ("yes", None),
    ],
)
def test_parse_encryption(text: str, value: int | None) -> None:
    seen = Findings(2)
    assert parse_encryption("incoming_encryption_type", text, seen) == value
    assert found(seen.problems) == (
        [] if value is not None else [("encryption-invalid", E, "incoming_encryption_type")]
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("none", 0),
        ("Login", 1),
        ("normal password", 1),
        ("CramMd5", 4),
        ("CRAM-MD5", 4),
        ("OAuth2", 5),
        ("ntlm", 7),
        ("0", 0),
        ("1", 1),
        ("4", 4),
        ("5", 5),
        ("7", 7),
        ("2", None),
        ("3", None),
        ("6", None),
        ("Kerberos", None),
    ],
)
def test_parse_auth(text: str, value: int | None) -> None:
    seen = Findings(2)
    assert parse_auth("auth_type_in", text, seen) == value
    assert len(seen.problems) == (value is None)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("1", True),
        ("да", True),
        ("Да", True),
        ("false", False),
        ("No", False),
        ("0", False),
        ("нет", False),
        ("НЕТ", False),
        ("", None),
        ("maybe", None),
        ("2", None),
    ],
)
def test_parse_bool(text: str, value: bool | None) -> None:
    seen = Findings(2)
    assert parse_bool("restrict", text, seen) is value
    assert len(seen.problems) == (text == "maybe" or text == "2")


# --- defaults -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], {}),
        (["server=imap.example.org"], {"server": "imap.example.org"}),
        (["IMAP server = imap.example.org "], {"server": "imap.example.org"}),
        (["SMTP-Port=587", "ssl=SSL"], {"smtp_port": "587", "incoming_encryption_type": "SSL"}),
        (["password= two words "], {"password": " two words "}),
        (["name=a=b"], {"name": "a=b"}),
        (["port=993", "port=143"], {"port": "143"}),
        (["сервер=mail.example.ru"], {"server": "mail.example.ru"}),
        (["name="], {"name": ""}),
    ],
)
def test_parse_set(items: list[str], expected: dict[str, str]) -> None:
    assert parse_set(items) == expected


@pytest.mark.parametrize(
    ("item", "message", "hint"),
    [
        (
            "server",
            '--set "server" is not FIELD=VALUE',
            "write it as --set FIELD=VALUE, e.g. --set server=imap.example.org",
        ),
        # a value without its field is never repeated: it may be a password
        ("=imap.example.org", '--set "..." is not FIELD=VALUE', None),
        ("hunter2", '--set "..." is not FIELD=VALUE', None),
        ("hunter2 more", '--set "..." is not FIELD=VALUE', None),
        ("password:hunter2", '--set "password..." is not FIELD=VALUE', None),
        (
            "sever=imap.example.org",
            '--set "sever=...": unknown field "sever"',
            "did you mean server?",
        ),
        (
            "smtp_pasword=hunter2",
            '--set "smtp_pasword=...": unknown field "smtp_pasword"',
            "did you mean smtp_password?",
        ),
        ("colour=blue", '--set "colour=...": unknown field "colour"', None),
    ],
)
def test_parse_set_errors(item: str, message: str, hint: str | None) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_set(["port=993", item])
    assert caught.value.message == message
    if hint is not None:
        assert caught.value.hint == hint
    assert "hunter2" not in str(caught.value)
    assert caught.value.exit_code == 2


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "defaults.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'server = "imap.example.org"\nport = 993\nimap = true\n',
            {"server": "imap.example.org", "port": "993", "imap": "true"},
        ),
        (
            '# org-wide\n[defaults]\n"SMTP server" = " smtp.example.org "\nsmtp_port = 587.0\n'
            "restrict = false\n",
            {"smtp_server": "smtp.example.org", "smtp_port": "587", "restrict": "false"},
        ),
        (
            'name = "Northwind"\n[defaults]\nport = 993.5\npassword = " Secret "\n',
            {"name": "Northwind", "port": "993.5", "password": " Secret "},
        ),
        ("", {}),
    ],
)
def test_load_defaults(tmp_path: Path, text: str, expected: dict[str, str]) -> None:
    assert load_defaults(write(tmp_path, text)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('server = "a"\nsever = "b"\n', '{path}, line 2: unknown field "sever"'),
        ('[defaults]\n  "imap sever" = "b"\n', '{path}, line 2: unknown field "imap sever"'),
        (
            'server = "a"\nport = [993]\n',
            "{path}, line 2: port must be text, a number or true/false",
        ),
        ('server = "a"\n[smtp]\nport = 1\n', "{path}, line 2: table [smtp] is not allowed"),
        ('defaults = "x"\n', '{path}: "defaults" must be a [defaults] table'),
        (
            'port = 993\n[defaults]\n"IMAP port" = 143\n',
            '{path}, line 3: "IMAP port" sets port a second time',
        ),
        (
            "server = imap.example.org\n",
            "{path}: not valid TOML: Invalid value (at line 1, column 10)",
        ),
    ],
)
def test_load_defaults_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_defaults(path)
    assert caught.value.message == message.format(path=path)


def test_load_defaults_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        load_defaults(tmp_path / "nope.toml")
    assert missing.value.message == (
        f"{tmp_path / 'nope.toml'}: cannot read the defaults file (No such file or directory)"
    )
    with pytest.raises(ConfigError) as latin:
        load_defaults(write(tmp_path, 'name = "Jos\xe9"\n'.encode("latin-1")))
    assert (
        latin.value.message == f"{tmp_path / 'defaults.toml'}: the defaults file is not UTF-8 text"
    )


def test_merge_set_wins(tmp_path: Path) -> None:
    file_defaults = load_defaults(write(tmp_path, 'server = "a.example.org"\nport = 993\n'))
    merged = merge(file_defaults, parse_set(["port=143", "smtp_server=s.example.org"]))
    assert merged == {"server": "a.example.org", "port": "143", "smtp_server": "s.example.org"}
    assert file_defaults == {"server": "a.example.org", "port": "993"}


# --- the committed samples ------------------------------------------------------------------
# The real reader is bulkmail/reader.py; these few lines stand in for it so that the samples
# are checked against the rules now: cells as calamine and csv return them, headers aliased.

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def cell_text(value: object, secret: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = "" if value is None else str(value)
    return text if secret else text.strip()


def sample_table(name: str, rows: Sequence[Sequence[object]]) -> Table:
    fields = tuple(ALIASES.get(fold(str(h))) for h in rows[0])
    data = (
        Row(n, tuple(cell_text(v, f in SECRET_FIELDS) for v, f in zip(cells, fields, strict=True)))
        for n, cells in enumerate(rows[1:], start=2)
    )
    return Table(tuple(map(str, rows[0])), fields, InputInfo(name, name.rpartition(".")[2]), data)


def csv_rows(name: str, encoding: str, delimiter: str) -> list[list[str]]:
    with (SAMPLES / name).open(encoding=encoding, newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def failures(checked: list[Checked], severity: Severity) -> list[tuple[int, str]]:
    return [(c.row.number, p.code) for c in checked for p in c.problems if p.severity is severity]


def test_sample_xlsx_fails_exactly_the_rows_meant_to_fail() -> None:
    sheet = CalamineWorkbook.from_path(str(SAMPLES / "accounts.xlsx")).get_sheet_by_index(0)
    table = sample_table("accounts.xlsx", sheet.to_python())
    assert table.fields.count(None) == 1  # "Department": reported and ignored by the reader
    checked = list(validate(table))
    assert len(checked) == 30
    assert failures(checked, E) == [
        (7, "email-invalid"),
        (13, "port-out-of-range"),
        (15, "encryption-invalid"),
        (21, "oauth2-unsupported"),
        (31, "duplicate-account"),
    ]
    assert failures(checked, W) == [(16, "port-encryption-mismatch")]
    passwords = {c.account.email: c.account.password for c in checked if c.account}
    assert (passwords["it@example.org"], passwords["billing@example.com"]) == (
        "20260415",
        "pass-wrong-42",
    )
    owners = {c.account.portal_user for c in checked if c.account}
    assert len(owners) == 12  # of 14: Maria's and Liam's only rows are wrong on purpose


def test_sample_russian_csv_is_valid() -> None:
    raw = (SAMPLES / "accounts-ru.csv").read_bytes()
    assert raw.count(b"\r\n") == 9 and raw.decode("cp1251").startswith("Пользователь портала;")
    checked = list(
        validate(sample_table("accounts-ru.csv", csv_rows("accounts-ru.csv", "cp1251", ";")))
    )
    assert [c.ok for c in checked] == [True] * 8
    assert failures(checked, W) == []
    archive = checked[4].account
    assert archive is not None
    assert (archive.name, archive.imap, archive.port, archive.portal_user) == (
        "Алексей Кузнецов (архив)",
        False,
        995,
        "a.kuznetsov@example.ru",
    )


def test_sample_with_only_email_and_password_needs_the_defaults() -> None:
    rows = csv_rows("only-email-password.csv", "utf-8", ",")
    with pytest.raises(InputError):
        validate(sample_table("only-email-password.csv", rows))
    defaults = load_defaults(SAMPLES / "defaults.toml")
    checked = list(validate(sample_table("only-email-password.csv", rows), defaults=defaults))
    assert len(checked) == 5
    assert [p for c in checked for p in c.problems if p.severity is not N] == []
    assert {(c.account.server, c.account.smtp_port) for c in checked if c.account} == {
        ("imap.example.org", 465)
    }


@pytest.mark.slow
def test_samples_are_up_to_date(tmp_path: Path) -> None:
    script = SAMPLES / "make_samples.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True,
                   capture_output=True)  # fmt: skip
    for name in ("accounts.xlsx", "accounts-ru.csv", "defaults.toml", "only-email-password.csv"):
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name
