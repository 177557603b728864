"""A local simulator of the ONLYOFFICE / R7-Office Mail API, for rehearsals and tests.

    from bulkmail.simulator import SimConfig, running

    with running(SimConfig(latency_ms=50)) as url:
        ...  # point the import at `url`

`create_app(config)` gives the ASGI app for in-process use with `httpx.ASGITransport`;
`serve(config, host, port)` blocks, as `bulkmail simulate` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkmail._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
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

# Names load on first use (PEP 562), so `bulkmail --help` can read the simulator's defaults
# from `bulkmail.simulator.config` without loading starlette and uvicorn.
_WHERE: dict[str, str] = {  # public name -> the module that defines it
    "MailServer": "bulkmail.simulator.config",
    "PortalUser": "bulkmail.simulator.config",
    "SimConfig": "bulkmail.simulator.config",
    "create_app": "bulkmail.simulator.app",
    "describe": "bulkmail.simulator.persist",
    "load_config": "bulkmail.simulator.configfile",
    "running": "bulkmail.simulator.server",
    "serve": "bulkmail.simulator.server",
}


__getattr__, __dir__ = _lazy_exports(__name__, _WHERE)
