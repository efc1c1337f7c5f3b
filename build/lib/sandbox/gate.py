"""The front door every emulated provider route goes through.

A provider module describes how its real counterpart answers (``ProviderStyle``: the bodies and
headers of its auth failures, expired credentials, 429s and 5xx) and registers its credentials
and per-credential quota with the state. ``gate`` then does, for every request, what a real
provider does before it looks at the query: record it, reject unknown and expired credentials,
count the request against the credential's quota window (answering the provider's own 429 once
the window is spent) and apply the fault switched on for the provider. ``respond`` sends a
success with the provider's rate-limit headers, or a broken body when a ``malformed`` fault
is pending.

    g = await gate(request, STYLE, credential=request.headers.get("x-rapidapi-key"), kind="profile")
    if g.response is not None:
        return g.response
    return respond(request, g, body)
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from sandbox.state import Quota, QuotaView, SandboxState, fingerprint

__all__ = ["JSON", "STATE_KEY", "Gate", "ProviderStyle", "Quota", "gate", "respond"]

JSON = "application/json"
STATE_KEY = web.AppKey("sandbox_state", SandboxState)

_HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Error</title></head><body>"
    b"<h1>Sorry, something went wrong.</h1></body></html>"
)


@dataclass(frozen=True)
class ProviderStyle:
    name: str
    unauthorized: Callable[[], web.Response]
    expired: Callable[[], web.Response]
    rate_limited: Callable[[float, QuotaView | None], web.Response]
    server_error: Callable[[random.Random], web.Response]
    ok_headers: Callable[[QuotaView | None], dict[str, str]] = lambda view: {}


@dataclass(frozen=True)
class Gate:
    style: ProviderStyle
    response: web.Response | None = None
    malformed: bool = False
    quota: QuotaView | None = None


async def gate(
    request: web.Request, style: ProviderStyle, *, credential: str | None, kind: str
) -> Gate:
    state = request.app[STATE_KEY]
    state.record(style.name, fingerprint(credential), kind)
    if state.latency_ms > 0:
        await asyncio.sleep(state.latency_ms / 1000.0)
    g = await _decide(state, style, credential)
    if g.response is not None:
        state.record_status(style.name, g.response.status)
    return g


async def _decide(state: SandboxState, style: ProviderStyle, credential: str | None) -> Gate:
    setup = state.providers[style.name]
    if credential in setup.expired_keys:
        return Gate(style, style.expired())
    if not credential or credential not in setup.keys:
        return Gate(style, style.unauthorized())
    view = state.admit(style.name, credential)
    if view is not None and view.over:
        return Gate(style, style.rate_limited(view.reset_seconds, view), quota=view)
    fault = state.draw_fault(style.name)
    if fault is None:
        return Gate(style, quota=view)
    if fault.mode == "slow":
        await asyncio.sleep(fault.delay_seconds)
        return Gate(style, quota=view)
    if fault.mode == "malformed":
        return Gate(style, malformed=True, quota=view)
    if fault.mode == "rate_limit":
        return Gate(style, style.rate_limited(1.0, view), quota=view)
    if fault.mode == "server_error":
        return Gate(style, style.server_error(state.rng), quota=view)
    return Gate(style, style.expired(), quota=view)  # expired_token


def respond(
    request: web.Request,
    g: Gate,
    body: bytes,
    *,
    status: int = 200,
    content_type: str = JSON,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The answer to a request that passed the gate (success or a target-level error)."""
    state = request.app[STATE_KEY]
    if g.malformed:
        response = _broken(state, body)
    else:
        merged = {**g.style.ok_headers(g.quota), **(headers or {})}
        response = web.Response(body=body, status=status, content_type=content_type, headers=merged)
    state.record_status(g.style.name, response.status)
    return response


def _broken(state: SandboxState, good: bytes) -> web.Response:
    """Half a JSON body, or an HTML error page where JSON was expected."""
    if state.rng.random() < 0.5:
        return web.Response(body=good[: max(1, len(good) // 2)], content_type=JSON)
    return web.Response(body=_HTML_PAGE, content_type="text/html")
