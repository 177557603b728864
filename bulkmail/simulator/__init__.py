"""A local simulator of the ONLYOFFICE / R7-Office Mail API, for rehearsals and tests.

    from bulkmail.simulator import SimConfig, running

    with running(SimConfig(latency_ms=50)) as url:
        ...  # point the import at `url`

`create_app(config)` gives the ASGI app for in-process use with `httpx.ASGITransport`;
`serve(config, host, port)` blocks, as `bulkmail simulate` does.
"""

from __future__ import annotations

from bulkmail.simulator.app import create_app
from bulkmail.simulator.config import MailServer, PortalUser, SimConfig
from bulkmail.simulator.configfile import load_config
from bulkmail.simulator.persist import describe
from bulkmail.simulator.server import running, serve

__all__ = [
    "MailServer",
    "PortalUser",
    "SimConfig",
    "create_app",
    "describe",
    "load_config",
    "running",
    "serve",
]
