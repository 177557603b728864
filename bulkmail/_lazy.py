"""Public names that load their module on first use (PEP 562 `__getattr__` / `__dir__`).

`bulkmail --help` and `bulkmail validate` must not pay for the HTTP client or the
simulator's web stack, so packages export their names through this instead of importing
them up front.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return `__getattr__` and `__dir__` for `package`, whose names live in `where`.

    `where` maps each public name to the module that defines it; a name is imported on
    first access and then kept in the package's namespace.
    """

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return __getattr__, __dir__
