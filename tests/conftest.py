"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bulkmail.secrets import REGISTRY


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """Give each test an empty secrets registry: a CLI run in-process registers its password."""
    yield
    REGISTRY.clear()
