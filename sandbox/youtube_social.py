"""The Data API's ``activities.list`` and ``subscriptions.list`` for a channel, as Google answers
them (under ``/ytapitoken/youtube/v3/`` and ``/ytapi/youtube/v3/``; ``maxResults`` 0..50,
default 5).

Made up from the channel (deterministic):

* activities: one per recent upload (at most ``MAX_ACTIVITIES``), newest first; about one in
  five is instead a ``playlistItem`` (the video added to one of the channel's playlists). An
  unknown channel has no activities (activities.list has no "not found" error).
* search by category (``search?type=video&videoCategoryId=&relevanceLanguage=&order=viewCount``):
  the catalogue's videos of that category (the newest ``GENRE_DEPTH`` of each channel), those
  whose audio language matches ``relevanceLanguage`` first (a preference, as Google's), then
  the most viewed; a category id that is not a number answers 400 ``invalidParameter`` here.
* subscriptions: ``subscription_count`` channels (``ytfan{n}``), in alphabetical order of their
  titles (``order=alphabetical``); one channel in five keeps them private (403
  ``subscriptionForbidden``); an unknown channel is 404 ``subscriberNotFound``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.youtube import (
    CATALOGUE,
    ChannelFacts,
    VideoFacts,
    _b64,
    _bad_page_token,
    _digest,
    _etag,
    _iso,
    _list_body,
    _missing,
    _page_offset,
    _page_size,
    _page_token,
    _reference,
    _search_item,
    _seed,
    _video_thumbnails,
    _world,
    channel_facts,
    channel_id_for,
    google_error,
    video_facts,
)

MAX_ACTIVITIES = 60
#: How many of each catalogue channel's newest videos a category search looks through.
GENRE_DEPTH = 30
MAX_SUBSCRIPTIONS = 120


def _paged(request: web.Request, scope: str, total: int) -> tuple[int, int, int] | web.Response:
    """(offset, end, page size) of the page asked for, or Google's error answer."""
    size = _page_size(request)
    if isinstance(size, web.Response):
        return size
    offset = _page_offset(scope, request.query.get("pageToken"))
    if offset is None:
        return _bad_page_token()
    return offset, min(total, offset + size), size


# ------------------------------------------------------------------------------ activities


def activity_count(channel: ChannelFacts) -> int:
    return min(channel.video_count, MAX_ACTIVITIES)


def is_playlist_activity(video: VideoFacts) -> bool:
    return _seed("activity:" + video.video_id) % 5 == 0


def _activity(video: VideoFacts) -> dict[str, Any]:
    channel = video.channel
    playlist = "PL" + _b64(_digest("playlist:" + channel.channel_id))[:32]
    if is_playlist_activity(video):
        kind = "playlistItem"
        details = {
            "resourceId": {"kind": "youtube#video", "videoId": video.video_id},
            "playlistId": playlist,
            "playlistItemId": _b64(_digest("pli:" + video.video_id))[:40],
        }
        published = video.published_at + 120
    else:
        kind, details, published = "upload", {"videoId": video.video_id}, video.published_at
    ident = _b64(_digest(f"activity:{kind}:{video.video_id}"))[:43]
    return {
        "kind": "youtube#activity",
        "etag": _etag("activity", ident),
        "id": ident,
        "snippet": {
            "publishedAt": _iso(published),
            "channelId": channel.channel_id,
            "title": video.title,
            "description": video.description,
            "thumbnails": {
                k: v
                for k, v in _video_thumbnails(video.video_id).items()
                if k in ("default", "medium", "high")
            },
            "channelTitle": channel.title,
            "type": kind,
        },
        "contentDetails": {kind: details},
    }


def activities(request: web.Request) -> bytes | web.Response:
    channel_id = request.query.get("channelId")
    if not channel_id:
        return _missing("channelId, home, mine")
    channel = _world(request).by_id(channel_id, _reference(request))
    total = activity_count(channel) if channel is not None else 0
    page = _paged(request, "act:" + channel_id, total)
    if isinstance(page, web.Response):
        return page
    offset, end, size = page
    items = [_activity(video_facts(channel, i)) for i in range(offset, end)] if channel else []
    token = _page_token("act:" + channel_id, end) if end < total else None
    return _list_body("youtube#activityListResponse", items, total, size, token)


# ------------------------------------------------------------------------------ subscriptions


def subscriptions_private(channel: ChannelFacts) -> bool:
    return _seed("subs-private:" + channel.channel_id) % 5 == 0


def subscription_count(channel: ChannelFacts) -> int:
    return _seed("subs:" + channel.channel_id) % MAX_SUBSCRIPTIONS


def subscribed_handles(channel: ChannelFacts) -> list[str]:
    """The handles ``channel`` subscribes to, in the order the API lists them (by title)."""
    start = _seed("subs-start:" + channel.channel_id) % 1000
    handles = [f"ytfan{start + n}" for n in range(subscription_count(channel))]
    return sorted(handles, key=lambda h: h.capitalize())


def _subscription(channel: ChannelFacts, handle: str) -> dict[str, Any]:
    target = channel_id_for(handle)
    ident = _b64(_digest(f"sub:{channel.channel_id}:{target}"))[:43]
    subscribed = channel.published_at + _seed(ident) % (200 * 86400)
    avatar = f"https://yt3.ggpht.example/{target}"
    return {
        "kind": "youtube#subscription",
        "etag": _etag("subscription", ident),
        "id": ident,
        "snippet": {
            # Google answers subscription times with microseconds.
            "publishedAt": _iso(subscribed)[:-1] + f".{_seed(ident) % 1_000_000:06d}Z",
            "title": handle.capitalize(),
            "description": f"Videos by {handle}.",
            "resourceId": {"kind": "youtube#channel", "channelId": target},
            "channelId": channel.channel_id,
            "thumbnails": {
                "default": {"url": f"{avatar}=s88-c-k-c0x00ffffff-no-rj"},
                "medium": {"url": f"{avatar}=s240-c-k-c0x00ffffff-no-rj"},
                "high": {"url": f"{avatar}=s800-c-k-c0x00ffffff-no-rj"},
            },
        },
    }


def subscriptions(request: web.Request) -> bytes | web.Response:
    channel_id = request.query.get("channelId")
    if not channel_id:
        return _missing("channelId, id, mine, myRecentSubscribers, mySubscribers")
    channel = _world(request).by_id(channel_id, _reference(request))
    if channel is None:
        return google_error(
            404,
            "subscriberNotFound",
            "The subscriber identified with the request cannot be found.",
            domain="youtube.subscription",
        )
    if subscriptions_private(channel):
        return google_error(
            403,
            "subscriptionForbidden",
            "The requester is not allowed to access the requested subscriptions.",
            domain="youtube.subscription",
        )
    handles = subscribed_handles(channel)
    page = _paged(request, "subs:" + channel_id, len(handles))
    if isinstance(page, web.Response):
        return page
    offset, end, size = page
    items = [_subscription(channel, h) for h in handles[offset:end]]
    token = _page_token("subs:" + channel_id, end) if end < len(handles) else None
    # The real API spells this kind with a capital S.
    return _list_body("youtube#SubscriptionListResponse", items, len(handles), size, token)


# ------------------------------------------------------------------------------ by category


def genre_pool(category: str, language: str | None, reference: int) -> list[VideoFacts]:
    """The hits of a category search, in the order the sandbox answers them."""
    found: list[VideoFacts] = []
    for handle in CATALOGUE:
        channel = channel_facts(handle, reference)
        for index in range(min(channel.video_count, GENRE_DEPTH) if channel else 0):
            video = video_facts(channel, index)  # type: ignore[arg-type]
            if video.category_id == category:
                found.append(video)

    def rank(video: VideoFacts) -> tuple[bool, int]:
        spoken = video.audio_language or ""
        matches = bool(language) and spoken.split("-")[0] == language
        return (not matches, -video.views)

    return sorted(found, key=rank)


def genre_search(request: web.Request, *, with_snippet: bool) -> bytes | web.Response:
    category = request.query.get("videoCategoryId", "")
    if not category.isdigit() or request.query.get("type") != "video":
        return google_error(
            400,
            "invalidParameter",
            "videoCategoryId needs type=video and a numeric category id.",
            domain="youtube.parameter",
            extra={"location": "videoCategoryId", "locationType": "parameter"},
        )
    language = request.query.get("relevanceLanguage")
    pool = genre_pool(category, language, _reference(request))
    scope = f"genre:{category}:{language}"
    page = _paged(request, scope, len(pool))
    if isinstance(page, web.Response):
        return page
    offset, end, size = page
    items = [_search_item(v, with_snippet=with_snippet) for v in pool[offset:end]]
    token = _page_token(scope, end) if end < len(pool) else None
    return _list_body("youtube#searchListResponse", items, len(pool), size, token)
