"""The fake mail servers behind the portal's login test (docs/portal-api.md §10, §11).

Creating an account makes the portal log in to the row's incoming server and to its SMTP
server; `Registry.test` answers what MailKit would have reported, without any network.
`Registry.connect` tests a create's sides as the servers' limits allow: a server with
`max_logins` serves that many of the portal's logins at once (each lasts until the create's
answer is due) and turns the next away in its own words; one with `ban_after` bans the
portal's address after that many refused logins, as fail2ban does (its default action
rejects the address's connections: "Connection refused", for good and bad logins alike).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bulkmail.simulator import texts
from bulkmail.simulator.config import (
    BUSY_TEXTS,
    REJECT_TEXTS,
    STANDARD_PLAIN_PORTS,
    STANDARD_SSL_PORTS,
    MailServer,
    SimConfig,
)
from bulkmail.simulator.facts import NO_AUTH, NTLM, PLAIN, SSL, STARTTLS, default_port


@dataclass(frozen=True, slots=True)
class Attempt:
    """One side of the login test: what the portal tries against one server."""

    protocol: str  # "imap", "pop3" or "smtp"
    host: str | None
    port: int  # 0: MailKit's default for the encryption
    encryption: int
    login: str | None
    password: str | None
    auth: int  # SaslMechanism; for SMTP the effective one (0: no AUTH)


@dataclass(frozen=True, slots=True)
class _Host:
    """A server prepared for lookups: its ports per protocol and how it checks logins."""

    server: MailServer
    ssl_ports: Mapping[str, frozenset[int]]
    plain_ports: Mapping[str, frozenset[int]]
    accounts: Mapping[str, str] | None  # lower-cased logins


def _prepare(server: MailServer) -> _Host:
    def ports(
        given: tuple[int, ...] | None, standard: Mapping[str, tuple[int, ...]], on: bool
    ) -> dict[str, frozenset[int]]:
        return {p: frozenset(given or standard[p]) if on else frozenset() for p in server.protocols}

    plain_on = bool(server.tls & {"plain", "starttls"})
    accounts = server.accounts
    return _Host(
        server,
        ports(server.ssl_ports, STANDARD_SSL_PORTS, "ssl" in server.tls),
        ports(server.plain_ports, STANDARD_PLAIN_PORTS, plain_on),
        None if accounts is None else {k.lower(): v for k, v in accounts.items()},
    )


@dataclass(slots=True)
class _Load:
    """What a limited server has seen of the portal's address."""

    sessions: list[float] = field(default_factory=list)  # when each login in progress ends
    refused: int = 0
    banned: bool = False


# The built-in servers: any host name is one, except the two reserved spellings.
_OPEN = _prepare(MailServer("*"))
_OPEN_REFUSED = _prepare(MailServer("*.invalid", status="refused"))
_OPEN_TIMEOUT = _prepare(MailServer("timeout.*", status="timeout"))


class Registry:
    """The fake servers of one simulator: the configured ones, then the open default."""

    def __init__(self, config: SimConfig) -> None:
        self._hosts = {s.host.lower(): _prepare(s) for s in config.servers}
        self._open = config.open_servers
        self._loads: dict[str, _Load] = {}  # limited servers, by lower-cased host

    def reset(self) -> None:
        """Forget every server's logins in progress, refused logins and ban (POST /_sim/reset)."""
        self._loads.clear()

    def find(self, host: str) -> _Host | None:
        """Return the server answering at `host`, or None when the name does not resolve."""
        name = host.strip().lower()
        found = self._hosts.get(name)
        if found is not None or not self._open:
            return found
        if name.endswith(".invalid"):
            return _OPEN_REFUSED
        return _OPEN_TIMEOUT if name.startswith("timeout.") else _OPEN

    def test(self, attempt: Attempt) -> str | None:
        """Return why the login would fail as MailKit words it, or None when it succeeds."""
        if attempt.host is None:
            return texts.HOST_NULL
        if not attempt.host:
            return texts.HOST_EMPTY
        if not 0 <= attempt.port <= 65535:
            return texts.PORT_RANGE
        host = self.find(attempt.host)
        if host is None:
            return texts.NO_SUCH_HOST
        secure = _connect(host, attempt)
        if isinstance(secure, str):
            return secure
        if host.server.status == "auth-timeout":
            return f"{texts.CLIENT_NAMES[attempt.protocol]}.AuthenticateAsync timeout"
        return _authenticate(host, attempt, secure)

    def connect(
        self, attempts: Sequence[Attempt], *, now: float, until: float, tally: Counter[str]
    ) -> list[str | None]:
        """Return each side's failure text (None: it logged in) as the servers' limits allow.

        A create holds one login per distinct limited server from `now` until `until` (when
        its answer is due, in the event loop's clock); `tally` counts the logins turned away
        ("mail-throttled") and refused by a ban ("mail-banned").
        """
        opened: set[str] = set()
        results: list[str | None] = []
        for attempt in attempts:
            host = self.find(attempt.host) if attempt.host else None
            if host is None or not (host.server.max_logins or host.server.ban_after):
                results.append(self.test(attempt))
                continue
            name = host.server.host.lower()
            load = self._loads.setdefault(name, _Load())
            load.sessions = [end for end in load.sessions if end > now]
            limit = host.server.max_logins
            if load.banned:
                tally["mail-banned"] += 1
                results.append(texts.REFUSED)
            elif limit and len(load.sessions) >= limit:  # sessions of earlier creates only
                tally["mail-throttled"] += 1
                results.append(_busy(host, attempt.protocol))
            else:
                opened.add(name)
                results.append(self._logged(host, load, attempt))
        for name in opened:
            self._loads[name].sessions.append(until)
        return results

    def _logged(self, host: _Host, load: _Load, attempt: Attempt) -> str | None:
        """Test one side on a limited server, counting a refused login toward its ban."""
        detail = self.test(attempt)
        reject = host.server.reject.get(attempt.protocol) or REJECT_TEXTS[attempt.protocol]
        if detail is not None and detail == reject:
            load.refused += 1
            ban_after = host.server.ban_after
            load.banned = load.banned or (ban_after is not None and load.refused >= ban_after)
        return detail


def _busy(host: _Host, protocol: str) -> str:
    """Return what the server says to a login beyond its limit."""
    text = host.server.busy.get(protocol) or BUSY_TEXTS[protocol]
    return text.replace("{limit}", str(host.server.max_logins))


def _connect(host: _Host, attempt: Attempt) -> bool | str:
    """Return whether the session ends up encrypted, or the connect failure text."""
    port = attempt.port or default_port(attempt.protocol, attempt.encryption)
    on_ssl = port in host.ssl_ports.get(attempt.protocol, ())
    on_plain = port in host.plain_ports.get(attempt.protocol, ())
    if host.server.status == "refused" or not (on_ssl or on_plain):
        return texts.REFUSED
    timeout = f"{texts.CLIENT_NAMES[attempt.protocol]}.ConnectAsync timeout"
    if host.server.status == "timeout":
        return timeout
    if attempt.encryption == SSL:
        return True if on_ssl else texts.TLS_HANDSHAKE
    if on_ssl:  # plain text or STARTTLS against a TLS port: no greeting ever comes
        return True if attempt.encryption not in (PLAIN, STARTTLS) else timeout
    # StartTLS means "when available", and an undefined value is MailKit's Auto: the same.
    return attempt.encryption != PLAIN and "starttls" in host.server.tls


def _authenticate(host: _Host, attempt: Attempt, secure: bool) -> str | None:
    server = host.server
    reject = server.reject.get(attempt.protocol) or REJECT_TEXTS[attempt.protocol]
    cleartext_ok = secure or "plain" in server.tls
    if attempt.protocol == "smtp":
        advertised = server.smtp_auth and cleartext_ok  # many servers offer AUTH only over TLS
        if attempt.auth == NO_AUTH:
            return texts.SMTP_AUTH_REQUIRED if advertised else None
        if not advertised:
            return texts.SMTP_NO_AUTH
    elif attempt.protocol == "pop3" and attempt.auth == NTLM:
        return texts.POP3_NTLM  # the portal calls its (absent) IMAP client: a real quirk
    elif not cleartext_ok:
        return texts.LOGIN_DISABLED if attempt.protocol == "imap" else reject
    return None if _accepts(host, attempt.login, attempt.password) else reject


def _accepts(host: _Host, login: str | None, password: str | None) -> bool:
    if not login or not password:
        return False
    if host.accounts is None:
        return "wrong" not in password.lower()
    return host.accounts.get(login.lower()) == password
