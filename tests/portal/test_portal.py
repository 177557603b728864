"""The portal client and the classification of its answers, over httpx.MockTransport."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bulkmail.codes import Code
from bulkmail.models import Stage
from bulkmail.portal.answers import classify_response, parse_retry_after
from bulkmail.portal.client import (
    Accounts,
    Created,
    Identity,
    PortalClient,
    Token,
    Verdict,
    classify_exception,
    clean_message,
)
from bulkmail.portal.http import CookielessClient
from bulkmail.portal.server_messages import CleanMessage, Part

pytestmark = pytest.mark.anyio

BASE = "https://portal.example.org"
TOKEN = "tok-7f3a9c-SECRET-token"
PASSWORD = "Mailbox-S3cret!"
SMTP_PASSWORD = "Smtp-S3cret!"
PORTAL_PASSWORD = "Portal-S3cret!"
SECRETS = (TOKEN, PASSWORD, SMTP_PASSWORD, PORTAL_PASSWORD)
IDENTITY = Identity("john@example.org", PORTAL_PASSWORD)
PAYLOAD = {
    "name": "John", "email": "John@Example.com", "account": "john", "password": PASSWORD,
    "port": 993, "server": "imap.example.com", "smtp_account": "john",
    "smtp_password": SMTP_PASSWORD, "smtp_port": 465, "smtp_server": "smtp.example.com",
    "smtp_auth": True, "imap": True, "restrict": False, "incoming_encryption_type": 1,
    "outcoming_encryption_type": 1, "auth_type_in": 1, "auth_type_smtp": 1,
}  # fmt: skip

IMAP = '<span class="attempt_header">IMAP response:</span><br/>'
POP3 = '<span class="attempt_header">POP3 response:</span><br/>'
SMTP = '<span class="attempt_header">SMTP response:</span><br/>'
IMAP_RU = '<span class="attempt_header">Ответ сервера IMAP:</span><br/>'
POP3_RU = '<span class="attempt_header">Ответ сервера POP3:</span><br/>'
SMTP_RU = '<span class="attempt_header">Ответ сервера SMTP:</span><br/>'
GENERIC_EN = "Some unexpected error has occurred. Please try again later."
GENERIC_RU = "Произошла непредвиденная ошибка. Пожалуйста, повторите попытку позже."
SMTP_535 = "5.7.8 Username and Password not accepted"
GMAIL_CONNECTIONS = "[ALERT] Too many simultaneous connections. (Failure)"
GMAIL_454 = "4.7.0 Too many login attempts, please try again later."
DOVECOT_USERIP = (
    "Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10)"
)
PAST = "Wed, 21 Oct 2015 07:28:00 GMT"
NOW = 1445412480.0  # PAST as a Unix time
P, L, N = Stage.PORTAL, Stage.LOGIN, Stage.NETWORK

Answer = httpx.Response | Exception


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def error(status: int, message: str, hresult: int = -2146233088, **kw: Any) -> httpx.Response:
    """Return the portal's JSON error envelope (docs/portal-api.md §1)."""
    error = {"message": message, "hresult": hresult, "data": {}}
    return httpx.Response(status, json={"status": 1, "statusCode": status, "error": error}, **kw)


def ok(status: int, result: Any, **extra: Any) -> httpx.Response:
    """Return the portal's JSON success envelope."""
    body = {**extra, "status": 0, "statusCode": status, "response": result}
    return httpx.Response(status, json=body)


def case(
    name: str, answer: Answer, code: str, message: str, stage: Stage = P, *,
    retryable: bool = False, ambiguous: bool = False, retry_after: float | None = None,
) -> Any:  # fmt: skip
    """Return one table row: an answer and the verdict fields it must give."""
    expected = (code, stage, retryable, ambiguous, retry_after, message)
    return pytest.param(answer, expected, id=name)


def client(
    answers: Answer | Callable[[httpx.Request], Answer], seen: list[httpx.Request] | None = None
) -> httpx.AsyncClient:
    """Return a client whose transport records each request and gives `answers`."""

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        answer = answers(request) if callable(answers) else answers
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.AsyncClient(transport=httpx.MockTransport(handle), base_url=BASE)


async def create(answer: Answer) -> Created | Verdict:
    async with client(answer) as http:
        return await PortalClient(http).create(Token(TOKEN), PAYLOAD)


async def login(answer: Answer) -> Token | Verdict:
    async with client(answer) as http:
        return await PortalClient(http).login(IDENTITY)


def assert_verdict(verdict: object, expected: tuple[Any, ...]) -> None:
    assert isinstance(verdict, Verdict)
    got = (verdict.code, verdict.stage, verdict.retryable, verdict.ambiguous,
           verdict.retry_after, verdict.message)  # fmt: skip
    assert got == expected
    assert isinstance(verdict.code, Code)  # a registry member (test_codes.py)
    assert verdict.hint  # every verdict says what to do
    assert verdict.fatal == (verdict.code in ("portal-not-paid", "tls-certificate"))


# A failed create byte for byte as the portal writes it (docs/portal-api.md §1, §11): the API
# escapes "/" as "\/".
RAW_IMAP_REFUSED_500 = httpx.Response(
    500,
    headers={"content-type": "application/json; charset=UTF-8"},
    content=rb'{"status":1,"statusCode":500,"error":{"message":"<span class=\"attempt_header\">'
    rb'IMAP response:<\/span><br\/>Invalid credentials (Failure)","hresult":-2146233088,'
    rb'"data":{}}}',
)

# fmt: off
CREATE_FAILURES = [
    case("raw-imap-refused", RAW_IMAP_REFUSED_500,
         "mailbox-login-refused", "IMAP: Invalid credentials (Failure)"),
    case("pop3-ru", error(500, POP3_RU + "Authentication failed."),
         "mailbox-login-refused", "POP3: Authentication failed."),
    case("login-disabled", error(500, IMAP + "The LOGIN command is disabled."),
         "mailbox-login-refused", "IMAP: The LOGIN command is disabled."),
    case("older-build", error(500, "IMAP response: Authenticatin failed, see inner exception"),
         "mailbox-login-refused", "IMAP: Authenticatin failed, see inner exception"),
    case("smtp-535", error(500, SMTP + SMTP_535),
         "smtp-login-refused", f"SMTP: {SMTP_535}"),
    case("both-sides", error(500, f"{IMAP}Invalid credentials (Failure)\r\n{SMTP}{SMTP_535}"),
         "mailbox-login-refused", f"IMAP: Invalid credentials (Failure); SMTP: {SMTP_535}"),
    case("both-sides-ru", error(500, f"{IMAP_RU}Authentication failed.\r\n{SMTP_RU}{SMTP_535}"),
         "mailbox-login-refused", f"IMAP: Authentication failed.; SMTP: {SMTP_535}"),
    case("br-and-entities", error(500, f"{SMTP[:-3]}>said &lt;relay&gt; &amp; bye"),
         "smtp-test-failed", "SMTP: said <relay> & bye"),
    case("imap-refused", error(500, IMAP + "Connection refused"),
         "mailbox-unreachable", "IMAP: Connection refused"),
    case("imap-dns", error(500, IMAP + "Name or service not known"),
         "mailbox-unreachable", "IMAP: Name or service not known"),
    case("smtp-no-host", error(500, SMTP + "No such host is known"),
         "smtp-unreachable", "SMTP: No such host is known"),
    case("smtp-network", error(500, SMTP + "Network is unreachable"),
         "smtp-unreachable", "SMTP: Network is unreachable"),
    case("imap-timeout", error(500, IMAP + "Imap.ConnectAsync timeout"),
         "mailbox-timeout", "IMAP: Imap.ConnectAsync timeout", retryable=True),
    case("pop-auth-timeout", error(500, POP3 + "Pop.AuthenticateAsync timeout"),
         "mailbox-timeout", "POP3: Pop.AuthenticateAsync timeout", retryable=True),
    case("smtp-timeout", error(500, SMTP + "Smtp.AuthenticateAsync timeout"),
         "smtp-timeout", "SMTP: Smtp.AuthenticateAsync timeout", retryable=True),
    # A timeout on one side does not make a refused login on the other worth retrying.
    case("timeout-and-refused", error(500, f"{IMAP}Imap.ConnectAsync timeout\r\n{SMTP}{SMTP_535}"),
         "mailbox-timeout", f"IMAP: Imap.ConnectAsync timeout; SMTP: {SMTP_535}"),
    # Throttling answers: the server turns the portal away for now; retried.
    case("gmail-connections", error(500, IMAP + GMAIL_CONNECTIONS),
         "mailbox-throttled", f"IMAP: {GMAIL_CONNECTIONS}", retryable=True),
    case("gmail-454", error(500, SMTP + GMAIL_454),
         "smtp-throttled", f"SMTP: {GMAIL_454}", retryable=True),
    case("gmail-454-code", error(500, SMTP + "454 " + GMAIL_454),
         "smtp-throttled", f"SMTP: 454 {GMAIL_454}", retryable=True),
    case("dovecot-userip", error(500, IMAP + DOVECOT_USERIP),
         "mailbox-throttled", f"IMAP: {DOVECOT_USERIP}", retryable=True),
    case("imap-unavailable", error(500, IMAP + "[UNAVAILABLE] Temporary authentication failure"),
         "mailbox-throttled", "IMAP: [UNAVAILABLE] Temporary authentication failure",
         retryable=True),
    case("imap-limit", error(500, IMAP_RU + "[LIMIT] Too many open mailboxes"),
         "mailbox-throttled", "IMAP: [LIMIT] Too many open mailboxes", retryable=True),
    case("pop3-in-use", error(500, POP3 + "[IN-USE] Mailbox is locked by another session"),
         "mailbox-throttled", "POP3: [IN-USE] Mailbox is locked by another session",
         retryable=True),
    case("smtp-421", error(500, SMTP + "4.7.0 Try again later, closing connection."),
         "smtp-throttled", "SMTP: 4.7.0 Try again later, closing connection.", retryable=True),
    case("smtp-421-bare", error(500, SMTP + "421 Too many concurrent SMTP connections"),
         "smtp-throttled", "SMTP: 421 Too many concurrent SMTP connections", retryable=True),
    case("ru-connections", error(500, IMAP_RU + "Слишком много одновременных подключений"),
         "mailbox-throttled", "IMAP: Слишком много одновременных подключений", retryable=True),
    case("ru-later", error(500, SMTP_RU + "Превышено число попыток входа, повторите позже"),
         "smtp-throttled", "SMTP: Превышено число попыток входа, повторите позже",
         retryable=True),
    case("throttled-both", error(500, f"{IMAP}{GMAIL_CONNECTIONS}\r\n{SMTP}{GMAIL_454}"),
         "mailbox-throttled", f"IMAP: {GMAIL_CONNECTIONS}; SMTP: {GMAIL_454}", retryable=True),
    # A throttled side does not make a refused login on the other worth retrying.
    case("throttled-and-refused", error(500, f"{IMAP}{GMAIL_CONNECTIONS}\r\n{SMTP}{SMTP_535}"),
         "mailbox-throttled", f"IMAP: {GMAIL_CONNECTIONS}; SMTP: {SMTP_535}"),
    case("imap-tls", error(500, IMAP + "The handshake failed due to an unexpected packet format."),
         "mailbox-tls-failed", "IMAP: The handshake failed due to an unexpected packet format."),
    # .NET's TLS text starts like a refused login: the TLS rule must win.
    case("smtp-tls", error(500, SMTP + "Authentication failed because the remote party has "
                                       "closed the transport stream."),
         "smtp-tls-failed", "SMTP: Authentication failed because the remote party has closed "
                            "the transport stream."),
    case("smtp-auth-required",
         error(500, SMTP + "SmtpAuth is required (setup Authentication Type)"),
         "smtp-auth-required", "SMTP: SmtpAuth is required (setup Authentication Type)"),
    case("smtp-no-auth", error(500, SMTP + "The SMTP server does not support authentication."),
         "smtp-auth-unsupported", "SMTP: The SMTP server does not support authentication."),
    case("pop3-ntlm-quirk",
         error(500, POP3 + "Object reference not set to an instance of an object"),
         "mailbox-test-failed", "POP3: Object reference not set to an instance of an object"),
    case("email", error(500, "The specified string is not in the form required for an e-mail "
                             "address.", -2146233033),
         "email-rejected", "the portal rejected the email: The specified string is not in the "
                           "form required for an e-mail address."),
    case("generic-en", error(500, GENERIC_EN),
         "portal-error", f"the portal failed with an unexpected error: {GENERIC_EN}"),
    case("generic-ru", error(500, GENERIC_RU),
         "portal-error", f"the portal failed with an unexpected error: {GENERIC_RU}"),
    case("other-500", error(500, "Database is locked"),
         "portal-error", "the portal failed: Database is locked"),
    case("bad-int", error(400, "Input string was not in a correct format.", -2146233033,
                          extensions={"reason_phrase": b"Invalid arguments"}),
         "invalid-arguments", "the portal rejected the request (HTTP 400 Invalid arguments: "
                              "Input string was not in a correct format.)"),
    case("401", httpx.Response(401, text="Unauthorized",
                               headers={"WWW-Authenticate": 'Basic Realm="portal.example.org"'}),
         "portal-unauthorized", "the portal did not accept the session token "
                                "(HTTP 401 Unauthorized)", L),
    case("402-envelope", error(402, "Payment Required.", -2147467259),
         "portal-not-paid", "the portal's subscription is not paid "
                            "(HTTP 402 Payment Required: Payment Required.)", L),
    case("402-bare", httpx.Response(402),
         "portal-not-paid", "the portal's subscription is not paid (HTTP 402 Payment Required)",
         L),
    case("mail-disabled", error(403, "Forbidden", -2147467259),
         "portal-mail-disabled", "the portal refused access (HTTP 403 Forbidden: Forbidden)", L),
    case("403-other", error(403, "Access denied"),
         "portal-forbidden", "the portal refused access (HTTP 403 Forbidden: Access denied)"),
    case("404", httpx.Response(404, text="<html>Not Found</html>"),
         "not-found", "the portal has no such API path "
                      "(HTTP 404 Not Found, for /api/2.0/mail/accounts)"),
    case("429", httpx.Response(429, headers={"Retry-After": "7"}),
         "rate-limited", "the portal is throttling requests (HTTP 429 Too Many Requests)",
         retryable=True, retry_after=7.0),
    case("429-no-header", httpx.Response(429),
         "rate-limited", "the portal is throttling requests (HTTP 429 Too Many Requests)",
         retryable=True),
    case("502", httpx.Response(502, text="<html>Bad Gateway</html>"),
         "portal-unavailable", "the portal is unavailable (HTTP 502 Bad Gateway)",
         retryable=True),
    case("503-capped", httpx.Response(503, headers={"Retry-After": "3600"}),
         "portal-unavailable", "the portal is unavailable (HTTP 503 Service Unavailable)",
         retryable=True, retry_after=300.0),
    case("504-past-date", httpx.Response(504, headers={"Retry-After": PAST}),
         "portal-unavailable", "the portal is unavailable (HTTP 504 Gateway Timeout)",
         retryable=True, retry_after=0.0),
    case("418", httpx.Response(418),
         "http-error", "the portal answered (HTTP 418 I'm a teapot)"),
    case("redirect", httpx.Response(301, headers={"Location": "https://portal.example.org/"}),
         "http-error", "the portal answered "
                       "(HTTP 301 Moved Permanently, to https://portal.example.org/)"),
    # A 2xx to a create with an unusable body may still have saved the account.
    case("html-200", httpx.Response(200, html="<html>Welcome</html>"),
         "unexpected-answer", "the portal answered HTTP 200 but the body is not JSON (text/html)",
         ambiguous=True),
    case("no-response-key", httpx.Response(201, json={"status": 0, "statusCode": 201}),
         "unexpected-answer", "the portal answered HTTP 201 but the body is JSON without the "
                              "expected result", ambiguous=True),
    case("no-mailbox-id", ok(201, {"email": "John@Example.com"}, count=1),
         "unexpected-answer", "the portal answered HTTP 201 but the body is JSON without the "
                              "expected result", ambiguous=True),
]

LOGIN_FAILURES = [
    case("refused", error(500, "User authentication failed", -2146233087),
         "portal-login-failed", "the portal refused the login: User authentication failed", L),
    case("blocked", error(500, "Login Fail. Too many attempts"),
         "portal-login-blocked", "the portal blocks logins: Login Fail. Too many attempts", L,
         retryable=True, retry_after=60.0),
    case("tfa", ok(201, {"tfa": True, "tfaKey": "ABC"}, count=1),
         "portal-2fa", "the portal asks for an authenticator code (two-factor authentication) "
                       "instead of giving a token", L),
    case("sms", ok(201, {"sms": True, "phoneNoise": "+7 *** 12"}, count=1),
         "portal-2fa", "the portal asks for an SMS code (two-factor authentication) instead of "
                       "giving a token", L),
    case("unavailable", httpx.Response(503, headers={"Retry-After": "12"}),
         "portal-unavailable", "the portal is unavailable (HTTP 503 Service Unavailable)", L,
         retryable=True, retry_after=12.0),
    case("html", httpx.Response(200, html="<html>Sign in</html>"),
         "unexpected-answer", "the portal answered HTTP 200 but the body is not JSON (text/html)",
         L),
    case("ip-restricted", httpx.Response(403),
         "portal-forbidden", "the portal refused access (HTTP 403 Forbidden)", L),
]


def tls_error() -> httpx.ConnectError:
    exc = httpx.ConnectError("certificate verify failed: self-signed certificate")
    exc.__cause__ = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED]")
    return exc


NETWORK_FAILURES = [
    case("connect", httpx.ConnectError("[Errno 111] Connection refused"), "connect-failed",
         "could not connect to the portal (ConnectError: [Errno 111] Connection refused)", N,
         retryable=True),
    case("connect-timeout", httpx.ConnectTimeout("timed out"), "connect-failed",
         "could not connect to the portal (ConnectTimeout: timed out)", N, retryable=True),
    case("pool-timeout", httpx.PoolTimeout(""), "connect-failed",
         "could not connect to the portal (PoolTimeout)", N, retryable=True),
    case("read-timeout", httpx.ReadTimeout("timed out"), "timeout",
         "the portal did not answer in time (ReadTimeout: timed out)", N,
         retryable=True, ambiguous=True),
    case("write-timeout", httpx.WriteTimeout(""), "timeout",
         "the portal did not answer in time (WriteTimeout)", N, retryable=True, ambiguous=True),
    case("disconnected", httpx.RemoteProtocolError("Server disconnected without sending a "
                                                   "response."), "connection-dropped",
         "the connection to the portal was lost (RemoteProtocolError: Server disconnected "
         "without sending a response.)", N, retryable=True, ambiguous=True),
    case("reset", httpx.ReadError("[Errno 104] Connection reset by peer"), "connection-dropped",
         "the connection to the portal was lost (ReadError: [Errno 104] Connection reset by "
         "peer)", N, retryable=True, ambiguous=True),
    case("broken-pipe", httpx.WriteError("Broken pipe"), "connection-dropped",
         "the connection to the portal was lost (WriteError: Broken pipe)", N,
         retryable=True, ambiguous=True),
    case("tls-cause", tls_error(), "tls-certificate", "the portal's TLS certificate was refused "
         "([SSL: CERTIFICATE_VERIFY_FAILED])", N),
    case("tls-text", httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number"),
         "tls-failed", "TLS with the portal failed (ConnectError: [SSL: WRONG_VERSION_NUMBER] "
         "wrong version number)", N),
    case("proxy", httpx.ProxyError("proxy said no"), "network-error",
         "network error (ProxyError: proxy said no)", N, retryable=True, ambiguous=True),
    case("bad-scheme", httpx.UnsupportedProtocol("Request URL has an unsupported protocol "
                                                 "'ftp://'."), "network-error",
         "network error (UnsupportedProtocol: Request URL has an unsupported protocol "
         "'ftp://'.)", N),
    case("decoding", httpx.DecodingError("Error -3 while decompressing data"),
         "unexpected-answer", "the portal's answer could not be decoded (DecodingError: Error "
         "-3 while decompressing data)", ambiguous=True),
    case("redirects", httpx.TooManyRedirects("Exceeded maximum allowed redirects."),
         "http-error", "the request failed (TooManyRedirects: Exceeded maximum allowed "
         "redirects.)"),
]
# fmt: on


@pytest.mark.parametrize(("answer", "expected"), CREATE_FAILURES)
async def test_create_failure_is_classified(
    answer: httpx.Response, expected: tuple[Any, ...]
) -> None:
    verdict = await create(answer)
    assert_verdict(verdict, expected)
    assert isinstance(verdict, Verdict)
    assert verdict.http_status == answer.status_code


def test_a_failed_test_login_names_each_failing_side_and_its_code() -> None:
    response = error(500, f"{IMAP}{GMAIL_CONNECTIONS}\r\n{SMTP_RU}{SMTP_535}")
    verdict = classify_response(response, during="create")
    assert verdict.sides == (("incoming", "mailbox-throttled"), ("smtp", "smtp-login-refused"))
    assert classify_response(error(500, GENERIC_EN), during="create").sides == ()


@pytest.mark.parametrize(("answer", "expected"), LOGIN_FAILURES)
async def test_login_failure_is_classified(
    answer: httpx.Response, expected: tuple[Any, ...]
) -> None:
    assert_verdict(await login(answer), expected)


@pytest.mark.parametrize(("exc", "expected"), NETWORK_FAILURES)
async def test_network_failure_is_classified(exc: Exception, expected: tuple[Any, ...]) -> None:
    verdict = await create(exc)
    assert_verdict(verdict, expected)
    assert isinstance(verdict, Verdict)
    assert verdict.http_status is None


def test_status_error_is_classified_by_its_response() -> None:
    request = httpx.Request("GET", f"{BASE}/api/2.0/mail/accounts")
    response = httpx.Response(503, headers={"Retry-After": "5"}, request=request)
    exc = httpx.HTTPStatusError("503", request=request, response=response)
    expected = ("portal-unavailable", P, True, False, 5.0,
                "the portal is unavailable (HTTP 503 Service Unavailable)")  # fmt: skip
    assert_verdict(classify_exception(exc, during="list"), expected)


async def test_login_posts_credentials_and_returns_the_token() -> None:
    seen: list[httpx.Request] = []
    answer = ok(201, {"token": TOKEN, "expires": "2026-05-01T10:00:00.0000000+03:00"}, count=1)
    async with client(answer, seen) as http:
        token = await PortalClient(http).login(IDENTITY)
    assert token == Token(TOKEN)
    [request] = seen
    assert (request.method, request.url.path) == ("POST", "/api/2.0/authentication")
    body = {"userName": "john@example.org", "password": PORTAL_PASSWORD}
    assert json.loads(request.content) == body
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers


async def test_create_sends_the_payload_with_the_raw_token() -> None:
    seen: list[httpx.Request] = []
    answer = ok(201, {"mailboxId": 42, "email": "John@Example.com", "enabled": True}, count=1)
    async with client(answer, seen) as http:
        created = await PortalClient(http).create(Token(TOKEN), PAYLOAD)
    assert created == Created(42, "John@Example.com")
    [request] = seen
    assert (request.method, request.url.path) == ("POST", "/api/2.0/mail/accounts")
    assert request.headers["authorization"] == TOKEN  # the documented style: no scheme
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == PAYLOAD


async def test_list_accounts_of_an_empty_list_without_count() -> None:
    seen: list[httpx.Request] = []
    answer = httpx.Response(200, json={"status": 0, "statusCode": 200, "response": []})
    async with client(answer, seen) as http:
        assert await PortalClient(http).list_accounts(Token(TOKEN)) == {}
    [request] = seen
    assert (request.method, str(request.url)) == ("GET", f"{BASE}/api/2.0/mail/accounts")
    assert request.headers["authorization"] == TOKEN


def account(mailbox_id: int, email: str, **flags: bool) -> dict[str, Any]:
    """Return a MailAccountData item as `GET api/2.0/mail/accounts` lists it."""
    item = {"mailboxId": mailbox_id, "email": email, "enabled": True, "isGroup": False}
    return {**item, "isAlias": False, "isTeamlabMailbox": False, **flags}


async def test_list_accounts_sets_the_portals_own_addresses_apart() -> None:
    items = [
        account(42, "john@example.com"),
        account(43, "Off@example.com", enabled=False),
        account(7, "sales@example.org", isGroup=True),
        account(8, "jd@example.org", isAlias=True),
        account(9, "John@Example.ORG", isTeamlabMailbox=True, enabled=False),
    ]
    async with client(ok(200, items, count=4)) as http:
        listed = await PortalClient(http).list_accounts(Token(TOKEN))
    # The portal's own mailbox is no account to skip or overwrite: it is set apart.
    assert listed == {"john@example.com": 42, "off@example.com": 43}
    assert isinstance(listed, Accounts)
    assert listed.disabled == {"off@example.com"}  # the portal mailbox's own flag is not kept
    assert listed.portal == {
        "sales@example.org": "mail group",
        "jd@example.org": "alias",
        "john@example.org": "mailbox",
    }


@pytest.mark.parametrize(
    ("flag", "value", "portal", "disabled"),
    [
        ("isTeamlabMailbox", "true", {"a@example.com": "mailbox"}, set()),
        ("isAlias", 1, {"a@example.com": "alias"}, set()),
        ("isAlias", "False", {}, set()),
        ("isGroup", None, {}, set()),
        ("enabled", "false", {}, {"a@example.com"}),
        ("enabled", 0, {}, {"a@example.com"}),
    ],
)
async def test_a_flag_the_portal_writes_as_text_or_a_number_reads_as_it_says(
    flag: str, value: object, portal: dict[str, str], disabled: set[str]
) -> None:
    # Read with `is True`, "isTeamlabMailbox": "true" made the portal's own mailbox an
    # account that --if-exists update overwrote.
    item = account(1, "A@example.com") | {flag: value}
    async with client(ok(200, [item], count=1)) as http:
        listed = await PortalClient(http).list_accounts(Token(TOKEN))
    assert isinstance(listed, Accounts)
    assert (listed.portal, listed.disabled) == (portal, disabled)
    assert listed == ({} if portal else {"a@example.com": 1})


@pytest.mark.parametrize("value", ["yes", 2, [], {}])
async def test_a_flag_that_is_neither_true_nor_false_makes_the_list_unreadable(
    value: object,
) -> None:
    item = account(1, "a@example.com") | {"isTeamlabMailbox": value}
    async with client(ok(200, [item], count=1)) as http:
        listed = await PortalClient(http).list_accounts(Token(TOKEN))
    assert isinstance(listed, Verdict)
    assert (listed.code, listed.message) == ("unexpected-answer", NOT_A_LIST)


async def test_an_update_goes_to_the_address_the_portal_lists() -> None:
    decomposed = "jose\u0301@example.com"  # listed as a look-alike, or typed so in a row
    items = [
        account(1, "jos\u00e9@example.com"),  # josé@, composed
        account(2, decomposed, enabled=False),  # its look-alike, left by an earlier run
        account(3, "info@example.com"),
        account(4, "z\u00fcrich@example.com", enabled=False),
        account(5, "ZU\u0308RICH@example.com"),  # zürich@ again, decomposed and switched on
    ]
    async with client(ok(200, items, count=5)) as http:
        listed = await PortalClient(http).list_accounts(Token(TOKEN))
    assert isinstance(listed, Accounts)
    # One key, the facts of one item: the last one listed (its id, its address, its flag).
    assert listed == {
        "jos\u00e9@example.com": 2,
        "info@example.com": 3,
        "z\u00fcrich@example.com": 5,
    }
    assert listed.disabled == {"jos\u00e9@example.com"}
    assert listed.address_for("JOS\u00c9@example.com") == decomposed
    assert listed.address_for("JOSE\u0301@example.com") == "JOSE\u0301@example.com"  # as typed
    assert listed.address_for("I\u0307NFO@example.com") == "info@example.com"
    assert listed.address_for("Info@Example.com") == "Info@Example.com"
    assert listed.address_for("Z\u00dcRICH@example.com") == "ZU\u0308RICH@example.com"


async def test_list_accounts_follows_next_index() -> None:
    seen: list[httpx.Request] = []

    def pages(request: httpx.Request) -> httpx.Response:
        if "startIndex" not in request.url.params:
            return ok(200, [account(1, "a@example.com")], count=1, nextIndex=1)
        return ok(200, [account(2, "b@example.com")], count=1)

    async with client(pages, seen) as http:
        listed = await PortalClient(http).list_accounts(Token(TOKEN))
    assert listed == {"a@example.com": 1, "b@example.com": 2}
    assert [r.url.params.get("startIndex") for r in seen] == [None, "1"]


NOT_A_LIST = "the portal answered HTTP 200 but the body is JSON without the expected result"


# fmt: off
LIST_FAILURES = [
    case("object", ok(200, {"mailboxId": 1}), "unexpected-answer", NOT_A_LIST),
    case("no-id", ok(200, [{"email": "a@example.com"}]), "unexpected-answer", NOT_A_LIST),
    case("401", httpx.Response(401, text="Unauthorized"), "portal-unauthorized",
         "the portal did not accept the session token (HTTP 401 Unauthorized)", L),
    case("mail-disabled", error(403, "Forbidden", -2147467259), "portal-mail-disabled",
         "the portal refused access (HTTP 403 Forbidden: Forbidden)", L),
]
# fmt: on


@pytest.mark.parametrize(("answer", "expected"), LIST_FAILURES)
async def test_list_accounts_failure(answer: httpx.Response, expected: tuple[Any, ...]) -> None:
    async with client(answer) as http:
        assert_verdict(await PortalClient(http).list_accounts(Token(TOKEN)), expected)


async def test_find_account_returns_the_id() -> None:
    seen: list[httpx.Request] = []
    found = {"id": 42, "email": "john@example.com", "password": "", "port": "993"}
    async with client(ok(200, found, count=1), seen) as http:
        assert await PortalClient(http).find_account(Token(TOKEN), "John@Example.com") == 42
    [request] = seen
    assert request.url.path == "/api/2.0/mail/accounts/single"
    assert dict(request.url.params) == {"email": "John@Example.com"}
    assert request.headers["authorization"] == TOKEN


async def test_find_account_not_found_500_is_none() -> None:
    answer = error(500, "Account wasn't found by email: john@example.com", -2147467261)
    async with client(answer) as http:
        assert await PortalClient(http).find_account(Token(TOKEN), "john@example.com") is None


# fmt: off
FIND_FAILURES = [
    case("empty", error(400, "Email empty", -2147024809), "invalid-arguments",
         "the portal rejected the request (HTTP 400 Bad Request: Email empty)"),
    case("generic", error(500, GENERIC_EN), "portal-error",
         f"the portal failed with an unexpected error: {GENERIC_EN}"),
]
# fmt: on


@pytest.mark.parametrize(("answer", "expected"), FIND_FAILURES)
async def test_find_account_failure(answer: httpx.Response, expected: tuple[Any, ...]) -> None:
    async with client(answer) as http:
        found = await PortalClient(http).find_account(Token(TOKEN), "x@example.com")
    assert_verdict(found, expected)


async def test_create_masks_a_password_the_server_echoes() -> None:
    echo = f"{IMAP}LOGIN john {PASSWORD} rejected\r\n{SMTP}bad password {SMTP_PASSWORD}"
    verdict = await create(error(500, echo))
    assert isinstance(verdict, Verdict)
    assert verdict.message == "IMAP: LOGIN john ******** rejected; SMTP: bad password ********"


async def test_no_verdict_shows_a_secret() -> None:
    verdicts: list[object] = [await create(p.values[0]) for p in CREATE_FAILURES]
    verdicts += [await login(p.values[0]) for p in LOGIN_FAILURES]
    verdicts += [await create(p.values[0]) for p in NETWORK_FAILURES]
    assert all(isinstance(v, Verdict) for v in verdicts)
    texts = [t for v in verdicts if isinstance(v, Verdict) for t in (repr(v), str(v), v.hint)]
    texts += [repr(Token(TOKEN)), str(Token(TOKEN)), repr(IDENTITY), str(IDENTITY)]
    assert [t for t in texts if any(secret in t for secret in SECRETS)] == []
    assert repr(IDENTITY) == "Identity(login='john@example.org')"


def _echo(request: httpx.Request) -> httpx.Response:
    """A portal whose error quotes the request: its Authorization header and its JSON body."""
    said = f"token {request.headers.get('authorization')} sent {request.content.decode()}"
    return error(500 if request.method == "POST" else 400, said)


ODD_PASSWORD = 'Pa"ss\\w&rd<1>'
ODD_PAYLOAD = {**PAYLOAD, "password": ODD_PASSWORD}


async def test_an_echoed_token_and_escaped_password_never_reach_a_verdict() -> None:
    async with client(_echo) as http:
        portal = PortalClient(http)
        created = await portal.create(Token(TOKEN), ODD_PAYLOAD)
        listed = await portal.list_accounts(Token(TOKEN))
        found = await portal.find_account(Token(TOKEN), "x@example.com")
    verdicts = [created, listed, found]
    assert all(isinstance(v, Verdict) for v in verdicts)
    texts = " ".join(f"{v!r} {v.hint}" for v in verdicts if isinstance(v, Verdict))
    assert "********" in texts
    for secret in (TOKEN, "Pa\\", "rd<1>", "rd\\u003C1", SMTP_PASSWORD):
        assert secret not in texts


async def test_a_secret_cut_by_the_message_limit_leaves_no_part_behind() -> None:
    # The classifier cuts messages at 300 characters; the token stands across the cut.
    verdict = await create(error(500, f"{'x' * 285} {TOKEN} and more"))
    assert isinstance(verdict, Verdict) and verdict.message.endswith("…")
    assert TOKEN[:6] not in verdict.message and "x ********" in verdict.message


async def test_an_exception_text_with_a_token_or_url_password_is_scrubbed() -> None:
    failure = httpx.ConnectError(f"https://john:{PORTAL_PASSWORD}@portal/ refused {TOKEN}")
    verdicts = [await create(failure), await login(failure)]
    assert [v.message for v in verdicts if isinstance(v, Verdict)] == [
        "could not connect to the portal (ConnectError: https://********@portal/ refused ********)",
        "could not connect to the portal (ConnectError: https://********@portal/ refused "
        f"{TOKEN})",  # the login has no token yet, and nobody registered this one
    ]


def test_verdict_str_is_code_and_message() -> None:
    verdict = Verdict("timeout", N, "the portal did not answer in time", "wait", retryable=True)
    assert str(verdict) == "timeout: the portal did not answer in time"


LONG = "x" * 239 + "…"


# fmt: off
CLEAN_CASES = [
    (GENERIC_EN, CleanMessage(GENERIC_EN)),
    (f"{IMAP}Invalid credentials (Failure)\r\n{SMTP}{SMTP_535}",
     CleanMessage(f"IMAP: Invalid credentials (Failure); SMTP: {SMTP_535}",
                  (Part("IMAP", "Invalid credentials (Failure)"), Part("SMTP", SMTP_535)))),
    (f"{POP3_RU}Ошибка входа", CleanMessage("POP3: Ошибка входа", (Part("POP3", "Ошибка входа"),))),
    # accounts/simple numbers its attempts: "#1:<br>" + texts, each followed by "<br>".
    (f"#1:<br>{IMAP}Invalid<br>", CleanMessage("IMAP: Invalid", (Part("IMAP", "Invalid"),))),
    (IMAP, CleanMessage("IMAP: no detail given", (Part("IMAP", "no detail given"),))),
    ("IMAP response: " + "x" * 400, CleanMessage(f"IMAP: {LONG}", (Part("IMAP", LONG),))),
    ("a &lt;b&gt;<br/>\r\n  c", CleanMessage("a <b> c")),
]
# fmt: on


@pytest.mark.parametrize(("raw", "expected"), CLEAN_CASES)
def test_clean_message(raw: str, expected: CleanMessage) -> None:
    assert clean_message(raw) == expected


# fmt: off
RETRY_AFTER_CASES = [
    ("7", 7.0), ("0", 0.0), ("2.5", 2.5), ("-5", 0.0), ("1000", 300.0), (PAST, 0.0),
    ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0), ("Wed, 21 Oct 2015 07:28:30 -0000", 30.0),
    ("Thu, 22 Oct 2015 07:28:00 GMT", 300.0), ("soon", None), ("", None), (None, None),
    ("nan", None),
]
# fmt: on


@pytest.mark.parametrize(("value", "expected"), RETRY_AFTER_CASES)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.anyio
@pytest.mark.parametrize("client_class", [httpx.AsyncClient, CookielessClient])
async def test_the_login_cookie_is_never_sent_back(client_class: type[httpx.AsyncClient]) -> None:
    """The portal reads asc_auth_key before the Authorization header: a kept cookie would
    make every later call act as the first user that logged in on this client."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path.endswith("authentication"):
            body = {
                "count": 1,
                "status": 0,
                "statusCode": 201,
                "response": {"token": "token-of-first-user", "expires": "2027-01-01"},
            }
            return httpx.Response(
                201, json=body, headers={"Set-Cookie": "asc_auth_key=token-of-first-user"}
            )
        return httpx.Response(200, json={"status": 0, "statusCode": 200, "response": []})

    async with client_class(
        transport=httpx.MockTransport(handler), base_url="http://portal.test"
    ) as client:
        portal = PortalClient(client)
        assert isinstance(await portal.login(Identity("first@corp.test", "pw-first")), Token)
        await portal.list_accounts(Token("token-of-second-user"))
        assert not client.cookies
    assert "cookie" not in sent[1].headers
    assert sent[1].headers["authorization"] == "token-of-second-user"


@pytest.mark.anyio
async def test_create_keeps_the_clients_base_path_headers_and_timeout() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        body = {
            "count": 1,
            "status": 0,
            "statusCode": 201,
            "response": {"mailboxId": 5, "email": "a@b.org"},
        }
        return httpx.Response(201, json=body)

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(handler),
        base_url="https://portal.test/office/",
        headers={"User-Agent": "bulkmail/test"},
        timeout=httpx.Timeout(150, connect=20),
    ) as client:
        answer = await PortalClient(client).create(Token("tok"), {"email": "a@b.org", "port": 993})
    assert answer == Created(5, "a@b.org")
    request = sent[0]
    assert str(request.url) == "https://portal.test/office/api/2.0/mail/accounts"
    assert request.headers["user-agent"] == "bulkmail/test"
    assert request.headers["authorization"] == "tok"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"email": "a@b.org", "port": 993}
    assert request.extensions["timeout"] == {"connect": 20, "read": 150, "write": 150, "pool": 150}


async def test_setups_asks_with_email_and_action_and_returns_the_settings() -> None:
    seen: list[httpx.Request] = []
    settings = {"server": "imap.gmail.com", "port": "993", "smtp_server": "smtp.gmail.com"}
    async with client(ok(200, settings, count=1), seen) as http:
        answer = await PortalClient(http).setups(Token(TOKEN), "nina@gmail.com", "get_imap_server")
    assert answer == settings
    [request] = seen
    assert (request.method, request.url.path) == ("GET", "/api/2.0/mail/accounts/setups")
    assert dict(request.url.params) == {"email": "nina@gmail.com", "action": "get_imap_server"}
    assert request.headers["authorization"] == TOKEN


@pytest.mark.parametrize(
    ("answer", "code", "retryable"),
    [
        (error(500, "The specified string is not in the form required for an e-mail address.",
               -2146233033), Code.EMAIL_REJECTED, False),
        (httpx.Response(401, text="Unauthorized"), Code.PORTAL_UNAUTHORIZED, False),
        (httpx.Response(503, text="busy"), Code.PORTAL_UNAVAILABLE, True),
        (ok(200, ["not", "settings"]), Code.UNEXPECTED_ANSWER, False),
    ],
)  # fmt: skip
async def test_setups_failures_are_verdicts(answer: Answer, code: Code, retryable: bool) -> None:
    async with client(answer) as http:
        verdict = await PortalClient(http).setups(Token(TOKEN), "a@b.example", "get_pop_server")
    assert isinstance(verdict, Verdict)
    assert (verdict.code, verdict.retryable) == (code, retryable)
    assert TOKEN not in verdict.message


@pytest.mark.parametrize("mailbox_id", ["\u00b2", "\uff14\uff12"])
async def test_an_id_of_digits_from_another_script_is_no_id_not_a_crash(mailbox_id: str) -> None:
    """str.isdigit() takes a superscript 2, which int() refuses: a hostile answer's id was a
    traceback (create, look-up)."""
    created = await create(ok(201, {"mailboxId": mailbox_id, "email": "john@example.com"}))
    assert isinstance(created, Verdict) and created.code is Code.UNEXPECTED_ANSWER
    async with client(ok(200, {"id": mailbox_id, "email": "john@example.com"})) as http:
        found = await PortalClient(http).find_account(Token(TOKEN), "john@example.com")
    assert isinstance(found, Verdict) and found.code is Code.UNEXPECTED_ANSWER
