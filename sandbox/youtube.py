"""Emulated YouTube providers: the Data API v3 (with a key, or with OAuth) and three RapidAPIs.

Routes (base URL of each provider: ``{url}/{name}``):

* ``ytapitoken``: ``GET /ytapitoken/youtube/v3/{channels,playlistItems,videos,search}?key=``
* ``ytapi``: the same under ``/ytapi/youtube/v3/...`` with ``Authorization: Bearer``, and
  ``POST /ytapi/token`` (form: ``grant_type=refresh_token``, ``refresh_token``, ``client_id``,
  ``client_secret``) -> ``{"access_token", "expires_in", "token_type", "scope"}``
* ``youtube138``: ``GET /youtube138/channel/details/?id=``, ``/channel/videos/?id=&cursor=``,
  ``/video/details/?id=``
* ``yt-v31``: ``GET /yt-v31/channels?id=``, ``/search?channelId=&pageToken=``, ``/videos?id=``
* ``yt-search``: ``GET /yt-search/search/?q=&pageToken=``

Every route goes through ``sandbox.gate`` (credentials, per-credential quotas, faults). Quotas:
the Data API's 10,000 units a day per key (one unit a call here, search included), youtube138
850 a minute, yt-v31 500 a minute, yt-search 3 a second. A spent Data API quota answers Google's
403 ``quotaExceeded``; the RapidAPIs answer RapidAPI's 429 with ``x-ratelimit-requests-*``.

The data is made up, deterministically, from the handle (SHA-256 seeded: every process agrees):

* a channel's id is ``UC`` + 22 characters derived from its handle, its uploads playlist ``UU`` +
  the same 22; about one handle in nine (and every ``missing*`` handle) has no channel;
* a video id is 8 characters of its channel's id hash + its index (3 base64 characters), so a
  video id names its channel and position: no table of videos is needed;
* publish times count back from the state's reference time (today's UTC midnight by default).

Channel ids can only be resolved once the sandbox has seen the handle (``CATALOGUE`` is known
from the start; a lookup by handle teaches it the rest): an id it never saw is an unknown channel.

Knobs for tests (``app[WORLD_KEY]``): ``token_seconds`` (access token lifetime) and
``honour_tokens`` (False: every access token is refused with Google's 401). Search costs one
unit here, not the real API's 100.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.gate import STATE_KEY, Gate, ProviderStyle, gate, respond
from sandbox.state import Quota, QuotaView, SandboxState

__all__ = [
    "CATALOGUE",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "DATA_API_QUOTA",
    "EXPIRED_KEYS",
    "KEYS",
    "PROVIDERS",
    "QUOTAS",
    "RAPIDAPI_HOSTS",
    "WORLD_KEY",
    "ChannelFacts",
    "VideoFacts",
    "YouTubeWorld",
    "channel_facts",
    "channel_id_for",
    "google_error",
    "is_missing",
    "register",
    "video_facts",
]

PROVIDERS = ("ytapitoken", "ytapi", "youtube138", "yt-v31", "yt-search")
RAPIDAPI_HOSTS = {
    "youtube138": "youtube138.p.rapidapi.com",
    "yt-v31": "youtube-v31.p.rapidapi.com",
    "yt-search": "youtube-v311.p.rapidapi.com",
}
DATA_API_QUOTA = Quota(limit=10000, window_seconds=86400.0)
QUOTAS: dict[str, Quota] = {
    "ytapitoken": DATA_API_QUOTA,
    "ytapi": DATA_API_QUOTA,
    "youtube138": Quota(limit=850, window_seconds=60.0),
    "yt-v31": Quota(limit=500, window_seconds=60.0),
    "yt-search": Quota(limit=3, window_seconds=1.0),
}
KEYS: dict[str, list[str]] = {
    "ytapitoken": [
        "AIzaSySandboxYtKey0001aaaaaaaaaaaaaaaaa",
        "AIzaSySandboxYtKey0002bbbbbbbbbbbbbbbbb",
    ],
    "ytapi": ["1//sandbox-ytapi-refresh-0001", "1//sandbox-ytapi-refresh-0002"],
    "youtube138": ["sandbox-youtube138-key-0001", "sandbox-youtube138-key-0002"],
    "yt-v31": ["sandbox-yt-v31-key-0001", "sandbox-yt-v31-key-0002"],
    "yt-search": ["sandbox-yt-search-key-0001", "sandbox-yt-search-key-0002"],
}
EXPIRED_KEYS: dict[str, str] = {
    "ytapitoken": "AIzaSySandboxYtKeyExpiredccccccccccccccc",
    "ytapi": "1//sandbox-ytapi-refresh-revoked",
    "youtube138": "sandbox-youtube138-key-expired",
    "yt-v31": "sandbox-yt-v31-key-expired",
    "yt-search": "sandbox-yt-search-key-expired",
}
CLIENT_ID = "000000000000-sandbox.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-sandbox-client-secret"
#: Handles the sandbox knows from the start (a channel id can be looked up without its handle).
CATALOGUE = tuple(f"ytcreator{i}" for i in range(40))
ACCESS_TOKEN_SECONDS = 3599

DATA_PAGE_DEFAULT = 5
DATA_PAGE_MAX = 50
YT138_PAGE = 30
SEARCH_TOTAL = 120
JSON = "application/json"

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_HANDLE = re.compile(r"^[a-z0-9._-]{3,30}$")
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_TOPICS = ("cooking", "travel", "chess", "woodworking", "synths", "running", "gardening", "math")
_COUNTRIES = ("US", "GB", "IN", "DE", "BR", "JP", "CA", None)
_LANGUAGES = ("en", "en-US", "hi", "de", "pt", "ja", None)
_CATEGORIES = ("10", "20", "22", "24", "26", "27", "28")


# ------------------------------------------------------------------------------ the data


def _digest(text: str) -> bytes:
    return hashlib.sha256(f"beat-sandbox-youtube:{text}".encode()).digest()


def _seed(text: str) -> int:
    return int.from_bytes(_digest(text)[:8], "big")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def channel_id_for(handle: str) -> str:
    """``UC`` + 22 characters derived from the handle (lower case, no ``@``)."""
    return "UC" + _b64(_digest("channel:" + handle.lower().lstrip("@")))[:22]


def is_missing(handle: str) -> bool:
    """Handles without a channel: every ``missing*`` handle and about one in nine others."""
    clean = handle.lower().lstrip("@")
    return clean.startswith("missing") or _seed("missing:" + clean) % 9 == 0


def _video_prefix(channel_id: str) -> str:
    return _b64(_digest("videos:" + channel_id))[:8]


def _index_code(index: int) -> str:
    return _B64[index >> 12 & 63] + _B64[index >> 6 & 63] + _B64[index & 63]


def _index_of(code: str) -> int | None:
    try:
        a, b, c = (_B64.index(ch) for ch in code)
    except ValueError:
        return None
    return a << 12 | b << 6 | c


def _three_figures(value: int) -> int:
    """Rounded to 3 significant figures, as the Data API shows subscriber counts."""
    if value < 1000:
        return value
    step = 10 ** (len(str(value)) - 3)
    return value // step * step


@dataclass(frozen=True)
class ChannelFacts:
    handle: str
    channel_id: str
    title: str
    description: str
    country: str | None
    published_at: int
    subscribers: int
    hidden_subscribers: bool
    views: int
    video_count: int
    topic: str
    #: Publish time of video 0 (the newest) and the mean gap between uploads, in seconds.
    latest_upload: int
    spacing: int

    @property
    def uploads(self) -> str:
        return "UU" + self.channel_id[2:]

    @property
    def video_prefix(self) -> str:
        return _video_prefix(self.channel_id)

    def video_id(self, index: int) -> str:
        return self.video_prefix + _index_code(index)


@dataclass(frozen=True)
class VideoFacts:
    channel: ChannelFacts
    index: int
    video_id: str
    title: str
    description: str
    published_at: int
    duration: int
    tags: tuple[str, ...]
    category_id: str
    audio_language: str | None
    licensed: bool
    definition: str
    age_restricted: bool
    views: int
    likes: int | None
    comments: int | None
    #: Served in the Shorts player (youtube.com/shorts/{id} answers 200, not a redirect).
    short: bool = False


def _video_count(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.05:
        return 0
    if roll < 0.40:
        return rng.randint(1, 49)
    if roll < 0.80:
        return rng.randint(50, 149)
    return rng.randint(150, 260)


def channel_facts(handle: str, reference: int) -> ChannelFacts | None:
    """The channel of ``handle``, or None when that handle has none."""
    clean = handle.lower().lstrip("@")
    if not _HANDLE.match(clean) or is_missing(clean):
        return None
    rng = random.Random(_seed("channel:" + clean))
    day = reference - reference % 86400
    topic = rng.choice(_TOPICS)
    title = " ".join(p.capitalize() for p in re.split(r"[._-]+", clean) if p) or clean
    video_count = _video_count(rng)
    spacing = rng.randint(1, 6) * 86400
    subscribers = int(10 ** rng.uniform(2, 7))
    return ChannelFacts(
        handle=clean,
        channel_id=channel_id_for(clean),
        title=title,
        description=f"{title}: videos about {topic}.\nNew uploads every week.",
        country=rng.choice(_COUNTRIES),
        published_at=day - rng.randint(400, 5000) * 86400,
        subscribers=_three_figures(subscribers),
        hidden_subscribers=_seed("hidden:" + clean) % 7 == 0,
        views=subscribers * rng.randint(20, 400),
        video_count=video_count,
        topic=topic,
        latest_upload=reference - rng.randint(3600, 3 * 86400),
        spacing=spacing,
    )


def video_facts(channel: ChannelFacts, index: int) -> VideoFacts:
    """Upload number ``index`` (0 = newest) of ``channel``."""
    video_id = channel.video_id(index)
    rng = random.Random(_seed("video:" + video_id))
    # A jitter under half the spacing keeps publish times strictly decreasing with the index.
    published = (
        channel.latest_upload - index * channel.spacing - rng.randint(0, channel.spacing // 3)
    )
    short = rng.random() < 0.3
    # Shorts last up to three minutes (YouTube, October 2024): duration alone cannot tell.
    duration = rng.randint(8, 180) if short else rng.randint(30, 5400)
    views = int(10 ** rng.uniform(1, 6.5))
    words = [
        channel.topic,
        rng.choice(("tips", "vlog", "review", "guide", "live")),
        f"part {index}",
    ]
    return VideoFacts(
        channel=channel,
        index=index,
        video_id=video_id,
        title=f"{channel.title} {words[1]} #{channel.video_count - index}",
        description=f"Episode {channel.video_count - index} about {channel.topic}.",
        published_at=published,
        duration=duration,
        tags=tuple(words[: rng.randint(0, 3)]),
        category_id=rng.choice(_CATEGORIES),
        audio_language=rng.choice(_LANGUAGES),
        licensed=rng.random() < 0.6,
        definition="hd" if rng.random() < 0.8 else "sd",
        age_restricted=rng.random() < 0.03,
        views=views,
        likes=None if rng.random() < 0.1 else views // rng.randint(15, 60),
        comments=None if rng.random() < 0.05 else views // rng.randint(100, 900),
        short=short,
    )


# ------------------------------------------------------------------------------ the world


@dataclass
class _Grant:
    refresh_token: str
    expires_at: float


@dataclass
class YouTubeWorld:
    """What the emulated providers remember: channels seen so far (id -> handle) and the
    access tokens issued by ``/ytapi/token``."""

    handles: dict[str, str] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)
    grants: dict[str, _Grant] = field(default_factory=dict)
    token_seconds: int = ACCESS_TOKEN_SECONDS
    #: Off: every access token is refused (a grant revoked between refresh and call).
    honour_tokens: bool = True

    def __post_init__(self) -> None:
        for handle in CATALOGUE:
            self.learn(handle)

    def learn(self, handle: str) -> None:
        channel_id = channel_id_for(handle)
        self.handles[channel_id] = handle
        self.prefixes[_video_prefix(channel_id)] = channel_id

    def by_handle(self, handle: str, reference: int) -> ChannelFacts | None:
        facts = channel_facts(handle, reference)
        if facts is not None:
            self.learn(facts.handle)
        return facts

    def by_id(self, channel_id: str, reference: int) -> ChannelFacts | None:
        handle = self.handles.get(channel_id)
        return channel_facts(handle, reference) if handle else None

    def by_playlist(self, playlist_id: str, reference: int) -> ChannelFacts | None:
        if not playlist_id.startswith("UU"):
            return None
        return self.by_id("UC" + playlist_id[2:], reference)

    def video(self, video_id: str, reference: int) -> VideoFacts | None:
        if not _VIDEO_ID.match(video_id):
            return None
        channel_id = self.prefixes.get(video_id[:8])
        index = _index_of(video_id[8:])
        channel = self.by_id(channel_id, reference) if channel_id else None
        if channel is None or index is None or index >= channel.video_count:
            return None
        return video_facts(channel, index)

    def issue_token(self, refresh_token: str, rng: random.Random) -> str:
        token = f"ya29.sandbox-{rng.getrandbits(128):032x}"
        self.grants[token] = _Grant(refresh_token, time.time() + self.token_seconds)
        return token

    def refresh_token_of(self, access_token: str | None) -> str | None:
        grant = self.grants.get(access_token or "")
        if grant is None or grant.expires_at <= time.time() or not self.honour_tokens:
            return None
        return grant.refresh_token


WORLD_KEY = web.AppKey("sandbox_youtube_world", YouTubeWorld)


# ------------------------------------------------------------------------------ payloads


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _date(epoch: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


def _iso_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or text == "PT" else "")


def _etag(*parts: object) -> str:
    return _b64(_digest("etag:" + ":".join(map(str, parts))))[:27]


def _avatar(channel: ChannelFacts, size: int) -> str:
    return f"https://yt3.ggpht.example/{channel.channel_id}=s{size}-c-k-c0x00ffffff-no-rj"


def _thumb(video_id: str, name: str) -> str:
    return f"https://i.ytimg.example/vi/{video_id}/{name}.jpg"


def _data_channel(channel: ChannelFacts) -> dict[str, Any]:
    statistics: dict[str, Any] = {
        "viewCount": str(channel.views),
        "hiddenSubscriberCount": channel.hidden_subscribers,
        "videoCount": str(channel.video_count),
    }
    if not channel.hidden_subscribers:
        statistics["subscriberCount"] = str(channel.subscribers)
    snippet: dict[str, Any] = {
        "title": channel.title,
        "description": channel.description,
        "customUrl": "@" + channel.handle,
        "publishedAt": _iso(channel.published_at),
        "thumbnails": {
            name: {"url": _avatar(channel, size), "width": size, "height": size}
            for name, size in (("default", 88), ("medium", 240), ("high", 800))
        },
        "localized": {"title": channel.title, "description": channel.description},
    }
    if channel.country:
        snippet["country"] = channel.country
    return {
        "kind": "youtube#channel",
        "etag": _etag("channel", channel.channel_id),
        "id": channel.channel_id,
        "snippet": snippet,
        "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": channel.uploads}},
        "statistics": statistics,
    }


def _video_thumbnails(video_id: str) -> dict[str, Any]:
    sizes = (
        ("default", "default", 120, 90),
        ("medium", "mqdefault", 320, 180),
        ("high", "hqdefault", 480, 360),
        ("standard", "sddefault", 640, 480),
        ("maxres", "maxresdefault", 1280, 720),
    )
    return {
        name: {"url": _thumb(video_id, file), "width": w, "height": h} for name, file, w, h in sizes
    }


def _data_video(video: VideoFacts) -> dict[str, Any]:
    snippet: dict[str, Any] = {
        "publishedAt": _iso(video.published_at),
        "channelId": video.channel.channel_id,
        "title": video.title,
        "description": video.description,
        "thumbnails": _video_thumbnails(video.video_id),
        "channelTitle": video.channel.title,
        "categoryId": video.category_id,
        "liveBroadcastContent": "none",
        "localized": {"title": video.title, "description": video.description},
    }
    if video.tags:
        snippet["tags"] = list(video.tags)
    if video.audio_language:
        snippet["defaultAudioLanguage"] = video.audio_language
    statistics = {"viewCount": str(video.views), "favoriteCount": "0"}
    if video.likes is not None:
        statistics["likeCount"] = str(video.likes)
    if video.comments is not None:
        statistics["commentCount"] = str(video.comments)
    return {
        "kind": "youtube#video",
        "etag": _etag("video", video.video_id),
        "id": video.video_id,
        "snippet": snippet,
        "contentDetails": {
            "duration": _iso_duration(video.duration),
            "dimension": "2d",
            "definition": video.definition,
            "caption": "false",
            "licensedContent": video.licensed,
            "contentRating": {"ytRating": "ytAgeRestricted"} if video.age_restricted else {},
            "projection": "rectangular",
        },
        "statistics": statistics,
    }


def _playlist_item(video: VideoFacts) -> dict[str, Any]:
    return {
        "kind": "youtube#playlistItem",
        "etag": _etag("item", video.video_id),
        "id": _b64(_digest("item:" + video.video_id))[:40],
        "contentDetails": {
            "videoId": video.video_id,
            "videoPublishedAt": _iso(video.published_at),
        },
    }


def _search_item(video: VideoFacts, *, with_snippet: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": "youtube#searchResult",
        "etag": _etag("search", video.video_id),
        "id": {"kind": "youtube#video", "videoId": video.video_id},
    }
    if with_snippet:
        item["snippet"] = {
            "publishedAt": _iso(video.published_at),
            "channelId": video.channel.channel_id,
            "title": video.title,
            "description": video.description,
            "thumbnails": {
                k: v
                for k, v in _video_thumbnails(video.video_id).items()
                if k in ("default", "medium", "high")
            },
            "channelTitle": video.channel.title,
            "liveBroadcastContent": "none",
            "publishTime": _iso(video.published_at),
        }
    return item


def _list_body(
    kind: str, items: list[dict[str, Any]], total: int, per_page: int, next_token: str | None
) -> bytes:
    body: dict[str, Any] = {"kind": kind, "etag": _etag(kind, total, next_token)}
    if next_token:
        body["nextPageToken"] = next_token
    body["pageInfo"] = {"totalResults": total, "resultsPerPage": per_page}
    if items or kind != "youtube#channelListResponse":
        body["items"] = items
    return _dumps(body)


def _yt138_channel(channel: ChannelFacts) -> dict[str, Any]:
    subscribers = None if channel.hidden_subscribers else channel.subscribers
    stats: dict[str, Any] = {"videos": channel.video_count, "views": channel.views}
    if subscribers is not None:
        stats["subscribers"] = subscribers
        stats["subscribersText"] = f"{subscribers:,} subscribers"
    stats["videosText"] = f"{channel.video_count} videos"
    return {
        "artistBio": None,
        "avatar": [{"height": s, "url": _avatar(channel, s), "width": s} for s in (48, 88, 176)],
        "badges": [],
        "canonicalBaseUrl": "/@" + channel.handle,
        "channelId": channel.channel_id,
        "country": channel.country,
        "description": channel.description,
        "hasBusinessEmail": False,
        "joinedDate": _date(channel.published_at),
        "joinedDateText": "Joined " + time.strftime("%b %d, %Y", time.gmtime(channel.published_at)),
        "keywords": [channel.topic],
        "links": [],
        "stats": stats,
        "title": channel.title,
        "username": "@" + channel.handle,
    }


def _relative(seconds: int) -> str:
    for unit, size in (("year", 31536000), ("month", 2592000), ("day", 86400), ("hour", 3600)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return "just now"


def _yt138_listing_entry(video: VideoFacts, now: int) -> dict[str, Any]:
    return {
        "type": "video",
        "video": {
            "badges": [],
            "descriptionSnippet": video.description[:100],
            "isLiveNow": False,
            "lengthSeconds": video.duration,
            "movingThumbnails": [],
            "publishedTimeText": _relative(max(0, now - video.published_at)),
            "stats": {"views": video.views},
            "thumbnails": [
                {"height": 202, "url": _thumb(video.video_id, "hq720"), "width": 360},
                {"height": 404, "url": _thumb(video.video_id, "hq720_2"), "width": 720},
            ],
            "title": video.title,
            "videoId": video.video_id,
        },
    }


def _yt138_video(video: VideoFacts) -> dict[str, Any]:
    stats: dict[str, Any] = {"views": video.views}
    if video.likes is not None:
        stats["likes"] = video.likes
    if video.comments is not None:
        stats["comments"] = video.comments
    channel = video.channel
    return {
        "author": {
            "avatar": [{"height": 48, "url": _avatar(channel, 48), "width": 48}],
            "badges": [],
            "canonicalBaseUrl": "/@" + channel.handle,
            "channelId": channel.channel_id,
            "stats": {"subscribers": channel.subscribers} if not channel.hidden_subscribers else {},
            "title": channel.title,
        },
        "captions": [],
        "category": "People & Blogs",
        "description": video.description,
        "isFamilySafe": not video.age_restricted,
        "isLiveContent": False,
        "isLiveNow": False,
        "keywords": list(video.tags),
        "lengthSeconds": video.duration,
        "publishedDate": _iso(video.published_at),
        "stats": stats,
        "thumbnails": [
            {"height": 94, "url": _thumb(video.video_id, "hqdefault"), "width": 168},
            {"height": 1080, "url": _thumb(video.video_id, "maxresdefault"), "width": 1920},
        ],
        "title": video.title,
        "videoId": video.video_id,
    }


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=_dumps(payload), status=status, content_type=JSON, headers=headers)


# ------------------------------------------------------------------------------ page tokens


def _page_token(scope: str, offset: int) -> str:
    return "EAAa" + _b64(f"{scope}:{offset}".encode())


def _page_offset(scope: str, token: str | None) -> int | None:
    """The offset a page token stands for; 0 without a token, None for a bad token."""
    if not token:
        return 0
    if not token.startswith("EAAa") or len(token) > 200:
        return None
    raw = token[4:]
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    name, _, number = text.rpartition(":")
    if name != scope or not number.isdigit():
        return None
    return int(number)


# ------------------------------------------------------------------------------ Google errors


def google_error(
    status: int,
    reason: str,
    message: str,
    *,
    domain: str = "global",
    api_status: str | None = None,
    details_reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason, **(extra or {})}],
    }
    if api_status:
        error["status"] = api_status
    if details_reason:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": details_reason,
                "domain": "googleapis.com",
                "metadata": {"service": "youtube.googleapis.com"},
            }
        ]
    return _json({"error": error}, status=status)


def _quota_exceeded() -> web.Response:
    message = (
        'The request cannot be completed because you have exceeded your <a href="/youtube/v3/'
        'getting-started#quota">quota</a>.'
    )
    return google_error(403, "quotaExceeded", message, domain="youtube.quota")


def _data_rate_limited(retry_after: float, view: QuotaView | None) -> web.Response:
    if view is None or view.over:
        return _quota_exceeded()
    # An injected burst limit, not the daily quota.
    return google_error(
        403,
        "rateLimitExceeded",
        "The request cannot be completed because you have exceeded your rate limit.",
        domain="usageLimits",
    )


def _google_server_error(rng: random.Random) -> web.Response:
    if rng.random() < 0.5:
        return google_error(
            500, "backendError", "Internal error encountered.", api_status="INTERNAL"
        )
    return google_error(
        503, "backendError", "The service is currently unavailable.", api_status="UNAVAILABLE"
    )


def _key_invalid() -> web.Response:
    message = "API key not valid. Please pass a valid API key."
    return google_error(
        400, "badRequest", message, api_status="INVALID_ARGUMENT", details_reason="API_KEY_INVALID"
    )


def _key_expired() -> web.Response:
    message = "API key expired. Please renew the API key."
    return google_error(
        400, "badRequest", message, api_status="INVALID_ARGUMENT", details_reason="API_KEY_INVALID"
    )


def _auth_error() -> web.Response:
    message = (
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential."
    )
    return google_error(
        401,
        "authError",
        message,
        api_status="UNAUTHENTICATED",
        extra={"location": "Authorization", "locationType": "header"},
    )


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return _json({"error": error, "error_description": description}, status=status)


KEY_STYLE = ProviderStyle(
    name="ytapitoken",
    unauthorized=_key_invalid,
    expired=_key_expired,
    rate_limited=_data_rate_limited,
    server_error=_google_server_error,
)
OAUTH_API_STYLE = ProviderStyle(
    name="ytapi",
    unauthorized=_auth_error,
    expired=_auth_error,
    rate_limited=_data_rate_limited,
    server_error=_google_server_error,
)
OAUTH_TOKEN_STYLE = ProviderStyle(
    name="ytapi",
    unauthorized=lambda: _oauth_error(400, "invalid_grant", "Bad Request"),
    expired=lambda: _oauth_error(400, "invalid_grant", "Token has been expired or revoked."),
    rate_limited=lambda retry, view: _oauth_error(
        429, "rate_limit_exceeded", "Rate limit exceeded"
    ),
    server_error=lambda rng: _oauth_error(500, "internal_failure", "Backend error"),
)


# ------------------------------------------------------------------------------ RapidAPI styles


def _rapid_window(view: QuotaView | None, reset: float | None = None) -> dict[str, str]:
    if view is None:
        return {}
    seconds = view.reset_seconds if reset is None else reset
    return {
        "x-ratelimit-requests-limit": str(view.limit),
        "x-ratelimit-requests-remaining": str(view.remaining),
        "x-ratelimit-requests-reset": str(max(1, math.ceil(seconds))),
    }


def _rapid_style(name: str, per: str) -> ProviderStyle:
    proxy = {"X-RapidAPI-Proxy-Response": "true"}

    def rate_limited(retry_after: float, view: QuotaView | None) -> web.Response:
        headers = {**_rapid_window(view, retry_after), **proxy}
        headers["x-ratelimit-requests-remaining"] = "0"
        headers.setdefault("x-ratelimit-requests-reset", str(max(1, math.ceil(retry_after))))
        message = (
            f"You have exceeded the rate limit per {per} for your plan, BASIC, by the API provider"
        )
        return _json({"message": message}, status=429, headers=headers)

    def server_error(rng: random.Random) -> web.Response:
        if rng.random() < 0.5:
            return _json({"message": "Internal Server Error"}, status=500)
        return web.Response(
            status=502, text="upstream connect error or disconnect/reset before headers"
        )

    return ProviderStyle(
        name=name,
        unauthorized=lambda: _json(
            {"message": "Invalid API key. Go to https://docs.rapidapi.com/docs/keys for details."},
            status=401,
            headers=proxy,
        ),
        expired=lambda: _json(
            {"message": "You are not subscribed to this API."}, status=403, headers=proxy
        ),
        rate_limited=rate_limited,
        server_error=server_error,
        ok_headers=lambda view: {**_rapid_window(view), "x-rapidapi-version": "1.0.0"},
    )


YT138_STYLE = _rapid_style("youtube138", "minute")
V31_STYLE = _rapid_style("yt-v31", "minute")
SEARCH_STYLE = _rapid_style("yt-search", "second")


# ------------------------------------------------------------------------------ helpers


def _world(request: web.Request) -> YouTubeWorld:
    return request.app[WORLD_KEY]


def _reference(request: web.Request) -> int:
    return request.app[STATE_KEY].reference()


def _page_size(request: web.Request) -> int | web.Response:
    text = request.query.get("maxResults")
    if text is None:
        return DATA_PAGE_DEFAULT
    if not text.isdigit() or not 0 <= int(text) <= DATA_PAGE_MAX:
        return google_error(
            400,
            "invalidParameter",
            f"Invalid value '{text[:20]}'. Values must be within the range: [0, 50]",
            domain="youtube.parameter",
            extra={"location": "maxResults", "locationType": "parameter"},
        )
    return int(text)


def _bad_page_token() -> web.Response:
    return google_error(
        400,
        "invalidPageToken",
        "The request specifies an invalid page token.",
        domain="youtube.parameter",
        extra={"location": "pageToken", "locationType": "parameter"},
    )


def _missing(parameter: str) -> web.Response:
    return google_error(
        400,
        "missingRequiredParameter",
        f"No filter selected. Expected one of: {parameter}",
        domain="youtube.parameter",
        extra={"location": parameter, "locationType": "parameter"},
    )


def _reply(request: web.Request, g: Gate, result: bytes | web.Response) -> web.Response:
    """A target-level answer (already a Response, recorded by ``respond``) or a success body."""
    if isinstance(result, web.Response):
        return respond(
            request,
            g,
            result.body if isinstance(result.body, bytes) else b"",
            status=result.status,
            content_type=result.content_type,
        )
    return respond(request, g, result)


# ------------------------------------------------------------------------------ Data API bodies


def _channels(request: web.Request) -> bytes | web.Response:
    world, reference = _world(request), _reference(request)
    ids = [i for i in request.query.get("id", "").split(",") if i]
    handle = request.query.get("forHandle")
    if not ids and handle is None:
        return _missing("id, forHandle, forUsername, mine")
    found: list[ChannelFacts] = []
    if ids:
        found = [c for c in (world.by_id(i, reference) for i in ids[:50]) if c is not None]
    elif handle is not None:
        channel = world.by_handle(handle.strip().lstrip("@"), reference)
        found = [channel] if channel is not None else []
    items = [_data_channel(c) for c in found]
    return _list_body("youtube#channelListResponse", items, len(items), 5, None)


def _playlist_items(request: web.Request) -> bytes | web.Response:
    playlist_id = request.query.get("playlistId")
    if not playlist_id:
        return _missing("id, playlistId")
    size = _page_size(request)
    if isinstance(size, web.Response):
        return size
    channel = _world(request).by_playlist(playlist_id, _reference(request))
    if channel is None:
        return google_error(
            404,
            "playlistNotFound",
            "The playlist identified with the request's <code>playlistId</code> parameter "
            "cannot be found.",
            domain="youtube.playlistItem",
            extra={"location": "playlistId", "locationType": "parameter"},
        )
    offset = _page_offset(playlist_id, request.query.get("pageToken"))
    if offset is None:
        return _bad_page_token()
    end = min(channel.video_count, offset + size)
    items = [_playlist_item(video_facts(channel, i)) for i in range(offset, end)]
    token = _page_token(playlist_id, end) if end < channel.video_count else None
    return _list_body("youtube#playlistItemListResponse", items, channel.video_count, size, token)


def _videos(request: web.Request) -> bytes | web.Response:
    ids = [i for i in request.query.get("id", "").split(",") if i]
    if not ids:
        return _missing("chart, id, myRating")
    if len(ids) > 50:
        return google_error(
            400,
            "invalidFilters",
            "The request specifies an invalid filter parameter.",
            domain="youtube.parameter",
        )
    world, reference = _world(request), _reference(request)
    found = [v for v in (world.video(i, reference) for i in ids) if v is not None]
    items = [_data_video(v) for v in found]
    return _list_body("youtube#videoListResponse", items, len(items), len(items), None)


def _search_pool(query: str, reference: int) -> list[VideoFacts]:
    """The deterministic hits of ``query``: videos of catalogue channels."""
    start = _seed("search:" + query.lower())
    hits: dict[str, VideoFacts] = {}
    for i in range(SEARCH_TOTAL * 3):
        channel = channel_facts(CATALOGUE[(start + i) % len(CATALOGUE)], reference)
        if channel is None or channel.video_count == 0:
            continue
        video = video_facts(channel, (start // 7 + i) % channel.video_count)
        hits.setdefault(video.video_id, video)
        if len(hits) == SEARCH_TOTAL:
            break
    return list(hits.values())


def _search(request: web.Request, *, with_snippet: bool) -> bytes | web.Response:
    channel_id = request.query.get("channelId")
    if channel_id is not None:
        return _search_channel(request, channel_id)
    if request.query.get("videoCategoryId") is not None:
        from sandbox.youtube_social import genre_search

        return genre_search(request, with_snippet=with_snippet)
    query = request.query.get("q", "")
    size = _page_size(request)
    if isinstance(size, web.Response):
        return size
    offset = _page_offset("q:" + query, request.query.get("pageToken"))
    if offset is None:
        return _bad_page_token()
    pool = _search_pool(query, _reference(request)) if query.strip() else []
    end = min(len(pool), offset + size)
    items = [_search_item(v, with_snippet=with_snippet) for v in pool[offset:end]]
    token = _page_token("q:" + query, end) if end < len(pool) else None
    return _list_body("youtube#searchListResponse", items, len(pool), size, token)


def _search_channel(request: web.Request, channel_id: str) -> bytes | web.Response:
    """``search?channelId=&order=date``: a channel's videos, newest first (yt-v31's listing).
    An unknown channel simply has no results."""
    size = _page_size(request)
    if isinstance(size, web.Response):
        return size
    offset = _page_offset("c:" + channel_id, request.query.get("pageToken"))
    if offset is None:
        return _bad_page_token()
    channel = _world(request).by_id(channel_id, _reference(request))
    total = channel.video_count if channel is not None else 0
    end = min(total, offset + size)
    items = (
        [_search_item(video_facts(channel, i), with_snippet=False) for i in range(offset, end)]
        if channel is not None
        else []
    )
    token = _page_token("c:" + channel_id, end) if end < total else None
    return _list_body("youtube#searchListResponse", items, total, size, token)


_DATA_ROUTES: dict[str, tuple[str, Callable[[web.Request], bytes | web.Response]]] = {
    "channels": ("channel", _channels),
    "playlistItems": ("playlist_page", _playlist_items),
    "videos": ("videos", _videos),
    "search": ("search", lambda r: _search(r, with_snippet=True)),
    "commentThreads": ("comment_threads", lambda r: _comment_threads(r)),
    "activities": ("activities", lambda r: _social(r, "activities")),
    "subscriptions": ("subscriptions", lambda r: _social(r, "subscriptions")),
}


def _social(request: web.Request, resource: str) -> bytes | web.Response:
    from sandbox import youtube_social

    answer: Callable[[web.Request], bytes | web.Response] = getattr(youtube_social, resource)
    return answer(request)


def _comment_threads(request: web.Request) -> bytes | web.Response:
    from sandbox.youtube_comments import comment_threads

    return comment_threads(request)


# ------------------------------------------------------------------------------ handlers


def _data_api_handler(
    style: ProviderStyle,
    credential_of: Callable[[web.Request], str | None],
    kind: str,
    body: Callable[[web.Request], bytes | web.Response],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        g = await gate(request, style, credential=credential_of(request), kind=kind)
        if g.response is not None:
            return g.response
        return _reply(request, g, body(request))

    return handler


def _bearer_grant(request: web.Request) -> str | None:
    """The refresh token behind the request's bearer access token (None: unknown/expired)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return _world(request).refresh_token_of(token.strip())


async def oauth_token(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    refresh = form.get("refresh_token")
    refresh_token = refresh if isinstance(refresh, str) else None
    g = await gate(request, OAUTH_TOKEN_STYLE, credential=refresh_token, kind="oauth_token")
    if g.response is not None:
        return g.response
    if form.get("grant_type") != "refresh_token":
        return _reply(request, g, _oauth_error(400, "unsupported_grant_type", "Invalid grant_type"))
    if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
        return _reply(request, g, _oauth_error(401, "invalid_client", "Unauthorized"))
    state = request.app[STATE_KEY]
    world = _world(request)
    assert refresh_token is not None  # the gate let it through
    payload = {
        "access_token": world.issue_token(refresh_token, state.rng),
        "expires_in": world.token_seconds,
        "scope": "https://www.googleapis.com/auth/youtube.readonly",
        "token_type": "Bearer",
    }
    return respond(request, g, _dumps(payload))


def _rapid_key(request: web.Request) -> str | None:
    return request.headers.get("x-rapidapi-key")


def _yt138_channel_body(request: web.Request) -> bytes | web.Response:
    channel = _world(request).by_id(request.query.get("id", ""), _reference(request))
    if channel is None:
        return _json({"message": "Channel not found"}, status=404)
    return _dumps(_yt138_channel(channel))


def _yt138_cursor(channel_id: str, offset: int) -> str:
    return "4qmFsgK" + _b64(f"yt138:{channel_id}:{offset}".encode())


def _yt138_offset(channel_id: str, cursor: str | None) -> int | None:
    if not cursor:
        return 0
    if not cursor.startswith("4qmFsgK") or len(cursor) > 300:
        return None
    raw = cursor[7:]
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, number = text.rpartition(":")
    return int(number) if prefix == f"yt138:{channel_id}" and number.isdigit() else None


def _yt138_videos_body(request: web.Request) -> bytes | web.Response:
    channel_id = request.query.get("id", "")
    channel = _world(request).by_id(channel_id, _reference(request))
    if channel is None:
        return _json({"message": "Channel not found"}, status=404)
    offset = _yt138_offset(channel_id, request.query.get("cursor"))
    if offset is None:
        return _json({"message": "Invalid cursor"}, status=400)
    end = min(channel.video_count, offset + YT138_PAGE)
    now = int(time.time())
    contents = [_yt138_listing_entry(video_facts(channel, i), now) for i in range(offset, end)]
    cursor = _yt138_cursor(channel_id, end) if end < channel.video_count else None
    return _dumps({"contents": contents, "cursorNext": cursor})


def _yt138_video_body(request: web.Request) -> bytes | web.Response:
    video = _world(request).video(request.query.get("id", ""), _reference(request))
    if video is None:
        return _json({"message": "Video not found"}, status=404)
    return _dumps(_yt138_video(video))


# ------------------------------------------------------------------------------ register


def _rapid_secret(host: str) -> Callable[[str], dict[str, str]]:
    def secret(key: str) -> dict[str, str]:
        return {"x-rapidapi-key": key, "x-rapidapi-host": host}

    return secret


def _setup_providers(state: SandboxState) -> None:
    state.add_provider(
        "ytapitoken",
        keys=KEYS["ytapitoken"],
        expired_keys=[EXPIRED_KEYS["ytapitoken"]],
        quota=QUOTAS["ytapitoken"],
        secret=lambda key: {"key": key},
    )
    owners = {key: channel_id_for(CATALOGUE[i]) for i, key in enumerate(KEYS["ytapi"])}
    # A grant belongs to its channel: the pool hands it out for that channel's own reads.
    state.add_provider(
        "ytapi",
        keys=KEYS["ytapi"],
        expired_keys=[EXPIRED_KEYS["ytapi"]],
        quota=QUOTAS["ytapi"],
        secret=lambda key: {
            "refresh_token": key,
            "channel_id": owners.get(key, channel_id_for(CATALOGUE[-1])),
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        handle=owners.get,
    )
    for name, host in RAPIDAPI_HOSTS.items():
        state.add_provider(
            name,
            keys=KEYS[name],
            expired_keys=[EXPIRED_KEYS[name]],
            quota=QUOTAS[name],
            secret=_rapid_secret(host),
        )


def _add_get(app: web.Application, path: str, handler: Any) -> None:
    """Serve ``path`` with and without its trailing slash."""
    app.router.add_get(path, handler)
    twin = path[:-1] if path.endswith("/") else path + "/"
    app.router.add_get(twin, handler)


def register(app: web.Application, state: SandboxState) -> None:
    """Add the five YouTube providers to the sandbox app and their credentials to ``state``."""
    _setup_providers(state)
    app[WORLD_KEY] = YouTubeWorld()

    def api_key(request: web.Request) -> str | None:
        return request.query.get("key")

    for resource, (kind, body) in _DATA_ROUTES.items():
        _add_get(
            app,
            f"/ytapitoken/youtube/v3/{resource}",
            _data_api_handler(KEY_STYLE, api_key, kind, body),
        )
        _add_get(
            app,
            f"/ytapi/youtube/v3/{resource}",
            _data_api_handler(OAUTH_API_STYLE, _bearer_grant, kind, body),
        )
    app.router.add_post("/ytapi/token", oauth_token)

    yt138 = (
        ("/youtube138/channel/details/", "channel", _yt138_channel_body),
        ("/youtube138/channel/videos/", "playlist_page", _yt138_videos_body),
        ("/youtube138/video/details/", "videos", _yt138_video_body),
    )
    for path, kind, body in yt138:
        _add_get(app, path, _data_api_handler(YT138_STYLE, _rapid_key, kind, body))

    v31 = (
        ("/yt-v31/channels", "channel", _channels),
        ("/yt-v31/search", "playlist_page", lambda r: _search(r, with_snippet=False)),
        ("/yt-v31/videos", "videos", _videos),
    )
    for path, kind, body in v31:
        _add_get(app, path, _data_api_handler(V31_STYLE, _rapid_key, kind, body))

    from sandbox import youtube_shorts

    youtube_shorts.register(app, state)
    from sandbox import youtube_analytics

    youtube_analytics.register(app)
    _add_get(
        app,
        "/yt-search/search/",
        _data_api_handler(
            SEARCH_STYLE, _rapid_key, "search", lambda r: _search(r, with_snippet=True)
        ),
    )
