"""The README's "Library use" runs as written: its Python blocks, in order, in a fresh
interpreter, against a simulator on 127.0.0.1 (the URL put in place of the README's)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bulkmail.simulator import SimConfig, running

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
PORTAL = "https://portal.example.org"


def library_code() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Library use\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) >= 4, "the Library use section lost its code blocks"
    return "\n".join(blocks)


def test_the_readme_library_section_runs_and_says_what_it_shows(tmp_path: Path) -> None:
    code = library_code()
    assert PORTAL in code
    with running(SimConfig()) as url:
        done = subprocess.run(
            [sys.executable, "-c", code.replace(PORTAL, url)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # validate: two good rows and one bad address, by row number as in a sheet
    assert "2 True []\n3 True []\n4 False ['email-invalid']\n" in out
    # import_file with plain keywords: two created on the portal, the bad row failed
    assert re.search(r"^1 \{.*'created': 2.*'failed': 1", out, re.M)
    assert "2 created - anna@corp.example.org" in out
    assert "4 failed email-invalid not an address" in out
    assert len(list((tmp_path / "reports").glob("*_import"))) == 1
    # to_pandas: the validation's and the import's rows, mailbox ids given by the portal
    assert re.search(r"^1\s+3\s+valid\s+boris@corp\.example\.org$", out, re.M)
    assert re.search(r"^0\s+2\s+created\s+1$", out, re.M)
    assert "Mailbox-pw" not in out and "Portal-pw" not in out
    # logs: nothing until configure(); then the validation's events as JSON lines
    events = re.findall(r'"event": "([a-z._]+)"', done.stderr)
    assert events == ["row.invalid", "run.finished"], done.stderr
    assert all(line.startswith("{") for line in done.stderr.splitlines())
