"""Before the first row: is --portal the portal's API, and does it answer at all?

One cheap request, `GET api/2.0/capabilities` (no login, no payment check:
docs/portal-api.md §19), tells three cases apart before any row costs a request:

- an answer in the portal's envelope: go on (so does any other answer a portal may give,
  such as its plain-text 401: the API is there);
- a refused certificate or a failed TLS handshake: `ConfigError` (exit 2) with the fix
  (`--ca-bundle`...), before anything is sent;
- a 404, a redirect or a page that is not the envelope (a browser's address such as
  `.../Products/Files/`, a login screen, a proxy's page): the URL is wrong, `ConfigError`
  (exit 2) naming it and what to give instead;
- no answer (refused, timed out, a gateway's 502/504, a busy 429/503), again and again for
  `seconds`: the caller ends the run (exit 3) with every row `not attempted`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

import anyio
import httpx

from bulkmail.codes import Code
from bulkmail.errors import ConfigError
from bulkmail.logs import get_logger
from bulkmail.portal.client import PortalClient, Verdict
from bulkmail.run.health import probe, unreachable
from bulkmail.run.retry import Backoff

_BUSY: Final = frozenset({429, 503})
_WRONG_PLACE: Final = frozenset({Code.NOT_FOUND, Code.UNEXPECTED_ANSWER})
_NO_TLS: Final = frozenset({Code.TLS_FAILED, Code.TLS_CERTIFICATE})
_ROOT: Final = (
    "give the portal's root address as you open it in a browser, without a page's path: "
    "e.g. https://portal.example.org, not https://portal.example.org/Products/Files/"
)


async def check_portal(
    client_factory: Callable[[], httpx.AsyncClient],
    url: str,
    seconds: float,
    *,
    backoff: Backoff | None = None,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = anyio.current_time,
) -> Verdict | None:
    """Return None when `url` is the portal's API and answers; the last failure when it did
    not answer within `seconds`. Raise ConfigError when it is not the portal's API."""
    backoff = backoff or Backoff(base=0.5, cap=2.0)
    deadline = clock() + seconds
    attempt = 0
    async with client_factory() as client:
        portal = PortalClient(client)
        while True:
            attempt += 1
            answer = await probe(portal, max(deadline - clock(), 1.0))
            if not isinstance(answer, Verdict):
                return None
            _refuse_wrong_place(url, answer)
            if not (unreachable(answer) or answer.http_status in _BUSY):
                get_logger().warning("portal.capabilities", answer=str(answer))
                return None  # something answered as a portal may: the rows will tell
            left = deadline - clock()
            if left <= 0:
                return answer
            await sleep(min(backoff.delay(attempt, answer.retry_after), left))


def _refuse_wrong_place(url: str, answer: Verdict) -> None:
    """Raise ConfigError when `answer` says `url` is not the portal's API."""
    status = answer.http_status or 0
    if answer.code in _NO_TLS:  # a certificate refused, TLS that failed: the hint says why
        raise ConfigError(f"--portal {url}: {answer.message}", answer.hint)
    if answer.code in _WRONG_PLACE or 300 <= status < 400:
        hint = _ROOT
        if 300 <= status < 400:
            hint = "give the address it redirects to (the portal's root) instead"
        raise ConfigError(f"--portal {url} is not the portal's API: {answer.message}", hint)
