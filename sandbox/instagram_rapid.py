"""Emulation of six Instagram scraping APIs over real HTTP, on the sandbox's deterministic data.

Every provider is mounted at ``/{name}`` (its base URL is ``{sandbox_url}/{name}``), goes through
``sandbox.gate`` (credentials, per-credential quota, faults) and answers in its real format,
rendered from the same ``sandbox.data`` facts as Graph and ArrayBobo, so a fallback from any
provider to another yields the same profile and posts.

=============  =========================================================  ====================
provider       routes                                                     credential / quota
=============  =========================================================  ====================
jotucker       GET user_info, medias, media_info, followers               x-rapidapi-key 5/1 s
neotank        GET account-info, account-medias                           x-rapidapi-key 5/1 s
igapi          GET v1/info, v1/posts                                      x-rapidapi-key 5/1 s
bestsolutions  GET profile, feed                                          x-rapidapi-key 2/1 s
lama           GET v1/user/by/username, v1/user/medias/chunk,             x-access-key 5/1 s
               v1/media/by/code
rocketapi      POST instagram/user/get_info,                              Authorization: Token
               instagram/media/get_info_by_shortcode,                     100/30 s
               instagram/user/get_followers
=============  =========================================================  ====================

Each provider accepts ``sandbox-{name}-key-1`` and ``-key-2`` and knows ``sandbox-{name}-expired``
(answered as its real "not subscribed" / expired answer). Over quota, each answers its own 429:
RapidAPI's proxy message with ``x-ratelimit-requests-*`` headers, Lama's FastAPI
``{"detail": "Too Many Requests"}`` with ``Retry-After``, Rocket's Django REST framework
``{"detail": "Request was throttled. Expected available in N seconds."}`` with ``Retry-After``.

Followers (jotucker, rocketapi) are a deterministic list per target: follower ``i`` of a handle
is always the same account (a ``sandbox.data`` handle of its own, ``private_`` for some), and
the list is as long as the target's follower count.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sandbox import cdn as _cdn
from sandbox import data
from sandbox.data import PostFacts, ProfileFacts
from sandbox.gate import JSON, STATE_KEY, Gate, ProviderStyle, Quota, gate, respond
from sandbox.state import QuotaView, SandboxState

__all__ = [
    "CREDENTIAL_HEADERS",
    "PROVIDERS",
    "QUOTAS",
    "follower_handle",
    "keys_for",
    "register",
]

PROVIDERS = ("jotucker", "neotank", "igapi", "bestsolutions", "lama", "rocketapi")
RAPIDAPI_HOSTS = {
    "jotucker": "instagram-scraper2.p.rapidapi.com",
    "neotank": "instagram130.p.rapidapi.com",
    "igapi": "igdata.p.rapidapi.com",
    "bestsolutions": "insta-best-performance.p.rapidapi.com",
}
QUOTAS = {
    "jotucker": Quota(limit=5, window_seconds=1.0),
    "neotank": Quota(limit=5, window_seconds=1.0),
    "igapi": Quota(limit=5, window_seconds=1.0),
    "bestsolutions": Quota(limit=2, window_seconds=1.0),
    "lama": Quota(limit=5, window_seconds=1.0),
    "rocketapi": Quota(limit=100, window_seconds=30.0),
}
#: The request header each provider reads the credential from.
CREDENTIAL_HEADERS = {name: "x-rapidapi-key" for name in RAPIDAPI_HOSTS} | {
    "lama": "x-access-key",
    "rocketapi": "Authorization",
}
PAGE_SIZE = 12
FOLLOWERS_PAGE = 50
MAX_FOLLOWERS_PAGE = 100

PK_INDEX = web.AppKey("instagram_rapid_pk_index", data.LRU)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad"
    b" Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def keys_for(name: str) -> tuple[list[str], list[str]]:
    """(valid keys, expired keys) the sandbox registers for ``name``."""
    return [f"sandbox-{name}-key-1", f"sandbox-{name}-key-2"], [f"sandbox-{name}-expired"]


def _json(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=data.dumps(payload), status=status, content_type=JSON, headers=dict(headers or {})
    )


def _wait(seconds: float) -> int:
    """Whole seconds to announce: never 0, so a client always backs off."""
    return max(1, math.ceil(seconds))


# =========================================================================== provider styles

_PROXY = {"X-RapidAPI-Proxy-Response": "true"}
_INVALID_KEY = "Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info."


def _rapid_quota_headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "x-ratelimit-requests-limit": str(limit),
        "x-ratelimit-requests-remaining": str(remaining),
        "x-ratelimit-requests-reset": str(_wait(reset)),
    }


def _rapid_style(name: str) -> ProviderStyle:
    quota = QUOTAS[name]

    def rate_limited(retry_after: float, view: QuotaView | None) -> web.Response:
        limit = view.limit if view is not None else quota.limit
        period = "second" if quota.window_seconds <= 1 else "minute"
        message = (
            f"You have exceeded the rate limit per {period} for your plan, BASIC, "
            "by the API provider"
        )
        headers = _rapid_quota_headers(limit, 0, retry_after) | _PROXY
        return _json({"message": message}, 429, headers)

    def server_error(rng: random.Random) -> web.Response:
        if rng.random() < 0.5:
            return _json({"message": "Internal Server Error"}, 500)
        return web.Response(status=502, body=_NGINX_502, content_type="text/html")

    def ok_headers(view: QuotaView | None) -> dict[str, str]:
        if view is None:
            return {}
        return _rapid_quota_headers(view.limit, view.remaining, view.reset_seconds)

    return ProviderStyle(
        name=name,
        unauthorized=lambda: _json({"message": _INVALID_KEY}, 401, _PROXY),
        expired=lambda: _json({"message": "You are not subscribed to this API."}, 403, _PROXY),
        rate_limited=rate_limited,
        server_error=server_error,
        ok_headers=ok_headers,
    )


def _lama_style() -> ProviderStyle:
    def rate_limited(retry_after: float, view: QuotaView | None) -> web.Response:
        limit = view.limit if view is not None else QUOTAS["lama"].limit
        wait = str(_wait(retry_after))
        headers = {
            "Retry-After": wait,
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": wait,
        }
        return _json({"detail": "Too Many Requests"}, 429, headers)

    def server_error(rng: random.Random) -> web.Response:
        if rng.random() < 0.5:
            return _json({"detail": "Internal Server Error"}, 500)
        return web.Response(status=502, body=_NGINX_502, content_type="text/html")

    def ok_headers(view: QuotaView | None) -> dict[str, str]:
        if view is None:
            return {}
        return {
            "x-ratelimit-limit": str(view.limit),
            "x-ratelimit-remaining": str(view.remaining),
            "x-ratelimit-reset": str(_wait(view.reset_seconds)),
        }

    return ProviderStyle(
        name="lama",
        unauthorized=lambda: _json({"detail": "Invalid x-access-key"}, 401),
        # Lama sells requests in advance: an expired key is an empty balance.
        expired=lambda: _json({"detail": "Access key expired: top up your balance"}, 402),
        rate_limited=rate_limited,
        server_error=server_error,
        ok_headers=ok_headers,
    )


def _rocket_style() -> ProviderStyle:
    def rate_limited(retry_after: float, view: QuotaView | None) -> web.Response:
        wait = _wait(retry_after)
        detail = f"Request was throttled. Expected available in {wait} seconds."
        return _json({"detail": detail}, 429, {"Retry-After": str(wait)})

    def server_error(rng: random.Random) -> web.Response:
        if rng.random() < 0.5:
            return _json({"status": "error", "message": "Internal server error"}, 500)
        return web.Response(status=502, body=_NGINX_502, content_type="text/html")

    return ProviderStyle(
        name="rocketapi",
        unauthorized=lambda: _json(
            {"detail": "Invalid token."}, 401, {"WWW-Authenticate": "Token"}
        ),
        expired=lambda: _json({"detail": "Your subscription has expired."}, 403),
        rate_limited=rate_limited,
        server_error=server_error,
    )


STYLES: dict[str, ProviderStyle] = {name: _rapid_style(name) for name in RAPIDAPI_HOSTS} | {
    "lama": _lama_style(),
    "rocketapi": _rocket_style(),
}


def _secret_factory(name: str) -> Callable[[str], dict[str, str]]:
    if name == "lama":
        return lambda key: {"x-access-key": key}
    if name == "rocketapi":
        return lambda key: {"Authorization": f"Token {key}"}
    host = RAPIDAPI_HOSTS[name]
    return lambda key: {"x-rapidapi-key": key, "x-rapidapi-host": host}


def _credential(request: web.Request, name: str) -> str | None:
    value = request.headers.get(CREDENTIAL_HEADERS[name])
    if value is None or name != "rocketapi":
        return value
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "token" else None


# =========================================================================== shared lookups


def _state(request: web.Request) -> SandboxState:
    return request.app[STATE_KEY]


def _remember(request: web.Request, facts: ProfileFacts) -> None:
    remember_profile(request.app, facts)


def remember_profile(app: web.Application, facts: ProfileFacts) -> None:
    """Let the id-keyed routes find an account any provider has shown (a real provider knows
    every id; the sandbox derives accounts from handles, so it learns ids as they are seen)."""
    if PK_INDEX in app:
        app[PK_INDEX].put(facts.pk, facts.handle)


def _facts_by_handle(request: web.Request, handle: str) -> ProfileFacts | None:
    facts = data.facts_for(handle.strip().lstrip("@").lower(), _state(request).reference())
    if facts is not None:
        _remember(request, facts)
    return facts


def _facts_by_pk(request: web.Request, pk: str) -> ProfileFacts | None:
    handle = request.app[PK_INDEX].get(str(pk).strip())
    return data.facts_for(handle, _state(request).reference()) if handle else None


def _post_facts(request: web.Request, shortcode: str) -> tuple[ProfileFacts, PostFacts] | None:
    decoded = data.decode_shortcode(shortcode)
    if decoded is None:
        return None
    facts = _facts_by_handle(request, decoded[0])
    if facts is None or decoded[1] >= len(facts.posts):
        return None
    return facts, facts.posts[decoded[1]]


def _offset(prefix: str, cursor: str | None) -> int | None:
    """Where a page starts: 0 without a cursor, None for a cursor we never issued."""
    if not cursor:
        return 0
    return data.decode_cursor(prefix, cursor)


def _cached(request: web.Request, key: tuple[Any, ...], build: Callable[[], bytes]) -> bytes:
    state = _state(request)
    full_key = (*key, state.reference())
    body = state.payloads.get(full_key)
    if body is None:
        body = build()
        state.payloads.put(full_key, body)
    return _cdn.rewrite_body(request.app, body)


def _page_size(value: str | None, default: int, maximum: int) -> int:
    if value is None or not value.strip().isdigit():
        return default
    return max(1, min(maximum, int(value)))


# =========================================================================== followers


_FAN_WORDS = (
    "sun",
    "blue",
    "pixel",
    "river",
    "nova",
    "maple",
    "echo",
    "atlas",
    "coral",
    "ember",
    "fern",
    "orbit",
    "sage",
    "tide",
    "wren",
    "zest",
)


def follower_handle(target: str, index: int) -> str:
    """The ``index``-th follower of ``target``: always the same handle (about 15% private)."""
    rng = random.Random(f"beat-sandbox-follower:{target}:{index}")
    handle = f"{rng.choice(_FAN_WORDS)}.{rng.choice(_FAN_WORDS)}{index}"
    return f"private_{handle}" if rng.random() < 0.15 else handle


def _followers(
    request: web.Request, target: ProfileFacts, offset: int, size: int
) -> list[ProfileFacts]:
    """The follower facts of ``target`` from ``offset`` (indexed, so they can be looked up)."""
    reference = _state(request).reference()
    end = min(target.followers, offset + size)
    fans = [
        data.facts_for(follower_handle(target.handle, i), reference) for i in range(offset, end)
    ]
    found = [f for f in fans if f is not None]
    for fan in found:
        _remember(request, fan)
    return found


def _next_offset(target: ProfileFacts, offset: int, size: int) -> int | None:
    end = offset + size
    return end if end < target.followers else None


# =========================================================================== web rendering


def _web_user(facts: ProfileFacts, first_page: bool) -> dict[str, Any]:
    """A ``web_profile_info`` user; with ``first_page`` its first 12 posts come along."""
    user: dict[str, Any] = {
        "id": facts.pk,
        "username": facts.handle,
        "full_name": facts.full_name,
        "biography": facts.biography,
        "external_url": facts.external_url,
        "edge_followed_by": {"count": facts.followers},
        "edge_follow": {"count": facts.following},
        "fbid": facts.fbid,
        "is_business_account": facts.account_type == 2,
        "is_professional_account": facts.account_type in (2, 3),
        "category_name": facts.category,
        "is_private": facts.is_private,
        "is_verified": facts.is_verified,
        "profile_pic_url": facts.profile_pic_url,
        "profile_pic_url_hd": facts.profile_pic_url,
        "highlight_reel_count": 0,
    }
    timeline: dict[str, Any] = {"count": facts.media_count}
    if first_page:
        timeline |= _web_timeline(facts, 0, "j")
    user["edge_owner_to_timeline_media"] = timeline
    return user


def _web_timeline(facts: ProfileFacts, offset: int, prefix: str) -> dict[str, Any]:
    window = () if facts.is_private else facts.posts[offset : offset + PAGE_SIZE]
    end = offset + len(window)
    has_next = bool(window) and end < len(facts.posts)
    return {
        "count": facts.media_count,
        "page_info": {
            "has_next_page": has_next,
            "end_cursor": data.encode_cursor(prefix, end) if has_next else None,
        },
        "edges": [{"node": data.arraybobo_node(facts, p, owner_detail=False)} for p in window],
    }


def _xdt_media(facts: ProfileFacts, post: PostFacts) -> dict[str, Any]:
    """Today's web ``xdt_shortcode_media``: XDT type names, parent-comment counts."""
    node = data.arraybobo_node(facts, post, owner_detail=True)
    node["__typename"] = "XDT" + node["__typename"]
    node["edge_media_to_parent_comment"] = node.pop("edge_media_to_comment")
    return node


def _web_follower(fan: ProfileFacts) -> dict[str, Any]:
    return {
        "node": {
            "id": fan.pk,
            "username": fan.handle,
            "full_name": fan.full_name,
            "is_private": fan.is_private,
            "is_verified": fan.is_verified,
            "profile_pic_url": fan.profile_pic_url,
            "followed_by_viewer": False,
            "requested_by_viewer": False,
        }
    }


# =========================================================================== mobile rendering

_MEDIA_TYPES = {"image": 1, "video": 2, "carousel": 8}
_PRODUCT_TYPES = {"image": "feed", "video": "clips", "carousel": "carousel_container"}


def _mobile_user(facts: ProfileFacts, id_key: str = "pk") -> dict[str, Any]:
    """``users/usernameinfo``'s user (``id_key="id"``: the shape some APIs re-key)."""
    return {
        id_key: facts.pk,
        "pk_id": facts.pk,
        "username": facts.handle,
        "full_name": facts.full_name,
        "biography": facts.biography,
        "follower_count": facts.followers,
        "following_count": facts.following,
        "media_count": facts.media_count,
        "hd_profile_pic_url_info": {"url": facts.profile_pic_url, "width": 320, "height": 320},
        "profile_pic_url": facts.profile_pic_url,
        "account_type": facts.account_type,
        "is_business": facts.account_type == 2,
        "category": facts.category,
        "category_id": facts.category_id,
        "interop_messaging_user_fbid": facts.fbid,
        "external_url": facts.external_url or "",
        "is_private": facts.is_private,
        "is_verified": facts.is_verified,
    }


def _short_user(facts: ProfileFacts) -> dict[str, Any]:
    return {
        "pk": facts.pk,
        "pk_id": facts.pk,
        "username": facts.handle,
        "full_name": facts.full_name,
        "is_private": facts.is_private,
        "is_verified": facts.is_verified,
        "profile_pic_url": facts.profile_pic_url,
    }


def _candidates(post: PostFacts) -> dict[str, Any]:
    return {
        "candidates": [
            {"width": 1080, "height": 1350, "url": post.display_url},
            {"width": 320, "height": 400, "url": post.thumbnail_url},
        ]
    }


def _mobile_item(facts: ProfileFacts, post: PostFacts) -> dict[str, Any]:
    """A ``feed/user`` / ``media/info`` item."""
    item: dict[str, Any] = {
        "taken_at": post.taken_at,
        "pk": post.post_id,
        "id": f"{post.post_id}_{facts.pk}",
        "code": post.shortcode,
        "media_type": _MEDIA_TYPES[post.kind],
        "product_type": _PRODUCT_TYPES[post.kind],
        "caption": None if post.caption is None else {"text": post.caption},
        "like_count": post.likes,
        "comment_count": post.comments,
        "user": _short_user(facts),
    }
    if post.kind == "carousel":
        child = {"id": f"{post.post_id}1_{facts.pk}", "media_type": 1}
        item["carousel_media"] = [child | {"image_versions2": _candidates(post)}]
        item["carousel_media_count"] = 1
    else:
        item["image_versions2"] = _candidates(post)
    if post.kind == "video":
        item["view_count"] = post.views
        item["play_count"] = post.plays
        item["video_versions"] = [{"type": 101, "url": post.video_url}]
    return item


def _instagrapi_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


def _lama_media(facts: ProfileFacts, post: PostFacts) -> dict[str, Any]:
    """instagrapi's ``Media``: ISO timestamps, flattened caption, one ``thumbnail_url``."""
    video = post.kind == "video"
    return {
        "pk": post.post_id,
        "id": f"{post.post_id}_{facts.pk}",
        "code": post.shortcode,
        "taken_at": _instagrapi_time(post.taken_at),
        "media_type": _MEDIA_TYPES[post.kind],
        "product_type": _PRODUCT_TYPES[post.kind],
        "thumbnail_url": post.display_url,
        "user": _short_user(facts),
        "comment_count": post.comments,
        "like_count": post.likes,
        "play_count": post.plays,
        "caption_text": post.caption or "",
        "video_url": post.video_url,
        "view_count": post.views if video else 0,
        "resources": [],
    }


def _lama_user(facts: ProfileFacts) -> dict[str, Any]:
    user = _mobile_user(facts)
    user.pop("hd_profile_pic_url_info")
    return user | {
        "profile_pic_url_hd": facts.profile_pic_url,
        "category_name": facts.category,
        "public_email": None,
        "bio_links": [],
    }


# =========================================================================== handlers


async def _gate(request: web.Request, name: str, kind: str) -> Gate:
    return await gate(request, STYLES[name], credential=_credential(request, name), kind=kind)


def _get_route(
    name: str, kind: str, answer: Callable[[web.Request, Gate], web.Response]
) -> Handler:
    """A handler: the gate first, then ``answer`` (which builds the provider's reply)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        g = await _gate(request, name, kind)
        if g.response is not None:
            return g.response
        return answer(request, g)

    return handler


def _reply(request: web.Request, g: Gate, payload: Any, status: int = 200) -> web.Response:
    """A JSON answer to a request past the gate (target errors included)."""
    return respond(request, g, data.dumps(payload), status=status)


def _reply_body(request: web.Request, g: Gate, body: bytes) -> web.Response:
    return respond(request, g, body)


# -- jotucker ---------------------------------------------------------------------------------

_JT_NOT_FOUND = {"message": "User not found", "status": "fail"}
_JT_PRIVATE = {"message": "This account is private", "status": "fail"}


def _jotucker_profile(request: web.Request, g: Gate) -> web.Response:
    facts = _facts_by_handle(request, request.query.get("user_name", ""))
    if facts is None:
        return _reply(request, g, _JT_NOT_FOUND, 404)
    body = _cached(
        request,
        ("jt-profile", facts.handle),
        lambda: data.dumps({"data": {"user": _web_user(facts, True)}, "status": "ok"}),
    )
    return _reply_body(request, g, body)


def _jotucker_medias(request: web.Request, g: Gate) -> web.Response:
    facts = _facts_by_pk(request, request.query.get("user_id", ""))
    if facts is None:
        return _reply(request, g, _JT_NOT_FOUND, 404)
    if facts.is_private:
        return _reply(request, g, _JT_PRIVATE, 403)
    offset = _offset("j", request.query.get("end_cursor"))
    if offset is None:
        return _reply(request, g, {"message": "Invalid end_cursor", "status": "fail"}, 400)
    body = _cached(
        request,
        ("jt-medias", facts.handle, offset),
        lambda: data.dumps(
            {
                "data": {
                    "user": {"edge_owner_to_timeline_media": _web_timeline(facts, offset, "j")}
                },
                "status": "ok",
            }
        ),
    )
    return _reply_body(request, g, body)


def _jotucker_media(request: web.Request, g: Gate) -> web.Response:
    found = _post_facts(request, request.query.get("short_code", ""))
    if found is None:
        return _reply(request, g, {"data": {"xdt_shortcode_media": None}, "status": "ok"})
    facts, post = found
    if facts.is_private:
        return _reply(request, g, _JT_PRIVATE, 403)
    body = _cached(
        request,
        ("jt-media", post.shortcode),
        lambda: data.dumps(
            {"data": {"xdt_shortcode_media": _xdt_media(facts, post)}, "status": "ok"}
        ),
    )
    return _reply_body(request, g, body)


def _jotucker_followers(request: web.Request, g: Gate) -> web.Response:
    facts = _facts_by_pk(request, request.query.get("user_id", ""))
    if facts is None:
        return _reply(request, g, _JT_NOT_FOUND, 404)
    if facts.is_private:
        return _reply(request, g, _JT_PRIVATE, 403)
    offset = _offset("jf", request.query.get("end_cursor"))
    if offset is None:
        return _reply(request, g, {"message": "Invalid end_cursor", "status": "fail"}, 400)
    size = _page_size(request.query.get("batch_size"), FOLLOWERS_PAGE, MAX_FOLLOWERS_PAGE)
    fans = _followers(request, facts, offset, size)
    nxt = _next_offset(facts, offset, size)
    connection = {
        "count": facts.followers,
        "page_info": {
            "has_next_page": nxt is not None,
            "end_cursor": data.encode_cursor("jf", nxt) if nxt is not None else None,
        },
        "edges": [_web_follower(f) for f in fans],
    }
    payload = {"data": {"user": {"edge_followed_by": connection}}, "status": "ok"}
    return _reply_body(request, g, _cdn.rewrite_body(request.app, data.dumps(payload)))


# -- neotank ----------------------------------------------------------------------------------


def _neotank_profile(request: web.Request, g: Gate) -> web.Response:
    facts = _facts_by_handle(request, request.query.get("username", ""))
    if facts is None:
        return _reply(request, g, {"message": "Account not found"}, 404)
    body = _cached(
        request, ("nt-profile", facts.handle), lambda: data.dumps(_web_user(facts, False))
    )
    return _reply_body(request, g, body)


def _neotank_medias(request: web.Request, g: Gate) -> web.Response:
    facts = _facts_by_pk(request, request.query.get("userid", ""))
    if facts is None:
        return _reply(request, g, {"message": "Account not found"}, 404)
    if facts.is_private:
        return _reply(request, g, {"message": "Account is private"}, 403)
    offset = _offset("n", request.query.get("after"))
    if offset is None:
        return _reply(request, g, {"message": "Invalid 'after' cursor"}, 400)
    body = _cached(
        request,
        ("nt-medias", facts.handle, offset),
        lambda: data.dumps(_web_timeline(facts, offset, "n")),
    )
    return _reply_body(request, g, body)


# -- mobile pages (igapi, bestsolutions, lama) ------------------------------------------------


def _mobile_window(facts: ProfileFacts, offset: int) -> tuple[tuple[PostFacts, ...], int | None]:
    window = facts.posts[offset : offset + PAGE_SIZE]
    end = offset + len(window)
    return window, (end if window and end < len(facts.posts) else None)


def _igapi_profile(request: web.Request, g: Gate) -> web.Response:
    facts = _facts_by_handle(request, request.query.get("username_or_id_or_url", ""))
    if facts is None:
        return _reply(request, g, {"detail": "Not found"}, 404)
    body = _cached(
        request,
        ("ig-profile", facts.handle),
        lambda: data.dumps({"data": _mobile_user(facts, "id")}),
    )
    return _reply_body(request, g, body)


def _igapi_posts(request: web.Request, g: Gate) -> web.Response:
    who = request.query.get("username_or_id_or_url", "")
    facts = _facts_by_pk(request, who) if who.isdigit() else _facts_by_handle(request, who)
    if facts is None:
        return _reply(request, g, {"detail": "Not found"}, 404)
    if facts.is_private:
        return _reply(request, g, {"detail": "This account is private"}, 403)
    offset = _offset("i", request.query.get("pagination_token"))
    if offset is None:
        return _reply(request, g, {"detail": "Invalid pagination_token"}, 400)

    def build() -> bytes:
        window, nxt = _mobile_window(facts, offset)
        items = [_mobile_item(facts, p) for p in window]
        token = data.encode_cursor("i", nxt) if nxt is not None else None
        return data.dumps(
            {"data": {"count": len(items), "items": items}, "pagination_token": token}
        )

    return _reply_body(request, g, _cached(request, ("ig-posts", facts.handle, offset), build))


_BS_NOT_FOUND = {"message": "User not found", "status": "fail"}


def _bestsolutions_profile(request: web.Request, g: Gate) -> web.Response:
    facts = _facts_by_handle(request, request.query.get("username", ""))
    if facts is None:
        return _reply(request, g, _BS_NOT_FOUND, 404)
    body = _cached(
        request,
        ("bs-profile", facts.handle),
        lambda: data.dumps({"user": _mobile_user(facts), "status": "ok"}),
    )
    return _reply_body(request, g, body)


def _bestsolutions_feed(request: web.Request, g: Gate) -> web.Response:
    facts = _facts_by_pk(request, request.query.get("user_id", ""))
    if facts is None:
        return _reply(request, g, _BS_NOT_FOUND, 404)
    if facts.is_private:
        return _reply(request, g, {"message": "Not authorized to view user", "status": "fail"}, 400)
    offset = _offset("b", request.query.get("max_id"))
    if offset is None:
        return _reply(request, g, {"message": "Invalid max_id", "status": "fail"}, 400)

    def build() -> bytes:
        window, nxt = _mobile_window(facts, offset)
        page: dict[str, Any] = {
            "items": [_mobile_item(facts, p) for p in window],
            "num_results": len(window),
            "more_available": nxt is not None,
            "status": "ok",
        }
        if nxt is not None:
            page["next_max_id"] = data.encode_cursor("b", nxt)
        return data.dumps(page)

    return _reply_body(request, g, _cached(request, ("bs-feed", facts.handle, offset), build))


_LAMA_USER_NOT_FOUND = {"detail": "Target user not found", "exc_type": "UserNotFound"}
_LAMA_PRIVATE = {"detail": "Private account", "exc_type": "PrivateError"}


def _lama_profile(request: web.Request, g: Gate) -> web.Response:
    facts = _facts_by_handle(request, request.query.get("username", ""))
    if facts is None:
        return _reply(request, g, _LAMA_USER_NOT_FOUND, 404)
    body = _cached(request, ("lama-profile", facts.handle), lambda: data.dumps(_lama_user(facts)))
    return _reply_body(request, g, body)


def _lama_chunk(request: web.Request, g: Gate) -> web.Response:
    facts = _facts_by_pk(request, request.query.get("user_id", ""))
    if facts is None:
        return _reply(request, g, _LAMA_USER_NOT_FOUND, 404)
    if facts.is_private:
        return _reply(request, g, _LAMA_PRIVATE, 403)
    offset = _offset("l", request.query.get("end_cursor"))
    if offset is None:
        return _reply(request, g, {"detail": "Invalid end_cursor"}, 400)

    def build() -> bytes:
        window, nxt = _mobile_window(facts, offset)
        cursor = data.encode_cursor("l", nxt) if nxt is not None else None
        return data.dumps([[_lama_media(facts, p) for p in window], cursor])

    return _reply_body(request, g, _cached(request, ("lama-chunk", facts.handle, offset), build))


def _lama_media_by_code(request: web.Request, g: Gate) -> web.Response:
    found = _post_facts(request, request.query.get("code", ""))
    if found is None:
        detail = {"detail": "Media not found or unavailable", "exc_type": "MediaNotFound"}
        return _reply(request, g, detail, 404)
    facts, post = found
    if facts.is_private:
        return _reply(request, g, _LAMA_PRIVATE, 403)
    body = _cached(
        request, ("lama-media", post.shortcode), lambda: data.dumps(_lama_media(facts, post))
    )
    return _reply_body(request, g, body)


# -- rocketapi --------------------------------------------------------------------------------


def _envelope(status_code: int, body: Any) -> dict[str, Any]:
    """Rocket's wrapper around whatever Instagram answered."""
    return {
        "status": "done",
        "response": {"status_code": status_code, "content_type": "application/json", "body": body},
    }


_IG_USER_NOT_FOUND = _envelope(404, {"message": "User not found", "status": "fail"})
_IG_NOT_AUTHORIZED = _envelope(400, {"message": "Not authorized to view user", "status": "fail"})


async def _rocket_body(request: web.Request) -> dict[str, Any] | None:
    try:
        payload = await request.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _rocket_route(
    kind: str, answer: Callable[[web.Request, Gate, dict[str, Any]], web.Response]
) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        g = await _gate(request, "rocketapi", kind)
        if g.response is not None:
            return g.response
        body = await _rocket_body(request)
        if body is None:
            return _reply(request, g, {"detail": "JSON parse error."}, 400)
        return answer(request, g, body)

    return handler


def _rocket_profile(request: web.Request, g: Gate, body: dict[str, Any]) -> web.Response:
    facts = _facts_by_handle(request, str(body.get("username", "")))
    if facts is None:
        return _reply(request, g, _IG_USER_NOT_FOUND)
    payload = _cached(
        request,
        ("rk-profile", facts.handle),
        lambda: data.dumps(
            _envelope(200, {"data": {"user": _web_user(facts, True)}, "status": "ok"})
        ),
    )
    return _reply_body(request, g, payload)


def _rocket_media(request: web.Request, g: Gate, body: dict[str, Any]) -> web.Response:
    found = _post_facts(request, str(body.get("shortcode", "")))
    if found is None:
        missing = {"message": "Media not found or unavailable", "status": "fail"}
        return _reply(request, g, _envelope(404, missing))
    facts, post = found
    if facts.is_private:
        return _reply(request, g, _IG_NOT_AUTHORIZED)
    payload = _cached(
        request,
        ("rk-media", post.shortcode),
        lambda: data.dumps(
            _envelope(
                200,
                {"items": [_mobile_item(facts, post)], "num_results": 1, "status": "ok"},
            )
        ),
    )
    return _reply_body(request, g, payload)


def _rocket_followers(request: web.Request, g: Gate, body: dict[str, Any]) -> web.Response:
    facts = _facts_by_pk(request, str(body.get("id", "")))
    if facts is None:
        return _reply(request, g, _IG_USER_NOT_FOUND)
    if facts.is_private:
        return _reply(request, g, _IG_NOT_AUTHORIZED)
    cursor = body.get("max_id")
    offset = _offset("rf", cursor if isinstance(cursor, str) else None)
    if offset is None:
        return _reply(request, g, _envelope(400, {"message": "Invalid max_id", "status": "fail"}))
    size = _page_size(str(body.get("count", "")), FOLLOWERS_PAGE, MAX_FOLLOWERS_PAGE)
    fans = _followers(request, facts, offset, size)
    nxt = _next_offset(facts, offset, size)
    page: dict[str, Any] = {
        "users": [_short_user(f) for f in fans],
        "big_list": nxt is not None,
        "page_size": size,
        "status": "ok",
    }
    if nxt is not None:
        page["next_max_id"] = data.encode_cursor("rf", nxt)
    return _reply_body(request, g, _cdn.rewrite_body(request.app, data.dumps(_envelope(200, page))))


# =========================================================================== registration

_GET_ROUTES: dict[str, list[tuple[str, str, Callable[[web.Request, Gate], web.Response]]]] = {
    "jotucker": [
        ("user_info", "profile", _jotucker_profile),
        ("medias", "posts_page", _jotucker_medias),
        ("media_info", "post", _jotucker_media),
        ("followers", "followers_page", _jotucker_followers),
    ],
    "neotank": [
        ("account-info", "profile", _neotank_profile),
        ("account-medias", "posts_page", _neotank_medias),
    ],
    "igapi": [
        ("v1/info", "profile", _igapi_profile),
        ("v1/posts", "posts_page", _igapi_posts),
    ],
    "bestsolutions": [
        ("profile", "profile", _bestsolutions_profile),
        ("feed", "posts_page", _bestsolutions_feed),
    ],
    "lama": [
        ("v1/user/by/username", "profile", _lama_profile),
        ("v1/user/medias/chunk", "posts_page", _lama_chunk),
        ("v1/media/by/code", "post", _lama_media_by_code),
    ],
}
_ROCKET_ROUTES = [
    ("user/get_info", "profile", _rocket_profile),
    ("media/get_info_by_shortcode", "post", _rocket_media),
    ("user/get_followers", "followers_page", _rocket_followers),
]


def _register_credentials(state: SandboxState) -> None:
    for name in PROVIDERS:
        keys, expired = keys_for(name)
        state.add_provider(
            name,
            keys=keys,
            expired_keys=expired,
            quota=QUOTAS[name],
            secret=_secret_factory(name),
        )


def register(app: web.Application, state: SandboxState) -> None:
    """Mount the six providers on ``app`` and register their credentials and quotas."""
    _register_credentials(state)
    if PK_INDEX not in app:
        app[PK_INDEX] = data.LRU(65536)
    from sandbox.instagram_listings import JOTUCKER_ROUTES  # it builds on this module

    for name, routes in {
        **_GET_ROUTES,
        "jotucker": [*_GET_ROUTES["jotucker"], *JOTUCKER_ROUTES],
    }.items():
        for path, kind, answer in routes:
            app.router.add_get(f"/{name}/{path}", _get_route(name, kind, answer))
    for path, kind, rocket_answer in _ROCKET_ROUTES:
        app.router.add_post(f"/rocketapi/instagram/{path}", _rocket_route(kind, rocket_answer))
