"""YouTube channels and videos, Shopify orders and products.

Revision ID: 0005_youtube_shopify
Revises: 0004
Create Date: 2026-12-06

Written by hand and frozen: it must not import beat.store.models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0005_youtube_shopify"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_json = sa.JSON().with_variant(JSONB(), "postgresql")
_money = sa.Numeric(20, 4)


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
        "youtube_account",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("handle", sa.String()),
        sa.Column("title", sa.String()),
        sa.Column("description", sa.Text()),
        sa.Column("country", sa.String()),
        _when("published_at"),
        sa.Column("subscribers", sa.BigInteger()),
        sa.Column("is_subscriber_count_hidden", sa.Boolean()),
        sa.Column("uploads", sa.BigInteger()),
        sa.Column("views", sa.BigInteger()),
        sa.Column("uploads_playlist_id", sa.String()),
        sa.Column("thumbnail", sa.Text()),
        sa.Column("thumbnails", sa.Text()),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_youtube_account"),
        sa.UniqueConstraint("channel_id", name="uq_youtube_account_channel_id"),
    )
    op.create_index("ix_youtube_account_handle", "youtube_account", ["handle"])
    op.create_table(
        "youtube_post",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("shortcode", sa.String(), nullable=False),
        sa.Column("channel_id", sa.String()),
        sa.Column("channel_title", sa.String()),
        sa.Column("title", sa.Text()),
        sa.Column("description", sa.Text()),
        _when("published_at"),
        sa.Column("post_type", sa.String()),
        sa.Column("post_type_source", sa.String()),
        sa.Column("duration", sa.Integer()),
        sa.Column("views", sa.BigInteger()),
        sa.Column("likes", sa.BigInteger()),
        sa.Column("comments", sa.BigInteger()),
        sa.Column("favourites", sa.BigInteger()),
        sa.Column("category_id", sa.String()),
        sa.Column("category", sa.String()),
        sa.Column("topic", sa.String()),
        sa.Column("playlist_id", sa.String()),
        sa.Column("audio_language", sa.String()),
        sa.Column("is_licensed", sa.Boolean()),
        sa.Column("tags", _json),
        sa.Column("content_rating", sa.Text()),
        sa.Column("definition", sa.String()),
        sa.Column("thumbnail", sa.Text()),
        sa.Column("keywords", _json),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_youtube_post"),
        sa.UniqueConstraint("shortcode", name="uq_youtube_post_shortcode"),
    )
    op.create_index("ix_youtube_post_channel_id", "youtube_post", ["channel_id"])
    op.create_table(
        "shopify_order",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("platform_order_id", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("store", sa.String(), nullable=False),
        sa.Column("name", sa.String()),
        sa.Column("status", sa.String()),
        sa.Column("financial_status", sa.String()),
        sa.Column("store_name", sa.String()),
        sa.Column("landing_site", sa.Text()),
        sa.Column("utm_params", _json),
        _when("ordered_at"),
        _when("order_updated_at"),
        sa.Column("currency", sa.String()),
        sa.Column("total_price", _money),
        sa.Column("current_total_price", _money),
        sa.Column("total_refunded", _money),
        sa.Column("line_item_count", sa.Integer()),
        sa.Column("order_data", _json),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_shopify_order"),
        sa.UniqueConstraint("platform_order_id", name="uq_shopify_order_platform_order_id"),
    )
    op.create_index("ix_shopify_order_store", "shopify_order", ["store"])
    op.create_table(
        "shopify_product",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("store", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("handle", sa.String()),
        sa.Column("vendor", sa.String()),
        sa.Column("product_type", sa.String()),
        sa.Column("tags", _json),
        _when("published_at"),
        sa.Column("min_price", _money),
        sa.Column("max_price", _money),
        sa.Column("variant_count", sa.Integer()),
        sa.Column("available_variant_count", sa.Integer()),
        sa.Column("image_url", sa.Text()),
        sa.Column("variants", _json),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_shopify_product"),
        sa.UniqueConstraint("store", "product_id", name="uq_shopify_product_store"),
    )


def downgrade() -> None:
    op.drop_table("shopify_product")
    op.drop_table("shopify_order")
    op.drop_table("youtube_post")
    op.drop_table("youtube_account")
