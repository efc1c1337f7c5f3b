"""The emulated Shopify (Admin API orders, storefront products.json) over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox import RunningSandbox
from sandbox.shopify import (
    ADMIN_QUOTA,
    BIG_CATALOG,
    EXPIRED_TOKEN,
    TOKEN_STORES,
    order_at,
    product_at,
    store_facts,
    store_orders,
)
from sandbox.state import Quota
from tests.providers.shopify.support import REFERENCE, TOKEN_OF, start_shopify_sandbox

MAPLE = "maple-goods"
NORTH = "north-outfitters"
INVALID = "[API] Invalid API key or access token (unrecognized login or wrong password)"


@pytest.fixture
async def shop() -> AsyncIterator[RunningSandbox]:
    running = await start_shopify_sandbox()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _get(
    client: aiohttp.ClientSession, url: str, token: str | None = None, **params: Any
) -> tuple[int, dict[str, str], bytes]:
    headers = {"X-Shopify-Access-Token": token} if token else {}
    async with client.get(
        url, params=params or None, headers=headers, allow_redirects=False
    ) as resp:
        return resp.status, dict(resp.headers), await resp.read()


def _orders_url(shop: RunningSandbox, store: str, version: str = "2024-10") -> str:
    return f"{shop.url}/shopify/{store}/admin/api/{version}/orders.json"


def _products_url(shop: RunningSandbox, store: str) -> str:
    return f"{shop.url}/shopify-storefront/{store}/products.json"


def _links(header: str | None) -> dict[str, str]:
    """rel -> URL of a Link header."""
    out = {}
    for part in (header or "").split(", "):
        if part:
            url, rel = part.split("; ")
            out[rel.split('"')[1]] = url.strip("<>")
    return out


# ------------------------------------------------------------------------ generator


def test_stores_are_deterministic_and_some_are_missing() -> None:
    assert store_facts(MAPLE) == store_facts("Maple-Goods.myshopify.com")
    facts = store_facts(MAPLE)
    assert facts is not None and facts.order_count >= 300
    assert order_at(facts, 0, REFERENCE) == order_at(facts, 0, REFERENCE)
    assert product_at(facts, 3, REFERENCE) == product_at(facts, 3, REFERENCE)
    assert store_facts("missing-anything") is None
    assert store_facts("bad name!") is None
    names = [f"shop-{i}" for i in range(200)]
    missing = [n for n in names if store_facts(n) is None]
    assert 5 <= len(missing) <= 40  # about one in ten
    for special in (
        "not-shopify",
        "no-catalog",
        "coming-soon",
        "frozen-shop",
        "locked-shop",
        BIG_CATALOG,
    ):
        assert store_facts(special) is not None
    for bound in TOKEN_STORES.values():
        assert store_facts(bound) is not None


def test_orders_are_newest_first() -> None:
    facts = store_facts(NORTH)
    assert facts is not None
    created = [order_at(facts, i, REFERENCE)["created_at"] for i in range(5)]
    ids = [order_at(facts, i, REFERENCE)["id"] for i in range(5)]
    assert ids == sorted(ids, reverse=True)
    stamps = [time.mktime(time.strptime(c[:19], "%Y-%m-%dT%H:%M:%S")) for c in created]
    assert stamps == sorted(stamps, reverse=True)


# ------------------------------------------------------------------------ Admin API


async def test_link_paging_forwards_and_back(
    shop: RunningSandbox, client: aiohttp.ClientSession
) -> None:
    token = TOKEN_OF[MAPLE]
    status, headers, body = await _get(
        client, _orders_url(shop, MAPLE), token, status="any", limit=100
    )
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    pages = [json.loads(body)["orders"]]
    links = _links(headers.get("Link"))
    assert set(links) == {"next"}
    while "next" in links:
        status, headers, body = await _get(client, links["next"], token)
        assert status == 200
        pages.append(json.loads(body)["orders"])
        links = _links(headers.get("Link"))
        assert "previous" in links
    facts = store_facts(MAPLE)
    assert facts is not None
    ids = [o["id"] for page in pages for o in page]
    assert len(ids) == len(set(ids)) == facts.order_count
    # rel="previous" of the last page gives the page before it back.
    status, _, body = await _get(client, links["previous"], token)
    assert [o["id"] for o in json.loads(body)["orders"]] == [o["id"] for o in pages[-2]]


async def test_call_limit_header_counts_requests(
    shop: RunningSandbox, client: aiohttp.ClientSession
) -> None:
    token = TOKEN_OF[NORTH]
    seen = []
    for _ in range(3):
        _, headers, _ = await _get(client, _orders_url(shop, NORTH), token, limit=1)
        seen.append(headers["X-Shopify-Shop-Api-Call-Limit"])
    used = [int(s.split("/")[0]) for s in seen]
    assert all(s.endswith("/40") for s in seen)
    assert used == sorted(used) and used[-1] >= 2  # a window boundary may reset the count


async def test_page_info_refuses_other_filters(
    shop: RunningSandbox, client: aiohttp.ClientSession
) -> None:
    token = TOKEN_OF[MAPLE]
    _, headers, _ = await _get(client, _orders_url(shop, MAPLE), token, status="any", limit=5)
    next_url = _links(headers["Link"])["next"]
    status, _, body = await _get(client, next_url + "&status=any", token)
    assert status == 400
    assert "page_info" in json.loads(body)["errors"]
    status, _, body = await _get(client, _orders_url(shop, MAPLE), token, page_info="garbage!")
    assert (status, json.loads(body)) == (400, {"errors": {"page_info": "Invalid value."}})
    # A cursor of one store means nothing to another.
    cursor = next_url.split("page_info=")[1]
    status, _, _ = await _get(client, _orders_url(shop, NORTH), TOKEN_OF[NORTH], page_info=cursor)
    assert status == 400


async def test_filters(shop: RunningSandbox, client: aiohttp.ClientSession) -> None:
    token = TOKEN_OF[MAPLE]
    facts = store_facts(MAPLE)
    assert facts is not None
    _, _, body = await _get(client, _orders_url(shop, MAPLE), token, limit=250)  # status=open
    open_orders = json.loads(body)["orders"]
    assert all(o["cancelled_at"] is None for o in open_orders)
    _, _, body = await _get(client, _orders_url(shop, MAPLE), token, status="cancelled", limit=250)
    assert all(o["cancelled_at"] is not None for o in json.loads(body)["orders"])
    low = "2024-05-10T00:00:00Z"
    _, _, body = await _get(
        client, _orders_url(shop, MAPLE), token, status="any", limit=250, created_at_min=low
    )
    ids = [o["id"] for o in json.loads(body)["orders"]]
    assert len(ids) == len(store_orders(facts, REFERENCE, created_at_min=1715299200.0))
    for params in (
        {"limit": "251"},
        {"limit": "0"},
        {"status": "weird"},
        {"created_at_max": "soon"},
    ):
        status, _, body = await _get(client, _orders_url(shop, MAPLE), token, **params)
        assert status == 400 and "errors" in json.loads(body)


@pytest.mark.parametrize(
    ("store", "token", "status", "errors"),
    [
        (MAPLE, None, 401, INVALID),
        (MAPLE, "shpat_unknown", 401, INVALID),
        (MAPLE, EXPIRED_TOKEN, 401, INVALID),
        (MAPLE, TOKEN_OF[NORTH], 401, INVALID),  # tokens are per shop
        ("frozen-shop", TOKEN_OF[MAPLE], 402, "Unavailable Shop"),
        ("locked-shop", TOKEN_OF[MAPLE], 423, "Locked"),
        ("missing-shop", TOKEN_OF[MAPLE], 404, "Not Found"),
        ("not-shopify", TOKEN_OF[MAPLE], 404, "Not Found"),
    ],
)
async def test_admin_errors(
    shop: RunningSandbox,
    client: aiohttp.ClientSession,
    store: str,
    token: str | None,
    status: int,
    errors: str,
) -> None:
    got, _, body = await _get(client, _orders_url(shop, store), token)
    assert (got, json.loads(body)) == (status, {"errors": errors})


async def test_unknown_api_version(shop: RunningSandbox, client: aiohttp.ClientSession) -> None:
    status, _, _ = await _get(client, _orders_url(shop, MAPLE, "v1"), TOKEN_OF[MAPLE])
    assert status == 404


async def test_bucket_of_40_then_429(shop: RunningSandbox, client: aiohttp.ClientSession) -> None:
    assert (ADMIN_QUOTA.limit, ADMIN_QUOTA.window_seconds) == (40, 20.0)
    # Start well inside a window so 41 quick requests share it.
    into = time.time() % ADMIN_QUOTA.window_seconds
    if into > ADMIN_QUOTA.window_seconds - 4:
        await asyncio.sleep(ADMIN_QUOTA.window_seconds - into + 0.05)
    token = TOKEN_OF[NORTH]
    answers = [await _get(client, _orders_url(shop, NORTH), token, limit=1) for _ in range(41)]
    assert [a[0] for a in answers] == [200] * 40 + [429]
    assert answers[39][1]["X-Shopify-Shop-Api-Call-Limit"] == "40/40"
    _, headers, body = answers[40]
    assert headers["X-Shopify-Shop-Api-Call-Limit"] == "40/40"
    assert 0.5 <= float(headers["Retry-After"]) <= 20.0
    assert "Exceeded 2 calls per second" in json.loads(body)["errors"]
    # Another shop's token has its own bucket.
    status, _, _ = await _get(client, _orders_url(shop, MAPLE), TOKEN_OF[MAPLE], limit=1)
    assert status == 200


async def test_faults(shop: RunningSandbox, client: aiohttp.ClientSession) -> None:
    shop.state.set_fault("shopify", "server_error")
    status, _, _ = await _get(client, _orders_url(shop, MAPLE), TOKEN_OF[MAPLE])
    assert status in (500, 503)
    shop.state.set_fault("shopify", "malformed")
    status, _, body = await _get(client, _orders_url(shop, MAPLE), TOKEN_OF[MAPLE])
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)
    shop.state.set_fault("shopify", "rate_limit")
    status, headers, _ = await _get(client, _orders_url(shop, MAPLE), TOKEN_OF[MAPLE])
    assert (status, headers["Retry-After"]) == (429, "1.0")


def test_credentials_are_registered(shop: RunningSandbox) -> None:
    secrets = shop.credential_secrets()
    assert sorted(s["X-Shopify-Access-Token"] for s in secrets["shopify"]) == sorted(TOKEN_STORES)
    assert shop.state.expired_credential_secrets()["shopify"] == [
        {"X-Shopify-Access-Token": EXPIRED_TOKEN}
    ]
    assert shop.base_urls["shopify"] == f"{shop.url}/shopify"
    assert shop.base_urls["shopify-storefront"] == f"{shop.url}/shopify-storefront"


# ------------------------------------------------------------------------ storefront


async def test_products_pages(shop: RunningSandbox, client: aiohttp.ClientSession) -> None:
    facts = store_facts(NORTH)
    assert facts is not None
    seen: list[int] = []
    page = 1
    while True:
        status, _, body = await _get(client, _products_url(shop, NORTH), limit=100, page=page)
        assert status == 200
        products = json.loads(body)["products"]
        if not products:
            break
        seen.extend(p["id"] for p in products)
        page += 1
    assert len(seen) == len(set(seen)) == facts.product_count
    _, _, body = await _get(client, _products_url(shop, NORTH))
    assert len(json.loads(body)["products"]) == min(30, facts.product_count)  # Shopify's default


async def test_products_limit_is_clamped_and_capped(
    shop: RunningSandbox, client: aiohttp.ClientSession
) -> None:
    _, _, body = await _get(client, _products_url(shop, BIG_CATALOG), limit=500, page=1)
    assert len(json.loads(body)["products"]) == 250
    status, _, body = await _get(client, _products_url(shop, BIG_CATALOG), limit=250, page=100)
    assert status == 200 and len(json.loads(body)["products"]) == 250
    status, _, body = await _get(client, _products_url(shop, BIG_CATALOG), limit=250, page=101)
    assert (status, json.loads(body)) == (400, {"errors": "Page * Limit exceeds the 25000 limit."})


@pytest.mark.parametrize(
    ("store", "status", "content_type"),
    [
        ("not-shopify", 200, "text/html"),
        ("no-catalog", 404, "text/html"),
        ("missing-shop", 404, "text/html"),
        ("coming-soon", 302, "text/html"),
        ("frozen-shop", 402, "text/html"),
        ("locked-shop", 423, "text/html"),
    ],
)
async def test_stores_without_a_catalog(
    shop: RunningSandbox, client: aiohttp.ClientSession, store: str, status: int, content_type: str
) -> None:
    got, headers, body = await _get(client, _products_url(shop, store))
    assert got == status
    assert headers["Content-Type"].startswith(content_type)
    assert body.lstrip().startswith(b"<")
    if status == 302:
        assert headers["Location"].endswith(f"/shopify-storefront/{store}/password")


async def test_storefront_throttling(shop: RunningSandbox, client: aiohttp.ClientSession) -> None:
    shop.state.providers["shopify-storefront"].quota = Quota(limit=2, window_seconds=1e9)
    statuses = []
    for _ in range(3):
        status, headers, _ = await _get(client, _products_url(shop, NORTH))
        statuses.append(status)
    assert statuses == [200, 200, 429]
    assert int(headers["Retry-After"]) >= 1
