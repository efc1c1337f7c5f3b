"""Provider-neutral Shopify model: orders (Admin API) and products (storefront catalog).

Like ``providers.model``, ``dimensions()`` and ``metrics()`` give ``[{"key": ..., "value": ...}]``
lists (``providers.model.flatten`` turns them into a map) and leave out ``None`` values, so a
field a payload did not carry never overwrites a known one downstream.

Every value in those lists is JSON-safe: money travels as decimal text (``"598.94"``), never as a
float, and times as ISO 8601 UTC text. The dataclass fields keep the exact types (``Decimal``,
aware ``datetime``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

__all__ = [
    "PLATFORM",
    "ShopifyImage",
    "ShopifyOrder",
    "ShopifyProduct",
    "ShopifyVariant",
]

PLATFORM: Literal["shopify"] = "shopify"


def _pairs(items: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in items if v is not None]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _money(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class ShopifyOrder:
    """One order from the Admin API (``/admin/api/{version}/orders.json``)."""

    platform_order_id: str
    store: str
    name: str | None = None
    #: ``fulfillments[0].status`` (the original's "status"); None while nothing shipped.
    status: str | None = None
    financial_status: str | None = None
    landing_site: str | None = None
    #: ``line_items[0].vendor`` (the original's "store_name").
    store_name: str | None = None
    #: ``utm_*`` query parameters of ``landing_site``.
    utm_params: Mapping[str, str] = field(default_factory=dict, hash=False)
    created_at: datetime | None = None
    #: Shopify's own updated_at: when the order last changed (refund, edit, fulfillment).
    updated_at: datetime | None = None
    total_price: Decimal | None = None
    #: ``current_total_price``: the total after refunds, returns and edits.
    current_total_price: Decimal | None = None
    #: The sum of successful refund transactions.
    total_refunded: Decimal | None = None
    currency: str | None = None
    line_item_count: int = 0
    #: The order object as Shopify sent it, less the customer's personal data
    #: (``providers.shopify.admin.scrub_personal_data``).
    order_data: Mapping[str, Any] = field(default_factory=dict, hash=False, repr=False)
    platform: Literal["shopify"] = PLATFORM

    @property
    def amount_owed(self) -> Decimal | None:
        """What the merchant is owed now: Shopify's current total when it sends one, else the
        original total less the refunds."""
        if self.current_total_price is not None:
            return self.current_total_price
        if self.total_price is None:
            return None
        return self.total_price - (self.total_refunded or Decimal(0))

    def metrics(self) -> list[dict[str, Any]]:
        return _pairs(
            (
                ("total_price", _money(self.total_price)),
                ("current_total_price", _money(self.amount_owed)),
                ("total_refunded", _money(self.total_refunded)),
                ("line_item_count", self.line_item_count),
            )
        )

    def dimensions(self) -> list[dict[str, Any]]:
        return _pairs(
            (
                ("platform_order_id", self.platform_order_id),
                ("name", self.name),
                ("status", self.status),
                ("financial_status", self.financial_status),
                ("landing_site", self.landing_site),
                ("store_name", self.store_name),
                ("utm_params", dict(self.utm_params)),
                ("created_at", _iso(self.created_at)),
                ("updated_at", _iso(self.updated_at)),
                ("currency", self.currency),
                ("order_data", dict(self.order_data)),
                ("platform", self.platform),
                ("store", self.store),
            )
        )


@dataclass(frozen=True, slots=True)
class ShopifyVariant:
    variant_id: str
    title: str | None = None
    sku: str | None = None
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    available: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.variant_id,
            "title": self.title,
            "sku": self.sku,
            "price": _money(self.price),
            "compare_at_price": _money(self.compare_at_price),
            "available": self.available,
        }


@dataclass(frozen=True, slots=True)
class ShopifyImage:
    src: str
    image_id: str | None = None
    width: int | None = None
    height: int | None = None
    position: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.image_id,
            "src": self.src,
            "width": self.width,
            "height": self.height,
            "position": self.position,
        }


@dataclass(frozen=True, slots=True)
class ShopifyProduct:
    """One product of a store's public catalog (``/products.json``)."""

    product_id: str
    store: str
    title: str | None = None
    handle: str | None = None
    vendor: str | None = None
    product_type: str | None = None
    tags: tuple[str, ...] = ()
    published_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    variants: tuple[ShopifyVariant, ...] = ()
    images: tuple[ShopifyImage, ...] = ()
    platform: Literal["shopify"] = PLATFORM

    def prices(self) -> list[Decimal]:
        return [v.price for v in self.variants if v.price is not None]

    def metrics(self) -> list[dict[str, Any]]:
        prices = self.prices()
        return _pairs(
            (
                ("variant_count", len(self.variants)),
                ("available_variant_count", sum(1 for v in self.variants if v.available)),
                ("image_count", len(self.images)),
                ("min_price", _money(min(prices)) if prices else None),
                ("max_price", _money(max(prices)) if prices else None),
            )
        )

    def dimensions(self) -> list[dict[str, Any]]:
        return _pairs(
            (
                ("product_id", self.product_id),
                ("title", self.title),
                ("handle", self.handle),
                ("vendor", self.vendor),
                ("product_type", self.product_type),
                ("tags", list(self.tags)),
                ("published_at", _iso(self.published_at)),
                ("created_at", _iso(self.created_at)),
                ("updated_at", _iso(self.updated_at)),
                ("variants", [v.as_dict() for v in self.variants]),
                ("images", [i.as_dict() for i in self.images]),
                ("platform", self.platform),
                ("store", self.store),
            )
        )
