"""Initial schema: request queue, outbox, credentials, Instagram tables, asset log.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Written by hand and frozen: it must not import beat.store.models, which will keep changing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NOW = sa.text("CURRENT_TIMESTAMP")
PENDING = sa.text("status = 'PENDING'")
PROCESSING = sa.text("status = 'PROCESSING'")
UNPUBLISHED = sa.text("published_at IS NULL")


def _ts(name: str, *, nullable: bool = True, now_default: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=NOW if now_default else None,
    )


def _id() -> sa.Column:
    return sa.Column("id", ID, primary_key=True, autoincrement=True)


def _stamps() -> list[sa.Column]:
    return [
        _ts("created_at", nullable=False, now_default=True),
        _ts("updated_at", nullable=False, now_default=True),
    ]


def upgrade() -> None:
    _create_scrape_request_log()
    _create_outbox()
    _create_credential()
    _create_instagram_account()
    _create_instagram_post()
    _create_asset_log()


def downgrade() -> None:
    for table in (
        "asset_log",
        "instagram_post",
        "instagram_account",
        "credential",
        "outbox",
        "scrape_request_log",
    ):
        op.drop_table(table)


def _create_scrape_request_log() -> None:
    op.create_table(
        "scrape_request_log",
        _id(),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("flow", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("retry_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
        _ts("created_at", nullable=False, now_default=True),
        _ts("picked_at"),
        _ts("scraped_at"),
        _ts("expires_at"),
        sa.Column("data", sa.Text()),
        sa.Column("account_id", sa.String()),
        sa.Column("source", sa.String()),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("max_attempts", sa.Integer(), nullable=False, server_default=sa.text("3")),
        _ts("run_after", nullable=False, now_default=True),
        _ts("lease_expires_at"),
        sa.Column("batch_id", sa.String()),
        sa.Column("dagster_run_id", sa.String()),
        sa.Column("provider", sa.String()),
        sa.Column("last_error", sa.Text()),
        _ts("updated_at", nullable=False, now_default=True),
        sa.PrimaryKeyConstraint("id", name="pk_scrape_request_log"),
        sa.UniqueConstraint("idempotency_key", name="uq_scrape_request_log_idempotency_key"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'PROCESSING', 'COMPLETE', 'FAILED', 'EXPIRED')",
            name="ck_scrape_request_log_status",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_scrape_request_log_batch_id", "scrape_request_log", ["batch_id"])
    op.create_index(
        "ix_scrape_request_log_claim",
        "scrape_request_log",
        ["flow", sa.text("priority DESC"), "created_at", "id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(
        "ix_scrape_request_log_lease",
        "scrape_request_log",
        ["lease_expires_at"],
        postgresql_where=PROCESSING,
        sqlite_where=PROCESSING,
    )
    op.create_index(
        "ix_scrape_request_log_pending_expiry",
        "scrape_request_log",
        ["expires_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def _create_outbox() -> None:
    op.create_table(
        "outbox",
        _id(),
        sa.Column("exchange", sa.String(), nullable=False),
        sa.Column("routing_key", sa.String(), nullable=False),
        # `events` is a JSON array of `event_count` events stored as `event_format` says (see
        # beat.store.outbox); json rather than jsonb, for write speed.
        sa.Column("event_format", sa.String(), nullable=False),
        sa.Column("event_id_seed", sa.Uuid()),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        _ts("created_at", nullable=False, now_default=True),
        _ts("published_at"),
        sa.Column("publish_attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.CheckConstraint("event_count > 0", name="ck_outbox_event_count"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        postgresql_where=UNPUBLISHED,
        sqlite_where=UNPUBLISHED,
    )


def _create_credential() -> None:
    op.create_table(
        "credential",
        _id(),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("credentials", JSON, nullable=False),
        sa.Column("handle", sa.String()),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        _ts("disabled_till"),
        sa.Column(
            "data_access_expired", sa.Boolean(), nullable=False, server_default=sa.text("false")
        ),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_credential"),
        sa.UniqueConstraint("idempotency_key", name="uq_credential_idempotency_key"),
    )


def _create_instagram_account() -> None:
    op.create_table(
        "instagram_account",
        _id(),
        sa.Column("profile_id", sa.String(), nullable=False),
        sa.Column("handle", sa.String()),
        sa.Column("full_name", sa.String()),
        sa.Column("profile_type", sa.String()),
        sa.Column("biography", sa.Text()),
        sa.Column("followers", sa.BigInteger()),
        sa.Column("following", sa.BigInteger()),
        sa.Column("media_count", sa.Integer()),
        sa.Column("profile_pic_url", sa.Text()),
        sa.Column("category", sa.String()),
        sa.Column("category_id", sa.String()),
        sa.Column("fbid", sa.String()),
        sa.Column("external_url", sa.Text()),
        sa.Column("is_business_or_creator", sa.Boolean()),
        sa.Column("is_private", sa.Boolean()),
        sa.Column("is_verified", sa.Boolean()),
        sa.Column("provider", sa.String()),
        _ts("refreshed_at"),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_instagram_account"),
        sa.UniqueConstraint("profile_id", name="uq_instagram_account_profile_id"),
    )
    op.create_index("ix_instagram_account_handle", "instagram_account", ["handle"])


def _create_instagram_post() -> None:
    op.create_table(
        "instagram_post",
        _id(),
        sa.Column("shortcode", sa.String(), nullable=False),
        sa.Column("post_id", sa.String()),
        sa.Column("profile_id", sa.String()),
        sa.Column("handle", sa.String()),
        sa.Column("post_type", sa.String()),
        sa.Column("content_type", sa.String()),
        sa.Column("caption", sa.Text()),
        sa.Column("likes", sa.BigInteger()),
        sa.Column("comments", sa.BigInteger()),
        sa.Column("views", sa.BigInteger()),
        sa.Column("plays", sa.BigInteger()),
        sa.Column("display_url", sa.Text()),
        sa.Column("thumbnail_url", sa.Text()),
        _ts("publish_time"),
        sa.Column("provider", sa.String()),
        _ts("refreshed_at"),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_instagram_post"),
        sa.UniqueConstraint("shortcode", name="uq_instagram_post_shortcode"),
    )
    op.create_index("ix_instagram_post_profile_id", "instagram_post", ["profile_id"])


def _create_asset_log() -> None:
    op.create_table(
        "asset_log",
        _id(),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("entity_type", sa.String()),
        sa.Column("platform", sa.String()),
        sa.Column("asset_type", sa.String()),
        sa.Column("asset_url", sa.Text()),
        sa.Column("original_url", sa.Text()),
        sa.Column("content_hash", sa.String()),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_asset_log"),
        sa.UniqueConstraint("entity_id", name="uq_asset_log_entity_id"),
    )
