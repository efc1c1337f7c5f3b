"""The YouTube provider interface, input normalizers and the parse guard.

A provider is a set of PURE request builders and parsers, one pair per capability:

* ``channel``: ``channel_request(channel_id, handle, ...)`` / ``parse_channel(raw)``
* ``channel_video_ids``: ``video_ids_request(channel_id, cursor, ...)`` /
  ``parse_video_ids(raw)`` -> (video ids newest first, next cursor)
* ``videos``: ``videos_request(ids, ...)`` (at most ``videos_per_request`` ids) /
  ``parse_videos(raw)``
* ``search``: ``search_request(query, cursor, ...)`` / ``parse_search(raw)``

Parsers take a ``RawResponse`` and return model objects or raise a ``ProviderError`` subclass;
whatever the body holds, nothing else escapes (see ``_guard``). The strict JSON accessors and
the guard come from ``providers.parsing``.
"""

from __future__ import annotations

import json
import re
from abc import ABC
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from providers.credentials import Credential
from providers.errors import BadInput, TargetNotFound
from providers.http import ProviderRequest, RawResponse
from providers.parsing import expect_dict, guard, opt_dict, opt_str
from providers.youtube.comments import KIND_COMMENTS, CommentsPage
from providers.youtube.model import SearchResult, YouTubeChannel, YouTubeVideo

if TYPE_CHECKING:
    from providers.youtube.social import YouTubeActivity, YouTubeSubscription

__all__ = [
    "CAP_CHANNEL",
    "CAP_GENRE",
    "CAP_SEARCH",
    "CAP_VIDEOS",
    "CAP_VIDEO_IDS",
    "KIND_CHANNEL",
    "KIND_CHANNELS",
    "KIND_OAUTH_TOKEN",
    "KIND_PLAYLIST_PAGE",
    "KIND_SEARCH",
    "KIND_VIDEOS",
    "IdsPage",
    "SearchPage",
    "YouTubeProvider",
    "best_thumbnail",
    "largest_image",
    "normalize_channel_id",
    "normalize_handle",
    "normalize_query",
    "normalize_video_id",
    "thumbnails_json",
    "uploads_playlist_for",
]

# What a provider can do (``YouTubeProvider.supports``).
CAP_CHANNEL = "channel"
CAP_VIDEO_IDS = "channel_video_ids"
CAP_VIDEOS = "videos"
CAP_SEARCH = "search"

# What a raw response holds (``RawResponse.kind``): tells ``parse`` which parser applies.
KIND_CHANNEL = "channel"
#: A batch of channels by id (``channels_request``): a list, where absent ids are no error.
KIND_CHANNELS = "channels"
KIND_PLAYLIST_PAGE = "playlist_page"
KIND_VIDEOS = "videos"
KIND_SEARCH = "search"
#: Videos of a category in a language (refresh_yt_posts_by_genre): search pages.
CAP_GENRE = "genre"
#: A channel's activity feed and its subscriptions (``providers.youtube.social``).
CAP_ACTIVITIES = "activities"
CAP_SUBSCRIPTIONS = "subscriptions"
KIND_ACTIVITIES = "activities"
KIND_SUBSCRIPTIONS = "subscriptions"
#: Never stored: a token answer carries an access token.
KIND_OAUTH_TOKEN = "oauth_token"

IdsPage = tuple[list[str], str | None]
SearchPage = tuple[list[SearchResult], str | None]
ActivitiesPage = tuple[list["YouTubeActivity"], str | None]
SubscriptionsPage = tuple[list["YouTubeSubscription"], str | None]

T = TypeVar("T")

_CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
# YouTube handles: 3-30 letters, digits, underscores, hyphens and periods.
_HANDLE = re.compile(r"^[\w.-]{3,30}$")
_MAX_QUERY = 200


def normalize_channel_id(channel_id: str) -> str:
    if not isinstance(channel_id, str):
        raise BadInput("channel_id must be a string")
    value = channel_id.strip()
    if not _CHANNEL_ID.match(value):
        raise BadInput(f"invalid YouTube channel id {value[:40]!r}")
    return value


def normalize_handle(handle: str) -> str:
    """Strip whitespace and a leading ``@``, lower-case; BadInput if not a valid handle."""
    if not isinstance(handle, str):
        raise BadInput("handle must be a string")
    value = handle.strip().lstrip("@").lower()
    if not _HANDLE.match(value) or value.isdigit():
        raise BadInput(f"invalid YouTube handle {value[:40]!r}")
    return value


def normalize_video_id(video_id: str) -> str:
    if not isinstance(video_id, str):
        raise BadInput("video id must be a string")
    value = video_id.strip()
    if not _VIDEO_ID.match(value):
        raise BadInput(f"invalid YouTube video id {value[:40]!r}")
    return value


def normalize_query(query: str) -> str:
    if not isinstance(query, str) or not query.strip():
        raise BadInput("search query must be a non-empty string")
    value = " ".join(query.split())
    if len(value) > _MAX_QUERY:
        raise BadInput(f"search query longer than {_MAX_QUERY} characters")
    return value


def uploads_playlist_for(channel_id: str) -> str:
    """A channel's uploads playlist id is its id with ``UC`` turned into ``UU``."""
    return "UU" + channel_id[2:]


def thumbnails_json(thumbnails: dict[str, Any] | None) -> str | None:
    """The thumbnails map as stable JSON text (the original stored it as text)."""
    if not thumbnails:
        return None
    return json.dumps(thumbnails, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def best_thumbnail(thumbnails: dict[str, Any] | None, where: str) -> str | None:
    """The URL of the largest named Data API thumbnail."""
    if not thumbnails:
        return None
    for size in ("maxres", "standard", "high", "medium", "default"):
        image = opt_dict(thumbnails, size, where)
        if image is not None:
            url = opt_str(image, "url", f"{where}.{size}")
            if url:
                return url
    return None


def largest_image(images: list[Any], where: str) -> str | None:
    """The URL of the widest image in a ``[{"url","width","height"}]`` list (RapidAPI)."""
    best: tuple[int, str] | None = None
    for i, item in enumerate(images):
        image = expect_dict(item, f"{where}[{i}]")
        url = opt_str(image, "url", f"{where}[{i}]")
        width = image.get("width")
        size = width if isinstance(width, int) and not isinstance(width, bool) else 0
        if url and (best is None or size > best[0]):
            best = (size, url)
    return best[1] if best else None


class YouTubeProvider(ABC):  # noqa: B024 - capabilities are opt-in, none is abstract
    """Base class of the YouTube providers.

    ``supports`` lists the capabilities implemented; the others keep the default methods, which
    raise ``NotImplementedError``. ``videos_per_request`` is how many ids one videos request
    takes. ``needs_oauth`` says the crawler must obtain an access token first (``ytapi``).
    """

    name: ClassVar[str] = ""
    supports: ClassVar[frozenset[str]] = frozenset()
    videos_per_request: ClassVar[int] = 50
    #: How many channel ids one channels request takes (the Data API: 50; scrapers: one).
    channels_per_request: ClassVar[int] = 1
    needs_oauth: ClassVar[bool] = False

    # -- request builders (pure) ------------------------------------------------------------

    def channel_request(
        self, channel_id: str | None, handle: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not fetch channels")

    def channels_request(
        self, channel_ids: Sequence[str], credential: Credential, base_url: str
    ) -> ProviderRequest:
        """Up to ``channels_per_request`` channels by id in one call."""
        if not 0 < len(channel_ids) <= self.channels_per_request:
            raise ValueError(f"channels_request takes 1 to {self.channels_per_request} ids")
        return self.channel_request(",".join(channel_ids), None, credential, base_url)

    def video_ids_request(
        self, channel_id: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not list channel videos")

    def videos_request(
        self, video_ids: Sequence[str], credential: Credential, base_url: str
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not fetch videos")

    def search_request(
        self, query: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not search")

    def comments_request(
        self, video_id: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not fetch comments")

    def genre_request(
        self,
        genre: tuple[str, str | None],
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not list videos by category")

    def activities_request(
        self, channel_id: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not list activities")

    def subscriptions_request(
        self, channel_id: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not list subscriptions")

    # -- parsers (pure) -----------------------------------------------------------------------

    def parse_channel(self, raw: RawResponse) -> YouTubeChannel:
        return self._guard(raw, self._parse_channel)

    def parse_channels(self, raw: RawResponse) -> list[YouTubeChannel]:
        """The channels a batch answer holds; an id nobody knows is simply absent."""
        return self._guard(raw, self._parse_channels)

    def parse_video_ids(self, raw: RawResponse) -> IdsPage:
        return self._guard(raw, self._parse_video_ids)

    def parse_videos(self, raw: RawResponse) -> list[YouTubeVideo]:
        return self._guard(raw, self._parse_videos)

    def parse_search(self, raw: RawResponse) -> SearchPage:
        return self._guard(raw, self._parse_search)

    def parse_comments(self, raw: RawResponse) -> CommentsPage:
        return self._guard(raw, self._parse_comments)

    def parse_activities(self, raw: RawResponse) -> ActivitiesPage:
        return self._guard(raw, self._parse_activities)

    def parse_subscriptions(self, raw: RawResponse) -> SubscriptionsPage:
        return self._guard(raw, self._parse_subscriptions)

    def parse(self, raw: RawResponse) -> Any:
        """Dispatch on ``raw.kind``."""
        parsers: dict[str, Callable[[RawResponse], Any]] = {
            KIND_CHANNEL: self.parse_channel,
            KIND_CHANNELS: self.parse_channels,
            KIND_PLAYLIST_PAGE: self.parse_video_ids,
            KIND_VIDEOS: self.parse_videos,
            KIND_SEARCH: self.parse_search,
            KIND_COMMENTS: self.parse_comments,
            KIND_ACTIVITIES: self.parse_activities,
            KIND_SUBSCRIPTIONS: self.parse_subscriptions,
        }
        parser = parsers.get(raw.kind)
        if parser is None:
            raise ValueError(f"unknown raw response kind {raw.kind!r}")
        return parser(raw)

    # -- hooks for subclasses -------------------------------------------------------------------

    def _parse_channel(self, raw: RawResponse) -> YouTubeChannel:
        raise NotImplementedError(f"{self.name} does not fetch channels")

    def _parse_channels(self, raw: RawResponse) -> list[YouTubeChannel]:
        try:
            return [self._parse_channel(raw)]
        except TargetNotFound:
            return []

    def _parse_video_ids(self, raw: RawResponse) -> IdsPage:
        raise NotImplementedError(f"{self.name} does not list channel videos")

    def _parse_videos(self, raw: RawResponse) -> list[YouTubeVideo]:
        raise NotImplementedError(f"{self.name} does not fetch videos")

    def _parse_search(self, raw: RawResponse) -> SearchPage:
        raise NotImplementedError(f"{self.name} does not search")

    def _parse_comments(self, raw: RawResponse) -> CommentsPage:
        raise NotImplementedError(f"{self.name} does not fetch comments")

    def _parse_activities(self, raw: RawResponse) -> ActivitiesPage:
        raise NotImplementedError(f"{self.name} does not list activities")

    def _parse_subscriptions(self, raw: RawResponse) -> SubscriptionsPage:
        raise NotImplementedError(f"{self.name} does not list subscriptions")

    def _guard(self, raw: RawResponse, fn: Callable[[RawResponse], T]) -> T:
        """Run a parser under ``providers.parsing.guard``: only ProviderError escapes."""
        return guard(self.name, raw, lambda: fn(raw))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
