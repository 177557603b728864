"""Citations of docs/ stay true: every `docs/<file>.md §N` names a section that exists.

A `§N` cites the docs file named last before it in the same source file, so a module can name
`docs/portal-api.md` once in its docstring and cite bare section numbers below.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_CODE = (p for folder in ("bulkmail", "bench", "tests") for p in (ROOT / folder).rglob("*.py"))
SOURCES = [
    *sorted(p for p in _CODE if p != Path(__file__).resolve()),
    ROOT / "pyproject.toml",
    ROOT / "samples" / "simulator.toml",
]
_CITATION = re.compile(r"docs/([\w-]+\.md)|§(\d+)(?:-§(\d+))?")
_SECTION = re.compile(r"^## (\d+)\. ", re.M)
# Where facts were cited before docs/ existed: paths outside the repository.
_OUTSIDE = re.compile(r"fact sheet|PERF-FACTS|GUIDE\.md|shared/api", re.I)


def sections(name: str) -> set[int]:
    """Return the section numbers of docs/`name`; empty when there is no such file."""
    path = ROOT / "docs" / name
    return {int(n) for n in _SECTION.findall(path.read_text("utf-8"))} if path.is_file() else set()


def bad_citations(text: str) -> list[str]:
    """Return the citations in `text` that name no existing docs file or section."""
    bad: list[str] = []
    current: str | None = None
    for match in _CITATION.finditer(text):
        name, first, last = match.groups()
        if name:
            current = name
            if not sections(name):
                bad.append(f"docs/{name} (no such file, or no numbered sections)")
            continue
        numbers = range(int(first), int(last or first) + 1)
        if current is None:
            bad.append(f"{match[0]} cites no docs file")
        elif not set(numbers) <= sections(current):
            bad.append(f"docs/{current} {match[0]}")
    return bad


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_citations_name_existing_sections(path: Path) -> None:
    text = path.read_text("utf-8")
    assert bad_citations(text) == []
    assert _OUTSIDE.findall(text) == []


def test_a_wrong_citation_is_seen() -> None:
    text = "docs/portal-api.md §4, §99; docs/nothing.md; docs/performance.md §2-§3, §12"
    assert bad_citations(text) == [
        "docs/portal-api.md §99",
        "docs/nothing.md (no such file, or no numbered sections)",
        "docs/performance.md §12",
    ]
    assert bad_citations("(§4)") == ["§4 cites no docs file"]
