"""YouTube Data API v3 answers, and the ``ytapitoken`` provider (the API with an API key).

The shapes (``channels.list``, ``playlistItems.list``, ``videos.list``, ``search.list``) are
shared by everything that speaks the Data API: ``ytapitoken``, ``ytapi`` (OAuth) and the
RapidAPI clones ``yt-v31`` and ``yt-search``. ``DataApiParsers`` holds their parsers; a provider
only says how it authenticates and how its errors look (``_error``).

* channel:  ``GET {base}/youtube/v3/channels?part=snippet,statistics,contentDetails&id=|forHandle=``
* video ids: ``GET {base}/youtube/v3/playlistItems?part=contentDetails&playlistId=UU...
  &maxResults=50&pageToken=``
* videos:   ``GET {base}/youtube/v3/videos?part=snippet,statistics,contentDetails&id=a,b,...``
* search:   ``GET {base}/youtube/v3/search?part=snippet&q=&type=video&maxResults=50&pageToken=``

Statistics values are strings; ``subscriberCount`` is absent when ``hiddenSubscriberCount``;
``likeCount`` is absent when the owner hides likes; an unknown channel is a 200 without items.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from providers.credentials import Credential
from providers.errors import (
    CredentialRejected,
    MalformedResponse,
    ProviderError,
    TargetNotFound,
)
from providers.http import ProviderRequest, RawResponse
from providers.parsing import (
    checked_object,
    expect_dict,
    field_dict,
    from_iso,
    opt_bool,
    opt_count,
    opt_dict,
    opt_list,
    opt_str,
    req_id,
    req_str,
)
from providers.youtube.base import (
    CAP_CHANNEL,
    CAP_GENRE,
    CAP_SEARCH,
    CAP_VIDEO_IDS,
    CAP_VIDEOS,
    ActivitiesPage,
    IdsPage,
    SearchPage,
    SubscriptionsPage,
    YouTubeProvider,
    best_thumbnail,
    thumbnails_json,
    uploads_playlist_for,
)
from providers.youtube.comments import (
    CAP_COMMENTS,
    CommentsPage,
    comment_from_thread,
    comments_params,
)
from providers.youtube.errors import data_api_error, error_reasons
from providers.youtube.model import (
    SearchKind,
    SearchResult,
    YouTubeChannel,
    YouTubeVideo,
    iso_duration_seconds,
)
from providers.youtube.social import (
    CAP_ACTIVITIES,
    CAP_SUBSCRIPTIONS,
    activities_params,
    activity_from_item,
    subscription_from_item,
    subscriptions_params,
)

__all__ = [
    "CHANNEL_PARTS",
    "PAGE_SIZE",
    "VIDEO_PARTS",
    "DataApiParsers",
    "YtApiToken",
    "channel_from_item",
    "video_from_item",
]

CHANNEL_PARTS = "snippet,statistics,contentDetails"
VIDEO_PARTS = "snippet,statistics,contentDetails"
PAGE_SIZE = 50

_SEARCH_KINDS: dict[str, SearchKind] = {
    "youtube#video": "video",
    "youtube#channel": "channel",
    "youtube#playlist": "playlist",
}


# --------------------------------------------------------------------------- item parsers


def channel_from_item(item: dict[str, Any], where: str) -> YouTubeChannel:
    """A ``youtube#channel`` resource."""
    channel_id = req_id(item, "id", where)
    snippet = opt_dict(item, "snippet", where) or {}
    stats = opt_dict(item, "statistics", where) or {}
    details = opt_dict(item, "contentDetails", where) or {}
    playlists = opt_dict(details, "relatedPlaylists", f"{where}.contentDetails") or {}
    thumbnails = opt_dict(snippet, "thumbnails", f"{where}.snippet")
    hidden = opt_bool(stats, "hiddenSubscriberCount", f"{where}.statistics")
    custom_url = opt_str(snippet, "customUrl", f"{where}.snippet")
    uploads = opt_str(playlists, "uploads", f"{where}.contentDetails.relatedPlaylists")
    return YouTubeChannel(
        channel_id=channel_id,
        title=opt_str(snippet, "title", f"{where}.snippet"),
        description=opt_str(snippet, "description", f"{where}.snippet"),
        custom_url=custom_url.lower() if custom_url else None,
        country=opt_str(snippet, "country", f"{where}.snippet") or None,
        published_at=from_iso(snippet.get("publishedAt"), f"{where}.snippet.publishedAt"),
        thumbnail=best_thumbnail(thumbnails, f"{where}.snippet.thumbnails"),
        thumbnails=thumbnails_json(thumbnails),
        uploads_playlist_id=uploads or uploads_playlist_for(channel_id),
        subscriber_count=None
        if hidden
        else opt_count(stats, "subscriberCount", f"{where}.statistics"),
        hidden_subscriber_count=hidden,
        view_count=opt_count(stats, "viewCount", f"{where}.statistics"),
        video_count=opt_count(stats, "videoCount", f"{where}.statistics"),
    )


def _tags(snippet: dict[str, Any], where: str) -> tuple[str, ...]:
    tags = opt_list(snippet, "tags", where)
    for i, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise MalformedResponse(f"{where}.tags[{i}]: expected a string")
    return tuple(tags)


def _duration(details: dict[str, Any], where: str) -> int | None:
    text = opt_str(details, "duration", where)
    if text is None:
        return None
    seconds = iso_duration_seconds(text)
    if seconds is None:
        raise MalformedResponse(f"{where}.duration: not an ISO-8601 duration")
    return seconds


def _rating(details: dict[str, Any], where: str) -> str | None:
    rating = opt_dict(details, "contentRating", where)
    if not rating:
        return None
    return json.dumps(rating, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _licensed(details: dict[str, Any], where: str) -> bool | None:
    value = details.get("licensedContent")
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    return opt_bool(details, "licensedContent", where)


def video_from_item(item: dict[str, Any], where: str) -> YouTubeVideo:
    """A ``youtube#video`` resource."""
    snippet = opt_dict(item, "snippet", where) or {}
    stats = opt_dict(item, "statistics", where) or {}
    details = opt_dict(item, "contentDetails", where) or {}
    s_where, st_where = f"{where}.snippet", f"{where}.statistics"
    d_where = f"{where}.contentDetails"
    language = opt_str(snippet, "defaultAudioLanguage", s_where) or opt_str(
        snippet, "defaultLanguage", s_where
    )
    return YouTubeVideo(
        video_id=req_id(item, "id", where),
        channel_id=opt_str(snippet, "channelId", s_where) or None,
        channel_title=opt_str(snippet, "channelTitle", s_where),
        title=opt_str(snippet, "title", s_where),
        description=opt_str(snippet, "description", s_where),
        published_at=from_iso(snippet.get("publishedAt"), f"{s_where}.publishedAt"),
        duration_seconds=_duration(details, d_where),
        tags=_tags(snippet, s_where),
        category_id=opt_str(snippet, "categoryId", s_where) or None,
        audio_language=language or None,
        is_licensed=_licensed(details, d_where),
        content_rating=_rating(details, d_where),
        definition=opt_str(details, "definition", d_where) or None,
        thumbnail=best_thumbnail(opt_dict(snippet, "thumbnails", s_where), f"{s_where}.thumbnails"),
        view_count=opt_count(stats, "viewCount", st_where),
        like_count=opt_count(stats, "likeCount", st_where),
        comment_count=opt_count(stats, "commentCount", st_where),
        favourite_count=opt_count(stats, "favoriteCount", st_where),
    )


def _search_result(item: dict[str, Any], where: str) -> SearchResult | None:
    """A ``youtube#searchResult``; None for kinds we do not model."""
    ident = field_dict(item, "id", where)
    kind = _SEARCH_KINDS.get(req_str(ident, "kind", f"{where}.id"))
    if kind is None:
        return None
    snippet = opt_dict(item, "snippet", where) or {}
    s_where = f"{where}.snippet"
    result = SearchResult(
        kind=kind,
        video_id=opt_str(ident, "videoId", f"{where}.id"),
        channel_id=opt_str(ident, "channelId", f"{where}.id")
        or opt_str(snippet, "channelId", s_where),
        playlist_id=opt_str(ident, "playlistId", f"{where}.id"),
        title=opt_str(snippet, "title", s_where),
        description=opt_str(snippet, "description", s_where),
        channel_title=opt_str(snippet, "channelTitle", s_where),
        published_at=from_iso(snippet.get("publishedAt"), f"{s_where}.publishedAt"),
        thumbnail=best_thumbnail(opt_dict(snippet, "thumbnails", s_where), f"{s_where}.thumbnails"),
    )
    if not result.target_id:
        raise MalformedResponse(f"{where}.id: no id for a {kind} result")
    return result


def _next_token(payload: dict[str, Any]) -> str | None:
    return opt_str(payload, "nextPageToken", "body") or None


def _items(payload: dict[str, Any]) -> list[dict[str, Any]]:
    items = opt_list(payload, "items", "body")
    return [expect_dict(item, f"items[{i}]") for i, item in enumerate(items)]


def _reasons(raw: RawResponse) -> set[str]:
    try:
        envelope = json.loads(raw.body).get("error")
    except (ValueError, AttributeError):
        return set()
    return error_reasons(envelope) if isinstance(envelope, dict) else set()


# --------------------------------------------------------------------------- the parsers


class DataApiParsers(YouTubeProvider):
    """Parsers for Data API bodies; subclasses choose the error mapping (``_error``)."""

    # channels.list takes up to 50 comma-separated ids (the original batched 40).
    channels_per_request: ClassVar[int] = PAGE_SIZE

    def _error(self, raw: RawResponse, payload: Any) -> ProviderError | None:
        return data_api_error(raw, payload)

    def _payload(self, raw: RawResponse) -> dict[str, Any]:
        return checked_object(raw, self._error)

    def _parse_channel(self, raw: RawResponse) -> YouTubeChannel:
        items = _items(self._payload(raw))
        if not items:
            raise TargetNotFound("no such channel")
        return channel_from_item(items[0], "items[0]")

    def _parse_channels(self, raw: RawResponse) -> list[YouTubeChannel]:
        items = _items(self._payload(raw))
        return [channel_from_item(item, f"items[{i}]") for i, item in enumerate(items)]

    def _parse_video_ids(self, raw: RawResponse) -> IdsPage:
        """A playlistItems page, or a search page of a channel's videos (the clones)."""
        payload = self._payload(raw)
        ids: list[str] = []
        for i, item in enumerate(_items(payload)):
            where = f"items[{i}]"
            video_id = self._video_id_of(item, where)
            if video_id is not None and video_id not in ids:
                ids.append(video_id)
        return ids, _next_token(payload)

    def _video_id_of(self, item: dict[str, Any], where: str) -> str | None:
        details = opt_dict(item, "contentDetails", where)
        if details is not None and details.get("videoId") is not None:
            return req_str(details, "videoId", f"{where}.contentDetails")
        ident = item.get("id")
        if isinstance(ident, dict):  # a search result
            if ident.get("kind") not in (None, "youtube#video"):
                return None
            return req_str(ident, "videoId", f"{where}.id")
        snippet = opt_dict(item, "snippet", where) or {}
        resource = opt_dict(snippet, "resourceId", f"{where}.snippet")
        if resource is not None:
            return req_str(resource, "videoId", f"{where}.snippet.resourceId")
        raise MalformedResponse(f"{where}: no video id")

    def _parse_videos(self, raw: RawResponse) -> list[YouTubeVideo]:
        items = _items(self._payload(raw))
        return [video_from_item(item, f"items[{i}]") for i, item in enumerate(items)]

    def _parse_comments(self, raw: RawResponse) -> CommentsPage:
        """A commentThreads page; comments turned off are no comments, not a fault."""
        if raw.status == 403 and "commentsDisabled" in _reasons(raw):
            return [], None
        payload = self._payload(raw)
        items = _items(payload)
        comments = [comment_from_thread(item, f"items[{i}]") for i, item in enumerate(items)]
        return comments, _next_token(payload)

    def _parse_activities(self, raw: RawResponse) -> ActivitiesPage:
        payload = self._payload(raw)
        items = _items(payload)
        found = [activity_from_item(item, f"items[{i}]") for i, item in enumerate(items)]
        return found, _next_token(payload)

    def _parse_subscriptions(self, raw: RawResponse) -> SubscriptionsPage:
        payload = self._payload(raw)
        items = _items(payload)
        found = [subscription_from_item(item, f"items[{i}]") for i, item in enumerate(items)]
        return found, _next_token(payload)

    def _parse_search(self, raw: RawResponse) -> SearchPage:
        payload = self._payload(raw)
        results = [_search_result(item, f"items[{i}]") for i, item in enumerate(_items(payload))]
        return [r for r in results if r is not None], _next_token(payload)


# --------------------------------------------------------------------------- ytapitoken


class YtApiToken(DataApiParsers):
    """The Data API with an API key: credential secret ``{"key": ...}``."""

    name: ClassVar[str] = "ytapitoken"
    supports: ClassVar[frozenset[str]] = frozenset(
        {
            CAP_CHANNEL,
            CAP_VIDEO_IDS,
            CAP_VIDEOS,
            CAP_SEARCH,
            CAP_COMMENTS,
            CAP_ACTIVITIES,
            CAP_SUBSCRIPTIONS,
            CAP_GENRE,
        }
    )

    def _auth(self, credential: Credential) -> tuple[dict[str, str], dict[str, str]]:
        """(query params, headers) that authenticate a request."""
        key = credential.secret.get("key")
        if not isinstance(key, str) or not key:
            raise CredentialRejected(f"{self.name} credential needs 'key'", provider=self.name)
        return {"key": key}, {}

    def _get(
        self, base_url: str, path: str, params: dict[str, str], credential: Credential
    ) -> ProviderRequest:
        auth_params, headers = self._auth(credential)
        return ProviderRequest(
            method="GET",
            url=f"{base_url.rstrip('/')}/youtube/v3/{path}",
            params={**params, **auth_params},
            headers={"Accept": "application/json", **headers},
        )

    def channel_request(
        self, channel_id: str | None, handle: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        params = {"part": CHANNEL_PARTS}
        if channel_id:
            params["id"] = channel_id
        elif handle:
            params["forHandle"] = "@" + handle
        else:
            raise ValueError("channel_request needs a channel id or a handle")
        return self._get(base_url, "channels", params, credential)

    def video_ids_request(
        self, channel_id: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        params = {
            "part": "contentDetails",
            "playlistId": uploads_playlist_for(channel_id),
            "maxResults": str(PAGE_SIZE),
        }
        if cursor:
            params["pageToken"] = cursor
        return self._get(base_url, "playlistItems", params, credential)

    def videos_request(
        self, video_ids: Sequence[str], credential: Credential, base_url: str
    ) -> ProviderRequest:
        if not 0 < len(video_ids) <= self.videos_per_request:
            raise ValueError(f"videos_request takes 1 to {self.videos_per_request} ids")
        params = {"part": VIDEO_PARTS, "id": ",".join(video_ids), "maxResults": str(PAGE_SIZE)}
        return self._get(base_url, "videos", params, credential)

    def search_request(
        self, query: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        params = {"part": "snippet", "q": query, "type": "video", "maxResults": str(PAGE_SIZE)}
        if cursor:
            params["pageToken"] = cursor
        return self._get(base_url, "search", params, credential)

    def comments_request(
        self, video_id: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        return self._get(base_url, "commentThreads", comments_params(video_id, cursor), credential)

    def activities_request(
        self, channel_id: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        return self._get(base_url, "activities", activities_params(channel_id, cursor), credential)

    def subscriptions_request(
        self, channel_id: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        params = subscriptions_params(channel_id, cursor)
        return self._get(base_url, "subscriptions", params, credential)

    def genre_request(
        self,
        genre: tuple[str, str | None],
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        """Videos of a category (``videoCategoryId``), most viewed first, in a language when
        given (``relevanceLanguage``: a preference, not a filter)."""
        category, language = genre
        params = {"part": "snippet", "type": "video", "videoCategoryId": category,
                  "order": "viewCount", "maxResults": str(PAGE_SIZE)}  # fmt: skip
        if language:
            params["relevanceLanguage"] = language
        if cursor:
            params["pageToken"] = cursor
        return self._get(base_url, "search", params, credential)
