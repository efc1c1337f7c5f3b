"""The storefront adapter ("shopify-storefront") on hand-written answers in real formats."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from providers.errors import (
    BadInput,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetPrivate,
)
from providers.http import RawResponse
from providers.model import flatten
from providers.shopify import PROVIDERS, CatalogCapReached, ShopifyStorefront
from tests.providers.shopify.support import recorded

STOREFRONT = ShopifyStorefront()
BASE = "https://sandbox.example/shopify-storefront"


def test_registry() -> None:
    assert isinstance(PROVIDERS["shopify-storefront"], ShopifyStorefront)
    assert STOREFRONT.supports == frozenset({"products"})
    assert STOREFRONT.needs_credential is False


def test_request() -> None:
    request = STOREFRONT.products_request("Maple-Goods", 3, BASE)
    assert request.url == f"{BASE}/maple-goods/products.json"
    assert request.params == {"limit": "250", "page": "3"}
    assert "X-Shopify-Access-Token" not in request.headers


def test_production_request_uses_the_store_host() -> None:
    request = STOREFRONT.products_request("maple-goods", 1, "https://{host}")
    assert request.url == "https://maple-goods.myshopify.com/products.json"


def test_cap_is_never_requested() -> None:
    assert STOREFRONT.last_page == 100
    assert STOREFRONT.products_request("maple-goods", 100, BASE).params["page"] == "100"
    with pytest.raises(CatalogCapReached):
        STOREFRONT.products_request("maple-goods", 101, BASE)
    assert ShopifyStorefront(page_limit=30).last_page == 833


@pytest.mark.parametrize("page", [0, -1, True, 1.5])
def test_bad_pages(page: object) -> None:
    with pytest.raises(BadInput):
        STOREFRONT.products_request("maple-goods", page, BASE)  # type: ignore[arg-type]


def test_products_page() -> None:
    page = STOREFRONT.parse_products(recorded("products_page.json"), "maple-goods", 2)
    assert page.page == 2
    apron, card = page.products
    assert apron.product_id == "8123456789012"
    assert apron.title == "Linen Apron"
    assert apron.handle == "linen-apron"
    assert apron.vendor == "Maple Goods Co."
    assert apron.product_type == "Kitchen Textiles"
    assert apron.tags == ("apron", "linen", "spring-drop")
    assert apron.published_at == datetime(2024, 3, 2, 17, 0, 5, tzinfo=UTC)
    assert apron.store == "maple-goods"
    sage, charcoal = apron.variants
    assert (sage.variant_id, sage.sku, sage.price, sage.compare_at_price, sage.available) == (
        "45012345678901",
        "APR-LIN-SAGE",
        Decimal("30.00"),
        Decimal("38.00"),
        True,
    )
    assert charcoal.compare_at_price is None
    assert charcoal.available is False
    assert [i.src.rsplit("/", 1)[1] for i in apron.images] == [
        "apron-sage.jpg?v=1709333060",
        "apron-charcoal.jpg?v=1709333060",
    ]
    assert apron.images[0].width == 1600
    assert card.product_type is None  # "" means none
    assert card.tags == ()
    assert card.images == ()
    assert [v.sku for v in card.variants] == [None, None]


def test_product_dimensions_and_metrics() -> None:
    apron = STOREFRONT.parse_products(recorded("products_page.json"), "maple-goods").products[0]
    assert flatten(apron.metrics()) == {
        "variant_count": 2,
        "available_variant_count": 1,
        "image_count": 2,
        "min_price": "30.00",
        "max_price": "32.50",
    }
    dims = flatten(apron.dimensions())
    assert dims["tags"] == ["apron", "linen", "spring-drop"]
    assert dims["variants"][0] == {
        "id": "45012345678901",
        "title": "Sage",
        "sku": "APR-LIN-SAGE",
        "price": "30.00",
        "compare_at_price": "38.00",
        "available": True,
    }
    assert dims["images"][1]["src"].endswith("apron-charcoal.jpg?v=1709333060")
    assert dims["published_at"] == "2024-03-02T17:00:05+00:00"
    assert dims["platform"] == "shopify"
    assert dims["store"] == "maple-goods"


def test_admin_style_comma_tags_are_accepted() -> None:
    body = b'{"products": [{"id": 1, "tags": "a, b ,, c"}]}'
    (product,) = STOREFRONT.parse_products(
        RawResponse.build("shopify-storefront", "products_page", 200, body), "s"
    ).products
    assert product.tags == ("a", "b", "c")


def test_empty_page() -> None:
    assert STOREFRONT.parse_products(recorded("products_empty.json"), "maple-goods").products == ()


@pytest.mark.parametrize(
    ("name", "error", "status"),
    [
        ("products_cap.json", CatalogCapReached, 400),
        ("products_cap.txt", CatalogCapReached, 400),
        ("not_shopify.html", TargetNotFound, 200),
        ("password_page.html", TargetPrivate, 200),
        ("products_disabled.html", TargetNotFound, 404),
        ("products_throttled.html", RateLimited, 429),
        ("products_bot_rejected.html", RateLimited, 430),
        ("products_password_redirect.txt", TargetPrivate, 302),
        ("products_domain_redirect.txt", TargetNotFound, 301),
    ],
)
def test_error_mapping(name: str, error: type[ProviderError], status: int) -> None:
    with pytest.raises(error) as info:
        STOREFRONT.parse_products(recorded(name), "maple-goods")
    assert type(info.value) is error
    assert info.value.provider == "shopify-storefront"
    assert info.value.status == status


def test_cap_is_bad_input() -> None:
    # A request past the cap is our mistake; the crawler stops paging on it.
    assert issubclass(CatalogCapReached, BadInput)


def test_html_store_is_a_target_fact_not_a_malformed_answer() -> None:
    with pytest.raises(TargetNotFound, match="not a Shopify storefront"):
        STOREFRONT.parse_products(recorded("not_shopify.html"), "riverside-ceramics.example")


def test_redirect_names_the_domain_to_crawl() -> None:
    with pytest.raises(TargetNotFound, match=r"www\.maplegoods\.example"):
        STOREFRONT.parse_products(recorded("products_domain_redirect.txt"), "maple-goods")


def test_throttling_retry_after() -> None:
    with pytest.raises(RateLimited) as info:
        STOREFRONT.parse_products(recorded("products_throttled.html"), "maple-goods")
    assert info.value.retry_after == 3.0
    with pytest.raises(RateLimited) as info:
        STOREFRONT.parse_products(recorded("products_bot_rejected.html"), "maple-goods")
    assert info.value.retry_after == 60.0


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, TargetNotFound),
        (402, TargetNotFound),
        (423, TargetNotFound),
        (403, ProviderUnavailable),
        (400, BadInput),
        (500, ProviderUnavailable),
        (502, ProviderUnavailable),
        (504, ProviderUnavailable),
    ],
)
def test_status_mapping(status: int, error: type[Exception]) -> None:
    raw = RawResponse.build("shopify-storefront", "products_page", status, b'{"errors":"x"}')
    with pytest.raises(error) as info:
        STOREFRONT.parse_products(raw, "maple-goods")
    assert type(info.value) is error


@pytest.mark.parametrize(
    "body",
    [
        b'{"product": []}',
        b'{"products": [{"title": "no id"}]}',
        b'{"products": [{"id": 1, "variants": [{"id": 2, "price": "free"}]}]}',
        b'{"products": [{"id": 1, "images": [{"id": 2}]}]}',
        b'{"products": [{"id": 1, "tags": [1, 2]}]}',
        b'{"products": [{"id": 1, "variants": [{"id": 2, "available": "yes"}]}]}',
        b'{"products": [',
        b"",
    ],
)
def test_malformed_pages(body: bytes) -> None:
    raw = RawResponse.build("shopify-storefront", "products_page", 200, body)
    with pytest.raises(MalformedResponse):
        STOREFRONT.parse_products(raw, "maple-goods")
