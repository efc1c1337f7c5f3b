"""A channel's activity feed and its subscriptions: the Data API's ``activities.list``
(refresh_yt_activities) and ``subscriptions.list`` (refresh_yt_profile_relationship).

* activities: ``GET {base}/youtube/v3/activities?part=snippet,contentDetails&channelId=
  &maxResults=50&pageToken=``. Each ``youtube#activity`` has ``snippet.type`` (upload, like,
  favorite, comment, subscription, playlistItem, recommendation, bulletin, social, channelItem,
  promotedItem) and the matching ``contentDetails.{type}`` object naming what it is about.
  activities.list has no "not found" error: an unknown channel has no activities.
* subscriptions: ``GET {base}/youtube/v3/subscriptions?part=snippet&channelId=&maxResults=50
  &order=alphabetical&pageToken=``. Each ``youtube#subscription``: ``snippet.channelId`` is the
  subscriber, ``snippet.resourceId.channelId`` the channel subscribed to. A channel that keeps its
  subscriptions private answers 403 ``subscriptionForbidden``; an unknown one 404
  ``subscriberNotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from providers.parsing import field_dict, from_iso, opt_dict, opt_str, req_str
from providers.youtube.base import (
    CAP_ACTIVITIES,
    CAP_SUBSCRIPTIONS,
    KIND_ACTIVITIES,
    KIND_SUBSCRIPTIONS,
    best_thumbnail,
)

__all__ = [
    "CAP_ACTIVITIES",
    "CAP_SUBSCRIPTIONS",
    "KIND_ACTIVITIES",
    "KIND_SUBSCRIPTIONS",
    "YouTubeActivity",
    "YouTubeSubscription",
    "activities_params",
    "activity_from_item",
    "subscription_from_item",
    "subscriptions_params",
]

PAGE_SIZE = 50


@dataclass(frozen=True)
class YouTubeActivity:
    activity_id: str
    channel_id: str
    #: snippet.type: upload, playlistItem, like, subscription, ...
    activity_type: str
    published_at: datetime | None
    title: str | None
    description: str | None
    #: What the activity is about, when it names it.
    video_id: str | None
    playlist_id: str | None
    target_channel_id: str | None


@dataclass(frozen=True)
class YouTubeSubscription:
    subscription_id: str
    #: The subscriber (the channel whose subscriptions were listed).
    subscriber_channel_id: str
    #: The channel subscribed to.
    channel_id: str
    title: str | None
    description: str | None
    subscribed_at: datetime | None
    thumbnail: str | None


def _resource_ids(details: dict[str, Any], where: str) -> dict[str, str | None]:
    """The video, playlist and channel ids a contentDetails.{type} object names."""
    resource = opt_dict(details, "resourceId", where) or {}
    r_where = f"{where}.resourceId"
    return {
        "video_id": opt_str(details, "videoId", where) or opt_str(resource, "videoId", r_where),
        "playlist_id": opt_str(details, "playlistId", where)
        or opt_str(resource, "playlistId", r_where),
        "target_channel_id": opt_str(resource, "channelId", r_where),
    }


def activity_from_item(item: dict[str, Any], where: str) -> YouTubeActivity:
    snippet = field_dict(item, "snippet", where)
    s_where = f"{where}.snippet"
    kind = req_str(snippet, "type", s_where)
    content = opt_dict(item, "contentDetails", where) or {}
    details = opt_dict(content, kind, f"{where}.contentDetails") or {}
    ids = _resource_ids(details, f"{where}.contentDetails.{kind}")
    return YouTubeActivity(
        activity_id=req_str(item, "id", where),
        channel_id=req_str(snippet, "channelId", s_where),
        activity_type=kind,
        published_at=from_iso(snippet.get("publishedAt"), f"{s_where}.publishedAt"),
        title=opt_str(snippet, "title", s_where),
        description=opt_str(snippet, "description", s_where),
        video_id=ids["video_id"],
        playlist_id=ids["playlist_id"],
        target_channel_id=ids["target_channel_id"],
    )


def subscription_from_item(item: dict[str, Any], where: str) -> YouTubeSubscription:
    snippet = field_dict(item, "snippet", where)
    s_where = f"{where}.snippet"
    resource = field_dict(snippet, "resourceId", s_where)
    return YouTubeSubscription(
        subscription_id=req_str(item, "id", where),
        subscriber_channel_id=req_str(snippet, "channelId", s_where),
        channel_id=req_str(resource, "channelId", f"{s_where}.resourceId"),
        title=opt_str(snippet, "title", s_where),
        description=opt_str(snippet, "description", s_where),
        subscribed_at=from_iso(snippet.get("publishedAt"), f"{s_where}.publishedAt"),
        thumbnail=best_thumbnail(opt_dict(snippet, "thumbnails", s_where), f"{s_where}.thumbnails"),
    )


def activities_params(channel_id: str, cursor: str | None) -> dict[str, str]:
    params = {
        "part": "snippet,contentDetails",
        "channelId": channel_id,
        "maxResults": str(PAGE_SIZE),
    }
    return {**params, "pageToken": cursor} if cursor else params


def subscriptions_params(channel_id: str, cursor: str | None) -> dict[str, str]:
    params = {
        "part": "snippet",
        "channelId": channel_id,
        "maxResults": str(PAGE_SIZE),
        "order": "alphabetical",
    }
    return {**params, "pageToken": cursor} if cursor else params
