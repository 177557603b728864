"""The httpx clients that talk to the portal: one connection each, no cookies, one TLS context.

Client set-up is what a run pays per worker, so it is kept cheap: the TLS context (the system's
CA bundle takes ~20 ms of CPU to load; `bulkmail.portal.tls` says whom it trusts) is built once
and shared, and no cookie jar is built.
"""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Callable
from typing import Any, Final

import httpx

from bulkmail._version import __version__
from bulkmail.portal.tls import trust_context
from bulkmail.settings import PortalSettings

CONNECT_TIMEOUT: Final = 30.0
"""Seconds to open a connection: a portal that takes longer is not reachable."""


class _NoCookies(httpx.Cookies):
    """A cookie store that never takes one."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass


class CookielessClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` that never keeps a cookie, and spends nothing refusing them.

    PortalClient makes any client refuse cookies by policy (see there why), but httpx still
    builds two urllib stand-ins per response to offer its cookies to the jar: a tenth of the
    CPU of a create. This client has nothing to offer them to.
    """

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("cookies"):
            raise ValueError("a CookielessClient keeps no cookies")
        self._no_cookies = _NoCookies()
        super().__init__(**kwargs)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, value: object) -> None:
        if value:
            raise ValueError("a CookielessClient keeps no cookies")


def make_client_factory(
    portal: PortalSettings, *, tls: ssl.SSLContext | None = None
) -> Callable[[], httpx.AsyncClient]:
    """Return a factory of one-connection clients for the portal (one per worker).

    Each client is httpx's own: HTTP/1.1 keep-alive, proxies from the environment
    (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY; one reached over TLS is verified with the
    same context), TLS verified, redirects never followed.
    `tls` replaces the default context: the system's trust store, SSL_CERT_FILE and
    SSL_CERT_DIR, and `portal.ca_bundle` (`trust_context`, which raises ConfigError for a CA
    file it cannot use). The per-read timeout is `portal.timeout`; PortalClient bounds each whole
    exchange by it too.
    """
    timeout = httpx.Timeout(portal.timeout, connect=min(CONNECT_TIMEOUT, portal.timeout))
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    headers = {"User-Agent": f"bulkmail/{__version__}", "Accept": "application/json"}
    # One TLS context for every worker: building one loads the CA bundle (~20 ms of CPU),
    # which at 50 workers would delay the first create by a second (docs/performance.md §5).
    context = tls or trust_context(portal.ca_bundle)
    proxies = tls_proxies()

    def factory() -> httpx.AsyncClient:
        mounts: dict[str, httpx.AsyncBaseTransport | None] = {
            pattern: httpx.AsyncHTTPTransport(
                verify=context, limits=limits, proxy=httpx.Proxy(url, ssl_context=context)
            )
            for pattern, url in proxies
        }
        return CookielessClient(
            base_url=portal.url,
            timeout=timeout,
            limits=limits,
            headers=headers,
            follow_redirects=False,
            verify=context,
            mounts=mounts or None,
        )

    return factory


def tls_proxies() -> tuple[tuple[str, str], ...]:
    """Return (httpx mount pattern, URL) of each proxy from the environment reached over TLS.

    httpx verifies an `https://` proxy with httpcore's default context (certifi's bundle
    alone, built anew per connection), not the client's: these are mounted with the run's
    context instead. Other proxies, and NO_PROXY's exceptions, stay httpx's own; NO_PROXY=*
    turns every proxy off, as httpx reads it.
    """
    found = urllib.request.getproxies()
    if "*" in (host.strip() for host in found.get("no", "").split(",")):
        return ()
    return tuple(
        (f"{scheme}://", found[scheme])
        for scheme in ("http", "https", "all")
        if found.get(scheme, "").lower().startswith("https://")
    )
