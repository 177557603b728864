"""Provider rules: a row's servers checked against what their provider is known to need.

A provider is recognised by a server's host name (`bulkmail.providers`, data/providers.toml
with the source of each fact):

- a Microsoft 365 / Outlook.com server with a password is an error: Microsoft turned password
  logins off for IMAP and POP and is turning them off for SMTP, and the portal's OAuth is
  Google's only, so the portal's test login would fail (`provider-password-refused`);
- a provider that takes only app passwords (Gmail, Yandex, Mail.ru...) gets a note saying so
  (`app-password-needed`);
- a port, encryption or protocol the provider does not list is a warning naming the
  provider's settings (`provider-settings-mismatch`).

Pure and cached per (server settings) pair: a sheet has few distinct servers, so a row costs
one dictionary look-up (bench/bench_validate.py).
"""

from __future__ import annotations

import functools

from bulkmail.codes import Code
from bulkmail.models import Severity
from bulkmail.providers import Endpoint, Provider, by_host
from bulkmail.schema import ENCRYPTION_NAMES
from bulkmail.validation.cells import Note

__all__ = ["provider_notes"]

_CACHED = 1024
Side = tuple[str, int, bool, int]  # host, port, IMAP (incoming) / unused (SMTP), encryption


@functools.lru_cache(maxsize=_CACHED)
def provider_notes(incoming: Side, smtp: Side) -> tuple[Note, ...]:
    """Return the provider findings of a row's incoming and SMTP settings."""
    found = (by_host(incoming[0]), by_host(smtp[0]))
    if found == (None, None):
        return ()
    notes: list[Note] = []
    sides = zip(("server", "smtp_server"), (incoming[0], smtp[0]), found, strict=True)
    notes += _password([(column, host, p) for column, host, p in sides if p is not None])
    if found[0] is not None:
        notes += _mismatch("server", found[0], incoming, "IMAP" if incoming[2] else "POP3")
    if found[1] is not None:
        notes += _mismatch("smtp_server", found[1], smtp, "SMTP")
    return tuple(notes)


def _password(known: list[tuple[str, str, Provider]]) -> list[Note]:
    """Return the password finding of the first server whose provider constrains it (one a
    row: a refusing provider first)."""
    known = sorted(known, key=lambda k: k[2].password != "refused")
    for column, host, provider in known:
        source = provider.sources.get("password", "")
        if provider.password == "refused":
            code = Code.PROVIDER_PASSWORD_REFUSED
            message = f"{host} is {provider.name}'s, which takes no password login"
            return [(column, code, code.severity, message, f"{code.hint} ({source})")]
        if provider.password == "app":
            code = Code.APP_PASSWORD_NEEDED
            message = f"{host} is {provider.name}'s: password must be an app password"
            return [("password", code, code.severity, message, f"{code.hint} ({source})")]
    return []


def _mismatch(column: str, provider: Provider, side: Side, protocol: str) -> list[Note]:
    """Return a warning when the side's settings are none of the provider's for `protocol`."""
    known = {"IMAP": provider.imap, "POP3": provider.pop3, "SMTP": provider.smtp}[protocol]
    host, port, _, encryption = side
    if Endpoint(host.strip().rstrip(".").casefold(), port, encryption) in known:
        return []
    code = Code.PROVIDER_SETTINGS_MISMATCH
    listed = ", ".join(map(str, known)) if known else f"none: {provider.name} has no {protocol}"
    shown = f"{host}:{port} {ENCRYPTION_NAMES.get(encryption, encryption)}"
    message = f"{shown} ({protocol}) is not {provider.name}'s {protocol} setting: it lists {listed}"
    source = provider.sources.get("servers", "")
    hint = f"use {provider.name}'s {protocol} settings ({source})"
    return [(column, code, Severity.WARNING, message, hint)]
