"""`--autofill known`: blank server settings filled from the provider table, by the address.

For a sheet of just `email` and `password`: a row whose address's domain a provider serves
to everyone (gmail.com, yandex.ru... `bulkmail.providers`) gets that provider's IMAP (or
POP3, when the row's `imap` is false) and SMTP settings in the cells that are still blank
after `--set` and `--defaults`: a cell wins over those, which win over autofill. Each value
filled is noted (`autofilled`). A side whose server is given is left to the usual
inference. Offline: nothing is asked of the portal.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from bulkmail.codes import Code
from bulkmail.providers import Endpoint, Provider, by_domain
from bulkmail.schema import ENCRYPTION, ENCRYPTION_NAMES, FALSE_WORDS
from bulkmail.validation.cells import Note

__all__ = ["autofill"]

_SIDES = (  # (server, port, encryption) columns of each side
    ("server", "port", "incoming_encryption_type"),
    ("smtp_server", "smtp_port", "outcoming_encryption_type"),
)


def autofill(values: Mapping[str, str]) -> tuple[Mapping[str, str], tuple[Note, ...]]:
    """Return the row's values with blank server settings filled, and a note per value."""
    if values.get("server", "").strip() and values.get("smtp_server", "").strip():
        return values, ()
    domain = values.get("email", "").rpartition("@")[2]
    provider = by_domain(domain) if domain else None
    if provider is None:
        return values, ()
    pop3 = values.get("imap", "").strip().casefold() in FALSE_WORDS
    given = tuple(values.get(c, "").strip().casefold() for side in _SIDES for c in side)
    filled, notes = _filled(provider, pop3, given)
    return {**values, **filled}, notes


@functools.lru_cache(maxsize=256)
def _filled(
    provider: Provider, pop3: bool, given: tuple[str, ...]
) -> tuple[dict[str, str], tuple[Note, ...]]:
    """Return the values to fill and their notes; `given` holds the row's server, port and
    encryption cells of each side (after --set and --defaults), "" where blank."""
    cells = dict(zip((c for side in _SIDES for c in side), given, strict=True))
    blank = {column for column, value in cells.items() if not value}
    incoming = provider.pop3 if pop3 else provider.imap
    filled: dict[str, str] = {}
    notes: list[Note] = []
    code, source = Code.AUTOFILLED, provider.sources.get("servers", "")
    sides = zip(_SIDES, (incoming, provider.smtp), strict=True)
    for (server, port, encryption), endpoints in sides:
        # A server given is the row's own; a protocol the provider lacks stays blank.
        if server not in blank or not endpoints:
            continue
        endpoint = _closest(endpoints, cells[port], cells[encryption])
        side = {server: endpoint.host, port: str(endpoint.port)}
        side[encryption] = ENCRYPTION_NAMES[endpoint.encryption]
        side = {column: value for column, value in side.items() if column in blank}
        filled |= side
        said = ", ".join(f"{column} {value}" for column, value in side.items())
        message = f"{said} from {provider.name}'s settings ({source})"
        notes.append((server, code, code.severity, message, ""))
    return filled, tuple(notes)


def _closest(endpoints: tuple[Endpoint, ...], port: str, encryption: str) -> Endpoint:
    """Return the provider's setting that fits the row's own port or encryption (587 ->
    StartTLS), else its first."""
    wanted = ENCRYPTION.get(encryption, int(encryption) if encryption.isdigit() else None)
    for endpoint in endpoints:
        if str(endpoint.port) == port or (not port and endpoint.encryption == wanted):
            return endpoint
    return endpoints[0]
