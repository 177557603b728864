"""Adaptive concurrency: the controller (pure, times given), the gate, and the two together."""

from __future__ import annotations

import anyio
import pytest

from bulkmail.codes import Code
from bulkmail.models import Stage
from bulkmail.portal.client import Created, Verdict
from bulkmail.run.concurrency import (
    OVERLOAD_FACTOR,
    SLOW_FACTOR,
    Concurrency,
    Controller,
    Gate,
    signal_of,
)
from bulkmail.settings import PortalSettings

FAST, SLOW = "imap.office.example", "imap.far-away.example"


def _answers(c: Controller, n: int, seconds: float = 1.0, host: str = FAST) -> None:
    """Feed `n` answers that kept the limit busy."""
    for _ in range(n):
        c.observe(host, seconds, "answer", in_flight=c.limit)


def _verdict(code: Code, status: int | None) -> Verdict:
    return Verdict(code, Stage.PORTAL, "", "", retryable=True, http_status=status)


def test_it_starts_low_and_doubles_each_round_trip_while_answers_keep_their_speed() -> None:
    c = Controller(maximum=32, start=4)
    assert c.limit == 4
    _answers(c, 4)  # one round trip at 4
    assert c.limit == 8
    _answers(c, 8)
    assert c.limit == 16
    _answers(c, 100)
    assert c.limit == 32 and c.decreases == 0  # never past the maximum
    assert c.facts() == {
        "mode": "auto", "start": 4, "min": 4, "max": 32, "final": 32, "decreases": 0, "most": 32,
    }  # fmt: skip


def test_a_limit_the_run_does_not_use_is_not_raised() -> None:
    c = Controller(maximum=32, start=8)
    for _ in range(50):
        c.observe(FAST, 1.0, "answer", in_flight=2)  # only 2 of 8 in flight: proves nothing
    assert c.limit == 8


@pytest.mark.parametrize("signal", ["overload", "timeout"])
def test_it_backs_off_on_503_and_timeouts_once_per_round_trip(signal: str) -> None:
    c = Controller(maximum=32, start=4)
    _answers(c, 12)
    assert c.limit == 16
    c.observe(FAST, 0.01, signal, in_flight=16)  # type: ignore[arg-type]
    assert c.limit == int(16 * OVERLOAD_FACTOR) == 11 and c.decreases == 1
    # The other creates sent with it say the same: no second cut within the round trip...
    for _ in range(10):
        c.observe(FAST, 0.01, signal, in_flight=11)  # type: ignore[arg-type]
    assert c.limit == 11 and c.decreases == 1
    # ...but the next round trip's refusal cuts again.
    c.observe(FAST, 0.01, signal, in_flight=11)  # type: ignore[arg-type]
    assert c.limit == int(11.2 * OVERLOAD_FACTOR) and c.decreases == 2
    assert (c.facts()["min"], c.facts()["max"], c.facts()["final"]) == (4, 16, c.limit)


def test_after_a_back_off_it_grows_by_one_a_round_trip() -> None:
    c = Controller(maximum=32, start=10)
    c.observe(FAST, 0.01, "overload", in_flight=10)
    assert c.limit == 7
    _answers(c, 7)  # one round trip
    assert c.limit == 7 or c.limit == 8
    _answers(c, 8 * 3)
    assert 9 <= c.limit <= 11


def test_each_mail_server_is_judged_against_its_own_speed() -> None:
    c = Controller(maximum=64, start=4)
    # A far-away server takes ten times as long as the office's: that is not congestion.
    for _ in range(30):
        c.observe(FAST, 0.2, "answer", in_flight=c.limit)
        c.observe(SLOW, 2.0, "answer", in_flight=c.limit)
    assert c.decreases == 0 and c.limit == 64
    assert c.baselines == {FAST: 0.2, SLOW: 2.0}
    # The office's answers now take three times their usual: the portal queues them.
    _answers(c, 5, seconds=0.6, host=FAST)
    assert c.decreases == 1 and c.limit == int(64 * SLOW_FACTOR)


def test_one_slow_answer_is_not_congestion_but_a_run_of_them_is() -> None:
    c = Controller(maximum=64, start=16)
    _answers(c, 1, seconds=1.0)
    _answers(c, 1, seconds=3.0)  # a slow login to one server
    assert c.decreases == 0
    _answers(c, 10, seconds=3.0)
    assert c.decreases >= 1


def test_the_limit_never_drops_below_one() -> None:
    c = Controller(maximum=8, start=2)
    for _ in range(100):
        c.observe(FAST, 0.01, "overload", in_flight=1)
    assert c.limit == 1


@pytest.mark.parametrize(
    ("answer", "signal"),
    [
        (Created(1, "a@b.example"), "answer"),
        (_verdict(Code.PORTAL_UNAVAILABLE, 503), "overload"),
        (_verdict(Code.RATE_LIMITED, 429), "overload"),
        (_verdict(Code.PORTAL_UNAVAILABLE, 502), "answer"),
        (_verdict(Code.MAILBOX_LOGIN_REFUSED, 500), "answer"),
        (_verdict(Code.TIMEOUT, None), "timeout"),
        (_verdict(Code.CONNECT_FAILED, None), "none"),
        (_verdict(Code.PORTAL_UNAUTHORIZED, 401), "none"),  # nothing done, answered at once
    ],
)
def test_what_an_answer_says_about_the_portals_load(answer: Created | Verdict, signal: str) -> None:
    assert signal_of(answer) == signal


@pytest.mark.anyio
async def test_the_gate_lets_limit_holders_through_and_wakes_waiters_in_turn() -> None:
    gate = Gate(1)
    order: list[str] = []
    await gate.acquire()

    async def wait(name: str) -> None:
        await gate.acquire()
        order.append(name)

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait, "first")
        tg.start_soon(wait, "second")
        await anyio.wait_all_tasks_blocked()
        assert order == [] and gate.in_use == 1
        gate.limit = 2  # a raised limit lets one more through at once
        await anyio.wait_all_tasks_blocked()
        assert order == ["first"] and gate.in_use == 2
        gate.release()
    assert order == ["first", "second"] and gate.in_use == 2


@pytest.mark.anyio
@pytest.mark.parametrize("handed_over", [False, True])
async def test_a_cancelled_waiter_gives_its_place_back(handed_over: bool) -> None:
    gate = Gate(1)
    await gate.acquire()
    holders = 1
    got: list[bool] = []

    async def waiter() -> None:
        await gate.acquire()
        got.append(True)  # it holds the place now (handed over before the cancel reached it)

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        if handed_over:
            gate.release()  # the place goes to the waiter, cancelled before it runs
            holders -= 1
        tg.cancel_scope.cancel()
    assert gate.in_use == holders + len(got)  # no place lost, none given twice
    for _ in range(gate.in_use):
        gate.release()
    await gate.acquire()  # free again
    assert gate.in_use == 1


@pytest.mark.anyio
async def test_a_create_is_timed_with_the_injected_clock_and_judged_by_its_host() -> None:
    now = [100.0]
    concurrency = Concurrency(PortalSettings(url="http://p.example"), clock=lambda: now[0])
    assert concurrency.workers == 32 and concurrency.limit == 4
    for seconds in (0.5, 0.5, 0.5, 0.5):
        async with concurrency.slot(FAST) as slot:
            now[0] += seconds
            slot.answer = Created(1, "a@b.example")
    controller = concurrency.controller
    assert controller is not None and controller.baselines == {FAST: 0.5}
    # One at a time never uses a limit of 4: it stays where it was.
    assert concurrency.limit == 4
    async with concurrency.slot(FAST) as slot:
        slot.answer = Verdict(Code.RATE_LIMITED, Stage.PORTAL, "", "", True, http_status=429)
    assert concurrency.limit == 2 and concurrency.facts()["decreases"] == 1


def test_a_fixed_concurrency_never_moves() -> None:
    concurrency = Concurrency(PortalSettings(url="http://p.example", concurrency=12))
    assert (concurrency.workers, concurrency.limit, concurrency.controller) == (12, 12, None)
    assert concurrency.facts() == {
        "mode": "fixed", "start": 12, "min": 12, "max": 12, "final": 12, "decreases": 0,
    }  # fmt: skip
