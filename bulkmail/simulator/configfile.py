"""Read a simulator TOML file into a SimConfig; every mistake is one line naming file and line."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from bulkmail.errors import ConfigError
from bulkmail.simulator import config as c

T = TypeVar("T")
_HEADER = re.compile(r"\s*\[\[?\s*([^\]\s]+)\s*\]\]?")
_SECTIONS = ("portal", "users", "mail", "servers", "faults", "impersonation")


def load_config(path: Path | None) -> c.SimConfig:
    """Return the configuration in TOML file `path`, or the built-in open portal for None."""
    if path is None:
        return c.SimConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file", "give the path of a simulator .toml") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read it: {err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:  # its message ends "(at line N, column M)"
        raise ConfigError(f"{path}: {err}") from None
    return _File(path, text).config(data)


class _File:
    """The file being read: finds the line of a key so that errors can name it."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def fail(self, table: str | None, index: int, key: str | None, message: str) -> NoReturn:
        line = self.line_of(table, index, key)
        where = f"line {line}: " if line else ""
        raise ConfigError(f"{self.path}: {where}{message}")

    def line_of(self, table: str | None, index: int, key: str | None) -> int | None:
        """Return the line of `key` in the index-th [table] (or [[table]]), if it is there."""
        inside, seen = table is None, -1
        assignment = re.compile(rf"\s*[\"']?{re.escape(key or '')}[\"']?\s*=")
        for number, line in enumerate(self.lines, 1):
            header = _HEADER.match(line)
            if header:
                seen += header[1] == table
                inside = header[1] == table and seen == index
                if inside and key is None:
                    return number
            elif inside and key is not None and assignment.match(line):
                return number
        return None

    def config(self, data: dict[str, Any]) -> c.SimConfig:
        for key in data:
            if key not in _SECTIONS:
                self.fail(None, 0, key, f"unknown section {key!r} (expected {_SECTIONS})")
        users = tuple(_user(t) for t in self.tables(data, "users"))
        servers = tuple(_server(t) for t in self.tables(data, "servers"))
        portal, mail, faults, switches = (
            self.table(data, name) for name in ("portal", "mail", "faults", "impersonation")
        )
        state = portal.text("state", "")
        settings = _faults(faults) | {
            "users": _unique(self, "users", users, lambda u: u.login.lower()),
            "servers": _unique(self, "servers", servers, lambda s: s.host.lower()),
            "open_portal": portal.flag("open", not users),
            "open_servers": mail.flag("open", not servers),
            "timezone": portal.checked("timezone", str, "+03:00", c.check_timezone),
            "state_path": (self.path.parent / state) if state else None,
            "impersonation": _impersonation(switches),
        }
        if sum(u.owner for u in users) > 1:
            self.fail("users", 0, None, "more than one of [[users]] has owner = true")
        for table in (portal, mail, faults, switches):
            table.done()
        return c.SimConfig(**settings)

    def table(self, data: dict[str, Any], name: str) -> _Table:
        value = data.get(name, {})
        if not isinstance(value, dict):
            self.fail(None, 0, name, f"{name} must be a table: [{name}]")
        return _Table(self, name, 0, value, name)

    def tables(self, data: dict[str, Any], name: str) -> list[_Table]:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(None, 0, name, f"{name} must be an array of tables: [[{name}]]")
        return [_Table(self, name, i, v, f"{name}[{i + 1}]") for i, v in enumerate(value)]


class _Table:
    """One table of the file: typed reads by key, each mistake reported at its line."""

    def __init__(self, file: _File, name: str, index: int, data: dict[str, Any], label: str):
        self.file, self.name, self.index, self.data, self.label = file, name, index, data, label
        self.used: set[str] = set()

    def fail(self, key: str | None, message: str) -> NoReturn:
        line_key = key if key in self.data else None
        self.file.fail(self.name, self.index, line_key, message)

    def get(self, key: str, kind: type[T] | tuple[type, ...], default: T) -> T:
        self.used.add(key)
        value = self.data.get(key, default)
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            self.fail(key, f"{self.label}.{key} must be {_NAMES.get(kind, kind)}, not {value!r}")
        return value  # type: ignore[return-value]

    def checked(
        self,
        key: str,
        kind: type[T] | tuple[type, ...],
        default: T,
        check: Callable[[str, T], None],
    ) -> T:
        value = self.get(key, kind, default)
        try:
            check(f"{self.label}.{key}", value)
        except ConfigError as err:
            self.fail(key, err.message)
        return value

    def text(self, key: str, default: str) -> str:
        return self.get(key, str, default)

    def flag(self, key: str, default: bool) -> bool:
        return self.get(key, bool, default)

    def choice(self, key: str, options: Collection[str], default: str) -> str:
        value = self.text(key, default)
        if value not in options:
            self.fail(key, f"{self.label}.{key} must be one of {sorted(options)}, not {value!r}")
        return value

    def words(self, key: str, options: frozenset[str]) -> frozenset[str]:
        values = self.get(key, list, sorted(options))
        wrong = [v for v in values if v not in options]
        if wrong or not values:
            self.fail(key, f"{self.label}.{key} takes some of {sorted(options)}, not {wrong}")
        return frozenset(values)

    def ports(self, key: str) -> tuple[int, ...] | None:
        if key not in self.data:
            return None
        values = self.get(key, list, [])
        if not all(type(v) is int and 0 < v < 65536 for v in values):
            self.fail(key, f"{self.label}.{key} must list ports 1..65535, not {values}")
        return tuple(values)

    def count(self, key: str) -> int | None:
        if key not in self.data:
            return None
        value = self.get(key, int, 0)
        if value < 1:
            self.fail(key, f"{self.label}.{key} must be 1 or more, not {value}")
        return value

    def texts(self, key: str, keys: Collection[str] | None = None) -> dict[str, str] | None:
        if key not in self.data:
            return None
        value = self.get(key, dict, {})
        if not all(isinstance(v, str) and (keys is None or k in keys) for k, v in value.items()):
            self.fail(key, f"{self.label}.{key} must map {_keys(keys)} to text")
        return value

    def names(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, [])
        if not all(isinstance(v, str) and v for v in values):
            self.fail(key, f"{self.label}.{key} must list names (text)")
        return tuple(values)

    def done(self) -> None:
        for key in self.data.keys() - self.used:
            self.fail(key, f"unknown key {self.label}.{key}")


_TFA: dict[str, c.TwoFactor] = {"none": "", "tfa": "tfa", "sms": "sms"}
_NAMES: dict[object, str] = {
    str: "text",
    bool: "true or false",
    int: "a whole number",
    (int, float): "a number",
    list: "a list",
    dict: "a table",
}


def _keys(keys: Collection[str] | None) -> str:
    return "names" if keys is None else " / ".join(sorted(keys))


def _user(t: _Table) -> c.PortalUser:
    login = t.text("login", "")
    if not login or "password" not in t.data:
        t.fail(None, f"{t.label} needs login and password")
    user = c.PortalUser(
        login=login,
        password=t.text("password", ""),
        culture=t.choice("culture", ("en", "ru"), "en"),  # type: ignore[arg-type]
        tfa=_TFA[t.choice("tfa", _TFA, "none")],
        mail_enabled=t.flag("mail", True),
        visitor=t.flag("visitor", False),
        admin=t.flag("admin", False),
        owner=t.flag("owner", False),
        module_admin=t.flag("module_admin", False),
        status=t.choice("status", c.USER_STATUSES, "active"),  # type: ignore[arg-type]
        groups=t.names("groups"),
        portal_mailboxes=t.names("portal_mailboxes"),
        aliases=t.names("aliases"),
        mail_groups=t.names("mail_groups"),
    )
    t.done()
    return user


def _impersonation(t: _Table) -> c.Impersonation:
    """Read [impersonation]: everything off unless the file switches it on, as shipped."""
    return c.Impersonation(
        config_key=t.flag("config_key", False),
        enabled=t.flag("enabled", False),
        enable_type=t.choice("enable_type", c.ENABLE_TYPES, "disabled-for-admins"),  # type: ignore[arg-type]
        only_own_groups=t.flag("only_own_groups", False),
        allowed_admins=t.names("allowed_admins"),
        restricted_users=t.names("restricted_users"),
        restricted_groups=t.names("restricted_groups"),
        routes=t.flag("routes", True),
        logout_revokes_header_token=t.flag("logout_revokes_header_token", False),
    )


def _server(t: _Table) -> c.MailServer:
    host = t.text("host", "")
    if not host:
        t.fail(None, f"{t.label} needs a host")
    server = c.MailServer(
        host=host,
        protocols=t.words("protocols", c.PROTOCOLS),
        tls=t.words("tls", c.TLS_MODES),
        status=t.choice("status", c.STATUSES, "up"),  # type: ignore[arg-type]
        smtp_auth=t.flag("smtp_auth", True),
        accounts=t.texts("accounts"),
        reject=t.texts("reject", c.PROTOCOLS) or {},
        ssl_ports=t.ports("ssl_ports"),
        plain_ports=t.ports("plain_ports"),
        max_logins=t.count("max_logins"),
        busy=t.texts("busy", c.PROTOCOLS) or {},
        ban_after=t.count("ban_after"),
    )
    t.done()
    return server


def _faults(t: _Table) -> dict[str, Any]:
    number = (int, float)
    settings: dict[str, Any] = {}
    for key in ("fail_503", "fail_429", "drop_after_create", "slow_after_create"):
        settings[key] = float(t.checked(key, number, 0.0, c.check_probability))
    latencies = (("latency_ms", 0.0), ("create_latency_ms", 0.0), ("jitter_ms", 0.0))
    for key, default in (*latencies, ("slow_seconds", c.SLOW_SECONDS)):
        settings[key] = float(t.checked(key, number, default, c.check_non_negative))
    settings["retry_after"] = t.checked("retry_after", int, 1, c.check_non_negative)
    settings["capacity"] = t.checked("capacity", int, 0, c.check_non_negative)
    if "queue_limit" in t.data:  # absent: the queue has no limit
        settings["queue_limit"] = t.checked("queue_limit", int, 0, c.check_non_negative)
    settings["seed"] = t.get("seed", int, 0)
    if "session_lifetime" in t.data:  # absent: the portal's default, a year
        lifetime = t.checked("session_lifetime", number, 0.0, c.check_non_negative)
        settings["session_lifetime"] = float(lifetime)
    settings["logout_every"] = t.checked("logout_every", int, 0, c.check_non_negative)
    return settings


def _unique(file: _File, name: str, items: tuple[T, ...], key: Callable[[T], str]) -> tuple[T, ...]:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if key(item) in seen:
            file.fail(name, index, None, f"{name}[{index + 1}] repeats {key(item)!r}")
        seen.add(key(item))
    return items
