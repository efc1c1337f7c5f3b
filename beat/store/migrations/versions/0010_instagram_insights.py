"""Instagram insights (post lifetime metrics, creator audience demographics) and the
hashtag-post link.

Revision ID: 0010_instagram_insights
Revises: 0009_operations
Create Date: 2026-12-06

Written by hand and frozen: it must not import beat.store.models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0010_instagram_insights"
down_revision: str | None = "0009_operations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_json = sa.JSON().with_variant(JSONB(), "postgresql")
_COUNTERS = ("reach", "likes", "comments", "saved", "shares", "views", "impressions", "plays",
             "engagement", "interactions", "video_views",
                  # a story's: replies, follows, profile visits and its navigation (taps, exits)
                  "replies", "follows", "profile_visits", "navigation", "taps_forward",
                  "taps_back", "exits", "automatic_forward", "swipe_forward")  # fmt: skip
_MAPS = tuple(
    f"{who}_{breakdown}"
    for who in ("audience", "reached", "engaged")
    for breakdown in ("country", "city", "gender_age")
)


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "instagram_post_insights",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("shortcode", sa.String(), nullable=False),
        sa.Column("post_id", sa.String(), nullable=False),
        sa.Column("handle", sa.String()),
        sa.Column("post_type", sa.String()),
        *(sa.Column(name, sa.BigInteger()) for name in _COUNTERS),
        sa.Column("metrics", _json),
        sa.Column("provider", sa.String()),
        _when("observed_at"),
        _when("refreshed_at"),
        sa.PrimaryKeyConstraint("id", name="pk_instagram_post_insights"),
        sa.UniqueConstraint("shortcode", name="uq_instagram_post_insights_shortcode"),
    )
    op.create_table(
        "instagram_profile_insights",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("profile_id", sa.String(), nullable=False),
        sa.Column("handle", sa.String(), nullable=False),
        sa.Column("graph_user_id", sa.String()),
        *(sa.Column(name, _json) for name in _MAPS),
        sa.Column("audience_locale", _json),
        sa.Column("provider", sa.String()),
        _when("observed_at"),
        _when("refreshed_at"),
        sa.PrimaryKeyConstraint("id", name="pk_instagram_profile_insights"),
        sa.UniqueConstraint("profile_id", name="uq_instagram_profile_insights_profile_id"),
    )
    op.create_index(
        "ix_instagram_profile_insights_handle", "instagram_profile_insights", ["handle"]
    )

    op.create_table(
        "instagram_hashtag_post",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("hashtag", sa.String(), nullable=False),
        sa.Column("shortcode", sa.String(), nullable=False),
        sa.Column("provider", sa.String()),
        sa.Column("first_observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_instagram_hashtag_post"),
        sa.UniqueConstraint("hashtag", "shortcode", name="uq_instagram_hashtag_post_pair"),
    )
    op.create_index("ix_instagram_hashtag_post_shortcode", "instagram_hashtag_post", ["shortcode"])


def downgrade() -> None:
    op.drop_index("ix_instagram_hashtag_post_shortcode", "instagram_hashtag_post")
    op.drop_table("instagram_hashtag_post")
    op.drop_index("ix_instagram_profile_insights_handle", "instagram_profile_insights")
    op.drop_table("instagram_profile_insights")
    op.drop_table("instagram_post_insights")
