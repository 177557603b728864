"""The examples that end each command's `--help`, kept as written (argparse would rewrap them).

`tests/cli/test_examples.py` parses every example with the command's own parser, so an
option renamed or removed fails the suite instead of leaving a wrong example behind.
"""

from __future__ import annotations

import argparse

HEADING = "examples:"


def examples(*pairs: tuple[str, str]) -> str:
    """Return an epilog of (command line, what it does) pairs: the line, then its note."""
    lines = [HEADING]
    for command, note in pairs:
        lines += [f"  {command}", f"      {note}"]
    return "\n".join(lines) + "\n"


class HelpWithExamples(argparse.HelpFormatter):
    """Wrap the description as argparse does; print an `examples:` epilog as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(HEADING):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)
