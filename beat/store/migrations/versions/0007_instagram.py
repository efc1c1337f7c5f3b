"""Instagram: observation time on accounts and posts, carousel children; relationship and
activity logs.

Revision ID: 0007_instagram
Revises: 0006_ui
Create Date: 2026-12-06

Written by hand and frozen: it must not import beat.store.models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0007_instagram"
down_revision: str | None = "0006_ui"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_json = sa.JSON().with_variant(JSONB(), "postgresql")


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("instagram_account") as batch:
        batch.add_column(_when("observed_at"))
    with op.batch_alter_table("instagram_post") as batch:
        batch.add_column(_when("observed_at"))
        batch.add_column(sa.Column("children", _json))
    op.create_table(
        "profile_relationship_log",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("relationship_type", sa.String(), nullable=False),
        sa.Column("source_profile_id", sa.String(), nullable=False),
        sa.Column("target_profile_id", sa.String(), nullable=False),
        sa.Column("source_handle", sa.String()),
        sa.Column("target_handle", sa.String()),
        sa.Column("source_dimensions", _json),
        sa.Column("target_dimensions", _json),
        sa.Column("provider", sa.String()),
        _when("first_observed_at", nullable=False),
        _when("last_observed_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_profile_relationship_log"),
        sa.UniqueConstraint(
            "platform",
            "relationship_type",
            "source_profile_id",
            "target_profile_id",
            name="uq_profile_relationship_log_pair",
        ),
    )
    op.create_index(
        "ix_profile_relationship_log_target",
        "profile_relationship_log",
        ["platform", "target_profile_id"],
    )
    op.create_table(
        "post_activity_log",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("activity_type", sa.String(), nullable=False),
        sa.Column("shortcode", sa.String(), nullable=False),
        sa.Column("activity_key", sa.String(), nullable=False),
        sa.Column("actor_profile_id", sa.String()),
        sa.Column("actor_handle", sa.String()),
        sa.Column("comment_id", sa.String()),
        sa.Column("text", sa.Text()),
        _when("activity_time"),
        sa.Column("dimensions", _json),
        sa.Column("provider", sa.String()),
        _when("first_observed_at", nullable=False),
        _when("last_observed_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_post_activity_log"),
        sa.UniqueConstraint(
            "platform",
            "activity_type",
            "shortcode",
            "activity_key",
            name="uq_post_activity_log_activity",
        ),
    )
    op.create_index(
        "ix_post_activity_log_actor", "post_activity_log", ["platform", "actor_profile_id"]
    )


def downgrade() -> None:
    op.drop_table("post_activity_log")
    op.drop_table("profile_relationship_log")
    with op.batch_alter_table("instagram_post") as batch:
        batch.drop_column("children")
        batch.drop_column("observed_at")
    with op.batch_alter_table("instagram_account") as batch:
        batch.drop_column("observed_at")
