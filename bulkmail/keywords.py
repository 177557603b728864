"""The kinds of value each run setting takes, checked where a Python caller gives them.

The command line's parser gives every setting its type; a library caller's keywords
(`import_file(..., timeout="10")`) and hand-made `PortalSettings` arrive as they are. A value
of the wrong kind is a one-line ConfigError naming the setting and what it takes, never a
TypeError deep in a run, nor a silent choice (`dry_run="no"` is not a dry run, and not a
real run either). Values are never repeated: a password may be among them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple

from bulkmail.errors import ConfigError

__all__ = ["KINDS", "check_kind", "kind_of"]


class Kind(NamedTuple):
    """What one setting takes: `test(value)` is true for a value it takes; `words` says it."""

    test: Callable[[Any], bool]
    words: str
    example: str


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _path_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str | os.PathLike)


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole_or_none(value: Any) -> bool:
    return value is None or _whole(value)


def _seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def _one_of(*choices: Any) -> Callable[[Any], bool]:
    return lambda value: any(value is c or (type(value) is type(c) and value == c) for c in choices)


def _text_mapping(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) for k in value)


KINDS: Final[dict[str, Kind]] = {
    # The input's
    "sheet": Kind(_text_or_none, "a sheet's name (str) or None", "'Accounts'"),
    "encoding": Kind(_text_or_none, "an encoding's name (str) or None", "'cp1251'"),
    "delimiter": Kind(_text_or_none, "one character (str) or None", "';'"),
    "defaults": Kind(
        _text_mapping,
        "a mapping of field name -> value",
        "{'server': 'imap.example.org'}",
    ),
    "secrets_from": Kind(_path_or_none, "a file path or None", "'original.xlsx'"),
    "autofill": Kind(
        _one_of(False, True, "known", "portal"), "'known', 'portal' or False", "'known'"
    ),
    # The portal's
    "url": Kind(_text, "the portal's URL (str)", "'https://portal.example.org'"),
    "user": Kind(_text_or_none, "a portal login (str) or None", "'robot@example.org'"),
    "password": Kind(_text_or_none, "a password (str) or None", "os.environ['BULKMAIL_PASSWORD']"),
    "admin": Kind(_text_or_none, "a portal login (str) or None", "'admin@example.org'"),
    "admin_password": Kind(
        _text_or_none, "a password (str) or None", "os.environ['BULKMAIL_ADMIN_PASSWORD']"
    ),
    "concurrency": Kind(
        lambda v: _whole_or_none(v) or v == "auto", "a whole number or 'auto'", "8"
    ),
    "max_concurrency": Kind(_whole, "a whole number", "32"),
    "retries": Kind(_whole, "a whole number", "3"),
    "per_server": Kind(_whole, "a whole number", "4"),
    "max_login_failures": Kind(_whole, "a whole number", "4"),
    "give_up_after": Kind(_seconds, "a number of seconds", "300"),
    "timeout": Kind(_seconds, "a number of seconds", "180"),
    "grace": Kind(_seconds, "a number of seconds", "10"),
    "progress_every": Kind(_seconds, "a number of seconds", "10"),
    "if_exists": Kind(_one_of("skip", "update"), "'skip' or 'update'", "'update'"),
    "portal_user_from": Kind(_one_of(None, "email"), "'email' or None", "'email'"),
    "dry_run": Kind(_flag, "True or False", "True"),
    "fresh": Kind(_flag, "True or False", "True"),
    "retry_failed": Kind(_flag, "True or False", "True"),
    "progress": Kind(_flag, "True or False", "True"),
    "list_existing": Kind(_flag, "True or False", "True"),
    "state": Kind(_path_or_none, "a file path or None (no journal)", "'journal.sqlite'"),
    "ca_bundle": Kind(_path_or_none, "a file path or None", "'ca.pem'"),
    # Every run's
    "report_dir": Kind(lambda v: isinstance(v, str | os.PathLike), "a folder path", "'reports'"),
    "report_mode": Kind(_one_of("owner", "group"), "'owner' or 'group'", "'group'"),
}
"""Setting name (a keyword of `import_file`, a field of the settings objects) -> its Kind."""


def check_kind(name: str, value: Any, owner: str) -> None:
    """Raise ConfigError when `value` is not of the kind setting `name` takes (`KINDS`;
    a name not listed takes anything). `owner` names the call or object, for the message."""
    kind = KINDS.get(name)
    if kind is None or kind.test(value):
        return
    raise ConfigError(
        f"{owner}: {name} must be {kind.words}, not {kind_of(value)}",
        f"e.g. {name}={kind.example}",
    )


def kind_of(value: Any) -> str:
    """Return what `value` is, never the value itself (it may be a password)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
