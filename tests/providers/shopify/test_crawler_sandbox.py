"""ShopifyCrawler against the sandbox over real HTTP."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from providers.credentials import Credential, StaticCredentials
from providers.errors import (
    BadInput,
    CredentialRejected,
    NoProviderAvailable,
    RateLimited,
    TargetNotFound,
    TargetPrivate,
)
from providers.http import HttpCall
from providers.shopify import ShopifyAdmin, ShopifyStorefront
from providers.shopify.crawler import ShopifyCrawler, reparse_orders, reparse_products
from sandbox import RunningSandbox
from sandbox.shopify import (
    BIG_CATALOG,
    CATALOG_CAP,
    TOKEN_STORES,
    order_id,
    store_facts,
    store_orders,
)
from sandbox.state import Quota
from tests.providers.shopify.support import (
    REFERENCE,
    TOKEN_OF,
    admin_credential,
    expired_credential,
    pool,
)

MAPLE = "maple-goods"
NORTH = "north-outfitters"


def crawler(
    sandbox: RunningSandbox,
    http: aiohttp.ClientSession,
    credentials: StaticCredentials | None = None,
    *,
    page_limit: int = 50,
    **kwargs: object,
) -> ShopifyCrawler:
    providers = {
        "shopify": ShopifyAdmin(page_limit=page_limit),
        "shopify-storefront": ShopifyStorefront(),
    }
    kwargs.setdefault("providers", providers)
    return ShopifyCrawler(
        http,
        credentials or pool(),
        sandbox.base_urls,
        timeout_seconds=5.0,
        **kwargs,  # type: ignore[arg-type]
    )


def order_ids(
    store: str, created_at_min: float | None = None, created_at_max: float | None = None
) -> list[str]:
    """The ids the sandbox holds for ``store`` (newest first), from its own generator."""
    facts = store_facts(store)
    assert facts is not None
    indices = store_orders(
        facts, REFERENCE, created_at_min=created_at_min, created_at_max=created_at_max
    )
    return [str(order_id(facts, i)) for i in indices]


# ------------------------------------------------------------------------ orders


async def test_every_order_through_link_pages(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    calls: list[HttpCall] = []
    fetched = await crawler(shop_sandbox, http, on_call=calls.append).orders(MAPLE)
    expected = order_ids(MAPLE)
    assert len(expected) > 250  # several pages even at Shopify's maximum page size
    result = fetched.value
    assert fetched.provider == "shopify"
    assert [o.platform_order_id for o in result.orders] == expected  # newest first, no gaps
    assert result.pages == math.ceil(len(expected) / 50) == len(fetched.raw)
    assert result.complete and result.next_page_info is None
    assert {(r.provider, r.kind, r.status) for r in fetched.raw} == {
        ("shopify", "orders_page", 200)
    }
    assert all(o.store == MAPLE and o.platform == "shopify" for o in result.orders)
    # The first request filters; every follow-up carries only page_info and limit.
    queries = [dict(parse_qsl(urlsplit(c.url_redacted).query)) for c in calls]
    assert queries[0] == {"status": "any", "limit": "50"}
    assert all(set(q) == {"page_info", "limit"} for q in queries[1:])
    assert len({q["page_info"] for q in queries[1:]}) == len(queries) - 1
    assert all(f"/shopify/{MAPLE}/admin/api/2024-10/orders.json" in c.url_redacted for c in calls)


async def test_full_page_size(shop_sandbox: RunningSandbox, http: aiohttp.ClientSession) -> None:
    fetched = await crawler(shop_sandbox, http, page_limit=250).orders(NORTH)
    expected = order_ids(NORTH)
    assert [o.platform_order_id for o in fetched.value.orders] == expected
    assert fetched.value.pages == math.ceil(len(expected) / 250)


async def test_pagination_stays_on_one_credential(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    # Two credentials of the same store: each fetch must page on the one it started with.
    twins = [admin_credential(MAPLE, cred_id="maple-a"), admin_credential(MAPLE, cred_id="maple-b")]
    used: list[list[str]] = []

    async def record(provider: str, cred: Credential) -> None:
        used[-1].append(cred.id)

    shop = crawler(shop_sandbox, http, pool(*twins, admin_credential(NORTH)), before_request=record)
    for _ in range(4):  # 4 x 8 pages: within the token's 40-request bucket
        used.append([])
        fetched = await shop.orders(MAPLE)
        assert fetched.value.pages > 3
        assert len(used[-1]) == fetched.value.pages
        assert len(set(used[-1])) == 1, used[-1]
    assert {ids[0] for ids in used} <= {"maple-a", "maple-b"}


async def test_the_store_decides_the_credential(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    used: list[str] = []

    async def record(provider: str, cred: Credential) -> None:
        used.append(cred.id)

    shop = crawler(shop_sandbox, http, before_request=record)
    await shop.orders(NORTH, max_pages=1)
    await shop.orders(MAPLE, max_pages=1)
    assert used == [f"shopify-{NORTH}", f"shopify-{MAPLE}"]
    with pytest.raises(NoProviderAvailable) as info:
        await shop.orders("unrelated-store")
    assert info.value.attempts == [("shopify", "no eligible credential")]


async def test_both_spellings_of_a_shop_find_its_token(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    fetched = await crawler(shop_sandbox, http).orders("Maple-Goods.myshopify.com", max_pages=1)
    assert fetched.value.store == MAPLE
    assert fetched.value.orders[0].store == MAPLE


async def test_token_sent_to_the_wrong_store_is_refused_by_shopify(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    # A credential claiming NORTH but holding MAPLE's token: Shopify says 401 and it dies.
    mislabelled = admin_credential(NORTH, token=TOKEN_OF[MAPLE], cred_id="mislabelled")
    credentials = pool(mislabelled)
    with pytest.raises(NoProviderAvailable) as info:
        await crawler(shop_sandbox, http, credentials).orders(NORTH)
    (error,) = info.value.errors
    assert isinstance(error, CredentialRejected) and error.status == 401
    assert credentials.is_dead(mislabelled)


async def test_created_at_range(shop_sandbox: RunningSandbox, http: aiohttp.ClientSession) -> None:
    low = datetime.fromtimestamp(REFERENCE, UTC) - timedelta(days=10)
    high = datetime.fromtimestamp(REFERENCE, UTC) - timedelta(days=3)
    fetched = await crawler(shop_sandbox, http).orders(
        MAPLE, created_at_min=low, created_at_max=high
    )
    expected = order_ids(MAPLE, created_at_min=low.timestamp(), created_at_max=high.timestamp())
    assert expected
    orders = fetched.value.orders
    assert [o.platform_order_id for o in orders] == expected
    assert all(o.created_at is not None and low <= o.created_at <= high for o in orders)


async def test_max_pages_then_resume(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    shop = crawler(shop_sandbox, http)
    first = await shop.orders(MAPLE, max_pages=2)
    assert first.value.pages == 2 and len(first.value.orders) == 100
    assert not first.value.complete and first.value.next_page_info
    rest = await shop.resume_orders(MAPLE, first.value.next_page_info)
    assert rest.value.complete
    ids = [o.platform_order_id for o in first.value.orders + rest.value.orders]
    assert ids == order_ids(MAPLE)


async def test_reparse_gives_the_live_result(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    shop = crawler(shop_sandbox, http)
    orders = await shop.orders(MAPLE, max_pages=3)
    again = reparse_orders(orders.raw, MAPLE)
    assert again == orders.value
    products = await shop.products(NORTH)
    assert reparse_products(products.raw, NORTH) == products.value


async def test_rate_limited_first_page(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    shop_sandbox.state.set_fault("shopify", "rate_limit")
    credentials = pool()
    with pytest.raises(NoProviderAvailable) as info:
        await crawler(shop_sandbox, http, credentials).orders(MAPLE)
    (error,) = info.value.errors
    assert isinstance(error, RateLimited)
    assert error.status == 429
    assert error.retry_after == 1.0  # Retry-After: 1.0, via providers.cooling
    assert info.value.retry_after == 1.0
    assert credentials.cooling_until(admin_credential(MAPLE)) is not None
    assert credentials.cooling_until(admin_credential(NORTH)) is None


async def test_quota_spent_mid_paging_fails_with_the_window_left(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    # Quota windows are aligned to the clock: an hour-long one ends within the crawler's
    # short in-place wait once every hour, and the fetch then rightly goes on. A window years
    # long makes the 429's wait always too long to sit out.
    shop_sandbox.state.providers["shopify"].quota = Quota(limit=3, window_seconds=1e9)
    with pytest.raises(NoProviderAvailable) as info:
        await crawler(shop_sandbox, http).orders(MAPLE)
    (error,) = info.value.errors
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None and error.retry_after > 2.0  # too long to wait in place
    assert shop_sandbox.state.stats()["shopify"]["by_status"] == {"200": 3, "429": 1}


async def test_short_429_mid_paging_is_waited_out_on_the_same_credential(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    # Shopify's bucket frees a slot in half a second: a short Retry-After on page N is waited
    # out instead of throwing pages 1..N-1 away.
    shop_sandbox.state.providers["shopify"].quota = Quota(limit=4, window_seconds=1.0)
    used: set[str] = set()

    async def record(provider: str, cred: Credential) -> None:
        used.add(cred.id)

    twins = [admin_credential(MAPLE, cred_id="maple-a"), admin_credential(MAPLE, cred_id="maple-b")]
    started = time.monotonic()
    fetched = await crawler(shop_sandbox, http, pool(*twins), before_request=record).orders(MAPLE)
    assert [o.platform_order_id for o in fetched.value.orders] == order_ids(MAPLE)
    assert len(used) == 1
    statuses = shop_sandbox.state.stats()["shopify"]["by_status"]
    assert statuses["200"] == fetched.value.pages
    assert statuses.get("429", 0) >= 1
    assert {r.status for r in fetched.raw} == {200}  # the 429s are not part of the result
    assert time.monotonic() - started < 10


async def test_expired_token_is_dead(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    expired = expired_credential(MAPLE)
    credentials = pool(expired)
    with pytest.raises(NoProviderAvailable) as info:
        await crawler(shop_sandbox, http, credentials).orders(MAPLE)
    (error,) = info.value.errors
    assert isinstance(error, CredentialRejected)
    assert credentials.is_dead(expired)
    assert expired.secret["X-Shopify-Access-Token"] not in str(info.value)


@pytest.mark.parametrize(
    ("store", "status"), [("frozen-shop", 402), ("locked-shop", 423), ("missing-shop", 404)]
)
async def test_unavailable_shops_are_target_facts(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession, store: str, status: int
) -> None:
    credentials = pool(admin_credential(store, token=TOKEN_OF[MAPLE]))
    with pytest.raises(TargetNotFound) as info:
        await crawler(shop_sandbox, http, credentials).orders(store)
    assert info.value.status == status
    assert info.value.provider == "shopify"


async def test_server_errors_fall_through(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    shop_sandbox.state.set_fault("shopify", "server_error")
    with pytest.raises(NoProviderAvailable) as info:
        await crawler(shop_sandbox, http).orders(MAPLE)
    assert info.value.errors[0].status in (500, 503)


async def test_bad_store_names_never_reach_shopify(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    shop = crawler(shop_sandbox, http)
    for bad in ("../admin", "maple goods", ""):
        with pytest.raises(BadInput):
            await shop.orders(bad)
        with pytest.raises(BadInput):
            await shop.products(bad)
    with pytest.raises(BadInput):
        await shop.orders(MAPLE, max_pages=0)
    assert shop_sandbox.state.requests("shopify") == 0


# ------------------------------------------------------------------------ products


async def test_whole_catalog(shop_sandbox: RunningSandbox, http: aiohttp.ClientSession) -> None:
    facts = store_facts(NORTH)
    assert facts is not None
    fetched = await crawler(shop_sandbox, http).products(NORTH)
    result = fetched.value
    assert fetched.provider == "shopify-storefront"
    assert len(result.products) == facts.product_count
    assert result.complete and not result.capped
    # Every page, then the empty one that says the catalog ended.
    assert result.pages == math.ceil(facts.product_count / 250) + 1
    assert result.pages == len(fetched.raw)
    assert all(p.store == NORTH and p.variants for p in result.products)
    assert fetched.raw[-1].kind == "products_page"


async def test_catalog_stops_at_the_25000_cap(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    fetched = await crawler(shop_sandbox, http).products(BIG_CATALOG)
    result = fetched.value
    assert result.capped and not result.complete
    assert len(result.products) == CATALOG_CAP
    assert result.pages == 100 == len(fetched.raw)
    # Page 101 would only earn the store's 400: it was never asked for.
    assert shop_sandbox.state.stats()["shopify-storefront"]["by_status"] == {"200": 100}


class _OptimisticStorefront(ShopifyStorefront):
    """A client that believes the cap is higher than it is: it meets the store's refusal."""

    @property
    def last_page(self) -> int:
        return 10**6


async def test_the_stores_cap_refusal_ends_paging(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    providers = {"shopify": ShopifyAdmin(), "shopify-storefront": _OptimisticStorefront()}
    fetched = await crawler(shop_sandbox, http, providers=providers).products(
        BIG_CATALOG, max_pages=101
    )
    assert fetched.value.capped and len(fetched.value.products) == CATALOG_CAP
    assert [r.status for r in fetched.raw[-2:]] == [200, 400]
    assert reparse_products(fetched.raw, BIG_CATALOG, providers=providers) == fetched.value


async def test_max_pages(shop_sandbox: RunningSandbox, http: aiohttp.ClientSession) -> None:
    fetched = await crawler(shop_sandbox, http).products(BIG_CATALOG, max_pages=2)
    assert fetched.value.pages == 2 and len(fetched.value.products) == 500
    assert not fetched.value.complete and not fetched.value.capped


@pytest.mark.parametrize(
    ("store", "error", "status"),
    [
        ("not-shopify", TargetNotFound, 200),
        ("no-catalog", TargetNotFound, 404),
        ("missing-store", TargetNotFound, 404),
        ("coming-soon", TargetPrivate, 302),
        ("frozen-shop", TargetNotFound, 402),
    ],
)
async def test_stores_without_a_public_catalog(
    shop_sandbox: RunningSandbox,
    http: aiohttp.ClientSession,
    store: str,
    error: type[Exception],
    status: int,
) -> None:
    with pytest.raises(error) as info:
        await crawler(shop_sandbox, http).products(store)
    assert type(info.value) is error
    assert info.value.status == status  # type: ignore[attr-defined]


async def test_storefront_throttling(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    shop_sandbox.state.set_fault("shopify-storefront", "rate_limit")
    with pytest.raises(NoProviderAvailable) as info:
        await crawler(shop_sandbox, http).products(NORTH)
    (error,) = info.value.errors
    assert isinstance(error, RateLimited) and error.retry_after == 1.0


async def test_no_token_in_what_is_kept(
    shop_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    calls: list[HttpCall] = []
    fetched = await crawler(shop_sandbox, http, on_call=calls.append).orders(MAPLE, max_pages=2)
    stored = repr([r.to_dict() for r in fetched.raw]) + repr(calls)
    for token in TOKEN_STORES:
        assert token not in stored
