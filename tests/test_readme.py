"""The README's Quick start stays true: two command lines, the second is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _quick_start_lines() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the Quick start has no ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_exactly_two_commands_install_and_demo_then_tests() -> None:
    first, second = _quick_start_lines()
    assert first.endswith("pip install . && bulkmail demo")
    assert "pytest" in second


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _quick_start_lines()[1] in ci


def test_the_bundled_demo_sheet_is_the_sample() -> None:
    bundled = ROOT / "bulkmail" / "data" / "accounts.xlsx"
    assert bundled.read_bytes() == (ROOT / "samples" / "accounts.xlsx").read_bytes()
