"""The merged-owner field case end to end: merged owner cells never hand mailboxes to --user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openpyxl
import pytest

from bulkmail.cli import main
from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.slow
BOX = ["imap.corp.example", "smtp.corp.example"]


@pytest.fixture
def sim() -> Iterator[str]:
    with running(SimConfig(latency_ms=5)) as url:
        yield url


def test_mailboxes_under_a_merged_owner_go_to_that_owner(
    tmp_path: Path, sim: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [
        ["Portal user", "Portal password", "Email", "Password", "IMAP server", "SMTP server"],
        ["olga@corp.example", "Olga-Portal-1", "olga@corp.example", "Mb-Pass-1", *BOX],
        [None, None, "sales@corp.example", "Mb-Pass-2", *BOX],
        [None, None, "support@corp.example", "Mb-Pass-3", *BOX],
        ["petr@corp.example", "Petr-Portal-2", "petr@corp.example", "Mb-Pass-4", *BOX],
    ]:
        sheet.append(row)
    sheet.merge_cells("A2:A4")
    sheet.merge_cells("B2:B4")
    book.save(tmp_path / "merged-owner.xlsx")
    monkeypatch.setenv("BULKMAIL_PASSWORD", "Admin-Portal-1")
    code = main(
        [
            "import", str(tmp_path / "merged-owner.xlsx"), "--portal", sim,
            "--user", "admin@corp.example", "--report-dir", str(tmp_path / "reports"),
            "--state", str(tmp_path / "journal.sqlite"), "--quiet",
        ]
    )  # fmt: skip
    assert code == 0
    boxes = httpx.get(f"{sim}/_sim/mailboxes").json()
    assert sorted((b["email"], b["user"]) for b in boxes) == [
        ("olga@corp.example", "olga@corp.example"),
        ("petr@corp.example", "petr@corp.example"),
        ("sales@corp.example", "olga@corp.example"),
        ("support@corp.example", "olga@corp.example"),
    ]
