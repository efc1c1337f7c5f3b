"""Local emulator of the Graph API and the ArrayBobo RapidAPI over real HTTP (aiohttp.web).

Every provider is mounted at ``/{name}`` (Graph at ``/graph``); the Graph and ArrayBobo routes
live here, the others in their own modules (``PROVIDER_MODULES``). Graph and ArrayBobo:

* ``GET /graph/{version}/{user_id}?fields=business_discovery.username(h){...}&access_token=``
* ``GET /arraybobo/ig/info_username/?user=h``
* ``GET /arraybobo/ig/info_id/?id_user=pk`` (the profile by pk)
* ``GET /arraybobo/ig/posts/?id_user=pk&end_cursor=c``
* ``GET /arraybobo/ig/post_info/?shortcode=s``
* ``GET /arraybobo/ig/tagged/?id_user=pk&end_cursor=c`` (web ``edge_user_to_photos_of_you``)
* ``GET /arraybobo/ig/reels/?id_user=pk&max_id=c`` (Instagram's clips answer: ``items[].media``,
  ``paging_info{max_id, more_available}``)
* ``GET /cdn/...``: signed, expiring media URLs (see ``sandbox.cdn``); with ``cdn=True`` the
  payloads' media URLs point there
* admin: ``POST /_sandbox/faults``, ``GET /_sandbox/faults``, ``GET /_sandbox/stats``,
  ``POST /_sandbox/reset``, ``POST /_sandbox/config``, ``GET /_sandbox/health``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import web

from sandbox import cdn as _cdn
from sandbox import data
from sandbox import graph_insights as _graph_insights
from sandbox import instagram_rapid as _instagram_rapid
from sandbox import openai as _openai
from sandbox import shopify as _shopify
from sandbox import stories as _stories
from sandbox import youtube as _youtube
from sandbox.gate import STATE_KEY
from sandbox.state import (
    DEFAULT_USER_ID,
    EXPIRED_GRAPH_TOKEN,
    EXPIRED_RAPIDAPI_KEY,
    PROVIDER_NAMES,
    RAPIDAPI_HOST,
    FaultSpec,
    Quota,
    SandboxState,
    fingerprint,
)

#: Provider emulations living in their own modules (each mounts itself at ``/{name}``).
PROVIDER_MODULES = (_instagram_rapid, _youtube, _shopify, _openai)

__all__ = ["STATE_KEY", "RunningSandbox", "build_app", "main", "serve", "start_sandbox"]

PK_KEY = web.AppKey("sandbox_pk_index", dict)

JSON = "application/json"
_USERNAME = re.compile(r"business_discovery\.username\(([^)]*)\)")
_MEDIA_EDGE = re.compile(r"(?<!\w)media((?:\.(?:after|before|limit)\([^)]*\))*)(?=[{,}]|$)")
_STORIES_EDGE = "stories{"
_MODIFIER = re.compile(r"\.(after|before|limit)\(([^)]*)\)")
_HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Error</title></head><body>"
    b"<h1>Sorry, something went wrong.</h1><p>We're working on it and we'll get it fixed as soon"
    b" as we can.</p></body></html>"
)
_GRAPH_NEXT = (
    "https://graph.facebook.com/v24.0/__USER_ID__?access_token=__ACCESS_TOKEN__"
    "&fields=business_discovery.username({handle})%7Bmedia.after({{after}}).limit({limit})"
    "%7Bid,caption,like_count,comments_count,media_type,media_url,permalink,timestamp%7D%7D"
)


def _json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(body=data.dumps(payload), status=status, content_type=JSON, headers=headers)


# ------------------------------------------------------------------------------ common


async def _prelude(state: SandboxState, provider: str, credential: str | None, kind: str) -> None:
    state.record(provider, fingerprint(credential), kind)
    if state.latency_ms > 0:
        await asyncio.sleep(state.latency_ms / 1000.0)


def _finish(state: SandboxState, provider: str, response: web.StreamResponse) -> web.StreamResponse:
    state.record_status(provider, response.status)
    return response


def _malformed(state: SandboxState, good: bytes) -> web.Response:
    if state.rng.random() < 0.5:
        return web.Response(body=good[: max(1, len(good) // 2)], content_type=JSON)
    return web.Response(body=_HTML_PAGE, content_type="text/html")


# ------------------------------------------------------------------------------ Graph API


def _graph_error(
    status: int,
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    transient: bool = False,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "is_transient": transient,
        "fbtrace_id": "AbCdSandboxTrace01",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if extra:
        error.update(extra)
    return _json_response({"error": error}, status=status, headers=headers)


def _graph_throttled(user_id: str, regain_seconds: float) -> web.Response:
    """Meta's throttling answer: HTTP 400, code 4, minutes to wait in the usage header."""
    usage = {
        user_id: [
            {
                "type": "instagram",
                "call_count": 100,
                "total_cputime": 28,
                "total_time": 31,
                "estimated_time_to_regain_access": max(1, round(regain_seconds / 60)),
            }
        ]
    }
    return _graph_error(
        400,
        4,
        "(#4) Application request limit reached",
        transient=True,
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )


def _graph_unknown_node(user_id: str) -> web.Response:
    return _graph_error(
        400,
        100,
        f"Unsupported get request. Object with ID '{user_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph "
        "API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
    )


def _graph_expired() -> web.Response:
    return _graph_error(
        400,
        190,
        "Error validating access token: Session has expired on Monday, 01-Jan-24 00:00:00 PST.",
        subcode=463,
    )


def _graph_fault(state: SandboxState, spec: FaultSpec, user_id: str) -> web.Response | None:
    if spec.mode == "rate_limit":
        return _graph_throttled(user_id, 60)
    if spec.mode == "server_error":
        if state.rng.random() < 0.5:
            return _graph_error(
                500,
                2,
                "An unexpected error has occurred. Please retry your request later.",
                transient=True,
            )
        return web.Response(status=503, body=b"Service Unavailable", content_type="text/html")
    if spec.mode == "expired_token":
        return _graph_expired()
    return None


def _graph_body(request: web.Request, handle: str, fields: str) -> bytes | web.Response:
    state = request.app[STATE_KEY]
    facts = data.facts_for(handle, state.reference())
    if facts is not None:
        _instagram_rapid.remember_profile(request.app, facts)
        _remember(request, facts)
    if facts is not None and facts.account_type == 1:
        # business_discovery only sees professional accounts.
        return _graph_error(
            400,
            100,
            "Invalid parameter",
            extra={
                "error_user_title": "Not a professional account",
                "error_user_msg": f"The user {handle} is not a business or creator account.",
            },
        )
    if facts is None:
        return _graph_error(
            400,
            110,
            "Invalid user id",
            subcode=2207013,
            extra={
                "error_user_title": "Cannot find User",
                "error_user_msg": f"The user with username: {handle} cannot be found.",
            },
        )
    full = "followers_count" in fields
    edge = _MEDIA_EDGE.search(fields)
    offset, limit = 0, data.GRAPH_PAGE_SIZE
    if edge is not None:
        for name, value in _MODIFIER.findall(edge.group(1)):
            if name == "after":
                decoded = data.decode_cursor("g", value)
                if decoded is None:
                    return _graph_error(400, 100, "Invalid parameter: bad 'after' cursor")
                offset = decoded
            elif name == "limit":
                if not value.strip().isdigit():
                    return _graph_error(400, 100, "Invalid parameter: bad limit")
                limit = max(1, min(100, int(value)))
    key = (
        "g", facts.handle, state.reference(), full, edge is not None, offset, limit,
        state.graph_next_links, state.graph_ig_id, _STORIES_EDGE in fields,
    )  # fmt: skip
    body = state.payloads.get(key)
    if body is None:
        body = data.graph_business_discovery(
            facts,
            full=full,
            offset=offset if edge is not None else 0,
            limit=limit if edge is not None else 0,
            next_url=(
                _GRAPH_NEXT.format(handle=facts.handle, limit=limit)
                if state.graph_next_links
                else None
            ),
            with_ig_id=state.graph_ig_id,
        )
        if edge is None:
            # Media edge not requested: drop it entirely.
            payload = json.loads(body)
            payload["business_discovery"].pop("media", None)
            body = data.dumps(payload)
        if _STORIES_EDGE in fields:  # the original's "stories variant"
            payload = json.loads(body)
            payload["business_discovery"]["stories"] = _stories.graph_stories(
                facts, state.reference()
            )
            body = data.dumps(payload)
        state.payloads.put(key, body)
    return body


async def graph_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    query = request.query
    token = query.get("access_token")
    fields = query.get("fields", "")
    kind = "profile" if "followers_count" in fields else "posts_page"
    await _prelude(state, "graphapi", token, kind)
    user_id = request.match_info["user_id"]
    if token and token in state.providers["graphapi"].expired_keys:
        return _finish(state, "graphapi", _graph_expired())
    if not token or token not in state.graph_tokens:
        return _finish(
            state,
            "graphapi",
            _graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token"),
        )
    view = state.admit("graphapi", token)
    if view is not None and view.over:
        return _finish(state, "graphapi", _graph_throttled(user_id, view.reset_seconds))
    spec = state.draw_fault("graphapi")
    if spec is not None:
        if spec.mode == "slow":
            await asyncio.sleep(spec.delay_seconds)
        elif spec.mode != "malformed":
            fault = _graph_fault(state, spec, user_id)
            if fault is not None:
                return _finish(state, "graphapi", fault)
    if user_id != DEFAULT_USER_ID:
        # Graph's answer when the node in the path is not the token's own account.
        return _finish(state, "graphapi", _graph_unknown_node(user_id))
    match = _USERNAME.search(fields)
    if match is None:
        return _finish(state, "graphapi", _json_response({"id": user_id}))
    result = _graph_body(request, match.group(1).strip().lower(), fields)
    if isinstance(result, web.Response):
        return _finish(state, "graphapi", result)
    body = result.replace(b"__USER_ID__", json.dumps(user_id)[1:-1].encode()).replace(
        b"__ACCESS_TOKEN__", quote(token, safe="").encode()
    )
    body = _cdn.rewrite_body(request.app, body)
    if spec is not None and spec.mode == "malformed":
        return _finish(state, "graphapi", _malformed(state, body))
    headers = {"X-App-Usage": '{"call_count":1,"total_cputime":1,"total_time":1}'}
    return _finish(state, "graphapi", web.Response(body=body, content_type=JSON, headers=headers))


async def graph_insights_handler(request: web.Request) -> web.StreamResponse:
    """``/{node}/insights``: the token's own account (demographics) or one of its media."""
    state = request.app[STATE_KEY]
    token = request.query.get("access_token")
    node, version = request.match_info["node"], request.match_info["version"]
    await _prelude(state, "graphapi", token, "insights")
    if not token or token not in state.graph_tokens:
        return _finish(state, "graphapi", _graph_error(400, 190, "Invalid OAuth access token"))
    view = state.admit("graphapi", token)
    if view is not None and view.over:
        return _finish(state, "graphapi", _graph_throttled(node, view.reset_seconds))
    if node == DEFAULT_USER_ID:
        status, body = _graph_insights.user_insights(node, dict(request.query))
    elif node.isdigit():
        metrics = [m for m in request.query.get("metric", "").split(",") if m]
        breakdown = request.query.get("breakdown", "")
        status, body = _graph_insights.media_insights(node, metrics, version, breakdown)
    else:
        return _finish(state, "graphapi", _graph_unknown_node(node))
    return _finish(state, "graphapi", _json_response(body, status=status))


# ------------------------------------------------------------------------------ ArrayBobo

_NOT_SUBSCRIBED = {"message": "You are not subscribed to this API."}
_PRIVATE = {"status": "fail", "message": "This account is private"}


def _rapid_headers(remaining: int = 999) -> dict[str, str]:
    return {
        "x-ratelimit-requests-limit": "1000",
        "x-ratelimit-requests-remaining": str(remaining),
        "x-ratelimit-requests-reset": "30",
    }


def _arraybobo_throttled(retry_after: float) -> web.Response:
    headers = _rapid_headers(remaining=0)
    headers["Retry-After"] = str(max(1, round(retry_after)))
    return _json_response(
        {
            "message": "You have exceeded the rate limit per second for your plan, BASIC, "
            "by the API provider"
        },
        status=429,
        headers=headers,
    )


def _arraybobo_fault(state: SandboxState, spec: FaultSpec) -> web.Response | None:
    if spec.mode == "rate_limit":
        return _arraybobo_throttled(1)
    if spec.mode == "server_error":
        if state.rng.random() < 0.5:
            return _json_response({"message": "Internal Server Error"}, status=500)
        return web.Response(
            status=503, body=b"upstream connect error or disconnect/reset before headers"
        )
    if spec.mode == "expired_token":
        return _json_response(_NOT_SUBSCRIBED, status=403)
    return None


async def _arraybobo(request: web.Request, kind: str) -> web.Response | FaultSpec | None:
    """Shared checks; returns an early response, the pending malformed fault, or None."""
    state = request.app[STATE_KEY]
    key = request.headers.get("x-rapidapi-key")
    await _prelude(state, "arraybobo", key, kind)
    if not key:
        return _json_response(
            {"message": "Invalid API key. Go to https://docs.rapidapi.com/docs/keys for details."},
            status=401,
        )
    if key not in state.rapidapi_keys or key in state.providers["arraybobo"].expired_keys:
        return _json_response(_NOT_SUBSCRIBED, status=403)
    view = state.admit("arraybobo", key)
    if view is not None and view.over:
        return _arraybobo_throttled(view.reset_seconds)
    spec = state.draw_fault("arraybobo")
    if spec is None:
        return None
    if spec.mode == "slow":
        await asyncio.sleep(spec.delay_seconds)
        return None
    if spec.mode == "malformed":
        return spec
    return _arraybobo_fault(state, spec)


def _ok(state: SandboxState, body: bytes, pending: FaultSpec | None) -> web.Response:
    if pending is not None:
        return _malformed(state, body)
    return web.Response(body=body, content_type=JSON, headers=_rapid_headers())


def _remember(request: web.Request, facts: data.ProfileFacts) -> None:
    index: dict[str, str] = request.app[PK_KEY]
    if facts.pk not in index:
        index[facts.pk] = facts.handle


async def arraybobo_profile(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    early = await _arraybobo(request, "profile")
    if isinstance(early, web.Response):
        return _finish(state, "arraybobo", early)
    handle = request.query.get("user", "").strip().lower()
    facts = data.facts_for(handle, state.reference())
    if facts is None:
        return _finish(
            state,
            "arraybobo",
            _json_response({"message": "user not found", "status": "fail"}, status=404),
        )
    _remember(request, facts)
    key = ("a-profile", facts.handle, state.reference())
    body = state.payloads.get(key)
    if body is None:
        body = data.arraybobo_profile(facts)
        state.payloads.put(key, body)
    return _finish(state, "arraybobo", _ok(state, _cdn.rewrite_body(request.app, body), early))


async def arraybobo_profile_by_id(request: web.Request) -> web.StreamResponse:
    """``ig/info_id/?id_user=pk``: the same mobile user answer as ``ig/info_username/``."""
    state = request.app[STATE_KEY]
    early = await _arraybobo(request, "profile_by_id")
    if isinstance(early, web.Response):
        return _finish(state, "arraybobo", early)
    handle = request.app[PK_KEY].get(request.query.get("id_user", "").strip())
    facts = data.facts_for(handle, state.reference()) if handle else None
    if facts is None:
        return _finish(
            state,
            "arraybobo",
            _json_response({"message": "user not found", "status": "fail"}, status=404),
        )
    key = ("a-profile", facts.handle, state.reference())
    body = state.payloads.get(key)
    if body is None:
        body = data.arraybobo_profile(facts)
        state.payloads.put(key, body)
    return _finish(state, "arraybobo", _ok(state, _cdn.rewrite_body(request.app, body), early))


async def arraybobo_posts(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    early = await _arraybobo(request, "posts_page")
    if isinstance(early, web.Response):
        return _finish(state, "arraybobo", early)
    pk = request.query.get("id_user", "").strip()
    handle = request.app[PK_KEY].get(pk)
    facts = data.facts_for(handle, state.reference()) if handle else None
    if facts is None:
        return _finish(
            state,
            "arraybobo",
            _json_response({"message": "user not found", "status": "fail"}, status=404),
        )
    if facts.is_private:
        return _finish(state, "arraybobo", _json_response(_PRIVATE))
    cursor = request.query.get("end_cursor")
    offset = 0
    if cursor:
        decoded = data.decode_cursor("a", cursor)
        if decoded is None:
            return _finish(
                state, "arraybobo", _json_response({"message": "invalid end_cursor"}, status=400)
            )
        offset = decoded
    key = ("a-posts", facts.handle, state.reference(), offset)
    body = state.payloads.get(key)
    if body is None:
        body = data.arraybobo_posts(facts, offset)
        state.payloads.put(key, body)
    return _finish(state, "arraybobo", _ok(state, _cdn.rewrite_body(request.app, body), early))


async def arraybobo_post(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    early = await _arraybobo(request, "post")
    if isinstance(early, web.Response):
        return _finish(state, "arraybobo", early)
    decoded = data.decode_shortcode(request.query.get("shortcode", ""))
    facts = data.facts_for(decoded[0], state.reference()) if decoded else None
    if decoded is None or facts is None or decoded[1] >= len(facts.posts):
        return _finish(
            state,
            "arraybobo",
            _json_response({"message": "post not found", "status": "fail"}, status=404),
        )
    _remember(request, facts)
    if facts.is_private:
        return _finish(state, "arraybobo", _json_response(_PRIVATE))
    key = ("a-post", facts.handle, state.reference(), decoded[1])
    body = state.payloads.get(key)
    if body is None:
        body = data.arraybobo_post(facts, facts.posts[decoded[1]])
        state.payloads.put(key, body)
    return _finish(state, "arraybobo", _ok(state, _cdn.rewrite_body(request.app, body), early))


REELS_PAGE = 12
TAGGED_PAGE = 12


def tagged_posts(facts: data.ProfileFacts, reference: int) -> list[tuple[Any, Any]]:
    """(owner, post) of the posts ``facts``'s account is tagged in: the n-th post of a few
    accounts named after it, deterministic."""
    found = []
    for i in range(8):
        owner = data.facts_for(f"tagger.{i}.of.{facts.handle}"[:30].rstrip("."), reference)
        if owner is not None and not owner.is_private:
            found.append((owner, owner.posts[i % len(owner.posts)]))
    return found


async def arraybobo_stories(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    early = await _arraybobo(request, "story_posts_page")
    if isinstance(early, web.Response):
        return _finish(state, "arraybobo", early)
    handle = request.app[PK_KEY].get(request.query.get("id_user", "").strip())
    facts = data.facts_for(handle, state.reference()) if handle else None
    if facts is None:
        return _finish(
            state,
            "arraybobo",
            _json_response({"message": "user not found", "status": "fail"}, status=404),
        )
    payload = _stories.story_reel(facts, state.reference())
    body = _cdn.rewrite_body(request.app, data.dumps(payload))
    return _finish(state, "arraybobo", _ok(state, body, early))


async def arraybobo_tagged(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    early = await _arraybobo(request, "tagged_page")
    if isinstance(early, web.Response):
        return _finish(state, "arraybobo", early)
    handle = request.app[PK_KEY].get(request.query.get("id_user", "").strip())
    facts = data.facts_for(handle, state.reference()) if handle else None
    if facts is None:
        return _finish(state, "arraybobo", _json_response({"data": {"user": None}, "status": "ok"}))
    cursor = request.query.get("end_cursor")
    offset = data.decode_cursor("at", cursor) if cursor else 0
    if offset is None:
        invalid = _json_response({"message": "invalid end_cursor"}, status=400)
        return _finish(state, "arraybobo", invalid)
    tagged = tagged_posts(facts, state.reference())
    window = tagged[offset : offset + TAGGED_PAGE]
    end = offset + len(window)
    connection = {
        "count": len(tagged),
        "page_info": {
            "has_next_page": end < len(tagged),
            "end_cursor": data.encode_cursor("at", end) if end < len(tagged) else None,
        },
        "edges": [
            {"node": data.arraybobo_node(owner, post, owner_detail=True)} for owner, post in window
        ],
    }
    payload = {"data": {"user": {"edge_user_to_photos_of_you": connection}}, "status": "ok"}
    body = _cdn.rewrite_body(request.app, data.dumps(payload))
    return _finish(state, "arraybobo", _ok(state, body, early))


async def arraybobo_reels(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    early = await _arraybobo(request, "reels_page")
    if isinstance(early, web.Response):
        return _finish(state, "arraybobo", early)
    handle = request.app[PK_KEY].get(request.query.get("id_user", "").strip())
    facts = data.facts_for(handle, state.reference()) if handle else None
    if facts is None:
        missing = _json_response({"message": "user not found", "status": "fail"}, status=404)
        return _finish(state, "arraybobo", missing)
    if facts.is_private:
        return _finish(state, "arraybobo", _json_response(_PRIVATE))
    cursor = request.query.get("max_id")
    offset = data.decode_cursor("ar", cursor) if cursor else 0
    if offset is None:
        invalid = _json_response({"message": "invalid max_id"}, status=400)
        return _finish(state, "arraybobo", invalid)
    reels = [p for p in facts.posts if p.kind == "video"]  # newest first, like the feed
    window = reels[offset : offset + REELS_PAGE]
    more = offset + len(window) < len(reels)
    payload = {
        "items": [{"media": _instagram_rapid._mobile_item(facts, p)} for p in window],
        "paging_info": {
            "max_id": data.encode_cursor("ar", offset + len(window)) if more else None,
            "more_available": more,
        },
        "status": "ok",
    }
    body = _cdn.rewrite_body(request.app, data.dumps(payload))
    return _finish(state, "arraybobo", _ok(state, body, early))


# ------------------------------------------------------------------------------ admin


async def _read_json(request: web.Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be JSON"}), content_type=JSON
        ) from None
    if not isinstance(payload, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be a JSON object"}), content_type=JSON
        )
    return payload


def _faults_view(state: SandboxState) -> dict[str, Any]:
    return {
        "faults": {p: spec.as_dict() for p, spec in sorted(state.faults.items())},
        "latency_ms": state.latency_ms,
    }


async def admin_set_fault(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    payload = await _read_json(request)
    try:
        state.set_fault(
            str(payload.get("provider", "*")),
            str(payload.get("mode", "")),
            rate=float(payload.get("rate", 1.0)),
            delay_seconds=float(payload.get("delay_seconds", 15.0)),
        )
    except (TypeError, ValueError) as exc:
        return _json_response({"error": str(exc)}, status=400)
    return _json_response(_faults_view(state))


async def admin_get_faults(request: web.Request) -> web.Response:
    return _json_response(_faults_view(request.app[STATE_KEY]))


async def admin_stats(request: web.Request) -> web.Response:
    return _json_response(request.app[STATE_KEY].stats())


async def admin_reset(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.reset()
    return _json_response(_faults_view(state))


async def admin_config(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    payload = await _read_json(request)
    try:
        if "latency_ms" in payload:
            latency = float(payload["latency_ms"])
            if latency < 0:
                raise ValueError("latency_ms must be >= 0")
            state.latency_ms = latency
        # In place: the provider registry shares these sets.
        if "graph_tokens" in payload:
            _replace(state.graph_tokens, payload["graph_tokens"])
        if "rapidapi_keys" in payload:
            _replace(state.rapidapi_keys, payload["rapidapi_keys"])
        for knob in ("graph_next_links", "graph_ig_id"):
            if knob in payload:
                if not isinstance(payload[knob], bool):
                    raise ValueError(f"{knob} must be true or false")
                setattr(state, knob, payload[knob])
        if "reference_time" in payload:
            ref = payload["reference_time"]
            state.reference_time = None if ref is None else int(ref)
    except (TypeError, ValueError) as exc:
        return _json_response({"error": str(exc)}, status=400)
    return _json_response(
        {
            "latency_ms": state.latency_ms,
            "reference_time": state.reference_time,
            "graph_tokens": len(state.graph_tokens),
            "graph_next_links": state.graph_next_links,
            "graph_ig_id": state.graph_ig_id,
            "rapidapi_keys": len(state.rapidapi_keys),
        }
    )


def _replace(target: set[str], values: Any) -> None:
    fresh = {str(v) for v in values}
    target.clear()
    target.update(fresh)


async def admin_credentials(request: web.Request) -> web.Response:
    """The sandbox's own (fake) credentials, valid and expired, in the shape beat stores."""
    state = request.app[STATE_KEY]
    return _json_response(
        {"valid": state.credential_secrets(), "expired": state.expired_credential_secrets()}
    )


async def admin_health(request: web.Request) -> web.Response:
    return _json_response({"ok": True, "providers": list(PROVIDER_NAMES)})


async def index(request: web.Request) -> web.Response:
    base = f"{request.scheme}://{request.host}"
    return _json_response(
        {
            "service": "beat provider sandbox",
            "base_urls": base_urls_for(base, request.app[STATE_KEY]),
            "admin": [
                "POST /_sandbox/faults",
                "GET /_sandbox/faults",
                "GET /_sandbox/stats",
                "POST /_sandbox/reset",
                "POST /_sandbox/config",
            ],
        }
    )


def _register_builtin(state: SandboxState) -> None:
    """Graph and ArrayBobo read their key sets from the state; share them with the registry
    so quotas, expired keys and ``credential_secrets`` treat them like every other provider."""
    graph = state.add_provider(
        "graphapi",
        keys=(),
        expired_keys=[EXPIRED_GRAPH_TOKEN],
        # Business Use Case budget of a token with modest reach (4800 x impressions a day).
        quota=Quota(limit=4800, window_seconds=86400.0),
        secret=lambda token: {"token": token, "user_id": DEFAULT_USER_ID},
    )
    graph.keys = state.graph_tokens
    rapid = state.add_provider(
        "arraybobo",
        keys=(),
        expired_keys=[EXPIRED_RAPIDAPI_KEY],
        quota=Quota(limit=100, window_seconds=30.0),
        secret=lambda key: {"x-rapidapi-key": key, "x-rapidapi-host": RAPIDAPI_HOST},
    )
    rapid.keys = state.rapidapi_keys


def build_app(
    state: SandboxState | None = None, cdn_config: _cdn.CdnConfig | None = None
) -> web.Application:
    app = web.Application()
    state = state if state is not None else SandboxState()
    app[STATE_KEY] = state
    if "graphapi" not in state.providers:
        _register_builtin(state)
    for module in PROVIDER_MODULES:
        module.register(app, state)
    app[PK_KEY] = {}
    _cdn.add_routes(app, cdn_config)
    app.router.add_get("/", index)
    app.router.add_get("/graph/{version}/{user_id}", graph_handler)
    app.router.add_get("/graph/{version}/{node}/insights", graph_insights_handler)
    app.router.add_get("/arraybobo/ig/info_username/", arraybobo_profile)
    app.router.add_get("/arraybobo/ig/info_id/", arraybobo_profile_by_id)
    app.router.add_get("/arraybobo/ig/posts/", arraybobo_posts)
    app.router.add_get("/arraybobo/ig/post_info/", arraybobo_post)
    app.router.add_get("/arraybobo/ig/reels/", arraybobo_reels)
    app.router.add_get("/arraybobo/ig/tagged/", arraybobo_tagged)
    app.router.add_get("/arraybobo/ig/stories/", arraybobo_stories)
    app.router.add_post("/_sandbox/faults", admin_set_fault)
    app.router.add_get("/_sandbox/faults", admin_get_faults)
    app.router.add_get("/_sandbox/stats", admin_stats)
    app.router.add_post("/_sandbox/reset", admin_reset)
    app.router.add_post("/_sandbox/config", admin_config)
    app.router.add_get("/_sandbox/health", admin_health)
    app.router.add_get("/_sandbox/credentials", admin_credentials)
    return app


# ------------------------------------------------------------------------------ running


def base_urls_for(url: str, state: SandboxState) -> dict[str, str]:
    """Every emulated provider's base URL: each is mounted at ``/{name}``, Graph at ``/graph``."""
    mounted = {name: f"{url}/{name}" for name in state.providers}
    return mounted | {"graphapi": f"{url}/graph"}


@dataclass
class RunningSandbox:
    """A sandbox serving in this process (see ``start_sandbox``)."""

    url: str
    state: SandboxState
    runner: web.AppRunner
    cdn: _cdn.CdnConfig = field(default_factory=_cdn.CdnConfig)

    @property
    def graph_url(self) -> str:
        return f"{self.url}/graph"

    @property
    def arraybobo_url(self) -> str:
        return f"{self.url}/arraybobo"

    @property
    def base_urls(self) -> dict[str, str]:
        return base_urls_for(self.url, self.state)

    def credential_secrets(self) -> dict[str, list[dict[str, str]]]:
        return self.state.credential_secrets()

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def __aenter__(self) -> RunningSandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def start_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    state: SandboxState | None = None,
    *,
    shutdown_timeout: float = 0.25,
    cdn: bool | _cdn.CdnConfig = False,
) -> RunningSandbox:
    """Serve the sandbox on ``host:port`` (0 = an ephemeral port) inside the running loop.

    ``cdn=True`` (or a ``CdnConfig`` with ``rewrite_urls=True``) makes the payloads' media URLs
    signed URLs of the sandbox's own CDN, so they can be downloaded."""
    state = state if state is not None else SandboxState()
    config = cdn if isinstance(cdn, _cdn.CdnConfig) else _cdn.CdnConfig(rewrite_urls=bool(cdn))
    runner = web.AppRunner(
        build_app(state, config), access_log=None, shutdown_timeout=shutdown_timeout
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    actual_host = host if host not in ("0.0.0.0", "", "::") else "127.0.0.1"
    if ":" in actual_host:
        actual_host = f"[{actual_host}]"
    url = f"http://{actual_host}:{bound[1]}"
    config.base_url = url
    return RunningSandbox(url=url, state=state, runner=runner, cdn=config)


def _describe(host: str, port: int, state: SandboxState) -> str:
    shown = host if host not in ("0.0.0.0", "", "::") else "127.0.0.1"
    url = f"http://{shown}:{port}"
    lines = [f"beat provider sandbox on {url}", "  provider            base URL"]
    for name, base in sorted(base_urls_for(url, state).items()):
        lines.append(f"  {name:<19} {base}")
    lines.append("  credentials: GET /_sandbox/credentials (sandbox-only keys)")
    lines.append(
        f"  admin: {url}/_sandbox/faults | /_sandbox/stats | /_sandbox/reset | /_sandbox/config"
    )
    return "\n".join(lines)


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    state: SandboxState | None = None,
    *,
    cdn: bool = False,
    quotas: bool = True,
) -> None:
    """Blocking entrypoint: serve until interrupted (uses uvloop when installed).
    ``quotas=False`` lifts every per-credential plan (for throughput benchmarks)."""
    state = state if state is not None else SandboxState()
    shown = host if host not in ("0.0.0.0", "", "::") else "127.0.0.1"
    shown = f"[{shown}]" if ":" in shown else shown
    config = _cdn.CdnConfig(rewrite_urls=cdn, base_url=f"http://{shown}:{port}")
    loop: asyncio.AbstractEventLoop
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency, but stay usable without
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    app = build_app(state, config)
    if not quotas:
        for setup in state.providers.values():
            setup.quota = None
    print(_describe(host, port, state), flush=True)
    web.run_app(
        app,
        host=host,
        port=port,
        access_log=None,
        print=None,
        loop=loop,
        shutdown_timeout=1.0,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="beat sandbox", description="Local emulator of the Instagram providers."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault RNG")
    parser.add_argument(
        "--cdn", action="store_true", help="point media URLs at the sandbox's own CDN (/cdn/)"
    )
    parser.add_argument(
        "--reference-time",
        type=int,
        default=None,
        help="fixed epoch for post timestamps (default: today's UTC midnight)",
    )
    parser.add_argument(
        "--no-quotas", action="store_true", help="lift per-credential plans (benchmarks)"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    state = SandboxState(
        latency_ms=args.latency_ms, seed=args.seed, reference_time=args.reference_time
    )
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.host, args.port, state, cdn=args.cdn, quotas=not args.no_quotas)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
