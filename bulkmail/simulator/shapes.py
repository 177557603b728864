"""The JSON shapes of mailboxes: MailAccountData and MailBoxData (docs/portal-api.md §15)."""

from __future__ import annotations

from typing import Any

from bulkmail.simulator.state import Mailbox

MIN_DATE = "0001-01-01T00:00:00"  # DateTime.MinValue as Json.NET writes it


def account_data(
    mailbox: Mailbox, email: str, enabled: bool, date_created: str | None, flag: str = ""
) -> dict[str, Any]:
    """Return MailAccountData: what a create answers and what the account list holds; `flag`
    names the one of isGroup, isAlias, isTeamlabMailbox that is true (docs/portal-api.md §13)."""
    mailbox_id = mailbox.id
    return {
        "mailboxId": mailbox_id,
        "email": email,
        "enabled": enabled,
        "name": mailbox.name,
        "oAuthConnection": False,
        "signature": {"mailboxId": mailbox_id, "html": "", "isActive": False},
        "autoreply": {
            "mailboxId": mailbox_id,
            "turnOn": False,
            "onlyContacts": False,
            "turnOnToDate": False,
            "fromDate": MIN_DATE,
            "toDate": MIN_DATE,
            "subject": "",
            "html": "",
        },
        "eMailInFolder": None,
        "quotaError": False,
        "authError": False,
        "isGroup": flag == "isGroup",
        "isAlias": flag == "isAlias",
        "isTeamlabMailbox": flag == "isTeamlabMailbox",
        "isDefault": False,  # the simulator's users have no default-email setting
        "isSharedDomainMailbox": False,
        "dateCreated": date_created,
    }


def mailbox_data(mailbox: Mailbox) -> dict[str, Any]:
    """Return MailBoxData as `accounts/single` gives it: passwords blank, ports as strings."""
    m = mailbox
    return {
        "id": m.id,
        "email": m.email,
        "name": m.name,
        "account": m.account,
        "password": "",
        "server": m.server,
        "smtp_server": m.smtp_server,
        "smtp_port": str(m.smtp_port),
        "smtp_account": m.smtp_account,
        "smtp_password": "",
        "smtp_auth": m.smtp_auth,
        "port": str(m.port),
        "incoming_encryption_type": m.incoming_encryption_type,
        "outcoming_encryption_type": m.outcoming_encryption_type,
        "auth_type_in": m.auth_type_in,
        "auth_type_smtp": m.auth_type_smtp,
        "imap": m.imap,
        "begin_date": m.begin_date,
        "is_oauth": False,
        "restrict": m.restrict,
        "email_in_folder": None,
        "is_teamlab": False,
    }
