"""A console whose reader leaves early (`bulkmail validate big.csv | head -1`): no traceback,
and the run's own exit code."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    with (tmp_path / "owners.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["portal_user", "email", "password", "server", "smtp_server"])
        out.writerow(["anna@corp.example.org", "box@corp.example.org", "Mailbox-pw-1",
                      "imap.corp.example.org", "smtp.corp.example.org"])  # fmt: skip
    return tmp_path


@pytest.mark.parametrize("kind", ["summary", "help"])
def test_a_reader_that_leaves_early_costs_no_traceback(here: Path, kind: str) -> None:
    # `bulkmail validate big.csv | head -1`: the pipe's reader is gone before the summary.
    words = ["validate", "owners.csv", "--quiet"] if kind == "help" else ["validate", "owners.csv"]
    words = [*words, "--help"] if kind == "help" else words
    read, write = os.pipe()
    os.close(read)  # nobody reads: the first write of stdout fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bulkmail", *words],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=here,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    # The summary's failure keeps the run's code (a row lacks its portal password).
    assert done.returncode == (1 if kind == "summary" else 0)
    if kind == "summary":
        assert next((here / "reports").iterdir()).joinpath("summary.json").exists()
