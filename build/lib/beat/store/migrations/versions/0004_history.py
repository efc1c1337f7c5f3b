"""Observation history of profiles and posts (profile_log, post_log).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Written by hand and frozen: it must not import beat.store.models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_json = sa.JSON().with_variant(JSONB(), "postgresql")


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "profile_log",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("profile_id", sa.String(), nullable=False),
        sa.Column("handle", sa.String()),
        _when("observed_at", nullable=False),
        sa.Column("provider", sa.String()),
        sa.Column("followers", sa.BigInteger()),
        sa.Column("following", sa.BigInteger()),
        sa.Column("media_count", sa.BigInteger()),
        sa.Column("views", sa.BigInteger()),
        sa.Column("metrics", _json),
        sa.Column("dimensions", _json),
        sa.PrimaryKeyConstraint("id", name="pk_profile_log"),
        sa.UniqueConstraint(
            "platform", "profile_id", "observed_at", name="uq_profile_log_platform"
        ),
    )
    op.create_index(
        "ix_profile_log_platform_observed_at", "profile_log", ["platform", "observed_at"]
    )
    op.create_table(
        "post_log",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("post_key", sa.String(), nullable=False),
        sa.Column("post_id", sa.String()),
        sa.Column("profile_id", sa.String()),
        sa.Column("handle", sa.String()),
        sa.Column("post_type", sa.String()),
        _when("publish_time"),
        _when("observed_at", nullable=False),
        sa.Column("provider", sa.String()),
        sa.Column("likes", sa.BigInteger()),
        sa.Column("comments", sa.BigInteger()),
        sa.Column("views", sa.BigInteger()),
        sa.Column("plays", sa.BigInteger()),
        sa.Column("reach", sa.BigInteger()),
        sa.Column("caption", sa.Text()),
        sa.Column("metrics", _json),
        sa.Column("dimensions", _json),
        sa.PrimaryKeyConstraint("id", name="pk_post_log"),
        sa.UniqueConstraint("platform", "post_key", "observed_at", name="uq_post_log_platform"),
    )
    op.create_index("ix_post_log_platform_observed_at", "post_log", ["platform", "observed_at"])
    op.create_index("ix_post_log_profile_id", "post_log", ["platform", "profile_id"])


def downgrade() -> None:
    op.drop_table("post_log")
    op.drop_table("profile_log")
