"""Property tests for the six scraping-API adapters.

1. Whatever the body, a parser returns well-formed model objects or raises a ProviderError
   subclass (never a KeyError, TypeError... and never one _guard had to catch).
2. The error mapping holds for every provider, whatever else the answer says: 429 is
   RateLimited with the wait its headers give, "not subscribed" on 401/403 a dead credential,
   5xx the provider's fault, the provider's "not found" / "private" answers target facts, and
   HTML or a truncated body a MalformedResponse.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from providers.errors import (
    CredentialRejected,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetPrivate,
)
from providers.http import RawResponse
from providers.instagram import PROVIDERS
from providers.instagram.base import InstagramProvider
from providers.model import InstagramFollower
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
from tests.providers.test_rapid_parsers import FIXTURES

GOOD = {
    ("jotucker", "profile"): "jotucker/profile.json",
    ("jotucker", "posts_page"): "jotucker/posts_page.json",
    ("jotucker", "post"): "jotucker/post.json",
    ("jotucker", "followers_page"): "jotucker/followers_page.json",
    ("neotank", "profile"): "neotank/profile.json",
    ("neotank", "posts_page"): "neotank/posts_page.json",
    ("igapi", "profile"): "igapi/profile.json",
    ("igapi", "posts_page"): "igapi/posts_page.json",
    ("bestsolutions", "profile"): "bestsolutions/profile.json",
    ("bestsolutions", "posts_page"): "bestsolutions/posts_page.json",
    ("lama", "profile"): "lama/profile.json",
    ("lama", "posts_page"): "lama/posts_chunk.json",
    ("lama", "post"): "lama/post.json",
    ("rocketapi", "profile"): "rocketapi/profile.json",
    ("rocketapi", "post"): "rocketapi/post.json",
    ("rocketapi", "followers_page"): "rocketapi/followers_page.json",
}
TARGETS = sorted(GOOD)
PROVIDER_NAMES = sorted({p for p, _ in TARGETS})
STATUSES = [200, 200, 200, 201, 204, 301, 400, 401, 402, 403, 404, 410, 429, 500, 502, 503]

SETTINGS = property_settings(120)

KEYS = [
    "data",
    "user",
    "users",
    "items",
    "id",
    "pk",
    "code",
    "shortcode",
    "username",
    "media_type",
    "__typename",
    "edges",
    "node",
    "count",
    "page_info",
    "end_cursor",
    "has_next_page",
    "edge_followed_by",
    "edge_owner_to_timeline_media",
    "xdt_shortcode_media",
    "next_max_id",
    "more_available",
    "pagination_token",
    "status",
    "status_code",
    "response",
    "body",
    "message",
    "detail",
    "exc_type",
    "caption",
    "taken_at",
    "image_versions2",
    "candidates",
    "url",
]

json_scalars = strategies.json_scalars(
    ["", "0", "-1", "1e400", "fail", "done", "ok", "private", "GraphVideo", "UserNotFound"]
)
json_values = strategies.json_values(json_scalars, KEYS)


def _parser(provider: InstagramProvider, kind: str) -> Callable[[RawResponse], Any]:
    return {
        "profile": provider.parse_profile,
        "posts_page": provider.parse_posts,
        "post": provider.parse_post,
        "followers_page": provider.parse_followers,
    }[kind]


def _check_follower(follower: Any) -> None:
    assert isinstance(follower, InstagramFollower)
    assert isinstance(follower.profile_id, str) and follower.profile_id
    assert isinstance(follower.handle, str) and follower.handle
    follower.dimensions()


def _check_page(items: Any, cursor: Any, check_item: Callable[[Any], None]) -> None:
    for item in items:
        check_item(item)
    assert cursor is None or (isinstance(cursor, str) and cursor)


def outcome(provider_name: str, kind: str, raw: RawResponse) -> ProviderError | None:
    """Parse; check a success is well formed or the error is a clean ProviderError."""
    provider = PROVIDERS[provider_name]
    try:
        result = _parser(provider, kind)(raw)
    except ProviderError as err:
        assert_clean_error(err, provider_name)
        return err
    if kind == "profile":
        profile, posts, cursor = result
        check_profile(profile)
        _check_page(posts, cursor, check_post)
    elif kind == "posts_page":
        posts, cursor = result
        _check_page(posts, cursor, check_post)
    elif kind == "followers_page":
        followers, cursor = result
        _check_page(followers, cursor, _check_follower)
    else:
        check_post(result)
    return None


def _good_body(target: tuple[str, str]) -> bytes:
    return (FIXTURES / GOOD[target]).read_bytes()


# --------------------------------------------------------------------------- 1. robustness


@SETTINGS
@given(st.sampled_from(TARGETS), st.sampled_from(STATUSES), json_values)
def test_random_json(target: tuple[str, str], status: int, value: Any) -> None:
    outcome(*target, raw_response(*target, status, json.dumps(value).encode()))


@SETTINGS
@given(st.sampled_from(TARGETS), st.sampled_from(STATUSES), st.binary(max_size=300))
def test_random_bytes(target: tuple[str, str], status: int, body: bytes) -> None:
    outcome(*target, raw_response(*target, status, body))


PATHS = {t: paths(json.loads(_good_body(t))) for t in TARGETS}


@SETTINGS
@given(st.sampled_from(TARGETS), st.data(), json_values, st.booleans())
def test_wrong_type_at_any_key(
    target: tuple[str, str], data: st.DataObject, replacement: Any, delete: bool
) -> None:
    path = data.draw(st.sampled_from(PATHS[target]))
    body = mutated(_good_body(target), path, replacement, delete)
    outcome(*target, raw_response(*target, 200, body))


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
                "x-ratelimit-reset",
                "X-RapidAPI-Proxy-Response",
            ]
        ),
        st.text(max_size=40) | st.sampled_from(["true", "1", "1e999", "Wed, 21 Oct 2015"]),
        max_size=3,
    ),
)
def test_error_envelopes_and_headers(
    target: tuple[str, str], status: int, value: Any, headers: dict[str, str]
) -> None:
    body = {"message": value, "detail": value, "exc_type": value, "status": value}
    outcome(*target, raw_response(*target, status, json.dumps(body).encode(), headers))


def test_good_fixtures_parse_cleanly() -> None:
    for target in TARGETS:
        assert outcome(*target, raw_response(*target, 200, _good_body(target))) is None


# --------------------------------------------------------------------------- 2. error mapping

any_body = (
    json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=120)
    | st.sampled_from([b"", b"<html><body>Too Many Requests</body></html>"])
)


def _expect(error: type[ProviderError], target: tuple[str, str], raw: RawResponse) -> Any:
    err = outcome(*target, raw)
    assert type(err) is error, (err, raw.status, raw.body[:200])
    return err


@SETTINGS
@given(
    st.sampled_from(TARGETS),
    any_body,
    st.integers(min_value=1, max_value=86400),
    st.sampled_from(["retry-after", "x-ratelimit-requests-reset", "x-ratelimit-reset"]),
    st.booleans(),
)
def test_429_is_rate_limited_for_as_long_as_the_headers_say(
    target: tuple[str, str], body: bytes, wait: int, header: str, via_proxy: bool
) -> None:
    headers = {header: str(wait), "x-ratelimit-requests-remaining": "0"}
    if via_proxy:
        headers["x-rapidapi-proxy-response"] = "true"
    err = _expect(RateLimited, target, raw_response(*target, 429, body, headers))
    assert err.retry_after == wait


@SETTINGS
@given(
    st.sampled_from(TARGETS),
    st.sampled_from([401, 403]),
    st.sampled_from(
        [
            "You are not subscribed to this API.",
            "you are NOT SUBSCRIBED to this api",
        ]
    ),
    st.dictionaries(st.sampled_from(["info", "hint", "code"]), json_scalars, max_size=2),
    st.booleans(),
)
def test_not_subscribed_is_a_dead_credential(
    target: tuple[str, str],
    status: int,
    message: str,
    extra: dict[str, Any],
    via_proxy: bool,
) -> None:
    headers = {"x-rapidapi-proxy-response": "true"} if via_proxy else {}
    body = json.dumps({"message": message, **extra}).encode()
    _expect(CredentialRejected, target, raw_response(*target, status, body, headers))


@SETTINGS
@given(
    st.sampled_from(TARGETS),
    st.sampled_from([500, 502, 503, 504, 520]),
    any_body,
    st.booleans(),
)
def test_5xx_is_the_providers_fault(
    target: tuple[str, str], status: int, body: bytes, via_proxy: bool
) -> None:
    headers = {"x-rapidapi-proxy-response": "true"} if via_proxy else {}
    _expect(ProviderUnavailable, target, raw_response(*target, status, body, headers))


def _rocket_envelope(code: int, body: Any) -> bytes:
    return json.dumps(
        {
            "status": "done",
            "response": {"status_code": code, "content_type": "application/json", "body": body},
        }
    ).encode()


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=20)


def _not_found(provider: str, noise: str, key: str) -> tuple[int, bytes]:
    """The provider's own way of saying the target does not exist."""
    message = f"{noise} not found".strip()
    if provider == "rocketapi":
        return 200, _rocket_envelope(404, {key: message, "status": "fail"})
    if provider == "lama":
        return 404, json.dumps({"detail": noise, "exc_type": "UserNotFound"}).encode()
    return 404, json.dumps({key: message, "status": "fail"}).encode()


def _private(provider: str, noise: str, key: str) -> tuple[int, bytes]:
    """The provider's own way of saying the target is private."""
    if provider == "rocketapi":
        body = {key: f"Not authorized to view user {noise}", "status": "fail"}
        return 200, _rocket_envelope(400, body)
    if provider == "lama":
        return 403, json.dumps({"detail": noise, "exc_type": "PrivateError"}).encode()
    return 403, json.dumps({key: f"This account is private {noise}"}).encode()


@SETTINGS
@given(st.sampled_from(TARGETS), words, st.sampled_from(["message", "detail", "error"]))
def test_not_found_answers_are_target_facts(target: tuple[str, str], noise: str, key: str) -> None:
    status, body = _not_found(target[0], noise, key)
    _expect(TargetNotFound, target, raw_response(*target, status, body))


@SETTINGS
@given(st.sampled_from(TARGETS), words, st.sampled_from(["message", "detail"]))
def test_private_answers_are_target_facts(target: tuple[str, str], noise: str, key: str) -> None:
    status, body = _private(target[0], noise, key)
    _expect(TargetPrivate, target, raw_response(*target, status, body))


HTML = [
    b"<!DOCTYPE html><html><body>Please wait...</body></html>",
    b"<html><head><title>Just a moment...</title></head></html>",
    b"  \n<?xml version='1.0'?><error/>",
]


@SETTINGS
@given(st.sampled_from(TARGETS), st.sampled_from(HTML))
def test_html_is_malformed(target: tuple[str, str], body: bytes) -> None:
    _expect(MalformedResponse, target, raw_response(*target, 200, body))


@SETTINGS
@given(st.sampled_from(TARGETS), st.data())
def test_truncated_bodies_are_malformed(target: tuple[str, str], data: st.DataObject) -> None:
    body = _good_body(target)
    cut = data.draw(st.integers(min_value=0, max_value=len(body.rstrip()) - 1))
    _expect(MalformedResponse, target, raw_response(*target, 200, body[:cut]))
