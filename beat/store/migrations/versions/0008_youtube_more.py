"""More YouTube: video comments, channel activities, subscriptions (FOLLOWS relationships) and
channel audience insights.

Revision ID: 0008_youtube_more
Revises: 0007_instagram
Create Date: 2026-12-06

Written by hand and frozen: it must not import beat.store.models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0008_youtube_more"
down_revision: str | None = "0007_instagram"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_json = sa.JSON().with_variant(JSONB(), "postgresql")


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _stamps() -> list[sa.Column]:
    now = sa.text("CURRENT_TIMESTAMP")
    return [
        sa.Column("provider", sa.String()),
        _when("observed_at", nullable=False),
        _when("refreshed_at"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
    ]


def upgrade() -> None:
    op.create_table(
        "youtube_comment",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("comment_id", sa.String(), nullable=False),
        sa.Column("shortcode", sa.String(), nullable=False),
        sa.Column("channel_id", sa.String()),
        sa.Column("author_channel_id", sa.String()),
        sa.Column("author_name", sa.String()),
        sa.Column("text", sa.Text()),
        sa.Column("likes", sa.BigInteger()),
        sa.Column("replies", sa.BigInteger()),
        sa.Column("is_public", sa.Boolean()),
        _when("published_at"),
        _when("edited_at"),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_youtube_comment"),
        sa.UniqueConstraint("comment_id", name="uq_youtube_comment_comment_id"),
    )
    op.create_index("ix_youtube_comment_shortcode", "youtube_comment", ["shortcode"])
    op.create_index(
        "ix_youtube_comment_author_channel_id", "youtube_comment", ["author_channel_id"]
    )
    op.create_table(
        "youtube_activity",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("activity_id", sa.String(), nullable=False),
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("activity_type", sa.String(), nullable=False),
        _when("published_at"),
        sa.Column("title", sa.Text()),
        sa.Column("description", sa.Text()),
        sa.Column("video_id", sa.String()),
        sa.Column("playlist_id", sa.String()),
        sa.Column("target_channel_id", sa.String()),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_youtube_activity"),
        sa.UniqueConstraint("activity_id", name="uq_youtube_activity_activity_id"),
    )
    op.create_index("ix_youtube_activity_channel_id", "youtube_activity", ["channel_id"])
    op.create_table(
        "youtube_relationship",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("source_channel_id", sa.String(), nullable=False),
        sa.Column("target_channel_id", sa.String(), nullable=False),
        sa.Column("relationship_type", sa.String(), nullable=False),
        sa.Column("subscription_id", sa.String()),
        sa.Column("target_title", sa.String()),
        sa.Column("target_description", sa.Text()),
        sa.Column("target_thumbnail", sa.Text()),
        _when("followed_at"),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_youtube_relationship"),
        sa.UniqueConstraint(
            "source_channel_id", "target_channel_id", name="uq_youtube_relationship"
        ),
    )
    op.create_index(
        "ix_youtube_relationship_target_channel_id", "youtube_relationship", ["target_channel_id"]
    )
    op.create_table(
        "youtube_channel_insights",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("country", _json),
        sa.Column("city", _json),
        sa.Column("gender_age", _json),
        sa.Column("period_start", sa.Date()),
        sa.Column("period_end", sa.Date()),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_youtube_channel_insights"),
        sa.UniqueConstraint("channel_id", name="uq_youtube_channel_insights_channel_id"),
    )


def downgrade() -> None:
    op.drop_table("youtube_channel_insights")
    op.drop_table("youtube_relationship")
    op.drop_table("youtube_activity")
    op.drop_table("youtube_comment")
