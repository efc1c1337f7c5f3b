"""The Admin API adapter ("shopify") on hand-written answers in Shopify's real formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from providers.credentials import Credential
from providers.errors import (
    BadInput,
    CredentialRejected,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetNotServed,
)
from providers.http import RawResponse
from providers.model import flatten
from providers.shopify import PROVIDERS, ShopifyAdmin
from providers.shopify.admin import order_from_json, redact_orders_page, utm_params
from providers.shopify.base import next_page_info
from tests.providers.shopify.support import recorded

ADMIN = ShopifyAdmin()
CRED = Credential(
    "c", "shopify", {"X-Shopify-Access-Token": "shpat_test_0001abcd"}, handle="maple-goods"
)
BASE = "https://sandbox.example/shopify"


def test_registry() -> None:
    assert isinstance(PROVIDERS["shopify"], ShopifyAdmin)
    assert ADMIN.supports == frozenset({"orders"})
    assert ADMIN.needs_credential is True


# ------------------------------------------------------------------------ requests


def test_first_page_request() -> None:
    request = ADMIN.orders_request(
        "Maple-Goods",
        CRED,
        BASE,
        created_at_min=datetime(2024, 5, 1, tzinfo=UTC),
        created_at_max="2024-05-14T23:59:59-04:00",
    )
    assert request.method == "GET"
    assert request.url == f"{BASE}/maple-goods/admin/api/2024-10/orders.json"
    assert request.params == {
        "status": "any",
        "limit": "250",
        "created_at_min": "2024-05-01T00:00:00+00:00",
        "created_at_max": "2024-05-14T23:59:59-04:00",
    }
    assert request.headers["X-Shopify-Access-Token"] == "shpat_test_0001abcd"
    assert "shpat_test_0001abcd" not in repr(request)


def test_follow_up_request_carries_only_page_info_and_limit() -> None:
    request = ADMIN.next_orders_request("maple-goods", "abc123", CRED, BASE)
    assert request.params == {"page_info": "abc123", "limit": "250"}
    assert request.url.endswith("/maple-goods/admin/api/2024-10/orders.json")


def test_production_base_url_template() -> None:
    cred = Credential("c", "shopify", {"X-Shopify-Access-Token": "t" * 12}, handle="maple-goods")
    request = ADMIN.orders_request("maple-goods", cred, "https://{host}")
    assert request.url == "https://maple-goods.myshopify.com/admin/api/2024-10/orders.json"
    custom = Credential(
        "c", "shopify", {"X-Shopify-Access-Token": "t" * 12}, handle="shop.example.com"
    )
    request = ADMIN.orders_request("shop.example.com", custom, "https://{host}")
    assert request.url == "https://shop.example.com/admin/api/2024-10/orders.json"


def test_naive_datetimes_are_utc() -> None:
    request = ADMIN.orders_request(
        "maple-goods", CRED, BASE, created_at_min=datetime(2024, 5, 1, 12)
    )
    assert request.params["created_at_min"] == "2024-05-01T12:00:00+00:00"


@pytest.mark.parametrize(
    "store",
    [
        "",
        " ",
        "-maple",
        "maple goods",
        "maple/../admin",
        "maple?x=1",
        "a" * 80,
        "maple_goods",
        "é.com",
    ],
)
def test_invalid_store_names(store: str) -> None:
    with pytest.raises(BadInput):
        ADMIN.orders_request(store, CRED, BASE)


@pytest.mark.parametrize(
    ("given", "clean"),
    [
        ("maple-goods", "maple-goods"),
        ("  Maple-Goods ", "maple-goods"),
        ("maple-goods.myshopify.com", "maple-goods"),
        ("HTTPS://Maple-Goods.myshopify.com/", "maple-goods"),
        ("https://Shop.Example.com/", "shop.example.com"),
    ],
)
def test_store_names_normalized(given: str, clean: str) -> None:
    from providers.shopify import normalize_store

    assert normalize_store(given) == clean


def test_bad_filters_are_bad_input() -> None:
    with pytest.raises(BadInput):
        ADMIN.orders_request("maple-goods", CRED, BASE, created_at_min="yesterday")
    with pytest.raises(BadInput):
        ADMIN.next_orders_request("maple-goods", "  ", CRED, BASE)


def test_token_of_another_store_is_never_sent() -> None:
    # A 401 would kill a good credential: refuse before any request, blaming nobody.
    with pytest.raises(TargetNotServed):
        ADMIN.orders_request("north-outfitters", CRED, BASE)
    same_shop = Credential(
        "c", "shopify", {"X-Shopify-Access-Token": "t" * 12}, handle="maple-goods.myshopify.com"
    )
    assert ADMIN.orders_request("maple-goods", same_shop, BASE).url


def test_credential_without_token_header() -> None:
    broken = Credential("c", "shopify", {"token": "x" * 12}, handle="maple-goods")
    with pytest.raises(CredentialRejected):
        ADMIN.orders_request("maple-goods", broken, BASE)


# ------------------------------------------------------------------------ parsing


def test_orders_page() -> None:
    page = ADMIN.parse_orders(recorded("orders_page.json"), "maple-goods")
    assert len(page.orders) == 3
    assert page.call_limit == (1, 40)
    assert page.next_page_info is not None and page.next_page_info.startswith("eyJzdGF0dXMi")
    first = page.orders[0]
    assert first.platform_order_id == "5812345678901"
    assert first.name == "#1042"
    assert first.status == "success"  # fulfillments[0].status
    assert first.financial_status == "paid"
    assert first.store_name == "Maple Goods Co."  # line_items[0].vendor
    assert first.utm_params == {
        "utm_source": "instagram",
        "utm_medium": "social",
        "utm_campaign": "spring_drop",
        "utm_content": "reel_03",
    }
    assert first.created_at == datetime(2024, 5, 14, 14, 21, 33, tzinfo=UTC)
    assert first.total_price == Decimal("62.34")
    assert first.currency == "USD"
    assert first.line_item_count == 1
    assert first.platform == "shopify"
    assert first.store == "maple-goods"
    assert first.current_total_price == Decimal("62.34") and first.amount_owed == Decimal("62.34")
    # The order is kept, less what identifies the shopper (the fixture sends browser_ip and an
    # order_status_url whose key opens the order page).
    assert first.order_data["processed_at"] == "2024-05-14T10:21:31-04:00"
    for key in ("checkout_token", "browser_ip", "order_status_url", "note"):
        assert key not in first.order_data


def test_amount_owed_follows_refunds_and_edits() -> None:
    """Shopify's current_total_price wins; without it the refund transactions are taken off."""
    order = {
        "id": 1, "total_price": "100.00", "updated_at": "2024-05-20T09:00:00Z",
        "refunds": [{"id": 9, "transactions": [
            {"kind": "refund", "status": "success", "amount": "30.00"},
            {"kind": "refund", "status": "failure", "amount": "70.00"},
        ]}],
    }  # fmt: skip
    refunded = order_from_json(order, "maple-goods")
    assert refunded.total_refunded == Decimal("30.00")
    assert refunded.amount_owed == Decimal("70.00")
    edited = order_from_json({**order, "current_total_price": "55.00"}, "maple-goods")
    assert edited.amount_owed == Decimal("55.00")
    assert edited.updated_at == datetime(2024, 5, 20, 9, tzinfo=UTC)


def test_personal_data_is_scrubbed_at_any_depth_and_from_stored_pages() -> None:
    address = {"first_name": "Ana", "address1": "1 Main St", "city": "Springfield", "zip": "12345"}
    order = {
        "id": 7, "email": "ana@example.com", "phone": "+15550000", "browser_ip": "203.0.113.9",
        "order_status_url": "https://s.myshopify.com/7/orders/ab/authenticate?key=secretkey",
        "billing_address": address, "shipping_address": address,
        "customer": {"id": 42, "email": "ana@example.com", "default_address": address},
        "shipping_lines": [{"title": "Standard", "phone": "+15550000"}],
        "client_details": {"browser_ip": "203.0.113.9", "user_agent": "Mozilla"},
    }  # fmt: skip
    data = order_from_json(order, "maple-goods").order_data
    assert data == {"id": 7, "customer": {"id": 42}, "shipping_lines": [{"title": "Standard"}]}
    raw = RawResponse.build("shopify", "orders_page", 200, json.dumps({"orders": [order]}).encode())
    stored = redact_orders_page(raw)
    for secret in (b"ana@example.com", b"+15550000", b"203.0.113.9", b"secretkey", b"Main St"):
        assert secret not in stored.body
    assert ADMIN.parse_orders(stored, "maple-goods").orders[0].order_data == data


def test_order_without_fulfillment_or_landing_site() -> None:
    second = ADMIN.parse_orders(recorded("orders_page.json"), "maple-goods").orders[1]
    assert second.status is None
    assert second.landing_site is None
    assert second.utm_params == {}
    assert second.store_name == "Hive & Co"
    assert second.currency == "GBP"
    assert second.total_price == Decimal("18.50")
    assert second.line_item_count == 2


def test_cancelled_order_without_line_items() -> None:
    third = ADMIN.parse_orders(recorded("orders_page.json"), "maple-goods").orders[2]
    assert third.status == "cancelled"
    assert third.store_name is None
    assert third.line_item_count == 0
    # Keys are matched case-insensitively, the first value wins.
    assert third.utm_params == {"utm_source": "newsletter", "utm_medium": "email"}


def test_last_page_has_no_next_cursor_and_currency_from_money_set() -> None:
    page = ADMIN.parse_orders(recorded("orders_last_page.json"), "maple-goods")
    assert page.next_page_info is None  # rel="previous" only
    assert page.call_limit == (2, 40)
    (order,) = page.orders
    assert order.currency == "CAD"
    assert order.status == "open"
    assert order.utm_params == {"utm_source": "tiktok", "utm_campaign": "bf23"}


def test_empty_page() -> None:
    page = ADMIN.parse_orders(recorded("orders_empty.json"), "maple-goods")
    assert page.orders == ()
    assert page.next_page_info is None


def test_order_dimensions_and_metrics() -> None:
    order = ADMIN.parse_orders(recorded("orders_page.json"), "maple-goods").orders[0]
    dims = flatten(order.dimensions())
    assert dims["platform_order_id"] == "5812345678901"
    assert dims["status"] == "success"
    assert dims["store_name"] == "Maple Goods Co."
    assert dims["utm_params"]["utm_source"] == "instagram"
    assert dims["created_at"] == "2024-05-14T14:21:33+00:00"
    assert dims["platform"] == "shopify"
    assert dims["store"] == "maple-goods"
    assert dims["order_data"]["id"] == 5812345678901
    assert flatten(order.metrics()) == {
        "total_price": "62.34",
        "current_total_price": "62.34",
        "line_item_count": 1,
    }
    second = ADMIN.parse_orders(recorded("orders_page.json"), "maple-goods").orders[1]
    assert "status" not in flatten(second.dimensions())  # None values are left out


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("name", "error", "status"),
    [
        ("error_invalid_token.json", CredentialRejected, 401),
        ("error_scope.json", CredentialRejected, 403),
        ("error_frozen.json", TargetNotFound, 402),
        ("error_locked.json", TargetNotFound, 423),
        ("error_not_found.json", TargetNotFound, 404),
        ("error_rate_limit.json", RateLimited, 429),
        ("error_bad_params.json", BadInput, 400),
        ("error_page_info.json", BadInput, 400),
        ("error_500.json", ProviderUnavailable, 500),
        ("error_503.html", ProviderUnavailable, 503),
    ],
)
def test_error_mapping(name: str, error: type[ProviderError], status: int) -> None:
    with pytest.raises(error) as info:
        ADMIN.parse_orders(recorded(name), "maple-goods")
    assert type(info.value) is error
    assert info.value.provider == "shopify"
    assert info.value.status == status


def test_error_messages() -> None:
    with pytest.raises(CredentialRejected, match="Invalid API key or access token"):
        ADMIN.parse_orders(recorded("error_invalid_token.json"), "maple-goods")
    with pytest.raises(TargetNotFound, match="frozen"):
        ADMIN.parse_orders(recorded("error_frozen.json"), "maple-goods")
    with pytest.raises(BadInput, match="created_at_min: must be a valid ISO 8601 date"):
        ADMIN.parse_orders(recorded("error_bad_params.json"), "maple-goods")


def test_rate_limit_carries_retry_after() -> None:
    with pytest.raises(RateLimited) as info:
        ADMIN.parse_orders(recorded("error_rate_limit.json"), "maple-goods")
    assert info.value.retry_after == 2.0
    assert "Exceeded 2 calls per second" in info.value.message


def test_server_error_keeps_retry_after() -> None:
    with pytest.raises(ProviderUnavailable) as info:
        ADMIN.parse_orders(recorded("error_503.html"), "maple-goods")
    assert info.value.retry_after == 5.0


def test_rate_limit_without_retry_after_uses_the_bucket() -> None:
    raw = RawResponse.build(
        "shopify",
        "orders_page",
        429,
        b'{"errors":"Exceeded"}',
        {"X-Shopify-Shop-Api-Call-Limit": "40/40"},
    )
    with pytest.raises(RateLimited) as info:
        ADMIN.parse_orders(raw, "maple-goods")
    assert info.value.retry_after == 0.5


def test_redirect_is_bad_input() -> None:
    raw = RawResponse.build(
        "shopify", "orders_page", 301, b"", {"Location": "https://shop.example.com/admin"}
    )
    with pytest.raises(BadInput, match=r"myshopify\.com"):
        ADMIN.parse_orders(raw, "shop.example.com")


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Log in</body></html>",
        b'{"order": []}',
        b'{"orders": {}}',
        b'{"orders": [{"name": "#1"}]}',
        b'{"orders": [{"id": 1, "total_price": "NaN"}]}',
        b'{"orders": [{"id": 1, "total_price": "12,50"}]}',
        b'{"orders": [{"id": 1, "created_at": "last tuesday"}]}',
        b'{"orders": [{"id": 1, "fulfillments": ["shipped"]}]}',
    ],
)
def test_malformed_pages(body: bytes) -> None:
    raw = RawResponse.build("shopify", "orders_page", 200, body)
    with pytest.raises(MalformedResponse):
        ADMIN.parse_orders(raw, "maple-goods")


def test_link_without_page_info_is_malformed() -> None:
    raw = RawResponse.build(
        "shopify",
        "orders_page",
        200,
        b'{"orders": []}',
        {"Link": '<https://x.example/orders.json?limit=5>; rel="next"'},
    )
    with pytest.raises(MalformedResponse, match="page_info"):
        ADMIN.parse_orders(raw, "maple-goods")


# ------------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    ("link", "token"),
    [
        (None, None),
        ("", None),
        ('<https://s.example/a.json?limit=5&page_info=AAA>; rel="next"', "AAA"),
        (
            '<https://s.example/a.json?page_info=PPP&limit=5>; rel="previous", <https://s.example/a.json?page_info=NNN&limit=5>; rel="next"',
            "NNN",
        ),
        ('<https://s.example/a.json?page_info=PPP>; rel="previous"', None),
        ("<https://s.example/a.json?page_info=X%3D%3D>; rel=next", "X=="),
    ],
)
def test_next_page_info(link: str | None, token: str | None) -> None:
    assert next_page_info(link) == token


@pytest.mark.parametrize(
    ("landing", "params"),
    [
        (None, {}),
        ("/", {}),
        ("/?utm_source=ig", {"utm_source": "ig"}),
        ("https://shop.example/p?utm_term=a%20b&ref=x", {"utm_term": "a b"}),
        ("http://[broken/?utm_source=x", {}),
    ],
)
def test_utm_params(landing: str | None, params: dict[str, str]) -> None:
    assert utm_params(landing) == params
