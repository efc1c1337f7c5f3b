"""The original's read endpoints, answered from stored data, refreshed inline when stale.

Reading stored data needs no token. Fetching from providers (a profile missing or a day old,
``force_refresh``, a post not stored yet, insights) spends provider budget, so it needs the
token or a trusted network (`beat.intake.api.access_refusal`). Without either, stale data is
still served (header ``X-Beat-Stale: true``) and missing data is a 401 that says why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import Engine, select

from beat.events.formats import stored_retry_count
from beat.intake.api import QUEUE_KEY, REFRESHER_KEY, access_refusal
from beat.intake.bodies import parse_json_body
from beat.intake.envelope import BadRequest, clean_text, error, parse_id, query_flag, success
from beat.intake.reads import (
    ReadStore,
    instagram_profile_view,
    observed_at,
    post_view,
    request_log_view,
    youtube_profile_view,
)
from beat.store.credentials import save_credentials
from beat.store.models import metadata, scrape_request_log
from providers.errors import BadInput, Deferred, ProviderError, TargetFact
from providers.instagram.base import normalize_handle, normalize_shortcode

STORE_KEY = web.AppKey("read_store", ReadStore)
#: The original refreshed a profile read by handle or id after a day.
MAX_AGE = timedelta(days=1)
#: The original's error code for "the rate limiter said no" (kept for its clients).
CONCURRENCY_LIMIT_CODE = 2
INSTAGRAM, YOUTUBE = "INSTAGRAM", "YOUTUBE"
MAX_LIST_SIZE = 1000


def add_routes(app: web.Application, engine: Engine, *, asset_base_url: str | None) -> None:
    app[STORE_KEY] = ReadStore(engine, asset_base_url=asset_base_url)
    get = app.router.add_get
    get("/profiles/INSTAGRAM/byhandle/{handle}/insights", instagram_insights)
    get("/profiles/INSTAGRAM/byhandle/{handle}/audienceinsights", instagram_audience_insights)
    get("/profiles/{platform}/byhandle/{handle}", profile_by_handle)
    get("/profiles/{platform}/byid/{id}", profile_by_id)
    get("/profiles/{platform}/byprofileid/{id}", profile_by_profile_id)
    get("/recent/posts/{platform}/byprofileid/{id}", recent_posts)
    get("/posts/{platform}/byshortcode/{shortcode}", post_by_shortcode)
    get("/youtube/channel/byhandle/{handle}", youtube_channel_by_handle)
    get("/list_scrape_data/{account_id}", list_scrape_data)


# -- helpers -----------------------------------------------------------------------------------


def _platform(request: web.Request) -> str:
    platform = request.match_info["platform"].upper()
    if platform not in (INSTAGRAM, YOUTUBE):
        raise BadRequest(f"Platform not supported - {platform[:40]}")
    return platform


def _store(request: web.Request) -> ReadStore:
    return request.app[STORE_KEY]


def _stale(row: dict[str, Any]) -> bool:
    seen = observed_at(row)
    return seen is None or datetime.now(UTC) - seen.astimezone(UTC) > MAX_AGE


def _refresh_refusal(request: web.Request, what: str) -> web.Response | None:
    """None when this caller may make the API fetch from providers now."""
    if REFRESHER_KEY not in request.app:
        return error(f"{what} is not stored, and this API does not fetch inline", 404)
    refusal = access_refusal(request)
    if refusal is None:
        return None
    status = refusal.status
    reason = "missing Authorization header" if status == 401 else "invalid API token"
    return error(
        f"{what} must be fetched from providers, which spends provider budget: {reason} "
        "(send the token, or run the API with BEAT_API_TRUST_NETWORK=1)",
        status,
    )


async def _fetch(refresh: Callable[[], Awaitable[None]]) -> web.Response | None:
    """Run an inline refresh; None on success, else the error answer."""
    try:
        await refresh()
    except Deferred as exc:
        wait = max(1, round(exc.retry_after or 1))
        if exc.denied_by is None:  # the limiter's store is down: it failed closed
            response = error("rate limiter unavailable; try again later", 503, retry_after=wait)
        else:
            response = error(
                "Concurrency Limit Exceeded", 429, code=CONCURRENCY_LIMIT_CODE, retry_after=wait
            )
        response.headers["Retry-After"] = str(wait)
        return response
    except BadInput as exc:
        return error(str(exc), 400)
    except TargetFact as exc:
        return error(str(exc), 404)
    except ProviderError as exc:
        return error(f"no provider could fetch it: {exc}", 502)
    return None


def _handle(raw: str) -> str:
    try:
        return normalize_handle(raw)
    except BadInput as exc:
        raise BadRequest(str(exc)) from None


async def _instagram_answer(
    request: web.Request,
    account: dict[str, Any],
    *,
    refreshed: bool,
    posts: list[dict[str, Any]] | None = None,
) -> web.Response:
    if posts is None:
        posts = await asyncio.to_thread(_store(request).profile_posts, account["profile_id"])
    response = success("Profile Retrieved", profile=instagram_profile_view(account, posts))
    response.headers["X-Beat-Refreshed"] = str(refreshed).lower()
    if not refreshed and _stale(account):
        response.headers["X-Beat-Stale"] = "true"
    return response


# -- profiles ----------------------------------------------------------------------------------


async def profile_by_handle(request: web.Request) -> web.Response:
    """``full_refresh`` and ``force_refresh`` take 1/true. A refresh always fetches the profile
    and its recent posts, so ``full_refresh`` asks for nothing more than a stale read does."""
    platform = _platform(request)
    query_flag(request, "full_refresh")  # validated; every answer carries posts and metrics
    force = query_flag(request, "force_refresh")
    if platform == YOUTUBE:
        return await _youtube_profile(request, request.match_info["handle"])
    handle = _handle(request.match_info["handle"])
    store = _store(request)
    stored = await asyncio.to_thread(store.instagram_profile, handle=handle)
    account, posts = stored if stored is not None else (None, None)
    if account is not None and not force and not _stale(account):
        return await _instagram_answer(request, account, refreshed=False, posts=posts)
    refusal = _refresh_refusal(request, f"profile {handle}")
    if refusal is not None:
        if account is not None and not force:
            return await _instagram_answer(request, account, refreshed=False, posts=posts)
        return refusal
    failure = await _fetch(lambda: request.app[REFRESHER_KEY].refresh_profile(handle))
    if failure is not None:
        return failure
    account = await asyncio.to_thread(store.instagram_account, handle=handle)
    if account is None:
        return error(f"Profile not found - {handle}", 404)
    return await _instagram_answer(request, account, refreshed=True)


async def _instagram_by_profile_id(request: web.Request, profile_id: str) -> web.Response:
    store = _store(request)
    account = await asyncio.to_thread(store.instagram_account, profile_id=profile_id)
    if account is None:
        # Fetching by id needs a profile-by-id provider flow; by handle needs the handle.
        return error(f"profile not found for id - {profile_id}", 404)
    handle = account.get("handle")
    if _stale(account) and _refresh_refusal(request, "profile") is None and handle:
        failure = await _fetch(lambda: request.app[REFRESHER_KEY].refresh_profile(handle))
        if failure is not None:
            return failure
        account = await asyncio.to_thread(store.instagram_account, profile_id=profile_id)
        if account is None:
            return error(f"profile not found for id - {profile_id}", 404)
        return await _instagram_answer(request, account, refreshed=True)
    return await _instagram_answer(request, account, refreshed=False)


async def _youtube_profile(request: web.Request, channel: str) -> web.Response:
    key = clean_text(channel, "channel id or handle")
    store = _store(request)
    # The original's YouTube "handle" is the channel id; a real @handle (with or without
    # its @) is accepted too.
    row = await asyncio.to_thread(store.youtube_channel, channel_id=key)
    if row is None:
        row = await asyncio.to_thread(store.youtube_channel, handle=key)
    if row is None:
        return error(f"Profile not found - {key[:60]}", 404)
    return success("Profile Retrieved", profile=youtube_profile_view(row))


async def profile_by_id(request: web.Request) -> web.Response:
    platform = _platform(request)
    if platform == YOUTUBE:
        return await _youtube_profile(request, request.match_info["id"])
    return await _instagram_by_profile_id(request, _profile_id(request.match_info["id"]))


async def profile_by_profile_id(request: web.Request) -> web.Response:
    """The original nested this one: ``profile: {platform, handle, profile: {...}}``."""
    platform = _platform(request)
    if platform == YOUTUBE:
        return error("Platform not supported - YOUTUBE", 400)
    answer = await _instagram_by_profile_id(request, _profile_id(request.match_info["id"]))
    if answer.status != 200:
        return answer
    inner = _loads(answer)["profile"]
    nested = success(
        "Profile Retrieved",
        profile={"platform": INSTAGRAM, "handle": inner["handle"], "profile": inner},
    )
    nested.headers.update({k: v for k, v in answer.headers.items() if k.startswith("X-Beat")})
    return nested


def _profile_id(raw: str) -> str:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 32:
        raise BadRequest(f"an Instagram profile id is digits, got {raw[:40]!r}")
    return raw


def _loads(response: web.Response) -> Any:
    import json

    assert response.body is not None
    return json.loads(bytes(response.body))  # type: ignore[arg-type]


# -- posts -------------------------------------------------------------------------------------


async def recent_posts(request: web.Request) -> web.Response:
    platform = _platform(request)
    if platform != INSTAGRAM:
        return error(f"Platform not supported - {platform}", 400)
    profile_id = _profile_id(request.match_info["id"])
    store = _store(request)
    posts = await asyncio.to_thread(store.recent_posts, profile_id)
    if not posts:
        return error(f"no recent posts stored for profile_id - {profile_id}", 404)
    account = await asyncio.to_thread(store.instagram_account, profile_id=profile_id)
    data = {
        "platform": INSTAGRAM,
        "profile_id": profile_id,
        "recent_posts": [post_view(row, account) for row in posts],
    }
    return success("Recent Posts Retrieved", data=data)


async def post_by_shortcode(request: web.Request) -> web.Response:
    platform = _platform(request)
    if platform != INSTAGRAM:
        return error(f"Platform not supported - {platform}", 400)
    try:
        shortcode = normalize_shortcode(request.match_info["shortcode"])
    except BadInput as exc:
        raise BadRequest(str(exc)) from None
    store = _store(request)
    post = await asyncio.to_thread(store.post, shortcode)
    refreshed = False
    if post is None or not post.get("post_id"):
        refusal = _refresh_refusal(request, f"post {shortcode}")
        if refusal is not None:
            return refusal
        failure = await _fetch(lambda: request.app[REFRESHER_KEY].refresh_post(shortcode))
        if failure is not None:
            return failure
        post, refreshed = await asyncio.to_thread(store.post, shortcode), True
        if post is None:
            return error(f"Post not found - {shortcode}", 404)
    account = None
    if post.get("profile_id"):
        account = await asyncio.to_thread(store.instagram_account, profile_id=post["profile_id"])
    answer = {
        "platform": INSTAGRAM,
        "handle": post.get("handle"),
        "data_provider": (post.get("provider") or "").upper() or None,
        **post_view(post, account),
    }
    response = success("Post Retrieved", post=answer)
    response.headers["X-Beat-Refreshed"] = str(refreshed).lower()
    return response


async def youtube_channel_by_handle(request: web.Request) -> web.Response:
    handle = clean_text(request.match_info["handle"], "handle")
    row = await asyncio.to_thread(_store(request).youtube_channel, handle=handle)
    if row is None:
        return error(f"Failed to fetch Channel ID for - {handle[:60]}", 404)
    return success(
        "Channel ID Retrieved", response={"handle": handle, "channel_id": row["channel_id"]}
    )


# -- insights (the creator's own Graph token in the query, as the original took it) ------------


def _creator_credential(request: web.Request, handle: str) -> tuple[str, dict[str, str], str]:
    token = request.query.get("token", "")
    user_id = request.query.get("user_id", "")
    if not token or not user_id:
        raise BadRequest("query parameters token and user_id are required")
    clean_text(token, "token", max_length=1024)
    if not user_id.isascii() or not user_id.isdigit() or len(user_id) > 32:
        raise BadRequest("user_id must be the creator's numeric Instagram user id")
    return ("graphapi", {"token": token, "user_id": user_id}, handle)


async def instagram_insights(request: web.Request) -> web.Response:
    """Stores the creator's Graph credential (it then serves this handle's fetches), refreshes
    the profile through it and answers followers, following, media_count and post_metrics."""
    handle = _handle(request.match_info["handle"])
    credential = _creator_credential(request, handle)
    refusal = access_refusal(request)
    if refusal is not None:
        return refusal
    engine = request.app[QUEUE_KEY].engine
    await asyncio.to_thread(save_credentials, engine, [credential])
    if REFRESHER_KEY in request.app:
        failure = await _fetch(lambda: request.app[REFRESHER_KEY].refresh_profile(handle))
        if failure is not None:
            return failure
    store = _store(request)
    account = await asyncio.to_thread(store.instagram_account, handle=handle)
    if account is None:
        return error(f"Profile not found - {handle}", 404)
    posts = await asyncio.to_thread(store.profile_posts, account["profile_id"])
    view = instagram_profile_view(account, posts)
    keys = ("followers", "following", "media_count", "post_metrics")
    return success("Profile Retrieved", profile={"handle": handle, **{k: view[k] for k in keys}})


async def instagram_audience_insights(request: web.Request) -> web.Response:
    """Audience city and gender/age from stored profile insights (``instagram_profile_insights``,
    once a flow stores them); the creator's credential is stored for that flow to use."""
    handle = _handle(request.match_info["handle"])
    credential = _creator_credential(request, handle)
    refusal = access_refusal(request)
    if refusal is not None:
        return refusal
    engine = request.app[QUEUE_KEY].engine
    await asyncio.to_thread(save_credentials, engine, [credential])
    audience = await asyncio.to_thread(_stored_audience, engine, handle)
    if audience is None:
        return error(f"no audience insights stored for {handle}", 404)
    return success("Profile Retrieved", profile={"handle": handle, "audience_data": audience})


def _stored_audience(engine: Engine, handle: str) -> dict[str, Any] | None:
    table = metadata.tables.get("instagram_profile_insights")
    account = ReadStore(engine).instagram_account(handle=handle)
    if table is None or account is None or "audience_city" not in table.c:
        return None
    query = select(table).where(table.c.profile_id == account["profile_id"]).limit(1)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return {"city": row.get("audience_city"), "gender_age": row.get("audience_gender_age")}


# -- the request log ---------------------------------------------------------------------------


async def update_request(request: web.Request) -> web.Response:
    """The original's ``POST /scrape_request_log/flow/update/{id}`` ({status, retry_count,...},
    retry_count counted as the original counts it, from 1)."""
    request_id = parse_id(request.match_info["id"], "scrape request id")
    body = parse_json_body(await request.read())
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object with status and retry_count")
    status = body.get("status")
    if status not in ("PENDING", "FAILED"):
        raise BadRequest("status must be PENDING (run it again) or FAILED")
    retry_count = body.get("retry_count", 1)
    if type(retry_count) is not int or not 0 <= retry_count < 2**31:
        raise BadRequest("retry_count must be a non-negative integer")
    queue = request.app[QUEUE_KEY]
    record = await asyncio.to_thread(
        queue.override, request_id, status, stored_retry_count(retry_count),
        reason=f"set to {status} through the update endpoint",
    )  # fmt: skip
    if record is None:
        return error(f"scrape log not found for scrape_id - {request_id}", 404)
    return success("Scrape Log Updated", post=request_log_view(record))


async def list_scrape_data(request: web.Request) -> web.Response:
    """The account's latest requests (``size``, default 10), newest first."""
    account_id = clean_text(request.match_info["account_id"], "account id")
    raw_size = request.query.get("size", "10")
    if not raw_size.isascii() or not raw_size.isdigit() or not 0 < int(raw_size) <= MAX_LIST_SIZE:
        raise BadRequest(f"size must be an integer from 1 to {MAX_LIST_SIZE}")
    rows = await asyncio.to_thread(_requests_of_account, request, account_id, int(raw_size))
    return success("Scrape Data Retrieved", account_id=account_id, scrape_list=rows)


def _requests_of_account(request: web.Request, account_id: str, size: int) -> list[dict[str, Any]]:
    t = scrape_request_log.c
    query = (
        select(t.id, t.account_id, t.data, t.status, t.params, t.created_at)
        .add_columns(t.flow, t.scraped_at, t.platform)
        .where(t.account_id == account_id)
        .order_by(t.created_at.desc(), t.id.desc())
        .limit(size)
    )
    with request.app[QUEUE_KEY].engine.connect() as conn:
        return [
            {"scrape_id": row.id, **{k: v for k, v in row._mapping.items() if k != "id"}}
            for row in conn.execute(query)
        ]
