"""`--autofill`: blank server settings filled by the address's domain.

`known` fills from bulkmail's provider table, offline; `portal` from the portal's own
`accounts/setups` answers (`PortalSetups`, asked by `run.setups` before the rows are
checked; pure here: the answers are data).

For a sheet of just `email` and `password`: a row whose address's domain a provider serves
to everyone (gmail.com, yandex.ru... `bulkmail.providers`) gets that provider's IMAP (or
POP3, when the row's `imap` is false) and SMTP settings in the cells that are still blank
after `--set` and `--defaults`: a cell wins over those, which win over autofill. Each value
filled is noted (`autofilled`). A side whose server is given is left to the usual
inference.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

from bulkmail.codes import Code
from bulkmail.portal.lowering import mailbox_key
from bulkmail.portal.setups import Setup
from bulkmail.providers import Endpoint, Provider, by_domain
from bulkmail.schema import ENCRYPTION, ENCRYPTION_NAMES, FALSE_WORDS
from bulkmail.validation.cells import Note

__all__ = ["PortalSetups", "Unanswered", "autofill", "wanted"]

_SIDES = (  # (server, port, encryption) columns of each side
    ("server", "port", "incoming_encryption_type"),
    ("smtp_server", "smtp_port", "outcoming_encryption_type"),
)


def autofill(values: Mapping[str, str]) -> tuple[Mapping[str, str], tuple[Note, ...]]:
    """Return the row's values with blank server settings filled, and a note per value."""
    if values.get("server", "").strip() and values.get("smtp_server", "").strip():
        return values, ()
    _, at, domain = values.get("email", "").rpartition("@")
    provider = by_domain(domain) if at and domain else None  # "gmail.com" alone is no address
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
    wanted = ENCRYPTION.get(
        encryption, int(encryption) if encryption.isascii() and encryption.isdigit() else None
    )
    for endpoint in endpoints:
        if str(endpoint.port) == port or (not port and endpoint.encryption == wanted):
            return endpoint
    return endpoints[0]


# --- --autofill portal ------------------------------------------------------------------------


def wanted(values: Mapping[str, str]) -> tuple[str, bool] | None:
    """Return what a row asks the portal: (its address's domain, lower-cased; whether POP3);
    None when both servers are given or the address has no domain."""
    if values.get("server", "").strip() and values.get("smtp_server", "").strip():
        return None
    _, at, domain = values.get("email", "").strip().rpartition("@")
    # One question per domain however it is written: почта.рф and xn--80a1acny.xn--p1ai
    # are one domain to DNS and to the portal. Keyed as mailbox_key keys a domain (not
    # casefold: straße.de is xn--strae-oqa.de, another domain than strasse.de).
    domain = mailbox_key(f"@{domain.strip()}")[1:]
    if not at or not domain:
        return None
    return domain, values.get("imap", "").strip().casefold() in FALSE_WORDS


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A domain the portal gave no settings for: why (one line) and what to do."""

    message: str
    hint: str


@dataclass(frozen=True, slots=True)
class PortalSetups:
    """`--autofill portal`: the portal's answers by `wanted` key, once asked (`asked`).

    Before they are asked, `fill` fills nothing, or, as a `stand_in`, the portal's own guess
    from the domain's name without a note: what lets a first pass over the rows that must
    come before the answers (--admin's count of the rows' owners) see them valid.
    """

    answers: Mapping[tuple[str, bool], Setup | Unanswered] = field(default_factory=dict)
    asked: bool = False
    stand_in: bool = False
    outage: str = ""  # why the questions stopped: the portal did not answer (the run stops)

    def fill(self, values: Mapping[str, str]) -> tuple[Mapping[str, str], tuple[Note, ...]]:
        """Return the row's values with blank server settings filled, and a note per value."""
        key = wanted(values)
        if key is None:
            return values, ()
        if not self.asked and not self.stand_in:
            return values, ()  # not asked yet: its blank servers are `required`
        answer = self.answers.get(key) if self.asked else _stand_in(*key)
        if answer is None:  # a row no one asked for
            return values, ()
        if isinstance(answer, Unanswered):
            code = Code.AUTOFILL_FAILED
            return values, (("server", code, code.severity, answer.message, answer.hint),)
        filled, notes = _from_portal(values, answer, key[0])
        if not self.asked:
            return {**values, **filled}, ()
        return {**values, **filled}, notes


def _stand_in(domain: str, pop3: bool) -> Setup:
    incoming = (f"pop.{domain}", 110, 0) if pop3 else (f"imap.{domain}", 993, 1)
    return Setup(*incoming, f"smtp.{domain}", 25, 0, local_login=False, guess=True)


def _from_portal(
    values: Mapping[str, str], setup: Setup, domain: str
) -> tuple[dict[str, str], tuple[Note, ...]]:
    """Return the values the portal's `setup` fills in the row's blank cells, and the notes."""
    cells = {c: values.get(c, "").strip() for side in _SIDES for c in side}
    ends = (
        (setup.server, setup.port, setup.encryption),
        (setup.smtp_server, setup.smtp_port, setup.smtp_encryption),
    )
    filled: dict[str, str] = {}
    notes: list[Note] = []
    code, source = Code.AUTOFILLED, f"the portal's settings for {domain} (accounts/setups)"
    for (server, port, encryption), (host, number, kind) in zip(_SIDES, ends, strict=True):
        if cells[server]:  # a server given is the row's own: its side is left as it is
            continue
        side = {server: host, port: str(number), encryption: ENCRYPTION_NAMES[kind]}
        side = {column: value for column, value in side.items() if not cells[column]}
        filled |= side
        said = ", ".join(f"{column} {value}" for column, value in side.items())
        notes.append((server, code, code.severity, f"{said} from {source}", ""))
    if setup.local_login and not values.get("account", "").strip() and filled:
        local = values.get("email", "").strip().rpartition("@")[0]
        filled["account"] = local
        message = f"account {local} (the address's local part, as {source} say)"
        notes.append(("account", code, code.severity, message, ""))
    if setup.guess and filled:
        guess = Code.AUTOFILL_GUESS
        message = (
            f"the portal does not know {domain}: {setup.server}:{setup.port} and "
            f"{setup.smtp_server}:{setup.smtp_port} are its guess from the name, not looked up"
        )
        notes.append(("server", guess, guess.severity, message, guess.hint))
    return filled, tuple(notes)
