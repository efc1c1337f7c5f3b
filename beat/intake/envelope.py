"""The original API's envelopes, with real HTTP status codes, and the input guards every
handler shares.

Success is ``{"status": {"type": "SUCCESS", "message"}, ...}``; an error is
``{"status": {"type": "ERROR", "message", "code"}}``. Unlike the original (which answered
errors with HTTP 200), the HTTP status says what happened too.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from aiohttp import web

#: Largest value of a BIGINT id column.
MAX_ID = 2**63 - 1
_ASCII_ID = re.compile(r"[0-9]{1,19}")
#: What pydantic (and so the original's FastAPI) reads as a boolean in a query string.
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


class BadRequest(ValueError):
    """The caller's mistake: answered 400 with this message."""


def success(message: str, http_status: int = 200, **payload: Any) -> web.Response:
    body = {"status": {"type": "SUCCESS", "message": message}, **payload}
    return web.json_response(body, status=http_status, dumps=dumps)


def error(
    message: str, http_status: int, *, code: int | None = None, **payload: Any
) -> web.Response:
    body = {"status": {"type": "ERROR", "message": message, "code": code or http_status}}
    return web.json_response({**body, **payload}, status=http_status, dumps=dumps)


def dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def parse_id(raw: str, what: str = "id") -> int:
    """A positive BIGINT from a path segment: ASCII digits only (``str.isdigit`` also takes
    Arabic-Indic and other digits), and small enough for the column."""
    if not _ASCII_ID.fullmatch(raw) or not 0 < int(raw) <= MAX_ID:
        raise BadRequest(f"{what} must be a positive integer below 2^63, got {raw[:40]!r}")
    return int(raw)


def query_flag(request: web.Request, name: str) -> bool:
    """A boolean query parameter as the original read it (``1``/``true``/``yes``/... ), false
    when absent."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return False
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest(f"query parameter {name} must be true or false (or 1/0), got {raw[:20]!r}")


def clean_text(value: str, what: str, *, max_length: int = 200) -> str:
    """Header or path text that can be stored: valid UTF-8 (aiohttp hands undecodable bytes
    over as lone surrogates), no NUL, bounded."""
    if "\x00" in value:
        raise BadRequest(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{what} is not valid UTF-8") from None
    if len(value) > max_length:
        raise BadRequest(f"{what} is longer than {max_length} characters")
    return value
