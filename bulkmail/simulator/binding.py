"""Bind request parameters as the portal's API does (docs/portal-api.md §7).

Values come from the query string first, then the body (JSON only with an application/json
Content-Type, else a urlencoded form); names are case-insensitive; every value is a string
that is then converted to int, bool or enum, with the .NET texts on failure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from bulkmail.simulator import texts

_INT = re.compile(r"[+-]?\d+")
_INT32 = range(-(2**31), 2**31)


class ApiError(Exception):
    """An answer the portal gives as a JSON error envelope (status, innermost message, HRESULT)."""

    def __init__(self, status: int, message: str, hresult: int) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.hresult = hresult


def gather(query: Iterable[tuple[str, str]], content_type: str, body: bytes) -> dict[str, str]:
    """Return the request's parameters by lower-cased name; a query value wins over the body."""
    values: dict[str, str] = {}
    for key, value in query:
        values.setdefault(key.lower(), value)
    media = content_type.partition(";")[0].strip().lower()
    if media == "application/json":
        pairs: Iterable[tuple[str, str]] = _json_pairs(body)
    elif media == "application/x-www-form-urlencoded":
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    else:  # multipart is not simulated; no or another Content-Type binds nothing
        pairs = ()
    for key, value in pairs:
        values.setdefault(key.lower(), value)
    return values


def _json_pairs(body: bytes) -> list[tuple[str, str]]:
    if not body.strip():
        return []  # an empty JSON body binds nothing (docs/portal-api.md §7: assumed)
    try:
        data = json.loads(body)
    except ValueError as err:
        line, column = getattr(err, "lineno", 1), getattr(err, "colno", 1)
        message = f"{getattr(err, 'msg', err)}. Path '', line {line}, position {column}."
        raise ApiError(400, message, texts.HR_EXCEPTION) from None
    if not isinstance(data, dict):
        raise ApiError(400, texts.JSON_ROOT, texts.HR_EXCEPTION)
    return list(_flatten("", data))


def _flatten(prefix: str, data: dict[str, Any]) -> Iterable[tuple[str, str]]:
    # Json.NET turns the body into XML first: nested objects become `a[b]` keys and an
    # array's items are repeated elements, which the name/value collection joins with ",".
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            yield from _flatten(name, value)
        elif isinstance(value, list):
            yield name, ",".join(_text(v) for v in value)
        else:
            yield name, _text(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # XmlConvert writes 993.0 as "993"
    return str(value)


class Params:
    """The bound parameters of one request, converted on demand as the portal's binder does."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def text(self, key: str) -> str | None:
        """Return the string value; None when the parameter was not sent at all."""
        return self._values.get(key)

    def integer(self, key: str) -> int:
        """Return an Int32 value; blank means 0."""
        value = self._values.get(key, "").strip()
        if not value:
            return 0
        if not _INT.fullmatch(value):
            raise ApiError(400, texts.INT_FORMAT, texts.HR_FORMAT)
        if int(value) not in _INT32:
            raise ApiError(400, texts.INT_OVERFLOW, texts.HR_OVERFLOW)
        return int(value)

    def boolean(self, key: str) -> bool:
        """Return a Boolean value ("true"/"false", any case); blank means false."""
        value = self._values.get(key, "").strip().lower()
        if value in ("", "false"):
            return False
        if value == "true":
            return True
        raise ApiError(400, texts.BOOL_FORMAT, texts.HR_FORMAT)

    def enum(self, key: str, names: Mapping[str, int]) -> int:
        """Return an enum value: numbers (even undefined), names any case, comma lists OR-ed."""
        raw = self._values.get(key, "")
        result = 0
        for part in raw.split(",") if raw.strip() else ():
            word = part.strip()
            if _INT.fullmatch(word):
                result |= int(word)
            elif word.lower() in names:
                result |= names[word.lower()]
            else:
                raise ApiError(400, texts.ENUM_NOT_FOUND.format(value=raw), texts.HR_ARGUMENT)
        return result


async def params_of(request: Request) -> Params:
    """Return the bound parameters of `request`."""
    body = b"" if request.method == "GET" else await request.body()
    content_type = request.headers.get("content-type", "")
    return Params(gather(request.query_params.multi_items(), content_type, body))
