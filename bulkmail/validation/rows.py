"""Row rules of the validator: one row's cells -> the account to send and every problem.

Cells arrive already merged with the defaults (a blank cell is absent or ""). This module
owns the mailbox, login and portal-identity cells and assembles the Account; the server
settings are `connection_rules`'. Pure: no I/O, no logging, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bulkmail.codes import Code
from bulkmail.models import Account, Problem
from bulkmail.validation.cells import (
    SPACE,
    Findings,
    check_secret,
    domain_problem,
    is_ip,
    parse_bool,
    require,
)
from bulkmail.validation.servers import Settings, incoming_settings, outgoing_settings

_LOCAL_BAD = re.compile(r"[\s<>()\[\]\\,;:\"]")
# An address that passes every check of _email_problem's but the domain's: dot-separated
# runs of the characters allowed before the @, one @, a domain without spaces or brackets.
_LOCAL_RUN = r'[^\s<>()\[\]\\,;:"@.]+'
_PLAIN_EMAIL = re.compile(rf"{_LOCAL_RUN}(?:\.{_LOCAL_RUN})*@([^\s<>@,;\[]+)")
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
    inc = incoming_settings(values)
    found.extend(inc.notes)
    smtp, smtp_login, smtp_password = _smtp(values, found, login, password)
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
        found.add("portal_user", Code.PORTAL_USER_INVALID, f'"{user}" is not a portal login')
    if password.strip():
        return user, check_secret("portal_password", password, found)
    if run_user is not None and user.casefold() == run_user.casefold():
        return None, None
    found.add(
        "portal_password",
        Code.PORTAL_PASSWORD_MISSING,
        f"portal_password is blank for portal user {user}",
        f"fill it in, or run as that user with --user {user}",
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


def _smtp(
    values: Mapping[str, str], found: Findings, login: str, password: str
) -> tuple[Settings, str, str]:
    """Return the SMTP settings and (login, password); blank ones are the incoming ones."""
    smtp = outgoing_settings(values)
    found.extend(smtp.notes)
    smtp_login = values.get("smtp_account", "").strip()
    smtp_password = values.get("smtp_password", "")
    if smtp_password.strip():
        check_secret("smtp_password", smtp_password, found)
    if smtp.flag:  # smtp_auth: without it the portal sends no SMTP login
        if not smtp_login and login:
            smtp_login = login
            found.info("smtp_account", f"smtp_account taken from the incoming login {login}")
        if not smtp_password.strip() and password:
            smtp_password = password
            found.info("smtp_password", "smtp_password taken from the incoming password")
    found.extend(smtp.late_notes)
    return smtp, smtp_login, smtp_password


def check_email(column: str, text: str, found: Findings) -> None:
    """Record what is wrong with a mailbox address (blank is the caller's business)."""
    value = text.strip()
    plain = _PLAIN_EMAIL.fullmatch(value)
    if plain and "." in plain[1] and not domain_problem(plain[1]):
        return  # the common case: none of the checks below would find anything
    if "<" in value or ">" in value:
        found.add(
            column,
            Code.EMAIL_INVALID,
            f'"{value}" is a name and an address',
            "keep only the address here and put the name in the name column",
        )
        return
    problem = _email_problem(value)
    if problem:
        found.add(column, Code.EMAIL_INVALID, f'"{value}" {problem}')
        return
    domain = value.rpartition("@")[2]
    if "." not in domain and not domain.startswith("["):
        found.add(column, Code.EMAIL_NO_TLD, f'domain of "{value}" has no dot')


def _email_problem(value: str) -> str:
    if value.count("@") != 1:
        return "has no @" if "@" not in value else "has more than one @"
    local, _, domain = value.partition("@")
    if any(sep in value for sep in ",;") or SPACE.search(value):
        return "is more than one address or has spaces"
    if not local or _LOCAL_BAD.search(local):
        return "has a bad part before the @"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "has a misplaced dot before the @"
    if domain.startswith("[") and domain.endswith("]"):
        return "" if is_ip(domain[1:-1]) else "has a bad address literal after the @"
    problem = domain_problem(domain) if domain else "is empty"
    return f"has a domain that {problem}" if problem else ""
