"""Which posts a hashtag listing showed: one row per (hashtag, post), a log of sightings like
the relationship log (`first_observed_at` only moves back, `last_observed_at` forward). The
posts themselves are rows of instagram_post."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, UniqueConstraint

from beat.store.models import Id, UTCDateTime, metadata

instagram_hashtag_post = Table(
    "instagram_hashtag_post",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    #: Lower-case, without "#".
    Column("hashtag", String, nullable=False),
    Column("shortcode", String, nullable=False),
    Column("provider", String),
    Column("first_observed_at", UTCDateTime(), nullable=False),
    Column("last_observed_at", UTCDateTime(), nullable=False),
    UniqueConstraint("hashtag", "shortcode", name="uq_instagram_hashtag_post_pair"),
    Index("ix_instagram_hashtag_post_shortcode", "shortcode"),
)
