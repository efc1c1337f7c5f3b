"""Upserts of Shopify orders and products, and the orders' `order_log_events`.

Rows and events carry no customer personal data (the parser scrubbed it); only a newer
observation overwrites a row (beat.store.youtube.upsert_newer).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from beat.events.formats import event_time
from beat.store.db import observation_stamps
from beat.store.instagram import data_event
from beat.store.models_shopify import shopify_order, shopify_product
from beat.store.outbox import OutboxEvent, write_events
from beat.store.youtube import newest_per_key, upsert_newer
from providers.model import flatten

if TYPE_CHECKING:
    from beat.pipeline.shopify import ObservedOrder, ObservedProduct

PLATFORM = "SHOPIFY"


def order_row(item: ObservedOrder, provider: str, now: datetime) -> dict[str, Any]:
    o = item.order
    return {
        "platform_order_id": o.platform_order_id,
        "platform": PLATFORM,
        "store": o.store,
        "name": o.name,
        "status": o.status,
        "financial_status": o.financial_status,
        "store_name": o.store_name,
        "landing_site": o.landing_site,
        "utm_params": dict(o.utm_params),
        "ordered_at": o.created_at,
        "order_updated_at": o.updated_at,
        "currency": o.currency,
        "total_price": o.total_price,
        "current_total_price": o.amount_owed,
        "total_refunded": o.total_refunded,
        "line_item_count": o.line_item_count,
        "order_data": dict(o.order_data),
        **observation_stamps(provider, item.observed_at, now),
    }


def product_row(item: ObservedProduct, provider: str, now: datetime) -> dict[str, Any]:
    p = item.product
    prices = p.prices()
    return {
        "store": p.store,
        "product_id": p.product_id,
        "title": p.title,
        "handle": p.handle,
        "vendor": p.vendor,
        "product_type": p.product_type,
        "tags": list(p.tags),
        "published_at": p.published_at,
        "min_price": min(prices) if prices else None,
        "max_price": max(prices) if prices else None,
        "variant_count": len(p.variants),
        "available_variant_count": sum(1 for v in p.variants if v.available),
        "image_url": p.images[0].src if p.images else None,
        "variants": [v.as_dict() for v in p.variants],
        **observation_stamps(provider, item.observed_at, now),
    }


def order_event(item: ObservedOrder, provider: str) -> OutboxEvent:
    o = item.order
    return data_event(
        "order_log_events",
        {
            "source": provider,
            "platform": PLATFORM,
            "platform_order_id": o.platform_order_id,
            "store": o.store,
            "event_timestamp": event_time(item.observed_at),
            "metrics": flatten(o.metrics()),
            "dimensions": _event_dimensions(o.dimensions()),
        },
    )


#: The order's own times among its dimensions (order_data keeps Shopify's text as sent).
_TIME_DIMENSIONS = ("created_at", "updated_at")


def _event_dimensions(dimensions: list[dict[str, Any]]) -> dict[str, Any]:
    """Flattened dimensions with the order's times in the event layout, as every event time
    (the consumer parses ``2006-01-02 15:04:05`` and keeps the zero time otherwise)."""
    flat = flatten(dimensions)
    for key in _TIME_DIMENSIONS:
        if key in flat:
            flat[key] = event_time(flat[key])
    return flat


def upsert_shopify(
    conn: Connection,
    orders: Sequence[tuple[ObservedOrder, str]],
    products: Sequence[tuple[ObservedProduct, str]],
    *,
    publish: bool = True,
) -> None:
    now = datetime.now(UTC)
    orders = newest_per_key(orders, lambda i: i.order.platform_order_id)
    products = newest_per_key(products, lambda i: (i.product.store, i.product.product_id))
    upsert_newer(conn, shopify_order, ("platform_order_id",),
                 [order_row(o, p, now) for o, p in orders])  # fmt: skip
    upsert_newer(conn, shopify_product, ("store", "product_id"),
                 [product_row(p, src, now) for p, src in products])  # fmt: skip
    if publish:
        write_events(conn, [order_event(o, p) for o, p in orders])
