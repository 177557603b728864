"""The account list's paging, bounded (`bulkmail.portal.paging`), through PortalClient.list_accounts
over httpx.MockTransport; and the client asking for no compression."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bulkmail.codes import Code
from bulkmail.models import Stage
from bulkmail.portal.client import PortalClient, Token, Verdict
from bulkmail.portal.paging import MAX_LIST_ITEMS, MAX_LIST_PAGES, Pages

pytestmark = pytest.mark.anyio

BASE = "https://portal.example.org"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def item(n: int) -> dict[str, Any]:
    return {"mailboxId": n + 1, "email": f"box{n}@example.org"}


def page(items: list[dict[str, Any]], following: int | None) -> httpx.Response:
    extra = {} if following is None else {"nextIndex": following}
    return httpx.Response(200, json={**extra, "status": 0, "statusCode": 200, "response": items})


async def listed(
    answer: Callable[[int], httpx.Response],
) -> tuple[dict[str, int] | Verdict, list[httpx.Request]]:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return answer(int(request.url.params.get("startIndex", "0")))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url=BASE) as http:
        return await PortalClient(http).list_accounts(Token("tok")), requests


async def test_a_list_of_several_pages_is_read_whole() -> None:
    def answer(start: int) -> httpx.Response:
        return page([item(start), item(start + 1)], start + 2 if start < 4 else None)

    accounts, requests = await listed(answer)
    assert accounts == {f"box{n}@example.org": n + 1 for n in range(6)}
    assert [r.url.params.get("startIndex") for r in requests] == [None, "2", "4"]


async def test_a_list_of_exactly_the_most_pages_is_read_whole() -> None:
    def answer(start: int) -> httpx.Response:
        last = start == MAX_LIST_PAGES - 1
        return page([item(start)], None if last else start + 1)

    accounts, requests = await listed(answer)
    assert isinstance(accounts, dict) and len(accounts) == MAX_LIST_PAGES == len(requests)


ENDLESS = {
    "always-a-next-page": (
        lambda start: page([item(start)], start + 1),
        Code.LIST_TOO_LONG,
        f"the portal's account list goes on past 100 pages or 100,000 items (page 100 started "
        f"at {MAX_LIST_PAGES - 1})",
        MAX_LIST_PAGES,
    ),
    "too-many-items-on-one-page": (
        # Aliases: small items, so that the page stays under the cap on what an answer holds.
        lambda start: page([{"isAlias": True}] * (MAX_LIST_ITEMS + 1), None),
        Code.LIST_TOO_LONG,
        "the portal's account list goes on past 100 pages or 100,000 items (page 1 started at 0)",
        1,
    ),
    "the-same-page-again": (
        lambda start: page([item(0)], start + 1),
        Code.LIST_REPEATS,
        "the portal's account list sent the same page again (page 2, at 1)",
        2,
    ),
    "empty-pages-forever": (
        lambda start: page([], start + 1000),
        Code.LIST_REPEATS,
        "the portal's account list sent the same page again (page 2, at 1,000)",
        2,
    ),
    "pointing-to-itself": (
        lambda start: page([item(start)], start),
        Code.LIST_REPEATS,
        "the portal's account list pointed back to a page already read (nextIndex 0 after a page "
        "at 0)",
        1,
    ),
    "pointing-back": (
        lambda start: page([item(start)], 0 if start else 5),
        Code.LIST_REPEATS,
        "the portal's account list pointed back to a page already read (nextIndex 0 after a page "
        "at 5)",
        2,
    ),
}


@pytest.mark.parametrize(("answer", "code", "message", "requests"), ENDLESS.values(), ids=ENDLESS)
async def test_an_endless_list_stops_with_its_verdict(
    answer: Callable[[int], httpx.Response], code: Code, message: str, requests: int
) -> None:
    verdict, sent = await listed(answer)

    assert isinstance(verdict, Verdict)
    assert (verdict.code, verdict.stage, verdict.message) == (code, Stage.PORTAL, message)
    assert (verdict.retryable, verdict.fatal, verdict.hint) == (False, False, code.hint)
    assert len(sent) == requests


def test_a_next_index_that_is_not_a_number_ends_the_list() -> None:
    for following in (None, "5", True, 2.5):
        assert Pages().after(0, [item(0)], following) is None


def test_the_bounds_are_the_ones_the_registry_names() -> None:
    assert (MAX_LIST_PAGES, MAX_LIST_ITEMS) == (100, 100_000)
    assert "100 pages or 100,000 items" in Code.LIST_TOO_LONG.meaning


async def test_the_client_asks_for_no_compression() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("accept-encoding"))
        return page([], None)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url=BASE) as http:
        portal = PortalClient(http)
        await portal.list_accounts(Token("tok"))
        await portal.create(Token("tok"), {"email": "a@example.org"})
    assert seen == ["identity", "identity"]
