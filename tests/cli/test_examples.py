"""Each command's --help ends with examples that its own parser accepts, option by option."""

from __future__ import annotations

import argparse
import shlex

import pytest

from bulkmail.cli import build_parser, main

COMMANDS = ("validate", "check", "import", "template", "simulate", "demo")


def _examples(help_text: str) -> list[list[str]]:
    """Return the example command lines after the help's last `examples:` heading, as words."""
    _, heading, tail = help_text.rpartition("\nexamples:\n")
    assert heading, "no examples"
    lines = tail.splitlines()
    commands = [shlex.split(line) for line in lines if line.startswith("  bulkmail ")]
    notes = [line for line in lines if line.startswith("      ")]
    assert len(commands) == len(notes) == len(lines) // 2  # each example has its note, no more
    return commands


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub: argparse.ArgumentParser = action.choices[command]
    return sub


@pytest.mark.parametrize("command", COMMANDS)
def test_each_commands_help_ends_with_examples_its_parser_accepts(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    examples = _examples(capsys.readouterr().out)
    assert len(examples) >= 2
    options = set(_subparser(command)._option_string_actions)
    for words in examples:
        assert words[:2] == ["bulkmail", command]
        # Spelled out in full: argparse would take an abbreviation that a new option breaks.
        used = {w.partition("=")[0] for w in words if w.startswith("-")}
        assert used <= options, words
        args = build_parser().parse_args(words[1:])  # exits 2 on a value it refuses
        assert args.command == command
