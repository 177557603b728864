"""The simulator's ASGI app: routes, the front door (faults, counters, request log), /_sim."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from bulkmail.simulator import envelope
from bulkmail.simulator.accounts import Accounts
from bulkmail.simulator.auth import USER, Auth, Unauthorized
from bulkmail.simulator.binding import ApiError
from bulkmail.simulator.bodylimit import read_limited
from bulkmail.simulator.capacity import Capacity
from bulkmail.simulator.config import SimConfig
from bulkmail.simulator.facts import CAPABILITIES
from bulkmail.simulator.faults import DEADLINE, TRANSPORT, Faults
from bulkmail.simulator.guard import LoginGuard
from bulkmail.simulator.impersonation import Impersonations
from bulkmail.simulator.mailservers import Registry
from bulkmail.simulator.people import People
from bulkmail.simulator.persist import StateFile
from bulkmail.simulator.setups import Setups
from bulkmail.simulator.state import Store

log = logging.getLogger("bulkmail.simulator")
Handler = Callable[[Request], Awaitable[Response]]
# Every API route also answers with a format suffix; the simulator writes JSON for all three.
_FORMAT = re.compile(r"\.(json|xml|tml)$")
_CREATE = "/api/2.0/mail/accounts"  # POST: the create, which may have its own latency


def create_app(config: SimConfig) -> Starlette:
    """Return the simulator for `config`, holding what its state file had (if it has one)."""
    state_file = StateFile(config.state_path) if config.state_path else None
    store = Store(config, state_file)
    if state_file:
        store.load(*state_file.load())
    faults, guard = Faults(config), LoginGuard()
    capacity = Capacity(config.capacity, config.queue_limit)
    auth = Auth(store, guard)
    registry = Registry(config)
    accounts = Accounts(store, auth, registry, faults)
    people = People(store, auth)
    acting = Impersonations(auth, people)
    control = _Control(store, faults, guard, capacity, registry, acting)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if state_file:
            state_file.close()

    routes = _people_routes(people, acting) + _routes(auth, accounts, control)
    # A known path with another verb matches no route on the portal: a plain 404, not 405.
    handlers = {405: _not_found}
    return SimulatorApp(
        store, faults, capacity, routes=routes, exception_handlers=handlers, lifespan=lifespan
    )


def _routes(auth: Auth, accounts: Accounts, control: _Control) -> list[Route]:
    api = "/api/2.0"
    return [
        Route(f"{api}/authentication", _answers(auth.login), methods=["POST"]),
        Route(f"{api}/authentication/{{code}}", _answers(auth.login_code), methods=["POST"]),
        Route(f"{api}/capabilities", _capabilities, methods=["GET"]),
        Route(f"{api}/mail/accounts", _answers(accounts.create), methods=["POST"]),
        Route(f"{api}/mail/accounts", _answers(accounts.list), methods=["GET"]),
        Route(f"{api}/mail/accounts", _answers(accounts.remove), methods=["DELETE"]),
        Route(f"{api}/mail/accounts/single", _answers(accounts.single), methods=["GET"]),
        Route(f"{api}/mail/accounts/state", _answers(accounts.state), methods=["PUT"]),
        Route(f"{api}/mail/accounts/setups", _answers(Setups(auth).setups), methods=["GET"]),
        Route(f"{api}/mail/operations/{{id}}", _answers(accounts.operation), methods=["GET"]),
        Route("/_sim/stats", control.stats, methods=["GET"]),
        Route("/_sim/mailboxes", control.mailboxes, methods=["GET"]),
        Route("/_sim/reset", control.reset, methods=["POST"]),
        Route("/_sim/logout-all", control.logout_all, methods=["POST"]),
        Route("/_sim/password", control.password, methods=["POST"]),
    ]


def _people_routes(people: People, acting: Impersonations) -> list[Route]:
    """People, and impersonation unless the portal predates it (literal paths first, as the
    portal matches them before {parameters}: docs/portal-api.md §20)."""
    api, act = "/api/2.0", "/api/2.0/security/impersonate"
    routes = [
        Route(f"{api}/people/email", _answers(people.by_email), methods=["GET"]),
        Route(f"{api}/people/filter", _answers(people.listing), methods=["GET"]),
        Route(f"{api}/people/{{name}}", _answers(people.by_name), methods=["GET"]),
    ]
    if not people.store.config.impersonation.routes:
        return routes
    return [
        *routes,
        Route(f"{act}/settings", _answers(acting.get_settings), methods=["GET"]),
        Route(f"{act}/settings", _answers(acting.put_settings), methods=["PUT"]),
        Route(f"{act}/logout", _answers(acting.logout), methods=["PUT"]),
        Route(f"{act}/{{user_id}}", _answers(acting.check), methods=["GET"]),
        Route(f"{act}/{{user_id}}", _answers(acting.impersonate), methods=["POST"]),
    ]


def _answers(handler: Handler) -> Handler:
    """Wrap an API handler so that the portal's errors become its answers."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as err:
            return envelope.error(err.status, err.message, err.hresult)
        except Unauthorized as err:
            return err.response

    return endpoint


async def _capabilities(request: Request) -> Response:
    """GET api/2.0/capabilities: no login, no payment check (docs/portal-api.md §19)."""
    return envelope.ok(200, dict(CAPABILITIES), count=1)


async def _not_found(request: Request, exc: Exception) -> Response:
    return Response("Not Found", 404, media_type="text/plain")


class SimulatorApp(Starlette):
    """Starlette plus the front door: the body limit (every request), then for the API
    capacity, latency, 503/429, counters, log.

    It is the outermost layer (not a middleware) because dropping a connection needs the
    server's own `send`, which Starlette's middleware stack wraps.
    """

    def __init__(self, store: Store, faults: Faults, capacity: Capacity, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.faults = faults
        self.capacity = capacity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":  # every path: /_sim too
            limited = await read_limited(scope, receive, send)
            if limited is None:
                return None  # answered 413, or the client left
            receive = limited
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            return await super().__call__(scope, receive, send)
        scope["path"] = _FORMAT.sub("", scope["path"])
        scope[TRANSPORT] = getattr(getattr(send, "__self__", None), "transport", None)
        self.store.stats.requests += 1
        if not self.store.config.log_requests:
            return await self._handle(scope, receive, send)
        started, answer = time.perf_counter(), {}

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            await send(message)

        await self._handle(scope, receive, noting)
        ms = (time.perf_counter() - started) * 1000
        # The path only: a query string may hold asc_auth_key, a token.
        log.info(
            "%s %s %s %.1fms user=%s", scope["method"], scope["path"],
            answer.get("status", "unanswered"), ms, scope.get(USER) or "-",
        )  # fmt: skip

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request when a worker is free; refuse it when the queue is full too."""
        if self.capacity.full():
            self.store.stats.faults["503"] += 1
            refusal = envelope.bare(503, "Service Unavailable", self.faults.retry_header())
            return await refusal(scope, receive, send)
        async with self.capacity.slot():
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        create = scope["method"] == "POST" and scope["path"] == _CREATE
        delay = self.faults.delay(create)
        if not delay:
            return await self._answer(scope, receive, send)
        # The latency is the time to answer, the simulator's own work included: the request
        # is handled at once, and its answer held until the deadline. A portal configured to
        # answer in 100 ms then answers in 100 ms however many requests share its one core,
        # and a benchmark measures the client, not the simulator.
        deadline = anyio.current_time() + delay
        scope[DEADLINE] = deadline
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self._answer(scope, receive, hold)
        await anyio.sleep_until(deadline)
        for message in held:
            await send(message)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self.faults.refusal()
        if refusal is None:
            await super().__call__(scope, receive, send)
        else:
            self.store.stats.faults[str(refusal.status_code)] += 1
            await refusal(scope, receive, send)


class _Control:
    """Simulator-only endpoints for tests and benchmarks (no faults, no auth)."""

    def __init__(
        self,
        store: Store,
        faults: Faults,
        guard: LoginGuard,
        capacity: Capacity,
        registry: Registry,
        acting: Impersonations,
    ) -> None:
        self.store, self.faults, self.guard, self.capacity = store, faults, guard, capacity
        self.registry, self.acting = registry, acting

    async def stats(self, request: Request) -> Response:
        """Return the counters, and the longest the queue for a worker grew."""
        document = self.store.stats.as_dict()
        document["most_waiting"] = self.capacity.most_waiting
        document["impersonation"] = self.acting.facts()
        return envelope.plain_json(document)

    async def mailboxes(self, request: Request) -> Response:
        """Return every mailbox with its owner, removed ones included (no passwords: none kept)."""
        return envelope.plain_json([asdict(m) for m in self.store.everything()])

    async def logout_all(self, request: Request) -> Response:
        """The owner's "log out from all active connections": every token dies at once
        (later calls with it answer 401 `Unauthorized`), logins work again."""
        return envelope.plain_json({"ended": self.store.log_out()})

    async def password(self, request: Request) -> Response:
        """Set a user's password ({"login", "password"}), as its owner or an admin does: the
        portal ends that user's sessions, and a login with the old password is refused."""
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        fields = body if isinstance(body, dict) else {}
        login, password = fields.get("login"), fields.get("password")
        if not (isinstance(login, str) and isinstance(password, str) and login and password):
            said = 'the body must be a JSON object {"login": "...", "password": "..."}, both text'
            return envelope.plain_json({"error": said}, 400)
        user = self.store.users.get(login.lower())
        if user is None:
            return envelope.plain_json({"error": "no such user"}, 404)
        user.set_password(password)
        if self.store.journal:
            self.store.journal.save_user(user)
        return envelope.plain_json({"ended": self.store.log_out(user.login)})

    async def reset(self, request: Request) -> Response:
        """Forget everything and restart the fault sequence."""
        self.store.reset()
        self.faults.reset()
        self.guard.clear()
        self.registry.reset()  # the mail servers' bans too
        self.capacity.most_waiting = 0
        self.acting.reset()
        return envelope.plain_json({"reset": True})
