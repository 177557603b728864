"""The portal's own words: error messages, HRESULT numbers and localized headers.

Every text here is the portal's own, as `docs/portal-api.md` quotes it (§2, §5, §7, §9-§11,
§13), so a client tested against the simulator cleans exactly what the real portal sends.
The portal's numbers and rules are in `facts.py`.
"""

from __future__ import annotations

from typing import Final

# HRESULT of the .NET exception behind each answer (docs/portal-api.md §1).
HR_EXCEPTION: Final = -2146233088  # System.Exception: login-test failures, generic errors
HR_ARGUMENT: Final = -2147024809  # ArgumentException
HR_NULL: Final = -2147467261  # ArgumentNullException and NullReferenceException
HR_FORMAT: Final = -2146233033  # FormatException
HR_OVERFLOW: Final = -2146233066  # OverflowException
HR_AUTHENTICATION: Final = -2146233087  # AuthenticationException at login
HR_HTTP: Final = -2147467259  # HttpException: the product filter's 403

AUTH_FAILED: Final = "User authentication failed"
TOO_MANY_ATTEMPTS: Final = "Login Fail. Too many attempts"
FORBIDDEN: Final = "Forbidden"
RECORD_NOT_FOUND: Final = "The record could not be found"
UNAUTHORIZED: Final = "Unauthorized"
USER_NOT_FOUND: Final = "User not found"  # People lookups (docs/portal-api.md §20)
CANNOT_IMPERSONATE: Final = "Impossible to impersonate this user"  # docs/portal-api.md §20
NOT_AN_ACCOUNT: Final = "account"  # a disabled target's 500 (docs/portal-api.md §20)
SETTING_NOT_AVAILABLE: Final = "Setting is not available"
SETTING_OWNER_ONLY: Final = "Setting available only for the owner"
HR_SECURITY: Final = -2146233078  # SecurityException: impersonation refusals

ADDRESS_NULL: Final = "Value cannot be null.\nParameter name: address"
ADDRESS_EMPTY: Final = "The parameter 'address' cannot be an empty string.\nParameter name: address"
ADDRESS_FORMAT: Final = "The specified string is not in the form required for an e-mail address."
EMAIL_EMPTY: Final = "Email empty"
NOT_DELETABLE: Final = "Mailbox with specified email can't be deleted"  # a portal mailbox (§14)
NOT_FOUND_BY_EMAIL: Final = "Account wasn't found by email: {email}"

JSON_ROOT: Final = (
    "XmlNodeConverter can only convert JSON that begins with an object."
    " Path '', line 1, position 1."
)
INT_FORMAT: Final = "Input string was not in a correct format."
INT_OVERFLOW: Final = "Value was either too large or too small for an Int32."
BOOL_FORMAT: Final = "String was not recognized as a valid Boolean."
ENUM_NOT_FOUND: Final = "Requested value '{value}' was not found."

# Details of the portal's login test (MailKit 2.15 and runtime texts).
HOST_NULL: Final = "Value cannot be null.\nParameter name: host"
HOST_EMPTY: Final = "The host name cannot be empty."
PORT_RANGE: Final = "Specified argument was out of the range of valid values.\nParameter name: port"
NO_SUCH_HOST: Final = "No such host is known"
REFUSED: Final = "Connection refused"
TLS_HANDSHAKE: Final = "The handshake failed due to an unexpected packet format."
LOGIN_DISABLED: Final = "The LOGIN command is disabled."
POP3_NTLM: Final = "Object reference not set to an instance of an object"
SMTP_AUTH_REQUIRED: Final = "SmtpAuth is required (setup Authentication Type)"
SMTP_NO_AUTH: Final = "The SMTP server does not support authentication."
# MailKit's client class names, as they appear in `Imap.ConnectAsync timeout`.
CLIENT_NAMES: Final = {"imap": "Imap", "pop3": "Pop", "smtp": "Smtp"}

GENERIC: Final = {
    "en": "Some unexpected error has occurred. Please try again later.",
    "ru": "Произошла непредвиденная ошибка. Пожалуйста, повторите попытку позже.",
}
HEADERS: Final = {
    "en": {"imap": "IMAP response:", "pop3": "POP3 response:", "smtp": "SMTP response:"},
    "ru": {
        "imap": "Ответ сервера IMAP:",
        "pop3": "Ответ сервера POP3:",
        "smtp": "Ответ сервера SMTP:",
    },
}


def attempt(culture: str, protocol: str, detail: str) -> str:
    """Return one side of a login-test failure as the portal formats it."""
    header = HEADERS.get(culture, HEADERS["en"])[protocol]
    return f'<span class="attempt_header">{header}</span><br/>{detail}'
