"""Whether the simulator is reachable from other machines, and the warning that says so.

Its /_sim endpoints (reset, every mailbox, counters) need no login, and its users' passwords
are in its configuration: on anything but loopback, anyone who reaches the port can wipe it or
read it.
"""

from __future__ import annotations

import ipaddress

__all__ = ["exposure_warning"]


def exposure_warning(address: str, port: int) -> str | None:
    """Return the one-line warning for a simulator listening on `address` (an IP address as
    the socket reports it), or None when that is loopback only."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])  # fe80::1%eth0: the zone is no part
    except ValueError:
        ip = None
    if ip is not None and (ip.is_loopback or _mapped_loopback(ip)):
        return None
    where = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    return (
        f"WARNING: the simulator listens on {where}, not on loopback: anyone who can reach it "
        "can reset it (POST /_sim/reset) and list every mailbox (GET /_sim/mailboxes) without "
        "logging in; use --host 127.0.0.1 unless other machines must reach it"
    )


def _mapped_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return mapped is not None and mapped.is_loopback
