"""Property tests: whatever the body, parsers return well-formed model objects or raise a
ProviderError subclass, and never anything else (no KeyError, TypeError, ...)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from providers.errors import ProviderError
from providers.http import RawResponse
from providers.instagram import PROVIDERS
from providers.instagram.base import InstagramProvider
from tests.providers import strategies
from tests.providers.strategies import (
    assert_clean_error,
    check_post,
    check_profile,
    mutated,
    paths,
    property_settings,
    raw_response,
)

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads"
MANIFEST: dict[str, Any] = json.loads((PAYLOADS / "manifest.json").read_text())
GOOD = {
    ("graphapi", "profile"): "graphapi/profile.json",
    ("graphapi", "posts_page"): "graphapi/posts_page.json",
    ("arraybobo", "profile"): "arraybobo/profile.json",
    ("arraybobo", "posts_page"): "arraybobo/posts_page.json",
    ("arraybobo", "post"): "arraybobo/post.json",
}
TARGETS = sorted(GOOD)
STATUSES = [200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 410, 429, 500, 502, 503]

SETTINGS = property_settings(150)

json_values = strategies.json_values(
    strategies.json_scalars(
        ["", "0", "-1", "1e400", "fail", "private", "IMAGE", "VIDEO", "GraphVideo"]
    ),
    [
        "user",
        "data",
        "pk",
        "username",
        "media",
        "edges",
        "node",
        "count",
        "error",
        "code",
        "message",
        "status",
        "business_discovery",
        "ig_id",
        "shortcode",
        "__typename",
        "page_info",
        "paging",
        "cursors",
        "after",
        "next",
        "timestamp",
        "permalink",
    ],
)


def _parser(provider: InstagramProvider, kind: str) -> Callable[[RawResponse], Any]:
    return {
        "profile": provider.parse_profile,
        "posts_page": provider.parse_posts,
        "post": provider.parse_post,
    }[kind]


def check(provider_name: str, kind: str, raw: RawResponse) -> None:
    provider = PROVIDERS[provider_name]
    try:
        result = _parser(provider, kind)(raw)
    except ProviderError as err:
        assert_clean_error(err, provider_name)
        return
    if kind == "profile":
        profile, posts, cursor = result
        check_profile(profile)
        for post in posts:
            check_post(post)
        assert cursor is None or isinstance(cursor, str)
    elif kind == "posts_page":
        posts, cursor = result
        for post in posts:
            check_post(post)
        assert cursor is None or isinstance(cursor, str)
    else:
        check_post(result)


def _good_body(target: tuple[str, str]) -> bytes:
    return (PAYLOADS / GOOD[target]).read_bytes()


@SETTINGS
@given(st.sampled_from(TARGETS), st.sampled_from(STATUSES), json_values)
def test_random_json(target: tuple[str, str], status: int, value: Any) -> None:
    body = json.dumps(value).encode()
    check(*target, raw_response(*target, status, body))


@SETTINGS
@given(st.sampled_from(TARGETS), st.sampled_from(STATUSES), st.binary(max_size=300))
def test_random_bytes(target: tuple[str, str], status: int, body: bytes) -> None:
    check(*target, raw_response(*target, status, body))


@SETTINGS
@given(st.sampled_from(TARGETS), st.data())
def test_truncated_bodies(target: tuple[str, str], data: st.DataObject) -> None:
    body = _good_body(target)
    cut = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    check(*target, raw_response(*target, 200, body[:cut]))


@SETTINGS
@given(
    st.sampled_from(TARGETS),
    st.sampled_from(STATUSES),
    st.sampled_from(
        [
            b"<!DOCTYPE html><html><body>Please wait...</body></html>",
            b"<html><head><title>502 Bad Gateway</title></head></html>",
            b"  \n<?xml version='1.0'?><error/>",
            b"\xef\xbb\xbf<html></html>",
            b"null",
            b"[]",
            b'"just a string"',
            b"1e999",
            b"[" * 5000 + b"]" * 5000,
        ]
    ),
)
def test_html_and_odd_documents(target: tuple[str, str], status: int, body: bytes) -> None:
    check(*target, raw_response(*target, status, body))


PATHS = {t: paths(json.loads(_good_body(t))) for t in TARGETS}


@SETTINGS
@given(st.sampled_from(TARGETS), st.data(), json_values, st.booleans())
def test_wrong_type_at_any_key(
    target: tuple[str, str], data: st.DataObject, replacement: Any, delete: bool
) -> None:
    path = data.draw(st.sampled_from(PATHS[target]))
    body = mutated(_good_body(target), path, replacement, delete)
    check(*target, raw_response(*target, 200, body))


@SETTINGS
@given(
    st.sampled_from(TARGETS),
    st.sampled_from(STATUSES),
    json_values,
    st.dictionaries(
        st.sampled_from(
            [
                "Retry-After",
                "x-ratelimit-requests-reset",
                "X-Business-Use-Case-Usage",
                "X-App-Usage",
            ]
        ),
        st.text(max_size=40) | json_values.map(json.dumps),
        max_size=3,
    ),
)
def test_error_envelopes_and_headers(
    target: tuple[str, str], status: int, value: Any, headers: dict[str, str]
) -> None:
    provider, _ = target
    body = {"error": value} if provider == "graphapi" else {"message": value, "status": value}
    check(*target, raw_response(*target, status, json.dumps(body).encode(), headers))


def test_good_fixtures_pass_the_checker() -> None:
    for target in TARGETS:
        check(*target, raw_response(*target, 200, _good_body(target)))
