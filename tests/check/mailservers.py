"""Small IMAP and POP3 servers for tests, and aiosmtpd's SMTP, on 127.0.0.1 in one thread.

No well-kept IMAP or POP3 server library exists for Python, so these speak just what
`bulkmail check` uses: IMAP CAPABILITY, STARTTLS, LOGIN, LOGOUT (RFC 9051) and POP3 CAPA,
STLS, USER, PASS, QUIT (RFC 1939, 2449, 2595). SMTP is aiosmtpd's, with its AUTH PLAIN and
LOGIN. Every server counts its connections and login attempts, so a test can assert how many
a check made.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


@dataclass
class Mail:
    """One test server's behaviour and what it saw."""

    accounts: dict[str, str]  # login -> password
    tls: ssl.SSLContext | None = None  # the server's certificate, for SSL or STARTTLS
    implicit_tls: bool = False  # TLS from the start (993, 995, 465)
    starttls: bool = False  # offer STARTTLS / STLS
    throttle: bool = False  # turn every login away as too many connections
    silent: bool = False  # accept, never greet
    auth: bool = True  # SMTP: offer AUTH
    preauth: bool = False  # IMAP: greet with PREAUTH (already logged in)
    # Offer STARTTLS to the first N connections only, as a man in the middle that strips it
    # from the later ones would (None: to every connection)
    starttls_first: int | None = None
    # IMAP, POP3 with implicit TLS: answer the first N connections' TLS hello with bytes that
    # are not TLS, a handshake that fails once
    drop_first: int = 0
    port: int = 0
    connected: threading.Event = field(default_factory=threading.Event)  # a client came
    connections: int = 0
    logins: list[str] = field(default_factory=list)  # logins tried, in order

    def offers_starttls(self) -> bool:
        """Whether this connection (the latest) is offered STARTTLS."""
        first = self.starttls_first
        return self.starttls and (first is None or self.connections <= first)

    def accepts(self, login: str, password: str) -> bool:
        self.logins.append(login)
        return self.accounts.get(login) == password


class MailServers:
    """An event loop in a thread serving the test servers; `close` stops them."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._servers: list[asyncio.AbstractServer] = []

    def imap(self, mail: Mail) -> Mail:
        return self._serve(mail, lambda r, w: _imap(mail, r, w))

    def pop3(self, mail: Mail) -> Mail:
        return self._serve(mail, lambda r, w: _pop3(mail, r, w))

    def smtp(self, mail: Mail) -> Mail:
        def factory() -> SMTP:
            mail.connections += 1
            return SMTP(
                _Sink(),
                hostname="mx.test",
                tls_context=mail.tls if mail.offers_starttls() else None,
                auth_require_tls=not mail.auth,  # no TLS and AUTH required: AUTH not offered
                authenticator=_authenticator(mail),
            )

        async def start() -> asyncio.AbstractServer:
            ssl_context = mail.tls if mail.implicit_tls else None
            return await self._loop.create_server(factory, "127.0.0.1", 0, ssl=ssl_context)

        return self._started(mail, start)

    def _serve(self, mail: Mail, handler: Handler) -> Mail:
        async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            mail.connections += 1
            mail.connected.set()
            try:
                if mail.connections <= mail.drop_first:
                    await reader.read(1)  # the client's hello came
                    writer.write(b"* BYE not TLS\r\n")
                    await reader.read()  # until the client leaves: no reset for unread bytes
                    return
                if late_tls:
                    await writer.start_tls(mail.tls)
                await handler(reader, writer)
            except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
                pass  # the client left: what the test asserts is what the client saw
            finally:
                writer.close()

        # TLS from the start, after the connection may be dropped (drop_first)
        late_tls = mail.implicit_tls and mail.drop_first > 0 and mail.tls is not None

        async def start() -> asyncio.AbstractServer:
            ssl_context = mail.tls if mail.implicit_tls and not late_tls else None
            return await asyncio.start_server(counted, "127.0.0.1", 0, ssl=ssl_context)

        return self._started(mail, start)

    def _started(
        self, mail: Mail, start: Callable[[], Coroutine[Any, Any, asyncio.AbstractServer]]
    ) -> Mail:
        server = asyncio.run_coroutine_threadsafe(start(), self._loop).result()
        self._servers.append(server)
        mail.port = server.sockets[0].getsockname()[1]
        return mail

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()


class _Sink:
    """aiosmtpd's handler: no mail is sent in a check."""


def _authenticator(mail: Mail) -> Callable[..., AuthResult]:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        if mail.throttle:
            mail.logins.append(login)
            busy = "454 4.7.0 Too many login attempts, please try again later"
            return AuthResult(success=False, handled=False, message=busy)
        # handled=False: aiosmtpd answers a refusal itself (its default, handled=True, says
        # the authenticator did, and the client waits for an answer that never comes)
        return AuthResult(success=mail.accepts(login, password), handled=False)

    return authenticate


async def _line(reader: asyncio.StreamReader) -> str:
    line = await reader.readline()
    if not line:
        raise ConnectionError("client left")
    return line.decode().rstrip("\r\n")


def _words(text: str) -> list[str]:
    """Split an IMAP command line into atoms and quoted strings (RFC 9051, section 4.3)."""
    words, i = [], 0
    while i < len(text):
        if text[i] == " ":
            i += 1
        elif text[i] == '"':
            j, word = i + 1, []
            while text[j] != '"':
                j += text[j] == "\\"
                word.append(text[j])
                j += 1
            words.append("".join(word))
            i = j + 1
        else:
            j = text.find(" ", i)
            j = len(text) if j < 0 else j
            words.append(text[i:j])
            i = j
    return words


async def _imap(mail: Mail, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    if mail.silent:
        await reader.read()
        return
    tls, offered = mail.implicit_tls, mail.offers_starttls()
    greeting = b"* PREAUTH test IMAP, logged in" if mail.preauth else b"* OK test IMAP ready"
    writer.write(greeting + b"\r\n")
    while True:
        tag, command, *args = _words(await _line(reader))
        command = command.upper()
        if command == "CAPABILITY":
            offer = " STARTTLS" if offered and not tls else ""
            writer.write(f"* CAPABILITY IMAP4rev1{offer} AUTH=PLAIN\r\n{tag} OK done\r\n".encode())
        elif command == "STARTTLS" and offered and mail.tls is not None:
            writer.write(f"{tag} OK begin TLS\r\n".encode())
            await writer.drain()
            await writer.start_tls(mail.tls)
            tls = True
        elif command == "LOGIN" and mail.throttle:
            mail.logins.append(args[0])
            writer.write(f"{tag} NO [UNAVAILABLE] Too many simultaneous connections\r\n".encode())
        elif command == "LOGIN":
            ok = mail.accepts(args[0], args[1])
            answer = "OK logged in" if ok else "NO [AUTHENTICATIONFAILED] Invalid credentials"
            writer.write(f"{tag} {answer}\r\n".encode())
        elif command == "LOGOUT":
            writer.write(f"* BYE\r\n{tag} OK bye\r\n".encode())
            await writer.drain()
            return
        else:
            writer.write(f"{tag} BAD unknown command\r\n".encode())
        await writer.drain()


async def _pop3(mail: Mail, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    tls, login, offered = mail.implicit_tls, "", mail.offers_starttls()
    writer.write(b"+OK test POP3 ready\r\n")
    while True:
        command, _, arg = (await _line(reader)).partition(" ")
        command = command.upper()
        if command == "CAPA":
            offer = "STLS\r\n" if offered and not tls else ""
            writer.write(f"+OK\r\nUSER\r\n{offer}.\r\n".encode())
        elif command == "STLS" and offered and mail.tls is not None:
            writer.write(b"+OK begin TLS\r\n")
            await writer.drain()
            await writer.start_tls(mail.tls)
            tls = True
        elif command == "USER":
            login = arg
            writer.write(b"+OK\r\n")
        elif command == "PASS":
            ok = mail.accepts(login, arg)
            writer.write(b"+OK logged in\r\n" if ok else b"-ERR [AUTH] Authentication failed\r\n")
        elif command == "QUIT":
            writer.write(b"+OK bye\r\n")
            await writer.drain()
            return
        else:
            writer.write(b"-ERR unknown command\r\n")
        await writer.drain()
