"""RapidAPI "youtube138" (the original's rapidapi-yt): YouTube's own web data, its own shapes.

* channel:   ``GET {base}/channel/details/?id=UC...&hl=en&gl=US`` ->
  ``{"channelId", "title", "description", "username": "@h", "country", "joinedDate",
  "avatar": [{url,width,height}], "stats": {"subscribers", "videos", "views"}, ...}``
  (by id only: a handle is ``TargetNotServed``)
* video ids: ``GET {base}/channel/videos/?id=UC...&filter=videos_latest&hl=en&gl=US&cursor=`` ->
  ``{"contents": [{"type": "video", "video": {"videoId", "lengthSeconds", ...}}], "cursorNext"}``
  (the continuation comes back as ``cursorNext``; it goes out as the ``cursor`` param)
* videos:    ``GET {base}/video/details/?id=...&hl=en&gl=US`` (ONE video a request) ->
  ``{"videoId", "title", "lengthSeconds", "publishedDate", "keywords", "author": {"channelId",
  "title"}, "stats": {"views", "likes", "comments"}, "thumbnails": [...], ...}``

The uploads playlist id is derived from the channel id; category, licence, definition and
content rating are not exposed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from providers.credentials import Credential
from providers.errors import MalformedResponse, TargetNotFound, TargetNotServed
from providers.http import ProviderRequest, RawResponse
from providers.parsing import (
    expect_dict,
    from_iso,
    opt_count,
    opt_dict,
    opt_list,
    opt_str,
    req_id,
    to_int,
)
from providers.youtube.base import (
    CAP_CHANNEL,
    CAP_VIDEO_IDS,
    CAP_VIDEOS,
    IdsPage,
    largest_image,
    uploads_playlist_for,
)
from providers.youtube.model import YouTubeChannel, YouTubeVideo
from providers.youtube.rapidapi import RapidApiProvider

__all__ = ["RAPIDAPI_HOST", "Youtube138"]

RAPIDAPI_HOST = "youtube138.p.rapidapi.com"
_LOCALE = {"hl": "en", "gl": "US"}


def _count(obj: dict[str, Any] | None, key: str, where: str) -> int | None:
    return opt_count(obj, key, where) if obj is not None else None


class Youtube138(RapidApiProvider):
    name: ClassVar[str] = "youtube138"
    host: ClassVar[str] = RAPIDAPI_HOST
    supports: ClassVar[frozenset[str]] = frozenset({CAP_CHANNEL, CAP_VIDEO_IDS, CAP_VIDEOS})
    videos_per_request: ClassVar[int] = 1

    # -- requests -----------------------------------------------------------------------------

    def channel_request(
        self, channel_id: str | None, handle: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        if not channel_id:
            raise TargetNotServed("youtube138 looks channels up by id only", provider=self.name)
        return self._get(base_url, "channel/details/", {"id": channel_id, **_LOCALE}, credential)

    def video_ids_request(
        self, channel_id: str, cursor: str | None, credential: Credential, base_url: str
    ) -> ProviderRequest:
        params = {"id": channel_id, "filter": "videos_latest", **_LOCALE}
        if cursor:
            params["cursor"] = cursor
        return self._get(base_url, "channel/videos/", params, credential)

    def videos_request(
        self, video_ids: Sequence[str], credential: Credential, base_url: str
    ) -> ProviderRequest:
        if len(video_ids) != 1:
            raise ValueError("youtube138 fetches one video a request")
        return self._get(base_url, "video/details/", {"id": video_ids[0], **_LOCALE}, credential)

    # -- parsers ------------------------------------------------------------------------------

    def _parse_channel(self, raw: RawResponse) -> YouTubeChannel:
        body = self._payload(raw)
        if body.get("channelId") is None:
            raise TargetNotFound("no such channel")
        channel_id = req_id(body, "channelId", "body")
        stats = opt_dict(body, "stats", "body")
        username = opt_str(body, "username", "body")
        return YouTubeChannel(
            channel_id=channel_id,
            title=opt_str(body, "title", "body"),
            description=opt_str(body, "description", "body"),
            custom_url=username.lower() if username else None,
            country=opt_str(body, "country", "body") or None,
            published_at=from_iso(body.get("joinedDate"), "body.joinedDate"),
            thumbnail=largest_image(opt_list(body, "avatar", "body"), "body.avatar"),
            uploads_playlist_id=uploads_playlist_for(channel_id),
            subscriber_count=_count(stats, "subscribers", "body.stats"),
            view_count=_count(stats, "views", "body.stats"),
            video_count=_count(stats, "videos", "body.stats"),
        )

    def _parse_video_ids(self, raw: RawResponse) -> IdsPage:
        body = self._payload(raw)
        ids: list[str] = []
        for i, entry in enumerate(opt_list(body, "contents", "body")):
            where = f"contents[{i}]"
            entry = expect_dict(entry, where)
            if entry.get("type") != "video":
                continue  # shelves, playlists, ads
            video = expect_dict(entry.get("video"), f"{where}.video")
            video_id = req_id(video, "videoId", f"{where}.video")
            if video_id not in ids:
                ids.append(video_id)
        # The real answers carry the continuation as "cursorNext" (the request param is "cursor").
        return ids, opt_str(body, "cursorNext", "body") or None

    def _parse_videos(self, raw: RawResponse) -> list[YouTubeVideo]:
        body = self._payload(raw)
        if body.get("videoId") is None:
            raise TargetNotFound("no such video")
        author = opt_dict(body, "author", "body") or {}
        stats = opt_dict(body, "stats", "body")
        keywords = opt_list(body, "keywords", "body")
        if not all(isinstance(k, str) for k in keywords):
            raise MalformedResponse("body.keywords: expected strings")
        length = to_int(body.get("lengthSeconds"), "body.lengthSeconds")
        video = YouTubeVideo(
            video_id=req_id(body, "videoId", "body"),
            channel_id=opt_str(author, "channelId", "body.author") or None,
            channel_title=opt_str(author, "title", "body.author"),
            title=opt_str(body, "title", "body"),
            description=opt_str(body, "description", "body"),
            published_at=from_iso(body.get("publishedDate"), "body.publishedDate"),
            duration_seconds=length if length is None or length >= 0 else None,
            tags=tuple(keywords),
            thumbnail=largest_image(opt_list(body, "thumbnails", "body"), "body.thumbnails"),
            view_count=_count(stats, "views", "body.stats"),
            like_count=_count(stats, "likes", "body.stats"),
            comment_count=_count(stats, "comments", "body.stats"),
        )
        return [video]
