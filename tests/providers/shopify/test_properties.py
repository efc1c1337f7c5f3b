"""Property tests: whatever Shopify (or something pretending to be it) answers, the parsers
return well-formed pages or raise a ProviderError subclass, and never anything else."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from providers.errors import ProviderError
from providers.http import RawResponse
from providers.shopify import PROVIDERS, OrdersPage, ProductsPage
from providers.shopify.base import next_page_info
from tests.providers import strategies
from tests.providers.shopify.support import FIXTURES
from tests.providers.strategies import assert_clean_error, mutated, paths, property_settings

GOOD = {
    "shopify": "orders_page.json",
    "shopify-storefront": "products_page.json",
}
KIND = {"shopify": "orders_page", "shopify-storefront": "products_page"}
TARGETS = sorted(GOOD)
STATUSES = [
    200,
    200,
    200,
    201,
    204,
    301,
    302,
    400,
    401,
    402,
    403,
    404,
    422,
    423,
    429,
    430,
    500,
    503,
]
HEADER_NAMES = ["Retry-After", "X-Shopify-Shop-Api-Call-Limit", "Link", "Location", "Content-Type"]

SETTINGS = property_settings(150)

json_values = strategies.json_values(
    strategies.json_scalars(
        [
            "",
            "0",
            "-1",
            "1e400",
            "NaN",
            "Infinity",
            "12.50",
            "2024-05-14T10:21:33-04:00",
            "/?utm_source=x",
        ]
    ),
    [
        "orders",
        "products",
        "id",
        "name",
        "errors",
        "fulfillments",
        "status",
        "line_items",
        "vendor",
        "landing_site",
        "total_price",
        "created_at",
        "currency",
        "total_price_set",
        "variants",
        "images",
        "price",
        "src",
        "tags",
        "available",
    ],
)
header_values = st.text(max_size=60) | st.sampled_from(
    [
        "40/40",
        "2.0",
        "-5",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        '<https://x.example/o.json?page_info=abc>; rel="next"',
        '<https://x.example/o.json?limit=1>; rel="next"',
        "<>; rel=next",
        "text/html",
        "https://x.example/password",
    ]
)


def _parse(provider: str) -> Callable[[RawResponse], Any]:
    adapter = PROVIDERS[provider]
    if provider == "shopify":
        return lambda raw: adapter.parse_orders(raw, "maple-goods")
    return lambda raw: adapter.parse_products(raw, "maple-goods", 1)


def _check_money(value: Any) -> None:
    assert value is None or (isinstance(value, Decimal) and value.is_finite())


def _check_orders(page: Any) -> None:
    assert isinstance(page, OrdersPage)
    assert page.next_page_info is None or (
        isinstance(page.next_page_info, str) and page.next_page_info
    )
    for order in page.orders:
        assert isinstance(order.platform_order_id, str) and order.platform_order_id
        assert order.store == "maple-goods"
        _check_money(order.total_price)
        assert all(k.startswith("utm_") and isinstance(v, str) for k, v in order.utm_params.items())
        assert order.created_at is None or order.created_at.tzinfo is not None
        json.dumps(order.dimensions())
        json.dumps(order.metrics())


def _check_products(page: Any) -> None:
    assert isinstance(page, ProductsPage)
    for product in page.products:
        assert isinstance(product.product_id, str) and product.product_id
        assert all(isinstance(t, str) for t in product.tags)
        for variant in product.variants:
            _check_money(variant.price)
            _check_money(variant.compare_at_price)
        for image in product.images:
            assert isinstance(image.src, str) and image.src
        json.dumps(product.dimensions())
        json.dumps(product.metrics())


def check(provider: str, raw: RawResponse) -> None:
    try:
        result = _parse(provider)(raw)
    except ProviderError as err:
        assert_clean_error(err, provider)
        return
    (_check_orders if provider == "shopify" else _check_products)(result)


def _raw(provider: str, status: int, body: bytes, headers: Any = ()) -> RawResponse:
    return RawResponse.build(provider, KIND[provider], status, body, headers)


def _good_body(provider: str) -> bytes:
    return (FIXTURES / GOOD[provider]).read_bytes()


@SETTINGS
@given(st.sampled_from(TARGETS), st.sampled_from(STATUSES), json_values)
def test_random_json(provider: str, status: int, value: Any) -> None:
    check(provider, _raw(provider, status, json.dumps(value).encode()))


@SETTINGS
@given(st.sampled_from(TARGETS), st.sampled_from(STATUSES), st.binary(max_size=300))
def test_random_bytes(provider: str, status: int, body: bytes) -> None:
    check(provider, _raw(provider, status, body))


@SETTINGS
@given(st.sampled_from(TARGETS), st.data())
def test_truncated_bodies(provider: str, data: st.DataObject) -> None:
    body = _good_body(provider)
    cut = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    check(provider, _raw(provider, 200, body[:cut]))


@SETTINGS
@given(
    st.sampled_from(TARGETS),
    st.sampled_from(STATUSES),
    st.sampled_from(
        [
            b"<!DOCTYPE html><html><body>Please wait...</body></html>",
            b"\xef\xbb\xbf<html></html>",
            b"  \n<?xml version='1.0'?><error/>",
            b"null",
            b"[]",
            b'"just a string"',
            b"1e999",
            b"[" * 5000 + b"]" * 5000,
            b"Page * Limit exceeds the 25000 limit.",
        ]
    ),
    st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=3),
)
def test_odd_documents_and_headers(
    provider: str, status: int, body: bytes, headers: dict[str, str]
) -> None:
    check(provider, _raw(provider, status, body, headers))


PATHS = {p: paths(json.loads(_good_body(p))) for p in TARGETS}


@SETTINGS
@given(st.sampled_from(TARGETS), st.data(), json_values, st.booleans())
def test_wrong_type_at_any_key(
    provider: str, data: st.DataObject, replacement: Any, delete: bool
) -> None:
    path = data.draw(st.sampled_from(PATHS[provider]))
    body = mutated(_good_body(provider), path, replacement, delete)
    check(provider, _raw(provider, 200, body))


@SETTINGS
@given(
    st.sampled_from(TARGETS),
    st.sampled_from(STATUSES),
    json_values,
    st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=3),
)
def test_error_envelopes(provider: str, status: int, value: Any, headers: dict[str, str]) -> None:
    check(provider, _raw(provider, status, json.dumps({"errors": value}).encode(), headers))


@SETTINGS
@given(header_values)
def test_link_header_parser(link: str) -> None:
    try:
        token = next_page_info(link)
    except ProviderError:
        return
    assert token is None or (isinstance(token, str) and token)


def test_good_fixtures_pass_the_checker() -> None:
    for provider in TARGETS:
        page = _parse(provider)(_raw(provider, 200, _good_body(provider)))
        (_check_orders if provider == "shopify" else _check_products)(page)
