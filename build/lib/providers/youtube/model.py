"""Provider-neutral YouTube model.

Every YouTube adapter's parsers produce these objects, whichever API answered. ``metrics()`` and
``dimensions()`` give the ``[{"key": ..., "value": ...}]`` lists the original engine emitted, with
its key names (``providers.model.flatten`` turns one into a map). As for Instagram, keys whose
value is ``None`` are left out: a provider that does not expose a field says nothing about it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "SHORT_MAX_SECONDS",
    "VIDEO_POST_TYPES",
    "SearchResult",
    "VideoPostType",
    "YouTubeChannel",
    "YouTubeVideo",
    "iso_duration_seconds",
    "post_type_for",
]

VideoPostType = Literal["video", "short"]
VIDEO_POST_TYPES: frozenset[str] = frozenset({"video", "short"})

#: The original rule: a video is a ``short`` when it lasts 60 s or less.
SHORT_MAX_SECONDS = 60

# YouTube durations use weeks, days, hours, minutes and seconds only (``PT4M13S``, ``P1DT2H``,
# ``P0D`` for live broadcasts); years and months never appear.
_ISO_DURATION = re.compile(
    r"^P(?!$)(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}


def iso_duration_seconds(text: str) -> int | None:
    """Seconds in an ISO-8601 duration as YouTube writes it, or None when it is not one."""
    match = _ISO_DURATION.match(text.strip()) if len(text) <= 40 else None
    if match is None:
        return None
    total = sum(int(match.group(u) or 0) * s for u, s in _UNIT_SECONDS.items())
    return total + int(float(match.group("s") or 0))


def post_type_for(duration_seconds: int | None) -> VideoPostType:
    """``video`` when the duration exceeds 60 s. An unknown or zero duration (live and upcoming
    broadcasts say ``P0D``) is not evidence of a short, so it stays ``video``."""
    if duration_seconds is None or duration_seconds <= 0:
        return "video"
    return "video" if duration_seconds > SHORT_MAX_SECONDS else "short"


def _pairs(items: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in items if v is not None]


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


@dataclass(frozen=True, slots=True)
class YouTubeChannel:
    """One channel. ``custom_url`` is the ``@handle`` (lower case); ``thumbnails`` is the JSON
    text of the size -> image map, as the original stored it."""

    channel_id: str
    title: str | None = None
    description: str | None = None
    custom_url: str | None = None
    country: str | None = None
    published_at: datetime | None = None
    thumbnail: str | None = None
    thumbnails: str | None = None
    uploads_playlist_id: str | None = None
    #: None when the channel hides it (then ``hidden_subscriber_count`` is True).
    subscriber_count: int | None = None
    hidden_subscriber_count: bool | None = None
    view_count: int | None = None
    video_count: int | None = None

    @property
    def handle(self) -> str | None:
        """The handle without its ``@``."""
        return self.custom_url.lstrip("@") if self.custom_url else None

    @property
    def taken_at_timestamp(self) -> int | None:
        return _epoch(self.published_at)

    def metrics(self) -> list[dict[str, Any]]:
        return _pairs(
            (
                ("video_count", self.video_count),
                ("subscriber_count", self.subscriber_count),
                ("hidden_subscriber_count", self.hidden_subscriber_count),
                ("view_count", self.view_count),
            )
        )

    def dimensions(self) -> list[dict[str, Any]]:
        return _pairs(
            (
                ("channel_id", self.channel_id),
                ("title", self.title),
                ("description", self.description),
                ("custom_url", self.custom_url),
                ("taken_at_timestamp", self.taken_at_timestamp),
                ("thumbnails", self.thumbnails),
                ("thumbnail", self.thumbnail),
                ("country", self.country),
                ("uploads_playlist_id", self.uploads_playlist_id),
            )
        )


@dataclass(frozen=True, slots=True)
class YouTubeVideo:
    """One video. ``like_count`` is None when the owner hides likes (or the provider omits
    them); ``content_rating`` is the JSON text of the rating map, None when empty."""

    video_id: str
    channel_id: str | None = None
    channel_title: str | None = None
    title: str | None = None
    description: str | None = None
    published_at: datetime | None = None
    duration_seconds: int | None = None
    tags: tuple[str, ...] = ()
    category_id: str | None = None
    audio_language: str | None = None
    is_licensed: bool | None = None
    content_rating: str | None = None
    definition: str | None = None
    thumbnail: str | None = None
    view_count: int | None = None
    like_count: int | None = None
    comment_count: int | None = None
    favourite_count: int | None = None

    @property
    def post_type(self) -> VideoPostType:
        return post_type_for(self.duration_seconds)

    @property
    def taken_at_timestamp(self) -> int | None:
        return _epoch(self.published_at)

    def metrics(self) -> list[dict[str, Any]]:
        return _pairs(
            (
                ("comments", self.comment_count),
                ("favourite_count", self.favourite_count),
                ("likes", self.like_count),
                ("view_count", self.view_count),
            )
        )

    def dimensions(self) -> list[dict[str, Any]]:
        return _pairs(
            (
                ("shortcode", self.video_id),
                ("channel_id", self.channel_id),
                ("title", self.title),
                ("channel_title", self.channel_title),
                ("description", self.description),
                ("taken_at_timestamp", self.taken_at_timestamp),
                ("duration", self.duration_seconds),
                ("tags", list(self.tags) if self.tags else None),
                ("category_id", self.category_id),
                ("audio_language", self.audio_language),
                ("is_licensed", self.is_licensed),
                ("content_rating", self.content_rating),
                ("definition", self.definition),
                ("thumbnail", self.thumbnail),
                ("post_type", self.post_type),
            )
        )


SearchKind = Literal["video", "channel", "playlist"]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One search hit: ``kind`` says which of the ids is the hit itself."""

    kind: SearchKind
    video_id: str | None = None
    channel_id: str | None = None
    playlist_id: str | None = None
    title: str | None = None
    description: str | None = None
    channel_title: str | None = None
    published_at: datetime | None = None
    thumbnail: str | None = None

    @property
    def target_id(self) -> str:
        """The id of what was found (video, channel or playlist)."""
        target = {"video": self.video_id, "channel": self.channel_id}.get(
            self.kind, self.playlist_id
        )
        return target or ""
