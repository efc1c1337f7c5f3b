"""Shopify flows: a store's orders (the original's refresh_orders_by_store, paged to the end)
and its public storefront catalog."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from beat.flows.base import Family, Flow, FlowParams

# A shop name or its myshopify.com host; providers.shopify.base.normalize_store has the last word.
Store = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{0,120}$")]
# ISO 8601, as Shopify's Admin API takes it ("2024-05-01" or "2024-05-01T00:00:00Z").
Timestamp = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]+)?$")]


class OrdersParams(FlowParams):
    store: Store
    #: Orders a page (Shopify's limit: 1..250); every page is read.
    limit: int = Field(default=250, ge=1, le=250)
    updated_at_min: Timestamp | None = None
    created_at_min: Timestamp | None = None
    created_at_max: Timestamp | None = None


class ProductsParams(FlowParams):
    store: Store
    max_pages: int | None = Field(default=None, ge=1, le=100)


FAMILIES = (
    Family(
        name="shopify",
        platform="SHOPIFY",
        job_name="shopify_batch_job",
        sensor_name="shopify_batch_sensor",
    ),
)

FLOWS = (
    Flow(
        name="refresh_orders_by_store",
        platform="SHOPIFY",
        family="shopify",
        fetch_type="orders",
        params_model=OrdersParams,
        description="Every order of a store (any status) within the dates, all pages.",
    ),
    Flow(
        name="refresh_products_by_store",
        platform="SHOPIFY",
        family="shopify",
        fetch_type="products",
        params_model=ProductsParams,
        description="A store's public catalog (storefront /products.json).",
    ),
)
