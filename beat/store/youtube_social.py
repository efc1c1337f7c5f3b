"""Upserts of what people do around YouTube videos and channels, and their events.

* Comments (fetch_yt_post_comments): youtube_comment, one row per comment id; each goes out as
  the original's `post_activity_log_events` with activity_type COMMENT.
* Activities (refresh_yt_activities): youtube_activity, one row per activity id. No event: the
  original declared `yt_activity_log_events` but its payload is not known (§6), so we do not
  invent one.
* Audience insights (refresh_yt_profile_insights): youtube_channel_insights, one row per
  channel (country, city, gender_age maps and the days they cover). No event: the original's
  §6 names none for insights.
* Subscriptions (refresh_yt_profile_relationship): youtube_relationship, one row per (source,
  target); each goes out as `profile_relationship_log_events`, relationship_type FOLLOWS.

As for channels and videos, a row is only overwritten by an observation at least as new as its
own, and events go out only for fresh fetches (never for a rebuild from stored raw responses).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from beat.events.formats import event_time
from beat.store.db import observation_stamps
from beat.store.instagram import data_event
from beat.store.models_youtube import (
    youtube_activity,
    youtube_channel_insights,
    youtube_comment,
    youtube_relationship,
)
from beat.store.outbox import OutboxEvent, write_events
from beat.store.youtube import PLATFORM, newest_per_key, upsert_newer
from providers.model import flatten

if TYPE_CHECKING:
    from beat.pipeline.youtube import (
        ObservedActivity,
        ObservedComment,
        ObservedInsights,
        ObservedSubscription,
    )

#: The original's activity type of a comment (post_activity_log).
COMMENT = "COMMENT"
#: The original's relationship type (profile_relationship_log): a subscription is a follow.
FOLLOWS = "FOLLOWS"


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
        **observation_stamps(provider, item.observed_at, now),
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


def activity_row(item: ObservedActivity, provider: str, now: datetime) -> dict[str, Any]:
    a = item.activity
    return {
        "activity_id": a.activity_id,
        "channel_id": a.channel_id,
        "activity_type": a.activity_type,
        "published_at": a.published_at,
        "title": a.title,
        "description": a.description,
        "video_id": a.video_id,
        "playlist_id": a.playlist_id,
        "target_channel_id": a.target_channel_id,
        **observation_stamps(provider, item.observed_at, now),
    }


def upsert_activities(conn: Connection, activities: Sequence[tuple[ObservedActivity, str]]) -> None:
    if not activities:
        return
    now = datetime.now(UTC)
    chosen = newest_per_key(activities, lambda i: i.activity.activity_id)
    upsert_newer(conn, youtube_activity, ("activity_id",),
                 [activity_row(a, p, now) for a, p in chosen])  # fmt: skip


def relationship_row(item: ObservedSubscription, provider: str, now: datetime) -> dict[str, Any]:
    s = item.subscription
    return {
        "source_channel_id": s.subscriber_channel_id,
        "target_channel_id": s.channel_id,
        "relationship_type": FOLLOWS,
        "subscription_id": s.subscription_id,
        "target_title": s.title,
        "target_description": s.description,
        "target_thumbnail": s.thumbnail,
        "followed_at": s.subscribed_at,
        **observation_stamps(provider, item.observed_at, now),
    }


def relationship_event(item: ObservedSubscription, provider: str) -> OutboxEvent:
    s = item.subscription
    target = {"title": s.title, "description": s.description, "thumbnail": s.thumbnail}
    return data_event(
        "profile_relationship_log_events",
        {
            "source": provider,
            "platform": PLATFORM,
            "relationship_type": FOLLOWS,
            "source_profile_id": s.subscriber_channel_id,
            "target_profile_id": s.channel_id,
            "event_timestamp": event_time(item.observed_at),
            # What the answer tells about each side (YouTube's handle is the profile id); the
            # same keys as Instagram's FOLLOWS events (beat/store/instagram_activity.py).
            "source_dimensions": {"handle": s.subscriber_channel_id},
            "target_dimensions": {
                "handle": s.channel_id,
                **{k: v for k, v in target.items() if v is not None},
                **({"followed_at": event_time(s.subscribed_at)} if s.subscribed_at else {}),
            },
        },
    )


def upsert_relationships(
    conn: Connection, follows: Sequence[tuple[ObservedSubscription, str]], *, publish: bool = True
) -> None:
    if not follows:
        return
    now = datetime.now(UTC)
    chosen = newest_per_key(
        follows, lambda i: (i.subscription.subscriber_channel_id, i.subscription.channel_id)
    )
    upsert_newer(conn, youtube_relationship, ("source_channel_id", "target_channel_id"),
                 [relationship_row(r, p, now) for r, p in chosen])  # fmt: skip
    if publish:
        write_events(conn, [relationship_event(r, p) for r, p in chosen])


def insights_row(item: ObservedInsights, provider: str, now: datetime) -> dict[str, Any]:
    reports = {r.report: r for r in item.reports}
    periods = [(r.start, r.end) for r in item.reports if r.start and r.end]
    start, end = periods[0] if periods else (None, None)
    return {
        "channel_id": item.channel_id,
        **{
            name: dict(reports[name].values) if name in reports else None
            for name in ("country", "city", "gender_age")
        },
        "period_start": start,
        "period_end": end,
        **observation_stamps(provider, item.observed_at, now),
    }


def upsert_insights(conn: Connection, insights: Sequence[tuple[ObservedInsights, str]]) -> None:
    if not insights:
        return
    now = datetime.now(UTC)
    chosen = newest_per_key(insights, lambda i: i.channel_id)
    upsert_newer(conn, youtube_channel_insights, ("channel_id",),
                 [insights_row(i, p, now) for i, p in chosen])  # fmt: skip
