"""Row rules of the validator: one row's cells -> the account to send and every problem.

Cells arrive already merged with the defaults (a blank cell is absent or ""). This module
owns the mailbox, login and portal-identity cells and assembles the Account; the server
settings are `servers.py`'s. Pure: no I/O, no logging, no clock.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Final, NamedTuple

from bulkmail.codes import Code
from bulkmail.models import Account, Problem
from bulkmail.printable import cell_cut, cell_quoted
from bulkmail.validation.addresses import check_email
from bulkmail.validation.cells import SPACE, Findings, Note, check_secret, parse_bool, require
from bulkmail.validation.identifiers import identifier
from bulkmail.validation.providers import provider_notes
from bulkmail.validation.servers import Settings, incoming_settings, outgoing_settings

_REQUIRED_HINTS = {
    "email": "fill in the mailbox address",
    "password": "fill in the mailbox password",
}


def check_row(
    values: Mapping[str, str],
    number: int,
    run_user: str | None,
    portal_column: bool,
    *,
    acting: bool = False,
    from_email: bool = False,
) -> tuple[Account | None, list[Problem]]:
    """Return one row's account (None when an error blocks it) and all its problems.

    `acting`: the run acts as any user (--admin), so a portal_user needs no password;
    `from_email`: a row without a portal_user belongs to the portal user of its email
    (--portal-user-from email).
    """
    found = Findings(number)
    if from_email and not values.get("portal_user", "").strip():
        values = {**values, "portal_user": values.get("email", "")}
    portal_user, portal_password = _portal(values, found, run_user, portal_column, acting)
    email, login, password = _mailbox(values, found)
    inc, smtp, early, late = _sides(tuple(map(values.get, _SETTINGS, _BLANKS)))
    if early:
        found.extend(early)
    smtp_login, smtp_password = _smtp(values, found, smtp, login, password)
    if late:
        found.extend(late)
    restrict = parse_bool("restrict", values.get("restrict", ""), found)
    if found.blocked:
        return None, found.problems
    account = Account(
        email=email, name=values.get("name", "").strip(), account=login, password=password,
        server=inc.server, port=inc.port, imap=inc.flag, incoming_encryption_type=inc.encryption,
        auth_type_in=inc.auth, smtp_server=smtp.server, smtp_port=smtp.port,
        smtp_auth=smtp.flag, smtp_account=smtp_login, smtp_password=smtp_password,
        outcoming_encryption_type=smtp.encryption, auth_type_smtp=smtp.auth,
        restrict=bool(restrict), portal_user=portal_user, portal_password=portal_password,
    )  # fmt: skip
    return account, found.problems


def _portal(
    values: Mapping[str, str],
    found: Findings,
    run_user: str | None,
    portal_column: bool,
    acting: bool = False,
) -> tuple[str | None, str | None]:
    """Return (portal_user, portal_password); (None, None) means the run's own identity."""
    user, clean = identifier("portal_user", values.get("portal_user", ""), found)
    password = values.get("portal_password", "")
    if not user:
        _no_portal_user(found, password, run_user, portal_column)
        return None, None
    if clean and SPACE.search(user):
        found.add(
            "portal_user", Code.PORTAL_USER_INVALID, f"{cell_quoted(user)} is not a portal login"
        )
    if password.strip():
        return user, check_secret("portal_password", password, found)
    if not clean:  # reported, and the row is blocked: no message repeats the value
        return user, None
    if run_user is not None and user.lower() == run_user.lower():  # not casefold: ß is not ss
        return None, None
    if acting:  # --admin acts as the user: no password needed
        return user, None
    found.add(
        "portal_password",
        Code.PORTAL_PASSWORD_MISSING,
        f"portal_password is blank for portal user {cell_cut(user)}",
        f"fill it in, or run as that user with --user {cell_cut(user)}",
    )
    return user, None


def _no_portal_user(
    found: Findings, password: str, run_user: str | None, portal_column: bool
) -> None:
    """Record what a row without a portal_user lacks: the run's --user or a use for its password."""
    if portal_column and run_user is None:
        found.add(
            "portal_user",
            Code.PORTAL_USER_MISSING,
            "portal_user is blank and the run has no --user",
        )
    elif password.strip():
        found.add(
            "portal_password",
            Code.PORTAL_PASSWORD_UNUSED,
            "portal_password is ignored: the row has no portal_user",
        )


def _mailbox(values: Mapping[str, str], found: Findings) -> tuple[str, str, str]:
    """Return (email, incoming login, incoming password)."""
    email, clean = identifier("email", values.get("email", ""), found)
    email = require("email", email, found, _REQUIRED_HINTS["email"])
    if email and clean:
        check_email("email", email, found)
    login, login_clean = identifier("account", values.get("account", ""), found)
    if not login_clean:
        login = ""  # reported, and the row is blocked: no note below repeats the value
    elif not login and email and clean:
        login = email
        found.info("account", f"account taken from email {cell_cut(email)}")
    password = require("password", values.get("password", ""), found, _REQUIRED_HINTS["password"])
    if password:
        check_secret("password", password, found)
    return email, login, password


def _smtp(
    values: Mapping[str, str], found: Findings, smtp: Settings, login: str, password: str
) -> tuple[str, str]:
    """Return the SMTP (login, password); blank ones are the incoming ones."""
    smtp_login = identifier("smtp_account", values.get("smtp_account", ""), found)[0]
    smtp_password = values.get("smtp_password", "")
    if smtp_password.strip():
        check_secret("smtp_password", smtp_password, found)
    if smtp.flag:  # smtp_auth: without it the portal sends no SMTP login
        if not smtp_login and login:
            smtp_login = login
            found.info(
                "smtp_account", f"smtp_account taken from the incoming login {cell_cut(login)}"
            )
        if not smtp_password.strip() and password:
            smtp_password = password
            found.info("smtp_password", "smtp_password taken from the incoming password")
    return smtp_login, smtp_password


_SETTINGS: Final = (
    *("server", "port", "imap", "incoming_encryption_type", "auth_type_in"),
    *("smtp_server", "smtp_port", "outcoming_encryption_type", "auth_type_smtp", "smtp_auth"),
)
"""The cells of a row's server settings, in the order `incoming_settings` and
`outgoing_settings` take them."""
_BLANKS: Final = ("",) * len(_SETTINGS)


class _Sides(NamedTuple):
    """What a row's server settings cells mean, and their notes in the row's order."""

    incoming: Settings
    smtp: Settings
    early: tuple[Note, ...]  # the incoming side's, then the SMTP side's: before the SMTP login's
    late: tuple[Note, ...]  # the SMTP port checks, then the provider's: after it


@functools.lru_cache(maxsize=4096)
def _sides(cells: tuple[str, ...]) -> _Sides:
    """Return both sides' settings and notes for the settings `cells` (`_SETTINGS`' order).

    A pure function of those ten texts, as each part is (`incoming_settings`,
    `outgoing_settings` and `provider_notes`, each cached already): a sheet has a few
    distinct combinations, so a row costs one look-up instead of three and four note merges.
    """
    values = dict(zip(_SETTINGS, cells, strict=True))
    inc, smtp = incoming_settings(values), outgoing_settings(values)
    provider = provider_notes(
        (inc.server, inc.port, inc.flag, inc.encryption),
        (smtp.server, smtp.port, False, smtp.encryption),
    )
    return _Sides(inc, smtp, inc.notes + smtp.notes, smtp.late_notes + provider)
