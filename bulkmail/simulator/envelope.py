"""The portal's JSON envelope and its bare answers (docs/portal-api.md §1, §5)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from starlette.responses import Response

JSON: Final = "application/json; charset=UTF-8"


def _dump(document: Mapping[str, Any]) -> bytes:
    # The portal's writer escapes "/" as "\/"; a JSON parser reads both the same, but a
    # client that matches raw text must not be surprised in production.
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return text.replace("/", "\\/").encode()


def ok(
    status: int,
    response: Any,
    count: int | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Return a success envelope; `count` is left out when None or 0, as the portal does."""
    document: dict[str, Any] = {"count": count} if count else {}
    document.update(extra or {})
    document.update(status=0, statusCode=status, response=response)
    return Response(_dump(document), status, headers, JSON)


def error(status: int, message: str, hresult: int) -> Response:
    """Return an error envelope: status 1, the innermost message, the HRESULT, empty data."""
    document = {
        "status": 1,
        "statusCode": status,
        "error": {"message": message, "hresult": hresult, "data": {}},
    }
    return Response(_dump(document), status, None, JSON)


def bare(status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
    """Return a non-JSON answer, as the portal's 401 and front ends' 503/429 are."""
    return Response(text, status, headers, "text/html")


def plain_json(document: Any, status: int = 200) -> Response:
    """Return a simulator-only JSON document (no envelope, no escaping)."""
    return Response(json.dumps(document, ensure_ascii=False), status, None, "application/json")
