"""Structured logs: one JSON object a line, carrying the request, batch and run ids of the
work that wrote it.

Off by default (Dagster and the CLI keep their own formats); ``BEAT_LOG_FORMAT=json`` turns it
on in every beat process (the API, the code server, each run), ``BEAT_LOG_LEVEL`` sets the
level (INFO). The ids come from ``log_context``, which the API's middleware and the batch run
set; they ride on contextvars, so asyncio tasks and ``asyncio.to_thread`` inherit them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

CONTEXT_FIELDS = ("request_id", "batch_id", "run_id")
_context: ContextVar[dict[str, str]] = ContextVar("beat_log_context", default={})  # noqa: B039
_HANDLER_NAME = "beat-json"


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Every log record written inside carries these fields (None values are left out)."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, str]:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def configure_logging(fmt: str | None = None, *, stream: Any = None) -> bool:
    """Install the JSON handler on the root logger when asked (``fmt`` or BEAT_LOG_FORMAT is
    ``json``); returns whether it did. Idempotent: a second call changes nothing."""
    fmt = (fmt or os.environ.get("BEAT_LOG_FORMAT", "")).lower()
    if fmt != "json":
        return False
    root = logging.getLogger()
    if any(h.get_name() == _HANDLER_NAME for h in root.handlers):
        return True
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(os.environ.get("BEAT_LOG_LEVEL", "INFO").upper())
    return True


def request_logging() -> Any:
    """aiohttp middleware: each request gets an id (the caller's ``X-Request-ID``, else a new
    one), echoed in the response (where the access logger reads it) and carried by every log
    line written while serving it."""
    import uuid

    from aiohttp import web

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        with log_context(request_id=request_id):
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                exc.headers["X-Request-ID"] = request_id
                raise
            response.headers["X-Request-ID"] = request_id
            return response

    return middleware
