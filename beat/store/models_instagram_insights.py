"""Instagram insights read with the creator's own Graph token: one row per post (lifetime
metrics) and one per creator (audience demographics), each the newest observation."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table

from beat.store.models import Id, Json, UTCDateTime, metadata

_POST_COUNTERS = ("reach", "likes", "comments", "saved", "shares", "views", "impressions",
                  "plays", "engagement", "interactions", "video_views",
                  # a story's: replies, follows, profile visits and its navigation (taps, exits)
                  "replies", "follows", "profile_visits", "navigation", "taps_forward",
                  "taps_back", "exits", "automatic_forward", "swipe_forward")  # fmt: skip

instagram_post_insights = Table(
    "instagram_post_insights",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shortcode", String, nullable=False, unique=True),
    Column("post_id", String, nullable=False),
    Column("handle", String),
    Column("post_type", String),
    #: Lifetime counters Graph gave (a metric not asked for this post type stays null).
    *(Column(name, BigInteger) for name in _POST_COUNTERS),
    #: Every metric as Graph named it, e.g. {"total_interactions": 12}.
    Column("metrics", Json),
    Column("provider", String),
    Column("observed_at", UTCDateTime(), nullable=False),
    Column("refreshed_at", UTCDateTime(), nullable=False),
)

_AUDIENCE_MAPS = tuple(
    f"{who}_{breakdown}"
    for who in ("audience", "reached", "engaged")
    for breakdown in ("country", "city", "gender_age")
)

instagram_profile_insights = Table(
    "instagram_profile_insights",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    #: The stored account's id for the handle when there is one, else the Graph user id.
    Column("profile_id", String, nullable=False, unique=True),
    Column("handle", String, nullable=False, index=True),
    Column("graph_user_id", String),
    #: audience_* are the followers' demographics (the original's names), reached_* and
    #: engaged_* those of the accounts reached and engaged over the last 90 days:
    #: {country: n}, {city: n}, {male|female|uncategorized: {age range: n}}.
    *(Column(name, Json) for name in _AUDIENCE_MAPS),
    Column("audience_locale", Json),
    Column("provider", String),
    Column("observed_at", UTCDateTime(), nullable=False),
    Column("refreshed_at", UTCDateTime(), nullable=False),
)
