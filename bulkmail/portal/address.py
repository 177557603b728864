"""The portal's address as a run takes it: the root of an http(s) portal, nothing else.

One rule for the command line's `--portal` and a Python caller's `portal=` /
`PortalSettings.url`: what is not a portal root is a ConfigError before anything is sent or
written, since what follows would land in logs, reports and summary.json.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bulkmail.errors import ConfigError
from bulkmail.printable import printable

__all__ = ["portal_root"]


def portal_root(url: str, name: str = "--portal", login_hint: str = "") -> str:
    """Return the portal URL without a trailing slash, or raise ConfigError naming `name`
    (the option or keyword that gave it).

    A URL with a user name or password in it is refused, and never repeated: a password
    typed there ends up in the shell's history, the process list and the logs.
    `login_hint` says where the login and its password go instead.
    """
    authority = re.split(r"[/?#]", url.partition("://")[2] or url, maxsplit=1)[0]
    if "@" in authority:
        raise ConfigError(
            f"{name} holds a user name or password (...@{authority.rpartition('@')[2]})",
            "give the portal root only, e.g. https://portal.example.org"
            + (f", {login_hint}" if login_hint else ""),
        )
    root = "give the portal root, e.g. https://portal.example.org"
    if not url.isprintable() or any(c.isspace() for c in url):
        raise ConfigError(f"{name} holds a space or a control character", root)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as err:
        raise ConfigError(f"{name} is not a usable URL ({err})", root) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} {printable(url)!r} is not an http(s) URL", root)
    if parts.query or parts.fragment:
        # A browser's address (a token in the query string) is not the API root, and what
        # follows the ? would be written to logs and summary.json.
        raise ConfigError(f"{name} has a ?query or #fragment: it is not the portal root", root)
    return url.rstrip("/")
