"""What bulkmail knows of the mail providers admins meet most, read from data/providers.toml.

Each provider has its server host names, its IMAP, POP3 and SMTP settings, what it asks of
a password (the account's own, an app password, or none at all), the domains it serves, a
constraint worth knowing, and the page each fact comes from (the file's `sources`). Data
only, loaded once: validation (`validation.providers`) recognises a provider by a row's
server host names.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, Final, Literal

from bulkmail.schema import ENCRYPTION, ENCRYPTION_NAMES

__all__ = ["Endpoint", "Provider", "by_domain", "by_host", "load"]

Password = Literal["account", "app", "refused"]
_PASSWORDS: Final = ("account", "app", "refused")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One server setting of a provider: host, port and encryption (0 None, 1 SSL, 2 StartTLS)."""

    host: str
    port: int
    encryption: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port} {ENCRYPTION_NAMES[self.encryption]}"


@dataclass(frozen=True, slots=True, eq=False)  # one object per provider: hashed by identity
class Provider:
    """One provider's servers and constraints."""

    name: str
    hosts: frozenset[str]  # case-folded
    imap: tuple[Endpoint, ...]
    pop3: tuple[Endpoint, ...]
    smtp: tuple[Endpoint, ...]
    password: Password
    domains: tuple[str, ...]
    note: str
    sources: Mapping[str, str]  # fact ("servers", "password") -> URL


def _endpoint(text: str) -> Endpoint:
    """Parse `host:port/encryption`."""
    where, _, encryption = text.partition("/")
    host, _, port = where.rpartition(":")
    return Endpoint(host.casefold(), int(port), ENCRYPTION[encryption.casefold()])


def _provider(entry: Mapping[str, Any]) -> Provider:
    password = entry["password"]
    if password not in _PASSWORDS:
        raise ValueError(f"providers.toml: {entry['name']}: password {password!r}")
    provider = Provider(
        name=entry["name"],
        hosts=frozenset(h.casefold() for h in entry["hosts"]),
        imap=tuple(map(_endpoint, entry["imap"])),
        pop3=tuple(map(_endpoint, entry["pop3"])),
        smtp=tuple(map(_endpoint, entry["smtp"])),
        password=password,
        domains=tuple(d.casefold() for d in entry["domains"]),
        note=entry["note"],
        sources=dict(entry["sources"]),
    )
    named = {e.host for e in (*provider.imap, *provider.pop3, *provider.smtp)}
    if not named <= provider.hosts:  # a setting's host must identify its provider too
        raise ValueError(f"providers.toml: {provider.name}: {sorted(named - provider.hosts)}")
    return provider


@functools.cache
def load() -> tuple[Provider, ...]:
    """Return every provider of data/providers.toml (read once)."""
    text = files("bulkmail").joinpath("data/providers.toml").read_text(encoding="utf-8")
    return tuple(_provider(entry) for entry in tomllib.loads(text)["provider"])


@functools.cache
def _hosts() -> dict[str, Provider]:
    return {host: p for p in load() for host in p.hosts}


@functools.cache
def _domains() -> dict[str, Provider]:
    return {domain: p for p in load() for domain in p.domains}


def by_host(host: str) -> Provider | None:
    """Return the provider whose server `host` is (any case, a trailing dot ignored)."""
    return _hosts().get(host.strip().rstrip(".").casefold())


def by_domain(domain: str) -> Provider | None:
    """Return the provider that serves mail `domain` to everyone (gmail.com), if known."""
    return _domains().get(domain.strip().rstrip(".").casefold())
