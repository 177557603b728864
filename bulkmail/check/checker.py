"""Check one valid row's mail servers from this machine, within the mail servers' limits.

A row takes its place on its servers (`run.servers.MailServers`, the import's limits: rows
in flight per server, the failed-login budget), waits for the shared probe of each server,
judges what the server offers as the portal would (docs/portal-api.md §10), and with `login`
logs in to each side in a connection of its own. Its outcome is `checked`, `not checked` (an NTLM
login, which the standard clients do not speak), `failed` at stage check with the import's
code, or `not attempted` when a server's budget of refused logins is spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio

from bulkmail.check import protocols
from bulkmail.check.failures import Finding, classify, hint
from bulkmail.check.probes import BELOW_TLS_1_2, Contexts, ProbeResult, Probes
from bulkmail.check.protocols import Live, Step
from bulkmail.check.targets import AUTH_NONE, NTLM, STARTTLS, Target, targets
from bulkmail.codes import Code
from bulkmail.models import Account, Checked, Outcome, Problem, Stage, Status
from bulkmail.portal.answers import Verdict
from bulkmail.run.servers import MailServers

__all__ = ["Checker"]

_COLUMNS = {  # side -> (host, encryption, authentication) columns
    "incoming": ("server", "incoming_encryption_type", "auth_type_in"),
    "smtp": ("smtp_server", "outcoming_encryption_type", "auth_type_smtp"),
}


@dataclass(slots=True)
class _Side:
    """What the check found on one side of a row."""

    target: Target
    failure: Finding | None = None
    notes: tuple[Problem, ...] = ()
    untested: bool = False  # an NTLM login, not tried


class Checker:
    """Check rows; count probes and logins."""

    def __init__(
        self,
        servers: MailServers,
        probes: Probes,
        contexts: Contexts,
        *,
        login: bool,
        timeout: float,
        limiter: anyio.CapacityLimiter,
        live: Live | None = None,
    ) -> None:
        self.servers, self._probes, self._contexts = servers, probes, contexts
        self._login, self._timeout, self._limiter = login, timeout, limiter
        self._live = live  # the sessions an interrupt ends
        self.logins = 0
        # Never set: an interrupt cancels the check instead (check.pipeline).
        self._stopping = anyio.Event()

    async def check(self, index: int, checked: Checked) -> Outcome:
        """Return the outcome of valid row `index` (its account set)."""
        account = checked.account
        assert account is not None  # the caller settles invalid rows
        let_in = await self.servers.take(index, account, self._stopping)
        try:
            # take() lets a row in when room frees up, even past a budget spent meanwhile
            if not let_in or self.servers.stopped(account) is not None:
                return _held_back(checked, account, self.servers.stopped(account) or "")
            sides = [await self._side(checked, account, t) for t in targets(account)]
            self._count(index, sides)
            return _outcome(checked, account, sides)
        finally:
            self.servers.release(index)

    async def _side(self, checked: Checked, account: Account, target: Target) -> _Side:
        probe = await self._probes.get(target)
        side = _Side(target, probe.failure, _probe_notes(checked, target, probe))
        if probe.failure is not None or probe.offer is None:
            return side
        if probe.offer.preauth:
            side.failure = _preauth(target)
            return side
        smtp = target.side == "smtp"
        auth = account.auth_type_smtp if smtp else account.auth_type_in
        wants_login = not smtp or (account.smtp_auth and auth != AUTH_NONE)
        if smtp:
            side.failure = _smtp_auth(target, wants_login, bool(probe.offer.auth))
        if side.failure is not None or not self._login or not wants_login:
            return side
        if auth == NTLM:
            side.untested = True
            side.notes += (_ntlm(checked, target),)
            return side
        if target.encryption == STARTTLS and not probe.offer.starttls:
            side.untested = True  # the row wants encryption: no password in clear from here
            side.notes += (_not_in_clear(checked, target),)
            return side
        credentials = (
            (account.smtp_account, account.smtp_password)
            if smtp
            else (account.account, account.password)
        )
        side.failure = await self._log_in(target, probe, credentials)
        return side

    async def _log_in(
        self, target: Target, probe: ProbeResult, credentials: tuple[str, str]
    ) -> Finding | None:
        context = self._contexts.pick(verify=not probe.certificate, legacy=bool(probe.legacy))
        starttls = probe.offer is not None and probe.offer.starttls  # then the login uses it
        self.logins += 1
        return await anyio.to_thread.run_sync(
            _login_blocking,
            target,
            context,
            self._timeout,
            credentials,
            self._live,
            starttls,
            limiter=self._limiter,
            abandon_on_cancel=True,  # an interrupt: `live` ends the session
        )

    def _count(self, index: int, sides: Sequence[_Side]) -> None:
        """Count the row's failures against its servers' limits and budget, or its success."""
        failed = [(s.target.side, s.failure.code) for s in sides if s.failure is not None]
        if not failed:
            self.servers.succeeded(index)
            return
        verdict = Verdict(failed[0][1], Stage.CHECK, "", "", False, sides=tuple(failed))
        self.servers.failed(index, verdict)


def _login_blocking(
    target: Target,
    context: object,
    timeout: float,
    credentials: tuple[str, str],
    live: Live | None = None,
    starttls: bool = False,
) -> Finding | None:
    import ssl

    assert isinstance(context, ssl.SSLContext)
    step = Step()
    try:
        protocols.login(target, context, timeout, step, credentials, live, starttls=starttls)
    except Exception as err:  # a session's failure; classify raises a bug again
        return classify(err, target, step)
    return None


def _smtp_auth(target: Target, wants_login: bool, offered: bool) -> Finding | None:
    """Judge the SMTP server's AUTH against the row as the portal does (docs/portal-api.md
    §10)."""
    if wants_login and not offered:
        return Finding(
            Code.SMTP_AUTH_UNSUPPORTED, f"{target.where}: the server offers no AUTH (EHLO)"
        )
    if not wants_login and offered:
        return Finding(
            Code.SMTP_AUTH_REQUIRED,
            f"{target.where}: the server offers AUTH, and the portal then requires a login",
        )
    return None


def _probe_notes(checked: Checked, target: Target, probe: ProbeResult) -> tuple[Problem, ...]:
    host_column, encryption_column, _ = _COLUMNS[target.side]
    number, notes = checked.row.number, []
    if probe.certificate:
        code = Code.MAIL_CERTIFICATE_UNTRUSTED
        message = f"{target.where}: certificate not verified ({probe.certificate})"
        notes.append(Problem(number, host_column, code, code.severity, message, code.hint))
    if probe.legacy:
        code = Code.MAIL_TLS_LEGACY
        message = f"{target.where}: the server speaks {probe.legacy} only, below TLS 1.2"
        if probe.legacy not in BELOW_TLS_1_2:
            message = (
                f"{target.where}: the server's {probe.legacy} needs old ciphers or keys, which "
                "this machine refuses unless TLS 1.0 and 1.1 are allowed"
            )
        notes.append(Problem(number, encryption_column, code, code.severity, message, code.hint))
    offer = probe.offer
    if offer is not None and target.encryption == STARTTLS and not offer.starttls:
        code = Code.STARTTLS_NOT_OFFERED
        message = f"{target.where}: the server does not offer STARTTLS"
        notes.append(Problem(number, encryption_column, code, code.severity, message, code.hint))
    return tuple(notes)


def _not_in_clear(checked: Checked, target: Target) -> Problem:
    """The row asked for StartTLS and the server offers none: the portal would log in in
    clear ("StartTLS when available", docs/portal-api.md §1.4); the check does not send the
    password that way from this machine, on a network the admin may not trust."""
    code = Code.CLEARTEXT_LOGIN_NOT_TRIED
    message = f"{target.where}: login not tried (no STARTTLS: the password would go in clear)"
    column = _COLUMNS[target.side][1]
    return Problem(checked.row.number, column, code, code.severity, message, code.hint)


def _preauth(target: Target) -> Finding:
    """The portal's test login after a PREAUTH greeting fails: MailKit refuses to
    authenticate a session that is already ("The ImapClient is already authenticated."), and
    the portal always authenticates (docs/portal-api.md §10). Not a refused login: the
    server's budget is not spent."""
    return Finding(
        Code.IMAP_PREAUTH,
        f"{target.where}: the server greets with PREAUTH (logged in without a password); the "
        "portal's test login then fails ('The ImapClient is already authenticated.')",
    )


def _ntlm(checked: Checked, target: Target) -> Problem:
    code = Code.NTLM_NOT_CHECKED
    message = f"{target.where}: NTLM login not tried"
    return Problem(
        checked.row.number, _COLUMNS[target.side][2], code, code.severity, message, code.hint
    )


def _outcome(checked: Checked, account: Account, sides: Sequence[_Side]) -> Outcome:
    notes = tuple(n for s in sides for n in s.notes)
    problems = checked.problems + notes
    failures = [s.failure for s in sides if s.failure is not None]
    common = {
        "problems": problems,
        "portal_user": account.portal_user or "",
        "email": account.email,
        "server": account.server,
    }
    if not failures:
        status = Status.NOT_CHECKED if any(s.untested for s in sides) else Status.CHECKED
        return Outcome(row=checked.row, status=status, **common)  # type: ignore[arg-type]
    hints = dict.fromkeys(hint(f.code) for f in failures)
    return Outcome(
        row=checked.row,
        status=Status.FAILED,
        stage=Stage.CHECK,
        code=failures[0].code,
        message="; ".join(f.message for f in failures),
        hint="; ".join(hints),
        **common,  # type: ignore[arg-type]
    )


def _held_back(checked: Checked, account: Account, host: str) -> Outcome:
    code = Code.LOGIN_FAILURES_LIMIT
    return Outcome(
        row=checked.row,
        status=Status.NOT_ATTEMPTED,
        code=code,
        message=f"not checked: {host} refused --max-login-failures logins in this check",
        hint=code.hint,
        problems=checked.problems,
        portal_user=account.portal_user or "",
        email=account.email,
        server=account.server,
    )
