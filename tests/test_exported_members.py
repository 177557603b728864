"""The public surface is deliberate: everything in __all__ exists, and nothing else is public."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import bulkmail

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "accounts.xlsx"


def test_all_names_are_importable() -> None:
    missing = [name for name in bulkmail.__all__ if not hasattr(bulkmail, name)]
    assert missing == []


def test_all_lists_every_public_member_and_nothing_more() -> None:
    for name in bulkmail.__all__:  # names load on first use; load them all
        getattr(bulkmail, name)
    public = {
        name
        for name, value in vars(bulkmail).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("bulkmail")
    }
    assert public | {"__version__"} == set(bulkmail.__all__)


def test_all_is_sorted() -> None:
    assert bulkmail.__all__ == sorted(bulkmail.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        bulkmail.nothing_here  # noqa: B018


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "absent"),
    [
        ("--help", ["httpx", "anyio", "starlette", "uvicorn", "openpyxl", "structlog"]),
        ("validate", ["httpx", "starlette", "uvicorn", "openpyxl"]),
    ],
)
def test_commands_load_only_what_they_use(command: str, absent: list[str], tmp_path: Path) -> None:
    """Start-up time is mostly imports: `--help` and `validate` skip the stacks they never use."""
    args = (
        ["--help"]
        if command == "--help"
        else ["validate", str(SAMPLE), "-q", "--report-dir", str(tmp_path)]
    )
    probe = (
        "import sys\n"
        "from bulkmail.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print([m for m in {absent!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
