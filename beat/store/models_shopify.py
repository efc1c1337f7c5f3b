"""Shopify orders and storefront products (the original's `order` table, and products).

Rows hold no customer personal data: the Admin parser drops it before anything is stored
(see README "Shopify"). `observed_at` is when Shopify answered; only a newer observation
overwrites a row.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from beat.store.models import Id, Json, UTCDateTime, metadata, observation_columns

# Shopify amounts are decimal text with up to 4 places for some currencies.
Money = Numeric(20, 4)


shopify_order = Table(
    "shopify_order",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("platform_order_id", String, nullable=False, unique=True),
    Column("platform", String, nullable=False),
    Column("store", String, nullable=False, index=True),
    Column("name", String),
    #: fulfillments[0].status, as the original.
    Column("status", String),
    Column("financial_status", String),
    Column("store_name", String),
    Column("landing_site", Text),
    Column("utm_params", Json),
    Column("ordered_at", UTCDateTime()),
    #: When Shopify last changed the order (its updated_at).
    Column("order_updated_at", UTCDateTime()),
    Column("currency", String),
    #: What the order totalled when placed.
    Column("total_price", Money),
    #: What the merchant is owed now: after refunds, returns and edits.
    Column("current_total_price", Money),
    Column("total_refunded", Money),
    Column("line_item_count", Integer),
    #: The order as Shopify sent it, less customer personal data.
    Column("order_data", Json),
    *observation_columns(),
)

shopify_product = Table(
    "shopify_product",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("store", String, nullable=False),
    Column("product_id", String, nullable=False),
    Column("title", Text),
    Column("handle", String),
    Column("vendor", String),
    Column("product_type", String),
    Column("tags", Json),
    Column("published_at", UTCDateTime()),
    Column("min_price", Money),
    Column("max_price", Money),
    Column("variant_count", Integer),
    Column("available_variant_count", Integer),
    Column("image_url", Text),
    Column("variants", Json),
    *observation_columns(),
    UniqueConstraint("store", "product_id"),
)
