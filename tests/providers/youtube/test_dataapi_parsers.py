"""The Data API adapters (ytapitoken, ytapi) on recorded answers: requests, parsers, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from providers.cooling import seconds_until_midnight_pacific
from providers.credentials import Credential
from providers.errors import (
    BadInput,
    CredentialRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetPrivate,
)
from providers.http import RawResponse
from providers.model import flatten
from providers.youtube import PROVIDERS, YtApi, YtApiToken
from providers.youtube.errors import SHORT_COOLING_SECONDS
from providers.youtube.model import SearchResult, YouTubeChannel

Recorded = Callable[[str], RawResponse]
TOKEN = YtApiToken()
OAUTH = YtApi()
KEY = "AIzaSyRecordedTestKey000000000000000000"
CRED = Credential("k", "ytapitoken", {"key": KEY})
BASE = "https://www.googleapis.example"


def test_registry_names_and_capabilities() -> None:
    assert set(PROVIDERS) == {
        "ytapitoken",
        "ytapi",
        "youtube138",
        "yt-v31",
        "yt-search",
        "yt-shorts",
    }
    assert TOKEN.supports == {
        "channel", "channel_video_ids", "videos", "search", "comments", "activities",
        "subscriptions", "genre",
    }  # fmt: skip
    assert OAUTH.needs_oauth and not TOKEN.needs_oauth
    assert TOKEN.videos_per_request == 50


def _query(url: str, params: dict[str, str]) -> dict[str, str]:
    return {**{k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}, **params}


def test_channel_requests_by_id_and_by_handle() -> None:
    by_id = TOKEN.channel_request("UCq3Ci-h945sbEYXpVlw7rJg", None, CRED, BASE + "/")
    assert by_id.method == "GET"
    assert by_id.url == f"{BASE}/youtube/v3/channels"
    assert by_id.params == {
        "part": "snippet,statistics,contentDetails",
        "id": "UCq3Ci-h945sbEYXpVlw7rJg",
        "key": KEY,
    }
    by_handle = TOKEN.channel_request(None, "harbourlanekitchen", CRED, BASE)
    assert by_handle.params["forHandle"] == "@harbourlanekitchen"
    assert "id" not in by_handle.params
    assert KEY not in by_id.redacted_url() and KEY not in repr(by_id)


def test_listing_videos_and_search_requests() -> None:
    page = TOKEN.video_ids_request("UCq3Ci-h945sbEYXpVlw7rJg", "EAAaBlBUOkNESQ", CRED, BASE)
    assert page.url.endswith("/youtube/v3/playlistItems")
    assert page.params["playlistId"] == "UUq3Ci-h945sbEYXpVlw7rJg"
    assert (page.params["maxResults"], page.params["pageToken"]) == ("50", "EAAaBlBUOkNESQ")
    first = TOKEN.video_ids_request("UCq3Ci-h945sbEYXpVlw7rJg", None, CRED, BASE)
    assert "pageToken" not in first.params
    videos = TOKEN.videos_request(["3nWa_dRzSvU", "kL92xPqmbZ0"], CRED, BASE)
    assert videos.params["id"] == "3nWa_dRzSvU,kL92xPqmbZ0"
    assert videos.params["part"] == "snippet,statistics,contentDetails"
    with pytest.raises(ValueError):
        TOKEN.videos_request(["a" * 11] * 51, CRED, BASE)
    search = TOKEN.search_request("harissa chickpeas", None, CRED, BASE)
    assert _query(search.url, search.params)["q"] == "harissa chickpeas"
    assert search.params["type"] == "video"


def test_a_key_less_credential_is_rejected() -> None:
    with pytest.raises(CredentialRejected):
        TOKEN.channel_request(
            "UCq3Ci-h945sbEYXpVlw7rJg", None, Credential("x", "ytapitoken", {}), BASE
        )


def test_channel(recorded: Recorded) -> None:
    channel = TOKEN.parse_channel(recorded("ytapitoken/channel.json"))
    thumbnails = json.loads(channel.thumbnails or "")
    assert channel == YouTubeChannel(
        channel_id="UCq3Ci-h945sbEYXpVlw7rJg",
        title="Harbour Lane Kitchen",
        description="Weeknight recipes from a tiny kitchen in Bristol 🍲\nNew video every Thursday.",
        custom_url="@harbourlanekitchen",
        country="GB",
        published_at=datetime(2014, 3, 18, 9, 12, 44, tzinfo=UTC),
        thumbnail="https://yt3.ggpht.example/hlk-avatar=s800-c-k-c0x00ffffff-no-rj",
        thumbnails=channel.thumbnails,
        uploads_playlist_id="UUq3Ci-h945sbEYXpVlw7rJg",
        subscriber_count=412000,
        hidden_subscriber_count=False,
        view_count=48213377,
        video_count=318,
    )
    assert set(thumbnails) == {"default", "medium", "high"}
    assert channel.handle == "harbourlanekitchen"
    assert flatten(channel.metrics()) == {
        "video_count": 318,
        "subscriber_count": 412000,
        "hidden_subscriber_count": False,
        "view_count": 48213377,
    }
    dims = flatten(channel.dimensions())
    assert dims["custom_url"] == "@harbourlanekitchen"
    assert dims["taken_at_timestamp"] == 1395133964
    assert dims["uploads_playlist_id"] == "UUq3Ci-h945sbEYXpVlw7rJg"
    assert json.loads(dims["thumbnails"]) == thumbnails


def test_hidden_subscribers_and_sparse_snippet(recorded: Recorded) -> None:
    channel = TOKEN.parse_channel(recorded("ytapitoken/channel_hidden.json"))
    assert channel.subscriber_count is None
    assert channel.hidden_subscriber_count is True
    assert (channel.country, channel.custom_url, channel.handle) == (None, None, None)
    assert channel.published_at == datetime(2019, 11, 2, 21, 40, 7, 284315, tzinfo=UTC)
    assert (channel.view_count, channel.video_count) == (0, 0)
    assert "subscriber_count" not in flatten(channel.metrics())


def test_unknown_channel_is_a_200_without_items(recorded: Recorded) -> None:
    with pytest.raises(TargetNotFound) as info:
        TOKEN.parse_channel(recorded("ytapitoken/channel_empty.json"))
    assert (info.value.provider, info.value.status) == ("ytapitoken", 200)


def test_playlist_pages(recorded: Recorded) -> None:
    ids, token = TOKEN.parse_video_ids(recorded("ytapitoken/playlist_page.json"))
    assert ids == ["3nWa_dRzSvU", "kL92xPqmbZ0", "-Hn8t4wEaQQ"]
    assert token == "EAAaBlBUOkNESQ"
    # The snippet-only form (part=snippet) names the video in resourceId.
    assert TOKEN.parse_video_ids(recorded("ytapitoken/playlist_page_last.json")) == (
        ["bX4JXicdRoU"],
        None,
    )


def test_videos(recorded: Recorded) -> None:
    long, short, live = TOKEN.parse_videos(recorded("ytapitoken/videos.json"))
    assert long.video_id == "3nWa_dRzSvU"
    assert long.channel_id == "UCq3Ci-h945sbEYXpVlw7rJg"
    assert long.channel_title == "Harbour Lane Kitchen"
    assert long.published_at == datetime(2024, 5, 9, 16, 0, 12, tzinfo=UTC)
    assert (long.duration_seconds, long.post_type) == (877, "video")
    assert long.tags == ("harissa", "chickpeas", "one pan dinner", "vegan")
    assert (long.category_id, long.audio_language, long.definition) == ("26", "en-GB", "hd")
    assert (long.is_licensed, long.content_rating) == (True, None)
    assert long.thumbnail == "https://i.ytimg.example/vi/3nWa_dRzSvU/maxresdefault.jpg"
    assert (long.view_count, long.like_count, long.comment_count, long.favourite_count) == (
        183204,
        9120,
        412,
        0,
    )
    assert (short.duration_seconds, short.post_type, short.tags) == (45, "short", ())
    assert short.audio_language is None and short.is_licensed is False
    # Hidden likes and disabled comments are absent, not zero.
    assert (live.like_count, live.comment_count) == (None, None)
    assert live.duration_seconds == 86400 + 2 * 3600 + 3 * 60 + 4
    assert json.loads(live.content_rating or "") == {"ytRating": "ytAgeRestricted"}
    assert live.definition == "sd"


def test_video_keys_follow_the_original_names(recorded: Recorded) -> None:
    video = TOKEN.parse_videos(recorded("ytapitoken/videos.json"))[0]
    assert flatten(video.metrics()) == {
        "comments": 412,
        "favourite_count": 0,
        "likes": 9120,
        "view_count": 183204,
    }
    dims = flatten(video.dimensions())
    for key in (
        "title",
        "channel_title",
        "description",
        "duration",
        "tags",
        "category_id",
        "audio_language",
        "is_licensed",
        "definition",
        "post_type",
    ):
        assert key in dims, key
    assert dims["shortcode"] == "3nWa_dRzSvU" and dims["duration"] == 877
    hidden = TOKEN.parse_videos(recorded("ytapitoken/videos.json"))[2]
    assert "likes" not in flatten(hidden.metrics())


def test_search(recorded: Recorded) -> None:
    results, token = TOKEN.parse_search(recorded("ytapitoken/search.json"))
    assert token == "CAMQAA"
    assert [r.kind for r in results] == ["video", "channel", "playlist"]
    video, channel, playlist = results
    assert video == SearchResult(
        kind="video",
        video_id="3nWa_dRzSvU",
        channel_id="UCq3Ci-h945sbEYXpVlw7rJg",
        title="One-pan harissa chickpeas (20 minutes!)",
        description=(
            "The dinner I make when I have no energy left. Recipe: https://harbourlane.example/harissa"
        ),
        channel_title="Harbour Lane Kitchen",
        published_at=datetime(2024, 5, 9, 16, 0, 12, tzinfo=UTC),
        thumbnail="https://i.ytimg.example/vi/3nWa_dRzSvU/hqdefault.jpg",
    )
    assert channel.target_id == "UCq3Ci-h945sbEYXpVlw7rJg"
    assert playlist.target_id == "PLs0urd0ughB4k3Al0ngXyZ123"


ERRORS: list[tuple[str, type[ProviderError]]] = [
    ("ytapitoken/error_quota.json", RateLimited),
    ("ytapitoken/error_rate_limit.json", RateLimited),
    ("ytapitoken/error_key_invalid.json", CredentialRejected),
    ("ytapitoken/error_key_expired.json", CredentialRejected),
    ("ytapitoken/error_access_not_configured.json", CredentialRejected),
    ("ytapitoken/error_playlist_not_found.json", TargetNotFound),
    ("ytapitoken/error_not_accessible.json", TargetPrivate),
    ("ytapitoken/error_page_token.json", BadInput),
    ("ytapitoken/error_backend.json", ProviderUnavailable),
    ("ytapitoken/error_502.html", ProviderUnavailable),
    ("ytapi/error_auth.json", CredentialRejected),
]


@pytest.mark.parametrize(("name", "expected"), ERRORS)
def test_errors_map_onto_the_hierarchy(
    recorded: Recorded, name: str, expected: type[ProviderError]
) -> None:
    raw = recorded(name)
    with pytest.raises(ProviderError) as info:
        PROVIDERS[raw.provider].parse(raw)
    assert type(info.value) is expected
    assert info.value.provider == raw.provider
    assert info.value.status == raw.status


def test_quota_exceeded_cools_until_midnight_pacific(recorded: Recorded) -> None:
    with pytest.raises(RateLimited) as info:
        TOKEN.parse_video_ids(recorded("ytapitoken/error_quota.json"))
    expected = seconds_until_midnight_pacific()
    assert info.value.retry_after is not None
    assert abs(info.value.retry_after - expected) < 5
    assert "quota" in info.value.message


def test_a_rate_limit_is_a_short_pause(recorded: Recorded) -> None:
    with pytest.raises(RateLimited) as info:
        TOKEN.parse_videos(recorded("ytapitoken/error_rate_limit.json"))
    assert info.value.retry_after == SHORT_COOLING_SECONDS


def test_every_recorded_answer_parses_or_fails_cleanly(recorded: Recorded) -> None:
    from tests.providers.youtube.support import recorded_names

    for name in recorded_names():
        raw = recorded(name)
        provider = PROVIDERS[raw.provider]
        try:
            if raw.kind == "oauth_token":
                assert isinstance(provider, YtApi)
                provider.parse_token(raw)
            else:
                provider.parse(raw)
        except ProviderError as err:
            assert "internal:" not in err.message, (name, err)
