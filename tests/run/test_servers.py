"""The mail servers' limits (run/servers.py) and the feeder that skips past full ones
(run/lookahead.py), with literal accounts and a counting fake of rows in flight."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import anyio
import pytest
import structlog
from structlog.testing import capture_logs

from bulkmail.codes import Code
from bulkmail.models import Account, Row
from bulkmail.models import Stage as S
from bulkmail.portal.answers import Verdict
from bulkmail.portal.client import Identity
from bulkmail.run.jobs import Job
from bulkmail.run.lookahead import Lookahead
from bulkmail.run.servers import MailServers

pytestmark = pytest.mark.anyio
HANG = 30  # seconds: a test that waits this long is hung, not slow


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def account(server: str, smtp: str | None = None) -> Account:
    return Account(
        email="a@mail.test", name="", account="a", password="pw", server=server, port=993,
        imap=True, incoming_encryption_type=1, auth_type_in=1, smtp_server=smtp or server,
        smtp_port=465, smtp_auth=True, smtp_account="a", smtp_password="pw",
        outcoming_encryption_type=1, auth_type_smtp=1, restrict=False,
    )  # fmt: skip


def job(index: int, server: str, smtp: str | None = None) -> Job:
    return Job(index, Row(index + 2, ()), account(server, smtp), Identity("u", "p"))


def verdict(*sides: tuple[str, Code]) -> Verdict:
    first = sides[0][1]
    return Verdict(first, S.PORTAL, "text", first.hint, first.retryable, sides=sides)  # type: ignore[arg-type]


THROTTLED = verdict(("incoming", Code.MAILBOX_THROTTLED))
REFUSED_BOTH = verdict(("incoming", Code.MAILBOX_LOGIN_REFUSED), ("smtp", Code.SMTP_LOGIN_REFUSED))


async def test_a_row_counts_once_per_distinct_host_whatever_its_case() -> None:
    servers = MailServers(per_server=4, max_login_failures=3)
    assert servers.hosts(account("Mail.Example.ORG.", "mail.example.org")) == ("mail.example.org",)
    assert servers.hosts(account("imap.b.test", "SMTP.b.test")) == ("imap.b.test", "smtp.b.test")
    assert servers.take_now(0, account("Mail.Example.ORG", "mail.example.org"))
    # A new server starts at one row: the same host, spelt otherwise, is full.
    assert not servers.take_now(1, account("mail.example.org", "smtp.other.test"))
    servers.release(0)
    assert servers.take_now(1, account("mail.example.org", "smtp.other.test"))


async def test_never_more_rows_in_flight_per_host_than_the_limit() -> None:
    """Rows of random host pairs taken, worked on and given back by many tasks at once; a
    counting fake records each host's rows in flight."""
    limit, hosts = 3, ["a.test", "B.test", "c.test", "d.test"]
    servers = MailServers(per_server=limit, max_login_failures=100)
    rng = random.Random(7)
    pairs = [(rng.choice(hosts), rng.choice(hosts)) for _ in range(300)]
    now: Counter[str] = Counter()
    most: Counter[str] = Counter()

    async def row(index: int, server: str, smtp: str) -> None:
        acc = account(server, smtp)
        assert await servers.take(index, acc, anyio.Event())
        for host in servers.hosts(acc):
            now[host] += 1
            most[host] = max(most[host], now[host])
        for _ in range(rng.randrange(1, 4)):
            await anyio.sleep(0)  # other rows run meanwhile
        for host in servers.hosts(acc):
            now[host] -= 1
        servers.succeeded(index)
        servers.release(index)

    with anyio.fail_after(HANG):
        async with anyio.create_task_group() as tg:
            for index, (server, smtp) in enumerate(pairs):
                tg.start_soon(row, index, server, smtp)
    assert most == {host.lower(): limit for host in hosts}  # reached, never passed
    assert +now == Counter()


async def test_a_throttled_server_is_halved_once_per_round_and_earns_rows_back() -> None:
    servers = MailServers(per_server=8, max_login_failures=3)
    acc = account("mail.test")
    for index in range(20):  # successes: slow start up to 8
        assert servers.take_now(index, acc)
        servers.succeeded(index)
        servers.release(index)
    taken = [i for i in range(100, 110) if servers.take_now(i, acc)]
    assert taken == list(range(100, 108))  # 8 in flight: the 9th waits
    assert servers.failed(100, THROTTLED) is True
    assert servers.failed(101, THROTTLED) is True  # the same round: no second cut
    for i in taken:
        servers.release(i)
    assert [i for i in range(200, 210) if servers.take_now(i, acc)] == [200, 201, 202, 203]
    for i in range(200, 204):
        servers.succeeded(i)
        servers.release(i)
    # Above the cut, one more row per round of successes, never past --per-server.
    assert [i for i in range(300, 310) if servers.take_now(i, acc)] == [300, 301, 302, 303, 304]
    assert servers.facts()["eventful"] == {
        "mail.test": {"throttled": 2, "lowest_limit": 4, "refused_logins": 0, "stopped": False}
    }


async def test_fresh_rows_leave_room_for_rows_waiting_to_be_sent_again() -> None:
    servers = MailServers(per_server=1, max_login_failures=3)
    acc = account("mail.test")
    assert servers.take_now(0, acc)
    async with anyio.create_task_group() as tg:
        tg.start_soon(servers.take, 1, acc, anyio.Event())  # a throttled row waiting for room
        await anyio.wait_all_tasks_blocked()
        servers.release(0)
        assert not servers.take_now(2, acc)  # the waiting row goes first
    assert not servers.take_now(2, acc)  # it holds the room now
    servers.release(1)
    assert servers.take_now(2, acc)


async def test_refused_logins_stop_a_server_at_the_budget_counting_each_side() -> None:
    servers = MailServers(per_server=4, max_login_failures=3)
    structlog.reset_defaults()  # an earlier run in this process may have left --quiet's level
    with capture_logs() as logs:
        await refuse_until_stopped(servers)
    assert [(e["event"], e["host"], e["refused_logins"]) for e in logs] == [
        ("mail_server.stopped", "mail.test", 3)
    ]


async def refuse_until_stopped(servers: MailServers) -> None:
    one, other = account("mail.test", "MAIL.test"), account("imap.x.test", "mail.test")
    assert servers.take_now(0, one)
    assert servers.failed(0, REFUSED_BOTH) is False  # two refused logins at mail.test
    servers.release(0)
    assert servers.stopped(one) is None
    assert servers.take_now(1, other)
    assert servers.failed(1, REFUSED_BOTH) is False  # one at imap.x.test, the third at mail.test
    assert servers.stopped(other) == "mail.test"
    assert servers.stopped(account("imap.x.test")) is None
    facts = servers.facts()
    assert (
        facts["stopped"] == ["mail.test"]
        and facts["eventful"]["imap.x.test"]["refused_logins"] == 1
    )


async def test_a_dry_run_has_no_limits() -> None:
    servers = MailServers(per_server=1, max_login_failures=1, enabled=False)
    assert all(servers.take_now(i, account("mail.test")) for i in range(10))


def counted(jobs: list[Job], read: list[int]) -> Iterator[Job]:
    for item in jobs:
        read.append(item.index)
        yield item


async def test_the_feeder_skips_past_a_full_server_within_its_window() -> None:
    servers = MailServers(per_server=1, max_login_failures=3)
    jobs = [job(i, "busy.test") for i in range(500)] + [job(500, "free.test")]
    read: list[int] = []
    ahead = Lookahead(
        counted(jobs, read), servers, 600, on_read=lambda j: None, on_stopped=lambda j, h: None
    )
    stopping = anyio.Event()
    with anyio.fail_after(HANG):
        assert (await ahead.next(stopping)).index == 0  # type: ignore[union-attr]
        assert (await ahead.next(stopping)).index == 500  # type: ignore[union-attr]
        async with anyio.create_task_group() as tg:  # both servers full: it waits for room
            tg.start_soon(ahead.next, stopping)
            await anyio.wait_all_tasks_blocked()
            tg.cancel_scope.cancel()
        servers.release(0)
        assert (await ahead.next(stopping)).index == 1  # type: ignore[union-attr]


async def test_the_feeder_holds_no_more_rows_than_its_window() -> None:
    servers = MailServers(per_server=1, max_login_failures=3)
    jobs = [job(i, "busy.test") for i in range(10_000)]
    read: list[int] = []
    ahead = Lookahead(
        counted(jobs, read), servers, 64, on_read=lambda j: None, on_stopped=lambda j, h: None
    )
    stopping = anyio.Event()
    with anyio.fail_after(HANG):
        await ahead.next(stopping)
        async with anyio.create_task_group() as tg:
            tg.start_soon(ahead.next, stopping)
            await anyio.wait_all_tasks_blocked()
            assert len(read) == 65  # the one handed out and a window of 64
            stopping.set()
            servers.wake()


async def test_rows_of_a_stopped_server_are_settled_not_handed_out() -> None:
    servers = MailServers(per_server=2, max_login_failures=1)
    stopped: list[tuple[int, str]] = []
    jobs = [job(0, "bad.test"), job(1, "bad.test"), job(2, "good.test"), job(3, "BAD.test")]
    ahead = Lookahead(
        iter(jobs),
        servers,
        8,
        on_read=lambda j: None,
        on_stopped=lambda j, h: stopped.append((j.index, h)),
    )
    stopping = anyio.Event()
    with anyio.fail_after(HANG):
        await check_stopped(ahead, servers, stopping, stopped)


async def check_stopped(
    ahead: Lookahead, servers: MailServers, stopping: anyio.Event, stopped: list[tuple[int, str]]
) -> None:
    first = await ahead.next(stopping)
    assert first is not None and first.index == 0
    servers.failed(0, verdict(("incoming", Code.MAILBOX_LOGIN_REFUSED)))
    servers.release(0)
    assert [j.index for j in [await ahead.next(stopping)] if j] == [2]
    assert stopped == [(1, "bad.test"), (3, "bad.test")]
    assert await ahead.next(stopping) is None


async def test_after_a_refused_login_a_server_gets_one_row_at_a_time_again() -> None:
    servers = MailServers(per_server=4, max_login_failures=10)
    acc = account("mail.test")
    for index in range(10):
        assert servers.take_now(index, acc)
        servers.succeeded(index)
        servers.release(index)
    assert [i for i in range(10, 20) if servers.take_now(i, acc)] == [10, 11, 12, 13]
    servers.failed(10, verdict(("incoming", Code.MAILBOX_LOGIN_REFUSED)))
    for i in range(10, 14):
        servers.release(i)
    assert [i for i in range(20, 30) if servers.take_now(i, acc)] == [20]


async def test_the_feeder_reads_no_further_than_its_span_past_the_oldest_unsettled_row() -> None:
    servers = MailServers(per_server=1, max_login_failures=3)
    jobs = [job(0, "slow.test")] + [job(i, f"free{i}.test") for i in range(1, 10_000)]
    read: list[int] = []
    ahead = Lookahead(
        counted(jobs, read), servers, 8, on_read=lambda j: None,
        on_stopped=lambda j, h: None, oldest=lambda: 0, span=100,
    )  # fmt: skip
    stopping = anyio.Event()
    handed = []
    with anyio.fail_after(HANG):
        async with anyio.create_task_group() as tg:

            async def feed() -> None:
                while (item := await ahead.next(stopping)) is not None:
                    handed.append(item.index)

            tg.start_soon(feed)
            await anyio.wait_all_tasks_blocked()
            assert len(read) == 100 and handed == list(range(100))  # row 0 never ends
            stopping.set()
            servers.wake()


@pytest.mark.parametrize("settled_when", ["read", "held"])
async def test_a_run_stopped_while_the_feeder_settles_a_row_ends_the_feed(
    settled_when: str,
) -> None:
    # Settling a held-back row writes the report; a report that cannot be written stops
    # the run (stop + wake) from inside `next`: it must return None, not wait for a wake
    # that already went by (a full report disk hung a run for good).
    servers = MailServers(per_server=1, max_login_failures=1)
    stopping = anyio.Event()

    def settle(j: Job, host: str) -> None:  # as Runner.abort does, via the report writer
        stopping.set()
        servers.wake()

    first = [job(0, "bad.test")] if settled_when == "held" else []
    rest = [job(1, "bad.test"), job(2, "busy.test"), job(3, "busy.test")]
    ahead = Lookahead(iter(first + rest), servers, 8, on_read=lambda j: None, on_stopped=settle)
    with anyio.fail_after(HANG):
        if settled_when == "held":  # rows of bad.test are held when their server stops
            assert (await ahead.next(stopping)).index == 0  # type: ignore[union-attr]
            servers.failed(0, verdict(("incoming", Code.MAILBOX_LOGIN_REFUSED)))
        else:  # bad.test stopped before its rows were read
            assert servers.take_now(9, account("bad.test"))
            servers.failed(9, verdict(("incoming", Code.MAILBOX_LOGIN_REFUSED)))
        assert servers.take_now(8, account("busy.test"))  # busy.test is full: nothing ready
        assert await ahead.next(stopping) is None
