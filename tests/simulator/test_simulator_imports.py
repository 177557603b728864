"""The simulator keeps its own copy of the portal's facts: it imports nothing of the client's.

If it read the client's enum numbers or rules, a wrong number on the client's side would be
wrong on both sides, and no test running one against the other could see it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bulkmail.simulator

PACKAGE = Path(bulkmail.simulator.__file__).parent
# ConfigError: what stops a run; _lazy: how a package exports names on first use; files:
# how a file of people's data is created (owner-only, never through a link), no portal fact.
ALLOWED = ("bulkmail.simulator", "bulkmail.errors", "bulkmail._lazy", "bulkmail.files")


def bulkmail_imports(path: Path) -> set[str]:
    """Return every bulkmail module that the source at `path` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved from bulkmail.simulator
                parent = "bulkmail.simulator".rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}".rstrip(".")
            # `from bulkmail import schema` imports bulkmail.schema
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "bulkmail"}


def test_the_simulator_imports_only_itself_and_the_error_classes() -> None:
    sources = sorted(PACKAGE.glob("*.py"))
    assert sources, PACKAGE
    strays = {
        f"{path.name}: {name}"
        for path in sources
        for name in bulkmail_imports(path)
        if not name.startswith(ALLOWED)
    }
    assert strays == set()


def test_the_check_sees_a_client_import(tmp_path: Path) -> None:
    source = tmp_path / "stray.py"
    source.write_text(
        "from bulkmail.schema import ENCRYPTION\n"
        "def f():\n    from bulkmail import validation\n    import bulkmail.portal.client\n"
        "from .. import settings\n",
        encoding="utf-8",
    )
    assert bulkmail_imports(source) == {
        "bulkmail.schema.ENCRYPTION",
        "bulkmail.validation",
        "bulkmail.portal.client",
        "bulkmail.settings",
    }
