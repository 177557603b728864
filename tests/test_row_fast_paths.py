"""The per-row fast paths agree with the general way they skip, on a varied table of rows.

Each fast path of reading, validating and reporting may only skip work that the general way
would not need (docs/performance.md §9). Here both run over the same few hundred rows, valid
and failing of every kind (blank, shifted, spaced and masked secrets, bad ports and hosts,
invisible characters, providers, duplicates), and must give the same values:

- `SecretEchoes.check` (one substring search per secret) against `check_all` (every secret
  against every cell);
- `rows._sides` (one cached look-up of a row's ten settings cells) against
  `incoming_settings`, `outgoing_settings` and `provider_notes` called apart;
- the reader's secret cells put back without a call, against the same shape taking the
  general loop (a `secret_text` that is not `_as_typed`), on full, short and long rows;
- the report's rows of notes only (`notes_only`: no counts, no preview) against the writer
  and collector counting every row.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from bulkmail.models import InputInfo, Row, Severity, Table
from bulkmail.reader import table as reader
from bulkmail.report import collector, writer
from bulkmail.report.collector import Collector
from bulkmail.report.writer import ReportWriter
from bulkmail.run import outcomes
from bulkmail.run.outcomes import Ledger
from bulkmail.schema import SECRET_FIELDS
from bulkmail.validation import rows as row_rules
from bulkmail.validation import table as validation
from bulkmail.validation.echoes import SecretEchoes
from bulkmail.validation.providers import provider_notes
from bulkmail.validation.servers import incoming_settings, outgoing_settings

HEADER = (
    "portal_user", "portal_password", "name", "email", "account", "password", "server",
    "port", "imap", "incoming_encryption_type", "auth_type_in", "smtp_server", "smtp_port",
    "smtp_auth", "smtp_account", "smtp_password", "outcoming_encryption_type", "restrict",
    "Comment",
)  # fmt: skip
FIELDS = (*HEADER[:-1], None)
# The first value of each column makes a valid row; the others are its odd and wrong forms.
CHOICES: dict[str, list[str]] = {
    "portal_user": ["u1@corp.org", "", "U1@corp.org", "bad user", "\u200bu3@corp.org", "ｕ@c.org"],
    "portal_password": ["Portal-pw-1", "", "********", " spaced ", "abcd efgh ijkl mnop"],
    "name": ["Person", "", "Doe, John", "=1+2", "Secret-pw-9", "two\nlines", "Portal-pw-1"],
    "email": ["box{n}@mail.example.org", "", "not-an-address", "box1@mail.example.org",
              "\u200bbox{n}@x.org", "box{n}@gmail.com", "Name <b{n}@x.org>", "1.23457E+15"],
    "account": ["", "login{n}", "log in", "Secret-pw-9", "\u200blogin"],
    "password": ["pw-{n}-long", "", " spaced ", "********", "abcd efgh ijkl mnop",
                 "Secret-pw-9", "#REF!", "x"],
    "server": ["imap.mail.example.org", "", "imap.gmail.com", "outlook.office365.com",
               "host.org:993", "a@b.org", "Secret-pw-9", "imap.ex\u200bample.org", "1.2.3.4"],
    "port": ["993", "", "995", "143", "465", "99999", "abc", "993.0"],
    "imap": ["true", "", "false", "pop3", "maybe"],
    "incoming_encryption_type": ["SSL", "", "StartTLS", "None", "TLS", "5"],
    "auth_type_in": ["Login", "", "OAuth2", "Ntlm", "weird"],
    "smtp_server": ["smtp.mail.example.org", "", "smtp.gmail.com", "bad host"],
    "smtp_port": ["465", "", "587", "25", "993", "70000"],
    "smtp_auth": ["true", "", "false", "nah"],
    "smtp_account": ["", "smtp{n}", "s p"],
    "smtp_password": ["", "Smtp secret", " sp", "   ", "********", "Secret-pw-9"],
    "outcoming_encryption_type": ["SSL", "", "StartTLS", "junk"],
    "restrict": ["", "true", "maybe"],
    "Comment": ["", "Secret-pw-9", "+x", "Portal-pw-1", "pw-{n}-long"],
}  # fmt: skip


def varied_cells(count: int = 400, seed: int = 11) -> list[tuple[str, ...]]:
    """Return `count` rows of cells: half valid, half with a few cells drawn at random."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        odd = n % 2 == 1
        cells = []
        for column in HEADER:
            choices = CHOICES[column]
            value = rng.choice(choices) if odd and rng.random() < 0.3 else choices[0]
            cells.append(value.replace("{n}", str(n % 150)))
        rows.append(tuple(cells))
    return rows


def varied_table(count: int = 400) -> Table:
    rows = iter([Row(n, cells) for n, cells in enumerate(varied_cells(count), 2)])
    return Table(HEADER, FIELDS, InputInfo(path="varied.csv", format="csv"), rows)


def test_the_table_is_varied() -> None:
    checked = list(validation.validate(varied_table(), run_user="run@corp.org"))
    codes = {p.code for c in checked for p in c.problems}
    assert sum(c.ok for c in checked) > 80 and sum(not c.ok for c in checked) > 100
    for code in ("password-in-column", "duplicate-account", "port-out-of-range", "host-invalid",
                 "invisible-character", "provider-password-refused", "defaulted"):  # fmt: skip
        assert code in codes


def test_secret_echoes_search_agrees_with_every_cell_compared() -> None:
    table = varied_table()
    echoes = SecretEchoes(table)
    cells_of = validation._cells_reader(table)
    defaults = {"password": "Secret-pw-9"}  # a secret from --defaults counts too
    found = 0
    for row in table.rows:
        for values in (cells_of(row), {**defaults, **cells_of(row)}):
            fast = echoes.check(row, values)
            assert fast == echoes.check_all(row, values)
            found += bool(fast[1])
    assert found > 20


def test_cached_settings_agree_with_each_side_checked_apart() -> None:
    table = varied_table()
    cells_of = validation._cells_reader(table)
    distinct = set()
    for row in table.rows:
        values = cells_of(row)
        key = tuple(values.get(f, "") for f in row_rules._SETTINGS)
        inc, smtp = incoming_settings(values), outgoing_settings(values)
        provider = provider_notes(
            (inc.server, inc.port, inc.flag, inc.encryption),
            (smtp.server, smtp.port, False, smtp.encryption),
        )
        assert row_rules._sides(key) == (
            inc,
            smtp,
            inc.notes + smtp.notes,
            smtp.late_notes + provider,
        )
        distinct.add(key)
    assert len(distinct) > 100


def _records(seed: int = 5) -> Iterator[tuple[int, list[Any]]]:
    """Raw workbook records: text, numbers, dates and blanks; full, short and long rows."""
    rng = random.Random(seed)
    odd: list[Any] = [None, 993.0, 1234567890123456.0, True, datetime.date(2024, 10, 1), "  "]
    for number, cells in enumerate(varied_cells(300), 2):
        raw: list[Any] = [rng.choice(odd) if rng.random() < 0.1 else c for c in cells]
        cut = rng.random()
        if cut < 0.15:
            raw = raw[: rng.randrange(len(raw))]
        elif cut < 0.3:
            raw += ["beyond", 5.0]
        yield number, raw


@pytest.mark.parametrize("workbook", [True, False])
def test_secret_cells_put_back_agree_with_the_general_loop(workbook: bool) -> None:
    secrets = tuple(i for i, f in enumerate(FIELDS) if f in SECRET_FIELDS)
    to_cells = reader._values if workbook else reader._texts

    def shape(secret_text: Any) -> reader._Shape:
        return reader._Shape(len(HEADER), secrets, to_cells, secret_text, workbook)

    records = [(n, [c if isinstance(c, str) or workbook else str(c) for c in raw])
               for n, raw in _records()]  # fmt: skip
    fast = list(reader._rows(iter(records), shape(reader._as_typed)))
    general = list(reader._rows(iter(records), shape(lambda text: text)))
    assert fast == general
    assert any(row.cells[1] == " spaced " for row in fast)  # kept as typed


def _report(folder: Path, monkeypatch: pytest.MonkeyPatch, general: bool) -> tuple[Any, ...]:
    """Write the varied table's report; return its counts, the preview and the CSVs."""
    if general:  # every row counted and previewed, notes or not
        monkeypatch.setattr(writer, "notes_only", lambda problems: False)
        monkeypatch.setattr(collector, "notes_only", lambda problems: False)
    table = varied_table()
    folder.mkdir()
    with ReportWriter(folder, table.headers, table.fields) as report:
        collect = Collector(report, structlog.get_logger(), command="validate")
        ledger = Ledger(collect)
        for index, checked in enumerate(validation.validate(table, run_user="run@corp.org")):
            ledger.settle(index, (outcomes.valid if checked.ok else outcomes.invalid)(checked))
    preview = {kind: collect.preview.counts(kind) for kind in ("error", "warning")}
    files = [(folder / name).read_bytes() for name in ("succeeded.csv", "failed.csv")]
    return dict(report.counts), report.problem_counts, preview, files


def test_rows_of_notes_only_skip_nothing_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _report(tmp_path / "fast", monkeypatch, general=False)
    general = _report(tmp_path / "general", monkeypatch, general=True)
    assert fast == general
    assert fast[2]["error"] and fast[2]["warning"]
    # What the counts must be: every error and warning of every row, valid rows' too.
    expected: dict[str, int] = {}
    for checked in validation.validate(varied_table(), run_user="run@corp.org"):
        for problem in checked.problems:
            if problem.severity is not Severity.INFO:
                expected[problem.code] = expected.get(problem.code, 0) + 1
    assert fast[1] == expected
