"""Upserts of what people do around YouTube videos and channels, and their events.

Comments (fetch_yt_post_comments) land in youtube_comment, one row per comment id, and go out
as the original's `post_activity_log_events` with activity_type COMMENT. As for channels and
videos, a row is only overwritten by an observation at least as new as its own, and events go
out only for fresh fetches (never for a rebuild from stored raw responses).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from beat.events.formats import event_time
from beat.store.instagram import data_event
from beat.store.models_youtube import youtube_comment
from beat.store.outbox import OutboxEvent, write_events
from beat.store.youtube import PLATFORM, newest_per_key, upsert_newer
from providers.model import flatten

if TYPE_CHECKING:
    from beat.pipeline.youtube import ObservedComment

#: The original's activity type of a comment (post_activity_log).
COMMENT = "COMMENT"


def comment_row(item: ObservedComment, provider: str, now: datetime) -> dict[str, Any]:
    c = item.comment
    return {
        "comment_id": c.comment_id,
        "shortcode": c.video_id,
        "channel_id": c.channel_id,
        "author_channel_id": c.author_channel_id,
        "author_name": c.author_name,
        "text": c.text,
        "likes": c.like_count,
        "replies": c.reply_count,
        "is_public": c.is_public,
        "published_at": c.published_at,
        "edited_at": c.edited_at,
        "provider": provider,
        "observed_at": item.observed_at,
        "refreshed_at": item.observed_at,
        "created_at": now,
        "updated_at": now,
    }


def comment_event(item: ObservedComment, provider: str) -> OutboxEvent:
    c = item.comment
    return data_event(
        "post_activity_log_events",
        {
            "source": provider,
            "platform": PLATFORM,
            # The video's channel; as for channels, YouTube's handle is the profile id.
            "profile_id": c.channel_id,
            "handle": c.channel_id,
            "activity_type": COMMENT,
            "actor_profile_id": c.author_channel_id,
            "shortcode": c.video_id,
            "publish_time": event_time(c.published_at) if c.published_at else None,
            "event_timestamp": event_time(item.observed_at),
            "metrics": flatten(c.metrics()),
            "dimensions": flatten(c.dimensions()),
        },
    )


def upsert_comments(
    conn: Connection, comments: Sequence[tuple[ObservedComment, str]], *, publish: bool = True
) -> None:
    """Rows and (when `publish`) one COMMENT activity event per comment, in the caller's
    transaction."""
    if not comments:
        return
    now = datetime.now(UTC)
    chosen = newest_per_key(comments, lambda i: i.comment.comment_id)
    upsert_newer(conn, youtube_comment, ("comment_id",),
                 [comment_row(c, p, now) for c, p in chosen])  # fmt: skip
    if publish:
        write_events(conn, [comment_event(c, p) for c, p in chosen])
