"""Classify every failed portal answer into a Verdict: stable code, stage, message, hint, retry.

Pure functions over an `httpx.Response` or `httpx.HTTPError`: no I/O, no logging, no clock
except for an HTTP-date Retry-After. The mail-server texts that a create's 500 carries are
parsed by `bulkmail.portal.server_messages`; this module decides what each answer means for the run.
Each code's hint, stage and default retry and fatal flags are the registry's (`bulkmail.codes`);
the choice of code, and an answer that overrides a default, are made here.
Only stdlib `json` here: these run for every failed request of a 500-requests/s import.
"""

from __future__ import annotations

import email.utils
import json
import math
import ssl
import time
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any, Final, Literal

import httpx

from bulkmail.codes import Code
from bulkmail.models import Stage
from bulkmail.portal.bodies import Unreadable
from bulkmail.portal.server_messages import CleanMessage, Side, clean_message, diagnose
from bulkmail.portal.tls import certificate_problem

__all__ = [
    "CleanMessage",
    "During",
    "Verdict",
    "classify_exception",
    "classify_response",
    "classify_unreadable",
    "clean_message",
    "list_failure",
    "parse_retry_after",
    "portal_message",
]

During = Literal["login", "create", "list"]

MAX_RETRY_AFTER: Final = 300.0
"""The longest wait, in seconds, that a Retry-After (or any server-given delay) can impose."""
LOGIN_BLOCK_SECONDS: Final = 60.0  # the portal's brute-force guard blocks a login for 60 s
_MAX_DETAIL: Final = 300

_GENERIC_500: Final = ("some unexpected error has occurred", "произошла непредвиденная ошибка")


@dataclass(frozen=True, slots=True)
class Verdict:
    """One failed answer, classified: what the runner retries, reports or stops on."""

    code: Code
    stage: Stage  # LOGIN / PORTAL / NETWORK
    message: str  # cleaned, one line; never a secret
    hint: str  # what to do
    retryable: bool  # transient: retry with backoff
    retry_after: float | None = None  # seconds the portal asked to wait
    fatal: bool = False  # stop the whole run
    ambiguous: bool = False  # the create may have reached the portal: check before re-sending
    http_status: int | None = None
    # The mail servers' sides that failed a create's test login, each with its code
    # ("incoming" or "smtp"): what the run counts against each mail server's limits.
    sides: tuple[tuple[Side, Code], ...] = ()

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _verdict(code: Code, during: During, message: str, **extra: Any) -> Verdict:
    """Return the verdict of `code`: the registry's hint, retry and fatal unless `extra` says."""
    extra.setdefault("retryable", code.retryable)
    extra.setdefault("fatal", code.fatal)
    return Verdict(code, _stage(code, during), message, code.hint, **extra)


def _stage(code: Code, during: During) -> Stage:
    """Return where a failure happened: login and network codes say so wherever they are seen."""
    if code.stage is Stage.LOGIN or code.stage is Stage.NETWORK:
        return code.stage
    return Stage.LOGIN if during == "login" else Stage.PORTAL


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
            Code.PORTAL_2FA,
            during,
            f"the portal asks for {kind} (two-factor authentication) instead of giving a token",
            http_status=status,
        )
    kind = response.headers.get("content-type", "no content type").split(";")[0]
    what = "JSON without the expected result" if body is not None else f"not JSON ({kind})"
    # A 2xx to a create may mean it was saved even though the body is unusable.
    return _verdict(
        Code.UNEXPECTED_ANSWER,
        during,
        f"the portal answered HTTP {status} but the body is {what}",
        ambiguous=during == "create",
        http_status=status,
    )


def _server_error(clean: CleanMessage, during: During) -> Verdict:
    diagnosis = diagnose(clean)
    if diagnosis is not None:  # a test login to the row's mail servers failed
        stage = _stage(diagnosis.code, during)  # never seen at login
        return Verdict(
            diagnosis.code,
            stage,
            clean.text,
            diagnosis.hint,
            diagnosis.retryable,
            http_status=500,
            sides=diagnosis.sides,
        )
    text = _one_line(clean.text)
    folded = text.casefold()
    if "user authentication failed" in folded:
        return _verdict(
            Code.PORTAL_LOGIN_FAILED,
            during,
            f"the portal refused the login: {text}",
            http_status=500,
        )
    if "too many attempts" in folded:
        return _verdict(
            Code.PORTAL_LOGIN_BLOCKED,
            during,
            f"the portal blocks logins: {text}",
            retry_after=LOGIN_BLOCK_SECONDS,
            http_status=500,
        )
    if "not in the form required for an e-mail address" in folded:
        return _verdict(
            Code.EMAIL_REJECTED, during, f"the portal rejected the email: {text}", http_status=500
        )
    generic = folded.startswith(_GENERIC_500)
    message = "the portal failed with an unexpected error" if generic else "the portal failed"
    return _verdict(Code.PORTAL_ERROR, during, f"{message}: {text}", http_status=500)


# HTTP status -> code and the message's lead; what is not here is "http-error".
_BY_STATUS: Final[dict[int, tuple[Code, str]]] = {
    400: (Code.INVALID_ARGUMENTS, "the portal rejected the request"),
    401: (Code.PORTAL_UNAUTHORIZED, "the portal did not accept the session token"),
    402: (Code.PORTAL_NOT_PAID, "the portal's subscription is not paid"),
    403: (Code.PORTAL_FORBIDDEN, "the portal refused access"),
    404: (Code.NOT_FOUND, "the portal has no such API path"),
    429: (Code.RATE_LIMITED, "the portal is throttling requests"),
    502: (Code.PORTAL_UNAVAILABLE, "the portal is unavailable"),
    503: (Code.PORTAL_UNAVAILABLE, "the portal is unavailable"),
    504: (Code.PORTAL_UNAVAILABLE, "the portal is unavailable"),
}


def _by_status(response: httpx.Response, text: str, during: During) -> Verdict:
    status = response.status_code
    code, lead = _BY_STATUS.get(status, (Code.HTTP_ERROR, "the portal answered"))
    # The Mail product filter answers its 403 envelope with exactly "Forbidden"
    # (docs/portal-api.md §5).
    if code is Code.PORTAL_FORBIDDEN and during != "login" and text == "Forbidden":
        code = Code.PORTAL_MAIL_DISABLED
    if code is Code.PORTAL_UNAUTHORIZED and during == "login":  # a login sends no token
        lead = "the portal answered the login with 401, which its own login never does"
    said = f"HTTP {status} {response.reason_phrase}".strip() + (f": {text}" if text else "")
    if status == 404:
        said += f", for {response.url.path}"
    if response.is_redirect:
        said += f", to {response.headers.get('location', '?')}"
    retry_after = parse_retry_after(response.headers.get("retry-after")) if code.retryable else None
    return _verdict(code, during, f"{lead} ({said})", retry_after=retry_after, http_status=status)


def classify_unreadable(answer: Unreadable, *, during: During) -> Verdict:
    """Classify an answer whose body was not read: over the cap, or in a coding not read.

    A 2xx to a create may mean it was saved: the run looks the account up before saying so.
    """
    status = answer.response.status_code
    code = Code.ANSWER_TOO_LARGE if answer.reason == "size" else Code.UNEXPECTED_ANSWER
    return _verdict(
        code,
        during,
        f"bulkmail stopped reading the portal's answer (HTTP {status}): {answer.detail}",
        ambiguous=during == "create" and answer.response.is_success,
        http_status=status,
    )


def list_failure(code: Code, message: str) -> Verdict:
    """Return the verdict of a listing that was stopped (`bulkmail.portal.paging`)."""
    return _verdict(code, "list", message)


# First match wins, after TLS. Only a failure to connect proves the request never left.
_NETWORK: Final[tuple[tuple[tuple[type[httpx.HTTPError], ...], Code, str], ...]] = (
    (
        (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout),
        Code.CONNECT_FAILED,
        "could not connect to the portal",
    ),
    ((httpx.TimeoutException,), Code.TIMEOUT, "the portal did not answer in time"),
    (
        (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError),
        Code.CONNECTION_DROPPED,
        "the connection to the portal was lost",
    ),
    ((httpx.TransportError,), Code.NETWORK_ERROR, "network error"),
)


def classify_exception(exc: httpx.HTTPError, *, during: During) -> Verdict:
    """Classify a request that got no usable answer (network, timeout, TLS ...)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return classify_response(exc.response, during=during)
    said = _one_line(f"{type(exc).__name__}: {exc}").rstrip(": ")
    refused = _certificate_error(exc)
    if refused is not None:  # the run cannot succeed: the same certificate every time
        message, hint = certificate_problem(refused)
        return replace(_verdict(Code.TLS_CERTIFICATE, during, message), hint=hint)
    if isinstance(exc, httpx.ConnectError) and _is_tls(exc):
        return _verdict(Code.TLS_FAILED, during, f"TLS with the portal failed ({said})")
    for types, code, lead in _NETWORK:
        if isinstance(exc, types):
            # A URL without http(s):// fails the same way every time.
            retryable = code.retryable and not isinstance(exc, httpx.UnsupportedProtocol)
            ambiguous = retryable and code is not Code.CONNECT_FAILED
            return _verdict(
                code, during, f"{lead} ({said})", retryable=retryable, ambiguous=ambiguous
            )
    if isinstance(exc, httpx.DecodingError):  # an answer came: a create may have been saved
        return _verdict(
            Code.UNEXPECTED_ANSWER,
            during,
            f"the portal's answer could not be decoded ({said})",
            ambiguous=True,
        )
    return _verdict(Code.HTTP_ERROR, during, f"the request failed ({said})")


def _certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """Return the certificate verification error behind `exc`, if one caused it."""
    seen: BaseException | None = exc
    for _ in range(6):  # httpx wraps it twice: httpcore's error, then its own
        if seen is None or isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


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
