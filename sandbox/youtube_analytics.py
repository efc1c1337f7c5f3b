"""The YouTube Analytics API v2 (``GET /ytapi/youtubeanalytics/v2/reports``), as Google
answers it: a ``youtubeAnalytics#resultTable`` of ``columnHeaders`` and ``rows``.

Only the channel owner's grant reads a channel (``ids=channel==MINE``, or its own id); the
bearer token is the one ``/ytapi/token`` issued for that grant (sandbox ``ytapi`` keys each own a
catalogue channel, ``OWNERS``). Reports: ``country`` and ``city`` (metrics=views, sorted by
views, ``maxResults``) and ``ageGroup,gender`` (metrics=viewerPercentage, summing to 100).
Anything else is Google's 400 ``badRequest``. The numbers are made up from the channel and the
dates (deterministic).
"""

from __future__ import annotations

import random
import re
from typing import Any

from aiohttp import web

from sandbox.gate import gate
from sandbox.youtube import (
    CATALOGUE,
    KEYS,
    OAUTH_API_STYLE,
    _bearer_grant,
    _dumps,
    _reply,
    _seed,
    channel_id_for,
    google_error,
)

#: Which channel each sandbox ``ytapi`` grant (refresh token) belongs to.
OWNERS: dict[str, str] = {key: channel_id_for(CATALOGUE[i]) for i, key in enumerate(KEYS["ytapi"])}
_COUNTRIES = ("US", "IN", "GB", "DE", "BR", "JP", "CA", "FR", "MX", "ID", "PH", "AU")
_CITIES = ("London", "Mumbai", "New York", "Berlin", "São Paulo", "Tokyo", "Toronto", "Delhi",
           "Los Angeles", "Jakarta", "Manila", "Sydney", "Paris", "Chicago", "Madrid")  # fmt: skip
_AGES = ("age13-17", "age18-24", "age25-34", "age35-44", "age45-54", "age55-64", "age65-")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _bad(message: str) -> web.Response:
    return google_error(400, "badRequest", message, api_status="INVALID_ARGUMENT")


def _header(name: str, kind: str, data: str) -> dict[str, str]:
    return {"name": name, "columnType": kind, "dataType": data}


def report(channel_id: str, dimensions: str, start: str, end: str, limit: int) -> dict[str, Any]:
    """The result table a report answers (what the tests compare with)."""
    rng = random.Random(_seed(f"analytics:{channel_id}:{dimensions}:{start}:{end}"))
    if dimensions == "ageGroup,gender":
        cells = [(a, g, rng.random()) for g in ("female", "male") for a in _AGES]
        total = sum(w for _a, _g, w in cells)
        rows: list[list[Any]] = [[a, g, round(100 * w / total, 1)] for a, g, w in cells]
        headers = [_header("ageGroup", "DIMENSION", "STRING"),
                   _header("gender", "DIMENSION", "STRING"),
                   _header("viewerPercentage", "METRIC", "FLOAT")]  # fmt: skip
    else:
        names = _COUNTRIES if dimensions == "country" else _CITIES
        picked = rng.sample(names, k=rng.randint(3, len(names)))
        rows = sorted(([n, rng.randint(10, 50_000)] for n in picked), key=lambda r: -r[1])
        rows = rows[:limit]
        headers = [_header(dimensions, "DIMENSION", "STRING"),
                   _header("views", "METRIC", "INTEGER")]  # fmt: skip
    return {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers, "rows": rows}


def _answer(request: web.Request, grant: str) -> bytes | web.Response:
    q = request.query
    owner = OWNERS.get(grant)
    ids = q.get("ids", "")
    if not ids.startswith("channel=="):
        return _bad("Required parameter ids is missing or invalid.")
    asked = ids.removeprefix("channel==")
    if owner is None or asked not in ("MINE", owner):
        return google_error(403, "forbidden", "Forbidden", api_status="PERMISSION_DENIED")
    start, end = q.get("startDate", ""), q.get("endDate", "")
    if not (_DAY.match(start) and _DAY.match(end)) or start > end:
        return _bad("Invalid or missing startDate/endDate.")
    wanted = {"country": "views", "city": "views", "ageGroup,gender": "viewerPercentage"}
    dimensions = q.get("dimensions", "")
    if wanted.get(dimensions) != q.get("metrics"):
        return _bad("The query is not supported.")
    limit_text = q.get("maxResults", "200")
    if not limit_text.isdigit() or int(limit_text) < 1:
        return _bad("Invalid value for maxResults.")
    return _dumps(report(owner, dimensions, start, end, int(limit_text)))


async def reports_handler(request: web.Request) -> web.StreamResponse:
    grant = _bearer_grant(request)
    g = await gate(request, OAUTH_API_STYLE, credential=grant, kind="analytics_report")
    if g.response is not None:
        return g.response
    assert grant is not None  # the gate let it through
    return _reply(request, g, _answer(request, grant))


def register(app: web.Application) -> None:
    app.router.add_get("/ytapi/youtubeanalytics/v2/reports", reports_handler)
