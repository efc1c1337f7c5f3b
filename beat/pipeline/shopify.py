"""What each Shopify flow does with the crawler, and how its raw pages become rows.

As for YouTube, the outcome is built from the flow, its params and the raw pages alone, so a
backfill rebuilds exactly what the live run wrote. The raw pages hold no customer personal
data: the crawler stores them redacted (providers.shopify.admin.redact_orders_page).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from beat.pipeline.family import (
    FamilyPipeline,
    FlowHandler,
    FlowOutcome,
    WriteContext,
    raw_responses,
)
from beat.pipeline.youtube import observed_at
from beat.store.shopify import upsert_shopify
from providers.http import RawResponse
from providers.shopify.crawler import ShopifyCrawler, reparse_orders, reparse_products
from providers.shopify.model import ShopifyOrder, ShopifyProduct

ORDERS = "orders"
PRODUCTS = "products"


@dataclass(frozen=True)
class ObservedOrder:
    order: ShopifyOrder
    observed_at: datetime


@dataclass(frozen=True)
class ObservedProduct:
    product: ShopifyProduct
    observed_at: datetime


def outcome_from(
    flow: str,
    params: dict[str, Any],
    provider: str,
    raws: tuple[RawResponse, ...],
    parsed: Sequence[Any] | None = None,
) -> FlowOutcome:
    """The rows of a flow's raw pages: re-parsed by a backfill, or what the crawler already
    `parsed` out of those very pages."""
    seen = observed_at(raws)
    if flow == "refresh_orders_by_store":
        orders = parsed if parsed is not None else reparse_orders(raws, params["store"]).orders
        return FlowOutcome(provider, {ORDERS: tuple(ObservedOrder(o, seen) for o in orders)}, raws)
    if flow == "refresh_products_by_store":
        store = params["store"]
        products = parsed if parsed is not None else reparse_products(raws, store).products
        items = tuple(ObservedProduct(p, seen) for p in products)
        return FlowOutcome(provider, {PRODUCTS: items}, raws)
    raise ValueError(f"not a Shopify flow: {flow}")


async def refresh_orders_by_store(crawler: ShopifyCrawler, params: dict[str, Any]) -> FlowOutcome:
    fetched = await crawler.orders(
        params["store"],
        created_at_min=params.get("created_at_min"),
        created_at_max=params.get("created_at_max"),
        updated_at_min=params.get("updated_at_min"),
        limit=params.get("limit"),
    )
    return outcome_from(
        "refresh_orders_by_store", params, fetched.provider, tuple(fetched.raw),
        fetched.value.orders,
    )  # fmt: skip


async def refresh_products_by_store(crawler: ShopifyCrawler, params: dict[str, Any]) -> FlowOutcome:
    fetched = await crawler.products(params["store"], max_pages=params.get("max_pages"))
    return outcome_from(
        "refresh_products_by_store", params, fetched.provider, tuple(fetched.raw),
        fetched.value.products,
    )  # fmt: skip


HANDLERS: dict[str, FlowHandler] = {
    "refresh_orders_by_store": refresh_orders_by_store,
    "refresh_products_by_store": refresh_products_by_store,
}


def write_shopify(conn: Connection, outcomes: Sequence[FlowOutcome], ctx: WriteContext) -> None:
    orders = [(o, out.provider) for out in outcomes for o in out.of(ORDERS)]
    products = [(p, out.provider) for out in outcomes for p in out.of(PRODUCTS)]
    upsert_shopify(conn, orders, products, publish=not ctx.rebuild)


def reparse_shopify(record: dict[str, Any]) -> FlowOutcome:
    raw = raw_responses(record)
    return outcome_from(record["flow"], record["params"], record["provider"], raw)


def _store(params: dict[str, Any]) -> str | None:
    store = params.get("store")
    return store if isinstance(store, str) else None


PIPELINE = FamilyPipeline(
    family="shopify",
    kinds=(ORDERS, PRODUCTS),
    handlers=HANDLERS,
    write=write_shopify,
    reparse=reparse_shopify,
    target_of=_store,
)
