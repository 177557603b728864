"""Values for blank cells: `--set FIELD=VALUE` items and an org-wide TOML defaults file.

Field names go through the same aliases as sheet headers, so `--set "IMAP server=..."` and
`server = ...` mean the same column. Values never appear in error messages: some are secrets.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bulkmail.errors import ConfigError
from bulkmail.schema import ALIASES, BY_NAME, SECRET_FIELDS, fold

__all__ = ["from_mapping", "load_defaults", "merge", "parse_set"]

_SET_HINT = "write it as --set FIELD=VALUE, e.g. --set server=imap.example.org"
_TOML_HINT = 'write one FIELD = VALUE per line, e.g. server = "imap.example.org"'


def parse_set(items: Sequence[str]) -> dict[str, str]:
    """Return the `--set FIELD=VALUE` items as canonical field -> value (a later item wins)."""
    result: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f'--set "{_before_value(item)}" is not FIELD=VALUE', _SET_HINT)
        field = _field(name, f'--set "{name.strip()}=..."')
        result[field] = _clean(field, value)
    return result


def _before_value(item: str) -> str:
    # A mistyped separator ("password:hunter2") must not print the password, nor a lone
    # value ("hunter2", "=hunter2"): only a field name is repeated.
    head = re.split(r"[:\s]", item, maxsplit=1)[0]
    if fold(head) not in ALIASES:
        return "..."
    return head if head == item else f"{head}..."


def _field(name: str, where: str) -> str:
    """Return the canonical field of `name`, or raise ConfigError naming the closest one."""
    field = ALIASES.get(fold(name))
    if field is not None:
        return field
    close = difflib.get_close_matches(fold(name), list(ALIASES), n=1, cutoff=0.6)
    if close:
        hint = f"did you mean {ALIASES[close[0]]}?"
    else:
        hint = "the fields are: " + ", ".join(BY_NAME)
    raise ConfigError(f'{where}: unknown field "{name.strip()}"', hint)


def _clean(field: str, value: str) -> str:
    # Secrets are kept exactly as given; other values lose surrounding spaces, as cells do.
    return value if field in SECRET_FIELDS else value.strip()


def load_defaults(path: Path) -> dict[str, str]:
    """Read a TOML defaults file (top-level keys and/or a [defaults] table) as field -> value."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the defaults file ({err.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the defaults file is not UTF-8 text", _TOML_HINT) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}", _TOML_HINT) from None
    result: dict[str, str] = {}
    for key, value in _entries(data, path):
        where = f"{path}{_line_of(text, key)}"
        if isinstance(value, dict):
            raise ConfigError(
                f"{where}: table [{key}] is not allowed",
                "put FIELD = VALUE lines at the top or under [defaults]",
            )
        field = _field(key, where)
        if field in result:
            raise ConfigError(
                f'{where}: "{key}" sets {field} a second time', "keep one value per field"
            )
        result[field] = _as_text(value, field, where)
    return result


def _entries(data: dict[str, Any], path: Path) -> list[tuple[str, Any]]:
    """Return the key/value pairs at the top level and in an optional [defaults] table."""
    entries = [(k, v) for k, v in data.items() if k != "defaults"]
    section = data.get("defaults", {})
    if not isinstance(section, dict):
        raise ConfigError(f'{path}: "defaults" must be a [defaults] table', _TOML_HINT)
    return entries + list(section.items())


def _line_of(text: str, key: str) -> str:
    """Return ", line N" of the line that sets `key`, or "" when it cannot be told."""
    quoted = rf"""["']?{re.escape(key)}["']?"""
    pattern = re.compile(rf"^\s*(?:{quoted}\s*=|\[\s*{quoted}\s*\])", re.MULTILINE)
    found = pattern.search(text)
    return f", line {text.count(chr(10), 0, found.start()) + 1}" if found else ""


def _as_text(value: Any, field: str, where: str) -> str:
    """Return a TOML value as the cell text it stands for."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return _clean(field, value)
    raise ConfigError(
        f"{where}: {field} must be text, a number or true/false", f'e.g. {field} = "..."'
    )


def from_mapping(values: Mapping[str, Any], where: str) -> dict[str, str]:
    """Return a Python caller's defaults ({"IMAP server": "...", "port": 993}) as canonical
    field -> cell text, by the defaults file's rules: aliases, an unknown field or a value
    that is not text, a number or true/false is a ConfigError naming `where`."""
    result: dict[str, str] = {}
    for key, value in values.items():
        field = _field(str(key), f"{where}: defaults")
        if field in result:
            raise ConfigError(f"{where}: defaults set {field} twice", "keep one value per field")
        result[field] = _as_text(value, field, f"{where}: defaults")
    return result


def merge(file_defaults: Mapping[str, str], set_values: Mapping[str, str]) -> dict[str, str]:
    """Return the defaults of a run: the file's, with every --set value winning over it."""
    return {**file_defaults, **set_values}
