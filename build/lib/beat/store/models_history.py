"""Observation history: every refresh of a profile or post keeps what it saw, and when.

`instagram_account` and friends hold the latest state; these logs hold one row per
observation (the original's profile_log/post_log), so any past day can be analysed as it
was. The natural key includes the observation time, so re-parsing the same stored raw
response (a backfill) writes nothing twice.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, Text, UniqueConstraint

from beat.store.models import Id, Json, UTCDateTime, metadata

profile_log = Table(
    "profile_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("platform", String, nullable=False),
    Column("profile_id", String, nullable=False),
    Column("handle", String),
    #: When the provider answered (its Date header), not when we wrote the row.
    Column("observed_at", UTCDateTime(), nullable=False),
    Column("provider", String),
    Column("followers", BigInteger),
    Column("following", BigInteger),
    #: Posts on Instagram, uploads on YouTube.
    Column("media_count", BigInteger),
    Column("views", BigInteger),
    Column("metrics", Json),
    Column("dimensions", Json),
    UniqueConstraint("platform", "profile_id", "observed_at"),
    Index("ix_profile_log_platform_observed_at", "platform", "observed_at"),
)

post_log = Table(
    "post_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("platform", String, nullable=False),
    #: The platform's natural key: the shortcode on Instagram, the video id on YouTube.
    Column("post_key", String, nullable=False),
    Column("post_id", String),
    Column("profile_id", String),
    Column("handle", String),
    Column("post_type", String),
    Column("publish_time", UTCDateTime()),
    Column("observed_at", UTCDateTime(), nullable=False),
    Column("provider", String),
    Column("likes", BigInteger),
    Column("comments", BigInteger),
    Column("views", BigInteger),
    Column("plays", BigInteger),
    Column("reach", BigInteger),
    Column("caption", Text),
    Column("metrics", Json),
    Column("dimensions", Json),
    UniqueConstraint("platform", "post_key", "observed_at"),
    Index("ix_post_log_platform_observed_at", "platform", "observed_at"),
    Index("ix_post_log_profile_id", "platform", "profile_id"),
)
