"""run/renewal.py: a session the portal ended is logged in again once, for every worker."""

from __future__ import annotations

import anyio
import pytest

from bulkmail.codes import Code
from bulkmail.models import Stage
from bulkmail.portal.client import PortalClient, Token, Verdict
from bulkmail.run.renewal import MAX_DEAD_AT_ONCE, Renewal
from bulkmail.run.retry import Backoff

pytestmark = pytest.mark.anyio

UNAUTHORIZED = Verdict(Code.PORTAL_UNAUTHORIZED, Stage.LOGIN, "HTTP 401", "", retryable=False)
REFUSED = Verdict(Code.PORTAL_LOGIN_FAILED, Stage.LOGIN, "refused", "", retryable=False)
TWO_FACTOR = Verdict(Code.PORTAL_2FA, Stage.LOGIN, "a code", "", retryable=False)
BUSY = Verdict(Code.PORTAL_UNAVAILABLE, Stage.NETWORK, "503", "", retryable=True)
NO_PORTAL: PortalClient = None  # type: ignore[assignment]  # the fakes below need none


class Portal:
    """A portal whose live token is the last one its login gave; the others answer 401.

    `logins` lists what each login answers (a token is made when the item is None); every
    login waits for `go` so that the test decides when it ends, with the workers waiting.
    """

    def __init__(self, *answers: Verdict | None, dead_at_once: bool = False) -> None:
        self.answers = list(answers)
        self.logins = 0
        self.live = Token("t0")
        self.dead_at_once = dead_at_once
        self.asked = 0
        self.go = anyio.Event()
        self.go.set()

    async def log_in(self, portal: PortalClient) -> Token | Verdict:
        self.logins += 1
        await self.go.wait()
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            return answer
        self.live = Token(f"t{self.logins}")
        return self.live

    async def ask(self, token: Token) -> str | Verdict:
        self.asked += 1
        if token != self.live or self.dead_at_once:
            return UNAUTHORIZED
        return f"answer with {token.value}"

    def kill(self) -> None:
        """The owner logs out every session."""
        self.live = Token("nobody has this one")


async def test_fifty_workers_that_see_a_401_make_one_login_and_all_get_their_answer() -> None:
    portal = Portal()
    session = Renewal("anna", portal.log_in, Token("t0"))
    assert await session.call(NO_PORTAL, portal.ask) == "answer with t0"
    portal.kill()
    portal.go = anyio.Event()  # the login again waits until every worker has seen its 401
    answers: list[str | Verdict] = []

    async def worker() -> None:
        answers.append(await session.call(NO_PORTAL, portal.ask))

    with anyio.fail_after(60):  # a safety net only: a login that never comes fails here
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(worker)
            while portal.asked < 51:  # each worker's call answered 401, none yet asked again
                await anyio.sleep(0)
            portal.go.set()
    assert portal.logins == 1
    assert answers == ["answer with t1"] * 50
    assert session.facts() == {"ended": 1, "renewed": 1}


async def test_a_worker_holding_a_dead_token_after_the_login_again_makes_no_login() -> None:
    portal = Portal()
    session = Renewal("anna", portal.log_in, Token("t0"))
    portal.kill()
    assert await session.call(NO_PORTAL, portal.ask) == "answer with t1"
    # A worker that took t0 before the login again sends it only now.
    assert await session.call(NO_PORTAL, portal.ask, Token("t0")) == "answer with t1"
    assert portal.logins == 1


async def test_a_refused_login_again_is_tried_once_and_remembered() -> None:
    portal = Portal(REFUSED)
    session = Renewal("anna", portal.log_in, Token("t0"))
    portal.kill()
    answers = []
    for _ in range(10):
        answers.append(await session.call(NO_PORTAL, portal.ask))
    assert answers == [REFUSED] * 10  # the user's own login failure, not a run's end
    assert portal.logins == 1  # five refusals would lock the user out
    assert await session.current(NO_PORTAL) == REFUSED


async def test_a_busy_portal_at_the_login_again_is_not_remembered() -> None:
    portal = Portal(BUSY)
    session = Renewal("anna", portal.log_in, Token("t0"))
    portal.kill()
    assert await session.call(NO_PORTAL, portal.ask) == BUSY
    assert await session.call(NO_PORTAL, portal.ask) == "answer with t2"
    assert portal.logins == 2
    assert session.facts() == {"ended": 1, "renewed": 1}  # t2 replaced t0, whoever asked


async def test_a_portal_that_ends_every_new_session_at_once_stops_the_run_after_a_few() -> None:
    portal = Portal(dead_at_once=True)
    session = Renewal("--user it@corp.example", portal.log_in, Token("t0"))
    answer = await session.call(NO_PORTAL, portal.ask)
    assert isinstance(answer, Verdict)
    assert (answer.code, answer.fatal) == (Code.PORTAL_SESSION_ENDED, True)
    assert f"refused each of {MAX_DEAD_AT_ONCE} new ones" in answer.message
    assert portal.logins == MAX_DEAD_AT_ONCE  # t0 came from the run's first login
    assert await session.call(NO_PORTAL, portal.ask) == answer  # no login more
    assert portal.logins == MAX_DEAD_AT_ONCE


async def test_a_session_that_worked_before_it_died_counts_no_death_at_once() -> None:
    portal = Portal()
    session = Renewal("anna", portal.log_in, Token("t0"))
    for _ in range(MAX_DEAD_AT_ONCE + 2):  # the owner logs everyone out, again and again
        portal.kill()
        assert isinstance(await session.call(NO_PORTAL, portal.ask), str)
    assert portal.logins == MAX_DEAD_AT_ONCE + 2


async def test_a_session_ended_again_after_a_busy_answer_is_no_death_at_once() -> None:
    """A 401 that comes after a busy answer (503, 429) and its wait is of a session that lived
    through the wait, not one refused at once: the question goes on with a new login."""
    portal = Portal()
    session = Renewal("anna", portal.log_in, Token("t0"))
    busy = 0

    async def ask(token: Token) -> str | Verdict:
        nonlocal busy
        if token != portal.live:
            return UNAUTHORIZED
        if busy <= MAX_DEAD_AT_ONCE:
            busy += 1
            portal.kill()  # the owner logs everyone out while the portal is busy
            return BUSY
        return f"answer with {token.value}"

    portal.kill()
    answer = await session.retried(NO_PORTAL, ask, Backoff(base=0.0), MAX_DEAD_AT_ONCE + 2)
    assert answer == f"answer with t{MAX_DEAD_AT_ONCE + 2}"
    assert portal.logins == MAX_DEAD_AT_ONCE + 2


async def test_a_login_again_that_asks_for_a_two_factor_code_stops_the_run() -> None:
    portal = Portal(TWO_FACTOR)
    session = Renewal("--admin boss@corp.example", portal.log_in, Token("t0"), run_level=True)
    portal.kill()
    answer = await session.call(NO_PORTAL, portal.ask)
    assert isinstance(answer, Verdict)
    assert (answer.code, answer.fatal) == (Code.PORTAL_SESSION_ENDED, True)
    assert "two-factor code" in answer.message and "--admin boss@corp.example" in answer.message


async def test_the_admins_refused_login_again_stops_the_run() -> None:
    portal = Portal(REFUSED)
    session = Renewal("--admin boss@corp.example", portal.log_in, Token("t0"), run_level=True)
    portal.kill()
    answer = await session.call(NO_PORTAL, portal.ask)
    assert isinstance(answer, Verdict)
    assert (answer.code, answer.fatal) == (Code.PORTAL_LOGIN_FAILED, True)
    assert answer.message.startswith("the portal refused the login of --admin boss@corp.example")
