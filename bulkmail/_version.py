"""The installed version, in a module of its own so any module can import it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bulkmail")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
