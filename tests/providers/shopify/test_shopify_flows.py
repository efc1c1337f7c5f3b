"""The Shopify flows against the sandbox over HTTP: every page read with the flow's limit,
filters sent as Shopify takes them, the live outcome equal to its re-parse (what a backfill
rebuilds), and no personal data in what is kept."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from beat.pipeline.batch import raw_record
from beat.pipeline.shopify import ORDERS, PIPELINE, PRODUCTS
from providers.http import HttpCall
from providers.shopify.crawler import ShopifyCrawler
from sandbox import RunningSandbox
from sandbox.shopify import store_facts
from tests.providers.shopify.support import pool

MAPLE = "maple-goods"
PERSONAL = ("email", "phone", "browser_ip", "order_status_url", "billing_address",
            "shipping_address", "client_details")  # fmt: skip


def crawler(sandbox: RunningSandbox, http: aiohttp.ClientSession) -> ShopifyCrawler:
    return ShopifyCrawler(http, pool(), sandbox.base_urls, timeout_seconds=5.0)


async def test_orders_flow_pages_to_the_end_and_reparses_the_same(
    shop_sandbox: RunningSandbox,
) -> None:
    calls: list[HttpCall] = []
    params = {"store": MAPLE, "limit": 100, "updated_at_min": "2000-01-01T00:00:00Z",
              "created_at_min": None, "created_at_max": None}  # fmt: skip
    async with aiohttp.ClientSession() as http:
        shop = crawler(shop_sandbox, http)
        shop.on_call = calls.append
        outcome = await PIPELINE.handlers["refresh_orders_by_store"](shop, params)
    facts = store_facts(MAPLE)
    assert facts is not None
    orders = outcome.of(ORDERS)
    assert len(orders) == facts.order_count  # every page
    assert len(calls) == -(-facts.order_count // 100)
    first = dict(parse_qsl(urlsplit(calls[0].url_redacted).query))
    assert first["limit"] == "100" and first["updated_at_min"] == "2000-01-01T00:00:00+00:00"
    later = dict(parse_qsl(urlsplit(calls[1].url_redacted).query))
    assert set(later) == {"limit", "page_info"} and later["limit"] == "100"
    assert PIPELINE.reparse(raw_record(1, 1, "refresh_orders_by_store", params, outcome)) == outcome
    for raw in outcome.raw:
        stored = json.loads(raw.body)
        for order in stored["orders"]:
            assert not set(PERSONAL) & set(order)
            assert set(order.get("customer") or {}) <= {"id"}


@pytest.mark.parametrize("max_pages", [1, 2])
async def test_products_flow_reparses_the_same(
    shop_sandbox: RunningSandbox, max_pages: int
) -> None:
    params = {"store": MAPLE, "max_pages": max_pages}
    async with aiohttp.ClientSession() as http:
        outcome = await PIPELINE.handlers["refresh_products_by_store"](
            crawler(shop_sandbox, http), params
        )
    assert outcome.of(PRODUCTS)
    assert (
        PIPELINE.reparse(raw_record(1, 1, "refresh_products_by_store", params, outcome)) == outcome
    )
