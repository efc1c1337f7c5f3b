"""The RapidAPI adapters (youtube138, yt-v31, yt-search) on recorded answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from providers.credentials import Credential
from providers.errors import (
    CredentialRejected,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetNotServed,
)
from providers.http import RawResponse
from providers.youtube import Youtube138, YtSearch, YtV31

Recorded = Callable[[str], RawResponse]
YT138, V31, SEARCH = Youtube138(), YtV31(), YtSearch()
CHANNEL = "UCq3Ci-h945sbEYXpVlw7rJg"


def _cred(provider: str, **extra: str) -> Credential:
    return Credential("r", provider, {"x-rapidapi-key": "rk-recorded-0001", **extra})


def test_capabilities() -> None:
    assert YT138.supports == {"channel", "channel_video_ids", "videos"}
    assert V31.supports == {"channel", "channel_video_ids", "videos"}
    assert SEARCH.supports == {"search"}
    assert YT138.videos_per_request == 1 and V31.videos_per_request == 50


def test_requests_send_the_credential_headers_and_default_host() -> None:
    request = YT138.channel_request(CHANNEL, None, _cred("youtube138"), "https://yt138.example")
    assert request.url == "https://yt138.example/channel/details/"
    assert request.params == {"id": CHANNEL, "hl": "en", "gl": "US"}
    assert request.headers["x-rapidapi-host"] == "youtube138.p.rapidapi.com"
    assert request.headers["x-rapidapi-key"] == "rk-recorded-0001"
    assert "rk-recorded-0001" not in repr(request)
    listing = YT138.video_ids_request(CHANNEL, "4qmFsgK", _cred("youtube138"), "https://h")
    assert listing.params["cursor"] == "4qmFsgK" and listing.params["filter"] == "videos_latest"
    assert YT138.videos_request(["3nWa_dRzSvU"], _cred("youtube138"), "https://h").params["id"] == (
        "3nWa_dRzSvU"
    )
    with pytest.raises(ValueError):
        YT138.videos_request(["3nWa_dRzSvU", "kL92xPqmbZ0"], _cred("youtube138"), "https://h")

    custom = _cred("yt-v31", **{"x-rapidapi-host": "custom.example"})
    v31 = V31.video_ids_request(CHANNEL, None, custom, "https://v31.example")
    assert v31.url == "https://v31.example/search"
    assert v31.params == {
        "channelId": CHANNEL,
        "part": "id",
        "order": "date",
        "type": "video",
        "maxResults": "50",
    }
    assert v31.headers["x-rapidapi-host"] == "custom.example"
    search = SEARCH.search_request("harissa", "CAMQAA", _cred("yt-search"), "https://s.example")
    assert search.url == "https://s.example/search/"
    assert search.params["pageToken"] == "CAMQAA"
    assert search.headers["x-rapidapi-host"] == "youtube-v311.p.rapidapi.com"


def test_a_credential_without_key_is_rejected() -> None:
    with pytest.raises(CredentialRejected):
        V31.channel_request(CHANNEL, None, Credential("x", "yt-v31", {}), "https://h")


@pytest.mark.parametrize("provider", [YT138, V31])
def test_handles_are_left_to_other_providers(provider: Youtube138 | YtV31) -> None:
    with pytest.raises(TargetNotServed):
        provider.channel_request(None, "harbourlanekitchen", _cred(provider.name), "https://h")


def test_youtube138_channel(recorded: Recorded) -> None:
    channel = YT138.parse_channel(recorded("youtube138/channel.json"))
    assert channel.channel_id == CHANNEL
    assert channel.custom_url == "@harbourlanekitchen"
    assert channel.published_at == datetime(2014, 3, 18, tzinfo=UTC)
    assert channel.thumbnail == (
        "https://yt3.googleusercontent.example/hlk-avatar=s176-c-k-c0x00ffffff-no-rj"
    )
    assert channel.uploads_playlist_id == "UUq3Ci-h945sbEYXpVlw7rJg"
    assert (channel.subscriber_count, channel.view_count, channel.video_count) == (
        412000,
        48213377,
        318,
    )
    assert channel.country == "GB" and channel.hidden_subscriber_count is None


def test_youtube138_listing_pages(recorded: Recorded) -> None:
    ids, cursor = YT138.parse_video_ids(recorded("youtube138/channel_videos.json"))
    assert ids == ["3nWa_dRzSvU", "kL92xPqmbZ0"]  # the playlist shelf is skipped
    assert cursor is not None and cursor.startswith("4qmFsgK")
    assert YT138.parse_video_ids(recorded("youtube138/channel_videos_last.json")) == (
        ["bX4JXicdRoU"],
        None,
    )


def test_youtube138_video(recorded: Recorded) -> None:
    (video,) = YT138.parse_videos(recorded("youtube138/video.json"))
    assert video.video_id == "3nWa_dRzSvU"
    assert video.published_at == datetime(2024, 5, 9, 16, 0, 12, tzinfo=UTC)
    assert (video.duration_seconds, video.post_type) == (877, "video")
    assert video.tags == ("harissa", "chickpeas", "one pan dinner", "vegan")
    assert (video.view_count, video.like_count, video.comment_count) == (183204, 9120, 412)
    assert (video.channel_id, video.channel_title) == (CHANNEL, "Harbour Lane Kitchen")
    assert video.thumbnail == "https://i.ytimg.example/vi/3nWa_dRzSvU/maxresdefault.jpg"
    assert video.category_id is None and video.definition is None


def test_yt_v31_speaks_the_data_api(recorded: Recorded) -> None:
    channel = V31.parse_channel(recorded("yt-v31/channel.json"))
    assert (channel.channel_id, channel.subscriber_count) == (CHANNEL, 412000)
    ids, token = V31.parse_video_ids(recorded("yt-v31/search_channel_page.json"))
    assert ids == ["3nWa_dRzSvU", "kL92xPqmbZ0", "-Hn8t4wEaQQ"]  # the playlist hit is skipped
    assert token == "CDIQAA"
    assert len(V31.parse_videos(recorded("yt-v31/videos.json"))) == 3
    with pytest.raises(TargetNotFound):
        V31.parse_channel(recorded("yt-v31/channel_empty.json"))


def test_yt_search(recorded: Recorded) -> None:
    results, token = SEARCH.parse_search(recorded("yt-search/search.json"))
    assert [r.kind for r in results] == ["video", "channel", "playlist"] and token == "CAMQAA"


ERRORS: list[tuple[str, type[ProviderError], float | None]] = [
    ("youtube138/error_not_found.json", TargetNotFound, None),
    ("youtube138/error_rate_limit.json", RateLimited, 37.0),
    ("youtube138/error_not_subscribed.json", CredentialRejected, None),
    ("youtube138/error_invalid_key.json", CredentialRejected, None),
    ("youtube138/error_endpoint.json", ProviderUnavailable, None),
    ("youtube138/error_500.json", ProviderUnavailable, None),
    ("yt-v31/error_rate_limit.json", RateLimited, 12.0),
    ("yt-v31/error_not_subscribed.json", CredentialRejected, None),
    # Google's envelope passed through: the clone's own quota/key trouble, not ours.
    ("yt-v31/error_upstream_quota.json", ProviderUnavailable, None),
    ("yt-v31/error_upstream_not_found.json", TargetNotFound, None),
    ("yt-search/error_rate_limit.json", RateLimited, 1.0),
    ("yt-search/error_not_subscribed.json", CredentialRejected, None),
]


@pytest.mark.parametrize(("name", "expected", "retry_after"), ERRORS)
def test_errors(
    recorded: Recorded, name: str, expected: type[ProviderError], retry_after: float | None
) -> None:
    raw = recorded(name)
    provider = {"youtube138": YT138, "yt-v31": V31, "yt-search": SEARCH}[raw.provider]
    with pytest.raises(ProviderError) as info:
        provider.parse(raw)
    assert type(info.value) is expected
    assert (info.value.provider, info.value.status) == (raw.provider, raw.status)
    if retry_after is not None:
        assert isinstance(info.value, RateLimited) and info.value.retry_after == retry_after
