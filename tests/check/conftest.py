"""Every check test reaches 127.0.0.1 only (`loopback.loopback_only`)."""

from __future__ import annotations

import pytest

from tests.check.loopback import loopback_only


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    loopback_only(monkeypatch)
