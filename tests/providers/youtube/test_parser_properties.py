"""Property tests: whatever the body, the YouTube parsers return well-formed model objects or
raise a ProviderError subclass, and never anything else (no KeyError, TypeError, ...)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from providers.errors import ProviderError
from providers.http import RawResponse
from providers.youtube import PROVIDERS, YtApi
from providers.youtube.model import (
    VIDEO_POST_TYPES,
    SearchResult,
    YouTubeChannel,
    YouTubeVideo,
)
from providers.youtube.ytapi import AccessToken
from tests.providers import strategies
from tests.providers.strategies import (
    assert_clean_error,
    mutated,
    paths,
    property_settings,
    raw_response,
)
from tests.providers.youtube.support import FIXTURES

GOOD = {
    ("ytapitoken", "channel"): "ytapitoken/channel.json",
    ("ytapitoken", "playlist_page"): "ytapitoken/playlist_page.json",
    ("ytapitoken", "videos"): "ytapitoken/videos.json",
    ("ytapitoken", "search"): "ytapitoken/search.json",
    ("ytapi", "channel"): "ytapi/channel.json",
    ("ytapi", "oauth_token"): "ytapi/token.json",
    ("youtube138", "channel"): "youtube138/channel.json",
    ("youtube138", "playlist_page"): "youtube138/channel_videos.json",
    ("youtube138", "videos"): "youtube138/video.json",
    ("yt-v31", "channel"): "yt-v31/channel.json",
    ("yt-v31", "playlist_page"): "yt-v31/search_channel_page.json",
    ("yt-v31", "videos"): "yt-v31/videos.json",
    ("yt-search", "search"): "yt-search/search.json",
}
TARGETS = sorted(GOOD)
STATUSES = [200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 410, 429, 500, 502, 503]
SETTINGS = property_settings(120)

json_values = strategies.json_values(
    strategies.json_scalars(
        ["", "0", "-1", "1e400", "PT4M13S", "P0D", "PT", "youtube#video", "quotaExceeded"]
    ),
    [
        "items",
        "id",
        "kind",
        "snippet",
        "statistics",
        "contentDetails",
        "videoId",
        "nextPageToken",
        "error",
        "errors",
        "reason",
        "code",
        "message",
        "contents",
        "video",
        "type",
        "cursor",
        "cursorNext",
        "channelId",
        "stats",
        "access_token",
        "expires_in",
        "duration",
        "thumbnails",
    ],
)


def _parser(provider_name: str, kind: str) -> Callable[[RawResponse], Any]:
    provider = PROVIDERS[provider_name]
    if kind == "oauth_token":
        assert isinstance(provider, YtApi)
        return provider.parse_token
    return provider.parse


def _check_channel(channel: Any) -> None:
    assert isinstance(channel, YouTubeChannel)
    assert isinstance(channel.channel_id, str) and channel.channel_id
    for count in (channel.subscriber_count, channel.view_count, channel.video_count):
        assert count is None or (isinstance(count, int) and count >= 0)
    if channel.published_at is not None:
        assert channel.published_at.tzinfo is not None
    channel.metrics()
    channel.dimensions()


def _check_video(video: Any) -> None:
    assert isinstance(video, YouTubeVideo)
    assert isinstance(video.video_id, str) and video.video_id
    assert video.post_type in VIDEO_POST_TYPES
    assert all(isinstance(t, str) for t in video.tags)
    for count in (video.view_count, video.like_count, video.comment_count, video.favourite_count):
        assert count is None or (isinstance(count, int) and count >= 0)
    assert video.duration_seconds is None or video.duration_seconds >= 0
    video.metrics()
    video.dimensions()


def check(provider_name: str, kind: str, raw: RawResponse) -> None:
    try:
        result = _parser(provider_name, kind)(raw)
    except ProviderError as err:
        assert_clean_error(err, provider_name)
        return
    if kind == "channel":
        _check_channel(result)
    elif kind == "videos":
        assert isinstance(result, list)
        for video in result:
            _check_video(video)
    elif kind == "playlist_page":
        ids, cursor = result
        assert all(isinstance(i, str) and i for i in ids)
        assert cursor is None or (isinstance(cursor, str) and cursor)
    elif kind == "search":
        results, cursor = result
        assert all(isinstance(r, SearchResult) and r.target_id for r in results)
        assert cursor is None or isinstance(cursor, str)
    else:
        assert isinstance(result, AccessToken) and result.token and result.expires_in > 0


def _good_body(target: tuple[str, str]) -> bytes:
    return (FIXTURES / GOOD[target]).read_bytes()


@SETTINGS
@given(st.sampled_from(TARGETS), st.sampled_from(STATUSES), json_values)
def test_random_json(target: tuple[str, str], status: int, value: Any) -> None:
    check(*target, raw_response(*target, status, json.dumps(value).encode()))


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
            b"<!DOCTYPE html><html><body>Error 502</body></html>",
            b"  \n<?xml version='1.0'?><error/>",
            b"null",
            b"[]",
            b"{}",
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
                "x-ratelimit-reset",
                "X-RapidAPI-Proxy-Response",
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
    if provider in ("ytapitoken", "ytapi"):
        body: Any = {"error": {"code": status, "message": value, "errors": [{"reason": value}]}}
    else:
        body = {"message": value, "error": value}
    check(*target, raw_response(*target, status, json.dumps(body).encode(), headers))


def test_good_fixtures_pass_the_checker() -> None:
    for target in TARGETS:
        check(*target, raw_response(*target, 200, _good_body(target)))
