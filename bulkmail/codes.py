"""Every problem and outcome code bulkmail reports: severity, stage, meaning and default hint.

One registry, like frictionless's error classes: a code is a member of `Code`, a `StrEnum`,
so it is the same kebab-case text in reports, logs, the journal and summary.json, and the
emitters name it (`Code.PORT_OUT_OF_RANGE`) instead of writing the text: a typo is an
AttributeError (and a mypy error), and `tests/test_codes.py` fails on a code written as text
or emitted without being registered. The template's Help sheet is written from this registry
and the README's code tables are checked against it.

What each member carries:

- `severity`: for findings, error (blocks the row), warning or info (a note: something was
  filled in or inferred); for a run's outcome codes, error for a row that failed or was not
  attempted and info for a note on a row that succeeded.
- `stage`: where the code comes from. `models.Stage` where it fits: validation (cells and
  rows), login (the portal user's login, wherever seen), portal (the portal answered a
  request with an error; a portal code answering a login is reported at stage login),
  network (no usable answer). `Origin` for the rest: reader (the header row and the cells
  beyond it, reported with the validation findings), journal (what an earlier run recorded)
  and run (how the run treated the row: skipped as existing, stopped before sending).
- `meaning`: one line for the README and the Help sheet (`title` would shadow `str.title`).
- `hint`: the default fix; an emitter may give one built from the row instead ("put 993 in
  port and only imap.example.org here").
- `retryable`, `fatal`: for portal answers, what the run does with the code unless the
  answer says otherwise (`portal.answers` decides per answer; a bad URL scheme is a
  network-error that is not retried).

Data only: no I/O, no logic. Member access costs a class lookup, so hot paths bind the
members they emit on every row to module names.
"""

from __future__ import annotations

from enum import StrEnum, unique
from typing import NamedTuple

from bulkmail.models import Severity, Stage

__all__ = ["Code", "Origin"]


class Origin(StrEnum):
    """The stages of codes that are not a failed row's `models.Stage`."""

    READER = "reader"  # the header row and the cells beyond it
    JOURNAL = "journal"  # what an earlier run recorded
    RUN = "run"  # how the run treated the row


ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
VALIDATION, LOGIN, PORTAL, NETWORK = Stage.VALIDATION, Stage.LOGIN, Stage.PORTAL, Stage.NETWORK
CHECK = Stage.CHECK
READER, JOURNAL, RUN = Origin.READER, Origin.JOURNAL, Origin.RUN


class _Entry(NamedTuple):
    """One registry line, as written in `Code`'s body (the enum passes it to `Code.__new__`)."""

    code: str
    severity: Severity
    stage: Stage | Origin
    meaning: str
    hint: str = ""
    retryable: bool = False
    fatal: bool = False


@unique  # a text registered twice would silently be an alias of the first
class Code(StrEnum):
    """A registered code: its text (the enum value) and what it means."""

    severity: Severity
    stage: Stage | Origin
    meaning: str
    hint: str
    retryable: bool
    fatal: bool

    def __new__(
        cls,
        code: str,
        severity: Severity,
        stage: Stage | Origin,
        meaning: str,
        hint: str,
        retryable: bool,
        fatal: bool,
    ) -> Code:
        member = str.__new__(cls, code)
        member._value_ = code
        member.severity, member.stage, member.meaning = severity, stage, meaning
        member.hint, member.retryable, member.fatal = hint, retryable, fatal
        return member

    def __repr__(self) -> str:
        # The code's text, as a plain str shows it: logs that print a list of codes, and the
        # repr of a Problem, read as before the registry ('port-invalid', not <Code....>).
        return str.__repr__(self)

    # fmt: off
    # -- reader: the header row --------------------------------------------------------------
    DUPLICATE_COLUMN = _Entry(
        "duplicate-column", WARNING, READER,
        "two columns mean the same field: the second one is ignored",
        "delete or rename one of them")
    UNKNOWN_COLUMN = _Entry(
        "unknown-column", WARNING, READER,
        "a header bulkmail does not know: the column is ignored",
        "rename the header to a column name bulkmail knows if the column should be read")
    EXTRA_CELLS = _Entry(
        "extra-cells", WARNING, READER,
        "a row has values right of the last header: they are ignored",
        "give those columns a header, or check the row for an unquoted delimiter")
    PORTAL_USER_COLUMN_MISSING = _Entry(
        "portal-user-column-missing", WARNING, READER,
        "the sheet has no portal_user column and the run has no --user: the import will "
        "refuse it without one",
        "add a portal_user column, or give the import --user LOGIN; validate with the same "
        "--user to judge the rows as it will")
    REPORT_FED = _Entry(
        "report-fed", INFO, READER,
        "the input is a bulkmail report.xlsx: its Failed sheet is read unless --sheet picks "
        "another",
        "its passwords are masked: give the original sheet with --secrets-from")
    FAR_CELL = _Entry(
        "far-cell", WARNING, READER,
        "the sheet's used range reaches far beyond its data (a stray cell): only cells that hold "
        "something are read",
        "delete the stray value named and save the sheet again")
    ROWS_ABOVE_HEADER = _Entry(
        "rows-above-header", WARNING, READER,
        "rows above the header row (a title, notes) are not read",
        "the header is the row among the first ten that names the most known columns; "
        "delete the rows above it if they should be read")
    GROUP_ROW = _Entry(
        "group-row", INFO, READER,
        "a row of group labels (Incoming server, Outgoing server...) above the header: "
        "not read as columns")
    READ_AS_SMTP = _Entry(
        "read-as-smtp", INFO, READER,
        "a repeated column (Host, Port...) under a group label naming the outgoing side "
        "(Outgoing, SMTP) is read as its SMTP column")

    # -- validation: cells and rows ----------------------------------------------------------
    REQUIRED = _Entry(
        "required", ERROR, VALIDATION,
        "email, password, server or smtp_server is blank (after defaults)",
        "fill it in; a server can be given to every row with --set or --defaults")
    EMAIL_INVALID = _Entry(
        "email-invalid", ERROR, VALIDATION,
        "not one local@domain address",
        "write one address like anna@example.org")
    EMAIL_NO_TLD = _Entry(
        "email-no-tld", WARNING, VALIDATION,
        "the address's domain has no dot",
        "check the address: real mail domains look like example.org")
    INVISIBLE_CHARACTER = _Entry(
        "invisible-character", ERROR, VALIDATION,
        "an address, login or host name holds a character nobody sees (zero-width space, "
        "byte-order mark, soft hyphen, bidi mark, control) inside it",
        "delete the cell and type the value again: the character came with a paste")
    LOOKALIKE_CHARACTER = _Entry(
        "lookalike-character", ERROR, VALIDATION,
        "an address, login or host name holds a character that only looks like the one meant "
        "(a full-width or ideographic @ or dot, a dot leader, a no-break space, a typographic "
        "hyphen or apostrophe, a letter of another alphabet in a word)",
        "type the value again with the keyboard in English (Latin, half-width) mode")
    INVISIBLE_STRIPPED = _Entry(
        "invisible-stripped", WARNING, VALIDATION,
        "an invisible character at the start or end of an address, login or host name was "
        "removed",
        "nothing to do: the value without it is used; type the cell again to silence this")
    HOST_INVALID = _Entry(
        "host-invalid", ERROR, VALIDATION,
        "not a host name or IP (a scheme or :port inside, spaces...)",
        "write only the host name, e.g. imap.example.org")
    PORT_INVALID = _Entry(
        "port-invalid", ERROR, VALIDATION,
        "a port that is not a whole number",
        "write the port as digits only, e.g. 993")
    PORT_OUT_OF_RANGE = _Entry(
        "port-out-of-range", ERROR, VALIDATION,
        "a port outside 1..65535",
        "use the server's port: IMAP 993 or 143, POP3 995 or 110, SMTP 465, 587 or 25")
    ENCRYPTION_INVALID = _Entry(
        "encryption-invalid", ERROR, VALIDATION,
        "not an encryption type",
        "use None, SSL or StartTLS, or 0, 1, 2")
    AUTH_INVALID = _Entry(
        "auth-invalid", ERROR, VALIDATION,
        "not an authentication type",
        "use None, Login, CramMd5 or Ntlm, or 0, 1, 4, 7")
    BOOL_INVALID = _Entry(
        "bool-invalid", ERROR, VALIDATION,
        "not true or false",
        "use true/false, yes/no, 1/0 or да/нет")
    OAUTH2_UNSUPPORTED = _Entry(
        "oauth2-unsupported", ERROR, VALIDATION,
        "OAuth2 cannot be created with a password through this API",
        "connect this mailbox by hand in the portal's Mail settings")
    NTLM_POP3 = _Entry(
        "ntlm-pop3", ERROR, VALIDATION,
        "NTLM with POP3 (the portal fails on it)",
        "use Login for POP3, or switch the row to IMAP")
    DUPLICATE_ACCOUNT = _Entry(
        "duplicate-account", ERROR, VALIDATION,
        "the same (portal user, email) as an earlier row: the portal would overwrite it",
        "delete this row or merge it into the earlier one")
    PORTAL_USER_MISSING = _Entry(
        "portal-user-missing", ERROR, VALIDATION,
        "portal_user is blank and the run has no --user",
        "fill in the portal login that owns this mailbox, or run with --user")
    PORTAL_USER_INVALID = _Entry(
        "portal-user-invalid", ERROR, VALIDATION,
        "portal_user is not a portal login (it has spaces)",
        "write the login without spaces, usually the employee's email")
    PORTAL_PASSWORD_MISSING = _Entry(
        "portal-password-missing", ERROR, VALIDATION,
        "portal_password is blank for a portal user other than the run's --user",
        "fill it in, run as that user with --user, or act as each user with --admin LOGIN")
    PASSWORD_MASKED = _Entry(
        "password-masked", ERROR, VALIDATION,
        "a ******** cell (a re-fed report), not a password",
        "fill in the real password, or feed the original sheet with --secrets-from")
    PASSWORD_IN_COLUMN = _Entry(
        "password-in-column", ERROR, VALIDATION,
        "a cell outside the password columns holds the row's password (6 characters or more): "
        "the row's cells are probably shifted; the cell is masked",
        "check that the row's cells line up with the header: a comma inside an unquoted CSV "
        "cell splits it in two (quote that cell); a password may not equal another cell")
    PROVIDER_PASSWORD_REFUSED = _Entry(
        "provider-password-refused", ERROR, VALIDATION,
        "a server of Microsoft 365 or Outlook.com, which take no password logins for IMAP, POP or "
        "SMTP any more (only OAuth, which the portal offers for Google only)",
        "this mailbox cannot be connected with a password: leave the row out, or have its mail "
        "forwarded to a mailbox on a server that takes passwords")
    APP_PASSWORD_NEEDED = _Entry(
        "app-password-needed", INFO, VALIDATION,
        "the provider (Gmail, Yandex, Mail.ru, Yahoo, iCloud) refuses the account's own password "
        "in mail programs: password must be an app password",
        "make sure password holds an app password made in the account's security settings")
    PROVIDER_SETTINGS_MISMATCH = _Entry(
        "provider-settings-mismatch", WARNING, VALIDATION,
        "a known provider's server with a port, encryption or protocol the provider does not "
        "list (the message names its settings)",
        "use the provider's settings the message names")
    AUTOFILLED = _Entry(
        "autofilled", INFO, VALIDATION,
        "a blank server setting filled by the address's domain, from the provider table "
        "(--autofill known) or the portal's own settings (--autofill portal)")
    AUTOFILL_GUESS = _Entry(
        "autofill-guess", WARNING, VALIDATION,
        "--autofill portal: the portal does not know the domain, and its settings are its guess "
        "from the domain's name (imap.<domain>:993, smtp.<domain>:25), not looked up",
        "make sure the domain's mail servers have those names and ports, or put the real ones "
        "in server and smtp_server (or --set them)")
    AUTOFILL_FAILED = _Entry(
        "autofill-failed", ERROR, VALIDATION,
        "--autofill portal: the portal did not give the domain's settings "
        "(GET mail/accounts/setups failed): the row has no servers to send",
        "see the message for the portal's answer; fill server and smtp_server, or run again")
    PORT_ENCRYPTION_MISMATCH = _Entry(
        "port-encryption-mismatch", WARNING, VALIDATION,
        "the port is a well-known one for another encryption (993 with None, 465 with StartTLS)",
        "set the encryption the port expects, or check the port")
    PROTOCOL_PORT_MISMATCH = _Entry(
        "protocol-port-mismatch", WARNING, VALIDATION,
        "the port is another protocol's (995 with imap=true, 993 with imap=false, an SMTP port as "
        "the incoming one)",
        "use the port of the row's protocol, or fix imap")
    SMTP_AUTH_NONE = _Entry(
        "smtp-auth-none", WARNING, VALIDATION,
        "smtp_auth is true but auth_type_smtp is None (no SMTP login)",
        "set auth_type_smtp to Login, or smtp_auth to false")
    SMTP_AUTH_IGNORED = _Entry(
        "smtp-auth-ignored", WARNING, VALIDATION,
        "auth_type_smtp is ignored: smtp_auth is false",
        "set smtp_auth to true if the SMTP server needs a login, or clear auth_type_smtp")
    PASSWORD_WHITESPACE = _Entry(
        "password-whitespace", WARNING, VALIDATION,
        "a password starts or ends with a space, which is sent as part of it",
        "check it: the space is sent as part of the password")
    APP_PASSWORD_SPACES = _Entry(
        "app-password-spaces", WARNING, VALIDATION,
        "a password in four groups of four letters, as providers show app passwords: the spaces "
        "are probably not part of it",
        "check it: Google, Yandex and Mail.ru show an app password in groups for reading only; "
        "remove the spaces unless they belong to it (bulkmail sends it as typed)")
    PORTAL_PASSWORD_UNUSED = _Entry(
        "portal-password-unused", WARNING, VALIDATION,
        "portal_password is ignored: the row has no portal_user",
        "fill in portal_user, or clear portal_password")
    CELL_ERROR = _Entry(
        "cell-error", ERROR, VALIDATION,
        "the cell holds an error value (#N/A, #REF!, #VALUE!...), not a value",
        "fix the formula in the spreadsheet (or type the value) and save it again")
    FORMULA_UNCALCULATED = _Entry(
        "formula-uncalculated", ERROR, VALIDATION,
        "the cell holds a formula whose result was never calculated and saved",
        "open the file in Excel or LibreOffice, let it calculate, and save it again")
    DIGITS_LOST = _Entry(
        "digits-lost", ERROR, VALIDATION,
        "a whole number of 16 or more digits in a text column: the spreadsheet kept only 15",
        "format the column as Text and type the value again")
    VALUE_CONVERTED = _Entry(
        "value-converted", ERROR, VALIDATION,
        "the spreadsheet turned what was typed into a date, percentage, fraction, scientific "
        "notation or money",
        "format the column as Text and type the value again")
    IGNORED_CELL_ERROR = _Entry(
        "ignored-cell-error", INFO, VALIDATION,
        "an error value or uncalculated formula in a column bulkmail does not read")
    MERGED_CELL = _Entry(
        "merged-cell", INFO, VALIDATION,
        "the cell lies in a merged range: it was read as the range's value, as the sheet shows it")
    DEFAULTED = _Entry(
        "defaulted", INFO, VALIDATION,
        "a blank cell bulkmail filled in or inferred (port, encryption, protocol, SMTP login)")

    # -- login: the portal user's login, wherever it is seen ----------------------------------
    PORTAL_LOGIN_FAILED = _Entry(
        "portal-login-failed", ERROR, LOGIN,
        "the portal refused the portal user's login; never retried",
        "check portal_user / portal_password (or --user and its password); bulkmail does not "
        "retry, because 5 failed logins lock the user out for a minute")
    PORTAL_LOGIN_BLOCKED = _Entry(
        "portal-login-blocked", ERROR, LOGIN,
        "the portal blocks the user's logins for 60 s after failed ones; retried",
        "too many failed logins for this user: the portal blocks it for 60 s; bulkmail waits and "
        "tries again",
        retryable=True)
    PORTAL_2FA = _Entry(
        "portal-2fa", ERROR, LOGIN,
        "the portal user has two-factor authentication on",
        "the portal user has two-factor authentication on: give bulkmail an app password, or turn "
        "2FA off for the migration")
    PORTAL_MAIL_DISABLED = _Entry(
        "portal-mail-disabled", ERROR, LOGIN,
        "the Mail module is not available to the portal user",
        "the Mail module is not available to this portal user (a guest, or Mail turned off for "
        "them): enable Mail for the user in the portal's settings")
    IMPERSONATION_OWNER = _Entry(
        "impersonation-owner", ERROR, LOGIN,
        "--admin cannot act as the portal's owner (nobody can)",
        "give the row the owner's portal_password, or run the owner's rows with --user")
    IMPERSONATION_ADMIN = _Entry(
        "impersonation-admin", ERROR, LOGIN,
        "the portal user is an administrator: only the portal's owner may act as an admin",
        "give the row its portal_password, or run --admin as the portal's owner")
    PORTAL_USER_DISABLED = _Entry(
        "portal-user-disabled", ERROR, LOGIN,
        "the portal user is disabled (terminated or on leave): nobody can act as them",
        "enable the user in the portal's People first, or drop the row")
    PORTAL_USER_GUEST = _Entry(
        "portal-user-guest", ERROR, LOGIN,
        "the portal user is a guest: the portal's Mail refuses guests",
        "make the user a regular user in the portal's People, or drop the row")
    PORTAL_USER_UNKNOWN = _Entry(
        "portal-user-unknown", ERROR, LOGIN,
        "no portal user has this login or email (People says so)",
        "write the owner's portal email or login in portal_user")
    IMPERSONATION_REFUSED = _Entry(
        "impersonation-refused", ERROR, LOGIN,
        "the portal does not let --admin act as this user (a restricted user or group, or an "
        "admin not allowed to)",
        "the portal's owner allows it in Settings > Access Rights > Impersonation Settings; "
        "or give the row its portal_password")
    IMPERSONATION_OFF = _Entry(
        "impersonation-off", ERROR, LOGIN,
        "impersonation is off on the portal, or the portal predates it (12.5)",
        "the portal's owner sets core.user.impersonate to true in web.appsettings.config "
        "(then restarts) and enables it in Settings > Access Rights > Impersonation Settings; "
        "or give the rows their portal_password")
    PORTAL_UNAUTHORIZED = _Entry(
        "portal-unauthorized", ERROR, LOGIN,
        "the portal answered a login with HTTP 401, which its own login never does (it refuses "
        "a password with portal-login-failed): a proxy in front of it, or not the portal",
        "check that --portal is the portal's own address and that no proxy in front of it asks "
        "for a login of its own, then run the same command again")
    PORTAL_SESSION_ENDED = _Entry(
        "portal-session-ended", ERROR, LOGIN,
        "the portal ended the session (its session lifetime, or a logout of all connections) "
        "and bulkmail could not log in again unattended (a two-factor code needed, or each new "
        "session ended at once): the run stops, exit 3",
        "raise the portal's session lifetime for the migration (Settings > Security > Session "
        "Lifetime), then run the same command again: it resumes where this run stopped",
        fatal=True)
    PORTAL_NOT_PAID = _Entry(
        "portal-not-paid", ERROR, LOGIN,
        "the portal's subscription is not paid (HTTP 402): the run stops, exit 3",
        "the portal's subscription is not paid, so the run stops: renew it and run the same "
        "command again (done rows are skipped)",
        fatal=True)

    # -- portal: the test logins to the row's mail servers that a create makes ---------------
    MAILBOX_LOGIN_REFUSED = _Entry(
        "mailbox-login-refused", ERROR, PORTAL,
        "the incoming (IMAP/POP3) server refused the portal's test login",
        "check the row's account and password; many providers (Gmail, Yandex, Mail.ru, Outlook) "
        "need an app password and IMAP/POP access turned on")
    SMTP_LOGIN_REFUSED = _Entry(
        "smtp-login-refused", ERROR, PORTAL,
        "the SMTP server refused the portal's test login",
        "check smtp_account and smtp_password (blank = the incoming login and password); many "
        "providers need an app password for SMTP")
    MAILBOX_UNREACHABLE = _Entry(
        "mailbox-unreachable", ERROR, PORTAL,
        "the portal could not reach the incoming server (refused, unknown host)",
        "check server and port, and that the portal's server can reach it (DNS, firewall)")
    SMTP_UNREACHABLE = _Entry(
        "smtp-unreachable", ERROR, PORTAL,
        "the portal could not reach the SMTP server (refused, unknown host)",
        "check smtp_server and smtp_port, and that the portal's server can reach it (DNS, "
        "firewall)")
    MAILBOX_TIMEOUT = _Entry(
        "mailbox-timeout", ERROR, PORTAL,
        "the incoming server did not answer the portal in time; retried unless the SMTP test "
        "was refused too",
        "the server did not answer the portal in time: bulkmail retries; if it repeats, check "
        "server, port and the firewall in front of it",
        retryable=True)
    SMTP_TIMEOUT = _Entry(
        "smtp-timeout", ERROR, PORTAL,
        "the SMTP server did not answer the portal in time; retried",
        "the SMTP server did not answer the portal in time: bulkmail retries; if it repeats, "
        "check smtp_server, smtp_port and the firewall in front of it",
        retryable=True)
    MAILBOX_TLS_FAILED = _Entry(
        "mailbox-tls-failed", ERROR, PORTAL,
        "TLS with the incoming server failed: the encryption does not fit the port",
        "match incoming_encryption_type to the port: SSL is usually 993 (IMAP) or 995 (POP3), "
        "StartTLS or None 143 or 110")
    SMTP_TLS_FAILED = _Entry(
        "smtp-tls-failed", ERROR, PORTAL,
        "TLS with the SMTP server failed: the encryption does not fit the port",
        "match outcoming_encryption_type to smtp_port: SSL is usually 465, StartTLS 587 or 25")
    SMTP_AUTH_REQUIRED = _Entry(
        "smtp-auth-required", ERROR, PORTAL,
        "the SMTP server wants a login and the row gives none",
        "the SMTP server wants a login: set smtp_auth to true and auth_type_smtp to Login")
    SMTP_AUTH_UNSUPPORTED = _Entry(
        "smtp-auth-unsupported", ERROR, PORTAL,
        "the SMTP server offers no login and the row asks for one",
        "the SMTP server offers no login: set smtp_auth to false")
    MAILBOX_THROTTLED = _Entry(
        "mailbox-throttled", ERROR, PORTAL,
        "the incoming server turned the portal's test login away for now (too many connections "
        "or logins from the portal's address); retried without using up --retries",
        "the server limits the portal's connections: bulkmail sends fewer of its rows at once and "
        "tries again; if it repeats, lower --per-server or run the same command later",
        retryable=True)
    SMTP_THROTTLED = _Entry(
        "smtp-throttled", ERROR, PORTAL,
        "the SMTP server turned the portal's test login away for now (421, 454, too many "
        "connections); retried without using up --retries",
        "the SMTP server limits the portal's connections: bulkmail sends fewer of its rows at once "
        "and tries again; if it repeats, lower --per-server or run the same command later",
        retryable=True)
    MAILBOX_TEST_FAILED = _Entry(
        "mailbox-test-failed", ERROR, PORTAL,
        "the incoming server failed the portal's test login for another reason",
        "the incoming server refused the portal's test login: read its message and check the "
        "row's incoming settings")
    SMTP_TEST_FAILED = _Entry(
        "smtp-test-failed", ERROR, PORTAL,
        "the SMTP server failed the portal's test login for another reason",
        "the SMTP server refused the portal's test login: read its message and check the row's "
        "smtp_* settings")

    # -- check: this machine's own test of the row's mail servers (`bulkmail check`) ---------
    # A failed check reuses the portal's codes above (mailbox-unreachable...), at stage check.
    NTLM_NOT_CHECKED = _Entry(
        "ntlm-not-checked", WARNING, CHECK,
        "the row logs in with NTLM, which bulkmail check does not speak: that login was not "
        "tried",
        "the portal tests the NTLM login itself when it creates the account; a refused one "
        "fails that row of the import")
    CLEARTEXT_LOGIN_NOT_TRIED = _Entry(
        "cleartext-login-not-tried", WARNING, CHECK,
        "the row asks for StartTLS and the server does not offer STARTTLS: bulkmail check "
        "sends no password in clear from this machine, so that login was not tried",
        "turn STARTTLS on at the server, or use its SSL port (993, 995, 465) with SSL; as the "
        "row is, the portal's create tests that login itself, without encryption")
    MAIL_CERTIFICATE_UNTRUSTED = _Entry(
        "mail-certificate-untrusted", WARNING, CHECK,
        "a mail server's TLS certificate failed verification on this machine (unknown CA, "
        "expired, another name); the portal ignores certificate errors",
        "nothing blocks the import; other mail programs may refuse the certificate: renew it, "
        "or use the host name it was issued for")
    STARTTLS_NOT_OFFERED = _Entry(
        "starttls-not-offered", WARNING, CHECK,
        "the encryption is StartTLS but the server does not offer STARTTLS: the portal logs in "
        "without encryption",
        "the password would cross the network in clear: use the server's SSL port (993, 995, "
        "465) with SSL, or turn STARTTLS on at the server")
    MAIL_TLS_LEGACY = _Entry(
        "mail-tls-legacy", WARNING, CHECK,
        "a mail server speaks only TLS 1.0 or 1.1 (or TLS 1.2 only with old ciphers or keys), "
        "which this machine refuses by default: the check connected as the portal does (it "
        "allows TLS 1.0 to 1.2)",
        "nothing blocks the import; TLS below 1.2 is out of date and other mail programs refuse "
        "it: ask the server's admin to turn TLS 1.2 on")
    IMAP_PREAUTH = _Entry(
        "imap-preauth", ERROR, CHECK,
        "the IMAP server greets with PREAUTH (a session already logged in, without the row's "
        "login): the portal's mail client then refuses to log in, so the create would fail",
        "the server logs everyone in without a password (a local or pre-authenticated service): "
        "give the row the mailbox's real IMAP server, or turn PREAUTH off at the server")

    # -- portal: the answer itself -------------------------------------------------------------
    EMAIL_REJECTED = _Entry(
        "email-rejected", ERROR, PORTAL,
        "the portal cannot parse the email address",
        "the portal cannot parse this address: fix the email column")
    INVALID_ARGUMENTS = _Entry(
        "invalid-arguments", ERROR, PORTAL,
        "the portal rejected the request (HTTP 400): a value of the wrong type",
        "a value has the wrong type for the API (ports are whole numbers, booleans true/false, "
        "encryption and auth by name): fix the row")
    PORTAL_ERROR = _Entry(
        "portal-error", ERROR, PORTAL,
        "the portal failed (HTTP 500) after the mail servers accepted the login",
        "the portal failed after the mail servers accepted the login: usually OAuth2 or an "
        "undefined auth/encryption value (use Login, CramMd5 or Ntlm); else see its logs")
    RATE_LIMITED = _Entry(
        "rate-limited", ERROR, PORTAL,
        "the portal is throttling requests (HTTP 429); retried",
        "the portal is throttling requests: bulkmail waits and retries; lower --concurrency if it "
        "repeats",
        retryable=True)
    PORTAL_UNAVAILABLE = _Entry(
        "portal-unavailable", ERROR, PORTAL,
        "the portal or its proxy is busy or restarting (HTTP 502, 503, 504); retried",
        "the portal or its proxy is busy or restarting: bulkmail retries; if it repeats, check "
        "the portal",
        retryable=True)
    PORTAL_FORBIDDEN = _Entry(
        "portal-forbidden", ERROR, PORTAL,
        "the portal refused access (HTTP 403)",
        "the portal refused access: check its IP restrictions and the user's rights")
    NOT_FOUND = _Entry(
        "not-found", ERROR, PORTAL,
        "no portal API at that address (HTTP 404)",
        "the API was not found there: --portal should be the portal root, e.g. "
        "https://portal.example.org")
    HTTP_ERROR = _Entry(
        "http-error", ERROR, PORTAL,
        "an HTTP status or request failure bulkmail does not expect",
        "unexpected HTTP status: --portal should be the portal root, e.g. "
        "https://portal.example.org; else see the portal's logs")
    UNEXPECTED_ANSWER = _Entry(
        "unexpected-answer", ERROR, PORTAL,
        "the answer is not the portal API's JSON (a web page, a proxy, a login screen)",
        "this is not the portal API's JSON: --portal should be the portal root, e.g. "
        "https://portal.example.org, not a page, a proxy or a login screen")
    ANSWER_TOO_LARGE = _Entry(
        "answer-too-large", ERROR, PORTAL,
        "the answer is larger than bulkmail reads (4 MiB, counted after decompression): "
        "reading stopped there",
        "the portal API's answers are a few KB: check that --portal is the portal itself, not a "
        "proxy or a download; if the portal is right, see its logs")
    LIST_TOO_LONG = _Entry(
        "list-too-long", ERROR, PORTAL,
        "the portal user's account list ran past 100 pages or 100,000 items: bulkmail stopped "
        "listing",
        "the portal keeps pointing to a next page: check that --portal is the portal itself "
        "and not a proxy; a user with more accounts than that cannot be imported into")
    LIST_REPEATS = _Entry(
        "list-repeats", ERROR, PORTAL,
        "the portal user's account list pointed back to a page already read, or sent one "
        "again: bulkmail stopped listing",
        "the portal's paging is broken (a proxy that drops startIndex does this): check that "
        "--portal is the portal itself; else see the portal's logs")

    # -- network: no usable answer -------------------------------------------------------------
    CONNECT_FAILED = _Entry(
        "connect-failed", ERROR, NETWORK,
        "could not connect to the portal; retried",
        "check the --portal address and that this machine reaches it (DNS, firewall, proxy); "
        "bulkmail retries",
        retryable=True)
    TIMEOUT = _Entry(
        "timeout", ERROR, NETWORK,
        "the portal did not answer within --timeout; retried",
        "a create tests both mail servers and can take about 90 s: bulkmail retries; raise "
        "--timeout if it repeats",
        retryable=True)
    CONNECTION_DROPPED = _Entry(
        "connection-dropped", ERROR, NETWORK,
        "the connection closed before the answer; retried",
        "the connection closed before the answer: bulkmail retries; a proxy with a short read "
        "timeout in front of the portal can cause this",
        retryable=True)
    TLS_FAILED = _Entry(
        "tls-failed", ERROR, NETWORK,
        "TLS with the portal failed",
        "check the --portal address (https:// or http://, port) and the portal's TLS certificate")
    TLS_CERTIFICATE = _Entry(
        "tls-certificate", ERROR, NETWORK,
        "the portal's TLS certificate was refused (a CA this machine does not trust, expired, "
        "another name): the run stops, exit 3",
        "if the portal's certificate comes from your organisation's own CA, give that CA's "
        "certificate with --ca-bundle FILE (or set SSL_CERT_FILE)",
        fatal=True)
    NETWORK_ERROR = _Entry(
        "network-error", ERROR, NETWORK,
        "another network error between bulkmail and the portal (retried, unless the URL's scheme "
        "is wrong)",
        "a network error between bulkmail and the portal: check the --portal address and the "
        "connection",
        retryable=True)

    # -- journal and run: how a row ended without a portal error ------------------------------
    VIA_IMPERSONATION = _Entry(
        "via-impersonation", INFO, RUN,
        "sent as the portal user through --admin's impersonation (the portal audits it)")
    VIA_ADMIN = _Entry(
        "via-admin", INFO, RUN,
        "the portal user is --admin: sent with the admin's own login")
    VIA_OWN_LOGIN = _Entry(
        "via-own-login", INFO, RUN,
        "--admin could not act as this user: sent with the row's own portal_password")
    IMPERSONATION_CHECKED = _Entry(
        "impersonation-checked", INFO, RUN,
        "dry run: the portal says --admin may act as this user; no session opened, so the "
        "user's existing accounts were not listed",
        "add --list-existing to have them listed (one impersonation per user, ended at once)")
    PORTAL_OWN_ADDRESS = _Entry(
        "portal-own-address", ERROR, PORTAL,
        "not sent: the address is the portal user's own mailbox, alias or mail group on the "
        "portal's mail server; a create would overwrite that mailbox or shadow the address",
        "leave the row out (the portal already brings this address to the user's Mail), or "
        "connect the external mailbox under an address of its own")
    KEPT_DISABLED = _Entry(
        "kept-disabled", INFO, RUN,
        "updated, but the account stays switched off in the portal, as it was before: a "
        "create keeps an existing account's on/off state (its answer says on all the same)",
        "the account fetches no mail until it is switched on in the user's Mail settings "
        "(Accounts), which re-tests both logins")
    EXISTS = _Entry(
        "exists", INFO, RUN,
        "skipped: the portal user already has this account (--if-exists skip)",
        "use --if-exists update to post it anyway (the portal overwrites it)")
    DONE_EARLIER = _Entry(
        "done-earlier", INFO, JOURNAL,
        "skipped: an earlier run created this row (its mailboxId and date are reported)",
        "use --fresh to ignore what earlier runs did")
    RESUMED = _Entry(
        "resumed", INFO, JOURNAL,
        "created: a create cut short by an earlier run had reached the portal")
    FOUND_AFTER_LOSS = _Entry(
        "found-after-loss", INFO, RUN,
        "created: the create's answer was lost (a timeout, a dropped connection) and a look-up "
        "found the account on the portal, so it was not sent again")
    NOT_ATTEMPTED = _Entry(
        "not-attempted", ERROR, RUN,
        "the run stopped (interrupt, fatal answer) before this row was sent",
        "run the same command again to finish the rest")
    LOGIN_FAILURES_LIMIT = _Entry(
        "login-failures-limit", ERROR, RUN,
        "not sent: the row's mail server refused --max-login-failures logins in this run, so its "
        "other rows were held back before it bans the portal's address",
        "check the passwords of this batch (the rows of this server that failed with "
        "mailbox-login-refused or smtp-login-refused), fix them, and run the same command again: "
        "the rows held back are sent then")
    INTERRUPTED = _Entry(
        "interrupted", ERROR, RUN,
        "the create was in flight when the run was cut short; a re-run checks the portal first",
        "run the same command again to finish the rest")
    # fmt: on
