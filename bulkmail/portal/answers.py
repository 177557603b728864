"""Classify every failed portal answer into a Verdict: stable code, stage, message, hint, retry.

Pure functions over an `httpx.Response` or `httpx.HTTPError`: no I/O, no logging, no clock
except for an HTTP-date Retry-After. The mail-server texts that a create's 500 carries are
parsed by `bulkmail.portal.server_messages`; this module decides what each answer means for the run.
Only stdlib `json` here: these run for every failed request of a 500-requests/s import.
"""

from __future__ import annotations

import email.utils
import json
import math
import ssl
import time
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Final, Literal

import httpx

from bulkmail.models import Stage
from bulkmail.portal.server_messages import CleanMessage, clean_message, diagnose

__all__ = [
    "CleanMessage",
    "During",
    "Verdict",
    "classify_exception",
    "classify_response",
    "clean_message",
    "parse_retry_after",
    "portal_message",
]

During = Literal["login", "create", "list"]

MAX_RETRY_AFTER: Final = 300.0
"""The longest wait, in seconds, that a Retry-After (or any server-given delay) can impose."""
LOGIN_BLOCK_SECONDS: Final = 60.0  # the portal's brute-force guard blocks a login for 60 s
_MAX_DETAIL: Final = 300

# Where a code's failure happened when the answer itself does not say: the login codes are
# about the portal user, not the row, wherever they are seen.
_STAGES: Final[dict[str, Stage]] = {
    **dict.fromkeys(
        (
            "portal-login-failed",
            "portal-login-blocked",
            "portal-2fa",
            "portal-mail-disabled",
            "portal-unauthorized",
            "portal-not-paid",
        ),
        Stage.LOGIN,
    ),
    **dict.fromkeys(
        ("connect-failed", "timeout", "connection-dropped", "tls-failed", "network-error"),
        Stage.NETWORK,
    ),
}
_GENERIC_500: Final = ("some unexpected error has occurred", "произошла непредвиденная ошибка")
_PORTAL_ROOT: Final = "--portal should be the portal root, e.g. https://portal.example.org"

HINTS: Final[dict[str, str]] = {
    "portal-login-failed": "check portal_user / portal_password (or --user and its password); "
    "bulkmail does not retry, because 5 failed logins lock the user out for a minute",
    "portal-login-blocked": "too many failed logins for this user: the portal blocks it for "
    "60 s; bulkmail waits and tries again",
    "portal-2fa": "the portal user has two-factor authentication on: give bulkmail an app "
    "password, or turn 2FA off for the migration",
    "portal-mail-disabled": "the Mail module is not available to this portal user (a guest, or "
    "Mail turned off for them): enable Mail for the user in the portal's settings",
    "portal-unauthorized": "the portal stopped accepting the session; bulkmail logs in again "
    "once; if it repeats, check that the user is not blocked or logged out everywhere",
    "portal-not-paid": "the portal's subscription is not paid, so the run stops: renew it and "
    "run the same command again (done rows are skipped)",
    "email-rejected": "the portal cannot parse this address: fix the email column",
    "portal-error": "the portal failed after the mail servers accepted the login: usually OAuth2 "
    "or an undefined auth/encryption value (use Login, CramMd5 or Ntlm); else see its logs",
    "invalid-arguments": "a value has the wrong type for the API (ports are whole numbers, "
    "booleans true/false, encryption and auth by name): fix the row",
    "rate-limited": "the portal is throttling requests: bulkmail waits and retries; "
    "lower --concurrency if it repeats",
    "portal-unavailable": "the portal or its proxy is busy or restarting: bulkmail retries; "
    "if it repeats, check the portal",
    "portal-forbidden": "the portal refused access: check its IP restrictions and the "
    "user's rights",
    "not-found": f"the API was not found there: {_PORTAL_ROOT}",
    "http-error": f"unexpected HTTP status: {_PORTAL_ROOT}; else see the portal's logs",
    "unexpected-answer": f"this is not the portal API's JSON: {_PORTAL_ROOT}, not a page, "
    "a proxy or a login screen",
    "connect-failed": "check the --portal address and that this machine reaches it (DNS, "
    "firewall, proxy); bulkmail retries",
    "timeout": "a create tests both mail servers and can take about 90 s: bulkmail retries; "
    "raise --timeout if it repeats",
    "connection-dropped": "the connection closed before the answer: bulkmail retries; a proxy "
    "with a short read timeout in front of the portal can cause this",
    "tls-failed": "check the --portal address (https:// or http://, port) and the portal's "
    "TLS certificate",
    "network-error": "a network error between bulkmail and the portal: check the --portal "
    "address and the connection",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """One failed answer, classified: what the runner retries, reports or stops on."""

    code: str  # stable kebab-case
    stage: Stage  # LOGIN / PORTAL / NETWORK
    message: str  # cleaned, one line; never a secret
    hint: str  # what to do
    retryable: bool  # transient: retry with backoff
    retry_after: float | None = None  # seconds the portal asked to wait
    fatal: bool = False  # stop the whole run
    ambiguous: bool = False  # the create may have reached the portal: check before re-sending
    http_status: int | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _verdict(code: str, during: During, message: str, **extra: Any) -> Verdict:
    stage = _STAGES.get(code) or (Stage.LOGIN if during == "login" else Stage.PORTAL)
    extra.setdefault("retryable", False)
    return Verdict(code, stage, message, HINTS[code], **extra)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Return the seconds a Retry-After value asks for (delta or HTTP date), capped at
    MAX_RETRY_AFTER."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000" parses naive; HTTP dates are GMT
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        return None


def portal_message(response: httpx.Response) -> str:
    """Return the error envelope's `error.message`, or "" when the answer has none."""
    body = _body(response)
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) else ""


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def classify_response(response: httpx.Response, *, during: During) -> Verdict:
    """Classify an answer that did not carry the expected result."""
    if response.is_success:
        return _success_without_result(response, during)
    clean = clean_message(portal_message(response))
    if response.status_code == 500 and clean.text:
        return _server_error(clean, during)
    return _by_status(response, _one_line(clean.text), during)


def _success_without_result(response: httpx.Response, during: During) -> Verdict:
    status = response.status_code
    body = _body(response)
    data = body.get("response") if isinstance(body, dict) else None
    if during == "login" and isinstance(data, dict) and (data.get("tfa") or data.get("sms")):
        kind = "an authenticator code" if data.get("tfa") else "an SMS code"
        return _verdict(
            "portal-2fa",
            during,
            f"the portal asks for {kind} (two-factor authentication) instead of giving a token",
            http_status=status,
        )
    kind = response.headers.get("content-type", "no content type").split(";")[0]
    what = "JSON without the expected result" if body is not None else f"not JSON ({kind})"
    # A 2xx to a create may mean it was saved even though the body is unusable.
    return _verdict(
        "unexpected-answer",
        during,
        f"the portal answered HTTP {status} but the body is {what}",
        ambiguous=during == "create",
        http_status=status,
    )


def _server_error(clean: CleanMessage, during: During) -> Verdict:
    diagnosis = diagnose(clean)
    if diagnosis is not None:  # a test login to the row's mail servers failed
        stage = Stage.LOGIN if during == "login" else Stage.PORTAL  # never seen at login
        return Verdict(
            diagnosis.code, stage, clean.text, diagnosis.hint, diagnosis.retryable, http_status=500
        )
    text = _one_line(clean.text)
    folded = text.casefold()
    if "user authentication failed" in folded:
        return _verdict(
            "portal-login-failed", during, f"the portal refused the login: {text}", http_status=500
        )
    if "too many attempts" in folded:
        return _verdict(
            "portal-login-blocked",
            during,
            f"the portal blocks logins: {text}",
            retryable=True,
            retry_after=LOGIN_BLOCK_SECONDS,
            http_status=500,
        )
    if "not in the form required for an e-mail address" in folded:
        return _verdict(
            "email-rejected", during, f"the portal rejected the email: {text}", http_status=500
        )
    generic = folded.startswith(_GENERIC_500)
    message = "the portal failed with an unexpected error" if generic else "the portal failed"
    return _verdict("portal-error", during, f"{message}: {text}", http_status=500)


# HTTP status -> code and the message's lead; what is not here is "http-error".
_BY_STATUS: Final[dict[int, tuple[str, str]]] = {
    400: ("invalid-arguments", "the portal rejected the request"),
    401: ("portal-unauthorized", "the portal did not accept the session token"),
    402: ("portal-not-paid", "the portal's subscription is not paid"),
    403: ("portal-forbidden", "the portal refused access"),
    404: ("not-found", "the portal has no such API path"),
    429: ("rate-limited", "the portal is throttling requests"),
    502: ("portal-unavailable", "the portal is unavailable"),
    503: ("portal-unavailable", "the portal is unavailable"),
    504: ("portal-unavailable", "the portal is unavailable"),
}
_RETRYABLE: Final = frozenset({"rate-limited", "portal-unavailable"})


def _by_status(response: httpx.Response, text: str, during: During) -> Verdict:
    status = response.status_code
    code, lead = _BY_STATUS.get(status, ("http-error", "the portal answered"))
    # The Mail product filter answers its 403 envelope with exactly "Forbidden"
    # (docs/portal-api.md §5).
    if code == "portal-forbidden" and during != "login" and text == "Forbidden":
        code = "portal-mail-disabled"
    said = f"HTTP {status} {response.reason_phrase}".strip() + (f": {text}" if text else "")
    if status == 404:
        said += f", for {response.url.path}"
    if response.is_redirect:
        said += f", to {response.headers.get('location', '?')}"
    retryable = code in _RETRYABLE
    retry_after = parse_retry_after(response.headers.get("retry-after")) if retryable else None
    return _verdict(
        code,
        during,
        f"{lead} ({said})",
        retryable=retryable,
        retry_after=retry_after,
        fatal=code == "portal-not-paid",
        http_status=status,
    )


# First match wins, after TLS. Only a failure to connect proves the request never left.
_NETWORK: Final[tuple[tuple[tuple[type[httpx.HTTPError], ...], str, str], ...]] = (
    (
        (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout),
        "connect-failed",
        "could not connect to the portal",
    ),
    ((httpx.TimeoutException,), "timeout", "the portal did not answer in time"),
    (
        (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError),
        "connection-dropped",
        "the connection to the portal was lost",
    ),
    ((httpx.TransportError,), "network-error", "network error"),
)


def classify_exception(exc: httpx.HTTPError, *, during: During) -> Verdict:
    """Classify a request that got no usable answer (network, timeout, TLS ...)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return classify_response(exc.response, during=during)
    said = _one_line(f"{type(exc).__name__}: {exc}").rstrip(": ")
    if isinstance(exc, httpx.ConnectError) and _is_tls(exc):
        return _verdict("tls-failed", during, f"TLS with the portal failed ({said})")
    for types, code, lead in _NETWORK:
        if isinstance(exc, types):
            # A URL without http(s):// fails the same way every time.
            retryable = not isinstance(exc, httpx.UnsupportedProtocol)
            ambiguous = retryable and code != "connect-failed"
            return _verdict(
                code, during, f"{lead} ({said})", retryable=retryable, ambiguous=ambiguous
            )
    if isinstance(exc, httpx.DecodingError):  # an answer came: a create may have been saved
        return _verdict(
            "unexpected-answer",
            during,
            f"the portal's answer could not be decoded ({said})",
            ambiguous=True,
        )
    return _verdict("http-error", during, f"the request failed ({said})")


def _is_tls(exc: BaseException) -> bool:
    """Return whether an ssl error caused `exc` (httpx wraps it twice: httpcore, then httpx)."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "[SSL" in str(exc)
