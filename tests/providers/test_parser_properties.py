"""Property tests: whatever the body, parsers return well-formed model objects or raise a
ProviderError subclass, and never anything else (no KeyError, TypeError, ...)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.errors import ProviderError
from providers.http import RawResponse
from providers.instagram import PROVIDERS
from providers.instagram.base import InstagramProvider
from providers.model import POST_TYPES, PROFILE_TYPES, InstagramPost, InstagramProfile

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

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["", "0", "-1", "1e400", "fail", "private", "IMAGE", "VIDEO", "GraphVideo"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
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
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


def _parser(provider: InstagramProvider, kind: str) -> Callable[[RawResponse], Any]:
    return {
        "profile": provider.parse_profile,
        "posts_page": provider.parse_posts,
        "post": provider.parse_post,
    }[kind]


def _check_post(post: Any) -> None:
    assert isinstance(post, InstagramPost)
    assert isinstance(post.shortcode, str) and post.shortcode
    assert post.post_type in POST_TYPES
    for count in (post.likes, post.comments, post.views, post.plays):
        assert count is None or (isinstance(count, int) and count >= 0)
    if post.taken_at is not None:
        assert post.taken_at.tzinfo is not None
    post.dimensions()
    post.metrics()


def _check_profile(profile: Any) -> None:
    assert isinstance(profile, InstagramProfile)
    assert isinstance(profile.profile_id, str) and profile.profile_id
    assert isinstance(profile.handle, str) and profile.handle
    assert profile.profile_type is None or profile.profile_type in PROFILE_TYPES
    for count in (profile.followers, profile.following, profile.media_count):
        assert count is None or (isinstance(count, int) and count >= 0)
    profile.dimensions()
    profile.metrics()


def check(provider_name: str, kind: str, raw: RawResponse) -> None:
    provider = PROVIDERS[provider_name]
    try:
        result = _parser(provider, kind)(raw)
    except ProviderError as err:
        assert "internal:" not in err.message, err.message
        assert err.provider == provider_name
        return
    if kind == "profile":
        profile, posts, cursor = result
        _check_profile(profile)
        for post in posts:
            _check_post(post)
        assert cursor is None or isinstance(cursor, str)
    elif kind == "posts_page":
        posts, cursor = result
        for post in posts:
            _check_post(post)
        assert cursor is None or isinstance(cursor, str)
    else:
        _check_post(result)


def _raw(provider: str, kind: str, status: int, body: bytes, headers: Any = ()) -> RawResponse:
    return RawResponse.build(provider, kind, status, body, headers)


def _good_body(target: tuple[str, str]) -> bytes:
    return (PAYLOADS / GOOD[target]).read_bytes()


@SETTINGS
@given(st.sampled_from(TARGETS), st.sampled_from(STATUSES), json_values)
def test_random_json(target: tuple[str, str], status: int, value: Any) -> None:
    body = json.dumps(value).encode()
    check(*target, _raw(*target, status, body))


@SETTINGS
@given(st.sampled_from(TARGETS), st.sampled_from(STATUSES), st.binary(max_size=300))
def test_random_bytes(target: tuple[str, str], status: int, body: bytes) -> None:
    check(*target, _raw(*target, status, body))


@SETTINGS
@given(st.sampled_from(TARGETS), st.data())
def test_truncated_bodies(target: tuple[str, str], data: st.DataObject) -> None:
    body = _good_body(target)
    cut = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    check(*target, _raw(*target, 200, body[:cut]))


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
    check(*target, _raw(*target, status, body))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((*prefix, k))
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append((*prefix, i))
            out.extend(_paths(v, (*prefix, i)))
    return out


PATHS = {t: _paths(json.loads(_good_body(t))) for t in TARGETS}


@SETTINGS
@given(st.sampled_from(TARGETS), st.data(), json_values, st.booleans())
def test_wrong_type_at_any_key(
    target: tuple[str, str], data: st.DataObject, replacement: Any, delete: bool
) -> None:
    doc = copy.deepcopy(json.loads(_good_body(target)))
    path = data.draw(st.sampled_from(PATHS[target]))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    check(*target, _raw(*target, 200, json.dumps(doc).encode()))


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
    check(*target, _raw(*target, status, json.dumps(body).encode(), headers))


def test_good_fixtures_pass_the_checker() -> None:
    for target in TARGETS:
        check(*target, _raw(*target, 200, _good_body(target)))
