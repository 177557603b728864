"""Row rules of the validator: one row's cells -> the account to send and every problem.

Cells arrive already merged with the defaults (a blank cell is absent or ""). This module
owns the mailbox and portal-identity cells and assembles the Account; the server settings
are `connection_rules`'. Pure: no I/O, no logging, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping

from bulkmail.cell_rules import SPACE, Findings, check_email, check_secret, parse_bool, require
from bulkmail.connection_rules import incoming_side, outgoing_side
from bulkmail.models import Account, Problem

_REQUIRED_HINTS = {
    "email": "fill in the mailbox address",
    "password": "fill in the mailbox password",
}


def check_row(
    values: Mapping[str, str], number: int, run_user: str | None, portal_column: bool
) -> tuple[Account | None, list[Problem]]:
    """Return one row's account (None when an error blocks it) and all its problems."""
    found = Findings(number)
    portal_user, portal_password = _portal(values, found, run_user, portal_column)
    email, login, password = _mailbox(values, found)
    imap, inc = incoming_side(values, found, login, password)
    smtp_auth, smtp = outgoing_side(values, found, inc)
    restrict = parse_bool("restrict", values.get("restrict", ""), found)
    if found.blocked:
        return None, found.problems
    account = Account(
        email=email, name=values.get("name", "").strip(), account=login, password=password,
        server=inc.server, port=inc.port, imap=imap, incoming_encryption_type=inc.encryption,
        auth_type_in=inc.auth, smtp_server=smtp.server, smtp_port=smtp.port,
        smtp_auth=smtp_auth, smtp_account=smtp.login, smtp_password=smtp.password,
        outcoming_encryption_type=smtp.encryption, auth_type_smtp=smtp.auth,
        restrict=bool(restrict), portal_user=portal_user, portal_password=portal_password,
    )  # fmt: skip
    return account, found.problems


def _required(values: Mapping[str, str], column: str, found: Findings) -> str:
    return require(column, values.get(column, ""), found, _REQUIRED_HINTS[column])


def _portal(
    values: Mapping[str, str], found: Findings, run_user: str | None, portal_column: bool
) -> tuple[str | None, str | None]:
    """Return (portal_user, portal_password); (None, None) means the run's own identity."""
    user = values.get("portal_user", "").strip()
    password = values.get("portal_password", "")
    if not user:
        _no_portal_user(found, password, run_user, portal_column)
        return None, None
    if SPACE.search(user):
        found.error(
            "portal_user",
            "portal-user-invalid",
            f'"{user}" is not a portal login',
            "write the login without spaces, usually the employee's email",
        )
    if password.strip():
        return user, check_secret("portal_password", password, found)
    if run_user is not None and user.casefold() == run_user.casefold():
        return None, None
    found.error(
        "portal_password",
        "portal-password-missing",
        f"portal_password is blank for portal user {user}",
        f"fill it in, or run as that user with --user {user}",
    )
    return user, None


def _no_portal_user(
    found: Findings, password: str, run_user: str | None, portal_column: bool
) -> None:
    """Record what a row without a portal_user lacks: the run's --user or a use for its password."""
    if portal_column and run_user is None:
        found.error(
            "portal_user",
            "portal-user-missing",
            "portal_user is blank and the run has no --user",
            "fill in the portal login that owns this mailbox, or run with --user",
        )
    elif password.strip():
        found.warning(
            "portal_password",
            "portal-password-unused",
            "portal_password is ignored: the row has no portal_user",
            "fill in portal_user, or clear portal_password",
        )


def _mailbox(values: Mapping[str, str], found: Findings) -> tuple[str, str, str]:
    """Return (email, incoming login, incoming password)."""
    email = _required(values, "email", found)
    if email:
        check_email("email", email, found)
    login = values.get("account", "").strip()
    if not login and email:
        login = email
        found.info("account", f"account taken from email {email}")
    password = _required(values, "password", found)
    if password:
        check_secret("password", password, found)
    return email, login, password
