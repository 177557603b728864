"""Provider knowledge: the table itself, and the rules validation draws from it.

A provider is recognised by a row's server host names (bulkmail/data/providers.toml): a
Microsoft 365 / Outlook.com server with a password is an error before anything is sent, a
provider taking only app passwords gets a note, and settings the provider does not list get a
warning naming the ones it does.
"""

from __future__ import annotations

import pytest

from bulkmail import providers
from bulkmail.codes import Code
from bulkmail.models import Severity
from bulkmail.validation.providers import provider_notes
from bulkmail.validation.table import validate_row

MIS, APP, REFUSED = (
    Code.PROVIDER_SETTINGS_MISMATCH,
    Code.APP_PASSWORD_NEEDED,
    Code.PROVIDER_PASSWORD_REFUSED,
)


# --- the table --------------------------------------------------------------------------------


def test_the_table_holds_the_providers_admins_meet_most() -> None:
    names = " ".join(p.name for p in providers.load())
    for wanted in ("Gmail", "Google Workspace", "Microsoft 365", "Outlook.com", "Yandex",
                   "Mail.ru", "Yahoo", "iCloud", "Zoho", "Rambler", "GMX"):  # fmt: skip
        assert wanted in names


@pytest.mark.parametrize("provider", providers.load(), ids=lambda p: p.name)
def test_every_fact_has_its_source(provider: providers.Provider) -> None:
    assert set(provider.sources) == {"servers", "password"}
    assert all(url.startswith("https://") for url in provider.sources.values())
    assert provider.imap and provider.smtp and provider.note and provider.domains


def test_a_host_names_one_provider_only() -> None:
    hosts = [h for p in providers.load() for h in p.hosts]
    assert len(hosts) == len(set(hosts))


def test_hosts_and_domains_are_found_in_any_case() -> None:
    gmail = providers.by_host("IMAP.Gmail.com.")
    assert gmail is not None and gmail.name == "Gmail / Google Workspace"
    assert providers.by_domain("Yandex.RU") is providers.by_host("smtp.yandex.ru")
    assert providers.by_host("imap.example.org") is None


# --- the rules --------------------------------------------------------------------------------


def findings(**cells: str) -> tuple[bool, list[tuple[str, str, Severity]]]:
    """Return whether the row is valid, and its provider findings (code, column, severity)."""
    values = {"email": "anna@example.org", "password": "Secret-pw-1", **cells}
    account, problems = validate_row(values, 2)
    ours = [(p.code, p.column, p.severity) for p in problems if p.code in (MIS, APP, REFUSED)]
    return account is not None, ours


@pytest.mark.parametrize(
    ("cells", "valid", "expected"),
    [
        # Gmail as Google documents it: only the app-password note
        ({"server": "imap.gmail.com", "smtp_server": "smtp.gmail.com"}, True,
         [(APP, "password", Severity.INFO)]),
        ({"server": "imap.gmail.com", "smtp_server": "smtp.gmail.com", "smtp_port": "587"}, True,
         [(APP, "password", Severity.INFO)]),
        # Yandex and Mail.ru: the same note
        ({"server": "imap.yandex.ru", "smtp_server": "smtp.yandex.ru"}, True,
         [(APP, "password", Severity.INFO)]),
        ({"server": "pop.mail.ru", "imap": "false", "smtp_server": "smtp.mail.ru"}, True,
         [(APP, "password", Severity.INFO)]),
        # Microsoft 365 / Outlook.com with a password: an error, on the host that says so
        ({"server": "outlook.office365.com", "smtp_server": "smtp.office365.com",
          "smtp_port": "587"}, False, [(REFUSED, "server", Severity.ERROR)]),
        ({"server": "mail.example.org", "smtp_server": "SMTP-Mail.Outlook.com",
          "smtp_port": "587"}, False, [(REFUSED, "smtp_server", Severity.ERROR)]),
        # a refused password outweighs an app password: the row cannot be sent either way
        ({"server": "imap.gmail.com", "smtp_server": "smtp.office365.com", "smtp_port": "587"},
         False, [(REFUSED, "smtp_server", Severity.ERROR)]),
        # settings the provider does not list: a warning per side
        ({"server": "imap.gmail.com", "port": "143", "smtp_server": "smtp.gmail.com",
          "smtp_port": "25"}, True,
         [(APP, "password", Severity.INFO), (MIS, "server", Severity.WARNING),
          (MIS, "smtp_server", Severity.WARNING)]),
        # a protocol the provider does not have
        ({"server": "imap.mail.me.com", "imap": "false", "smtp_server": "smtp.mail.me.com",
          "smtp_port": "587"}, True,
         [(APP, "password", Severity.INFO), (MIS, "server", Severity.WARNING)]),
        # the account's own password, documented settings: nothing to say
        ({"server": "imap.rambler.ru", "smtp_server": "smtp.rambler.ru"}, True, []),
        ({"server": "imap.gmx.net", "smtp_server": "mail.gmx.net", "smtp_port": "587"}, True, []),
        # servers of no known provider
        ({"server": "imap.example.org", "smtp_server": "smtp.example.org"}, True, []),
    ],
)  # fmt: skip
def test_provider_rules(
    cells: dict[str, str], valid: bool, expected: list[tuple[str, str, Severity]]
) -> None:
    assert findings(**cells) == (valid, expected)


def test_a_mismatch_names_the_providers_settings() -> None:
    notes = provider_notes(("imap.yandex.ru", 143, True, 2), ("smtp.yandex.ru", 465, False, 1))
    [(column, _, _, message, hint)] = [n for n in notes if n[1] is MIS]
    assert column == "server"
    assert message == (
        "imap.yandex.ru:143 StartTLS (IMAP) is not Yandex's IMAP setting: it lists "
        "imap.yandex.ru:993 SSL, imap.yandex.com:993 SSL"
    )
    assert hint.startswith("use Yandex's IMAP settings (https://")


def test_the_notes_are_cached_per_server_settings() -> None:
    incoming, smtp = ("imap.gmail.com", 993, True, 1), ("smtp.gmail.com", 465, False, 1)
    assert provider_notes(incoming, smtp) is provider_notes(incoming, smtp)
