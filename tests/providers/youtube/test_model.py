"""The normalized YouTube model: durations, the video/short rule, key names, input checks."""

from __future__ import annotations

import pytest

from providers.errors import BadInput
from providers.youtube.base import (
    normalize_channel_id,
    normalize_handle,
    normalize_query,
    normalize_video_id,
    uploads_playlist_for,
)
from providers.youtube.model import (
    SearchResult,
    YouTubeChannel,
    YouTubeVideo,
    iso_duration_seconds,
    post_type_for,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT4M13S", 253),
        ("PT15S", 15),
        ("PT1H", 3600),
        ("PT1H0M1S", 3601),
        ("P1DT2H3M4S", 93784),
        ("P1W", 604800),
        ("P0D", 0),
        ("PT0S", 0),
        ("PT1.5S", 1),
    ],
)
def test_iso_durations(text: str, seconds: int) -> None:
    assert iso_duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "4M13S", "PT4X", "P1Y", "PT-3S", "PT1M" * 20])
def test_not_durations(text: str) -> None:
    assert iso_duration_seconds(text) is None


@pytest.mark.parametrize(
    ("seconds", "post_type"),
    [(1, "short"), (60, "short"), (61, "video"), (3600, "video"), (0, "video"), (None, "video")],
)
def test_a_short_lasts_a_minute_at_most(seconds: int | None, post_type: str) -> None:
    assert post_type_for(seconds) == post_type
    assert YouTubeVideo(video_id="abcdefghijk", duration_seconds=seconds).post_type == post_type


def test_unknown_values_are_left_out() -> None:
    channel = YouTubeChannel(channel_id="UCq3Ci-h945sbEYXpVlw7rJg")
    assert channel.metrics() == []
    assert channel.dimensions() == [{"key": "channel_id", "value": "UCq3Ci-h945sbEYXpVlw7rJg"}]
    video = YouTubeVideo(video_id="abcdefghijk")
    assert video.metrics() == []
    assert {d["key"] for d in video.dimensions()} == {"shortcode", "post_type"}


def test_search_result_target() -> None:
    assert SearchResult(kind="video", video_id="v", channel_id="c").target_id == "v"
    assert SearchResult(kind="channel", channel_id="c").target_id == "c"
    assert SearchResult(kind="playlist", playlist_id="p", channel_id="c").target_id == "p"


def test_input_normalizers() -> None:
    assert normalize_handle("  @HarbourLaneKitchen ") == "harbourlanekitchen"
    assert normalize_channel_id(" UCq3Ci-h945sbEYXpVlw7rJg ") == "UCq3Ci-h945sbEYXpVlw7rJg"
    assert normalize_video_id("3nWa_dRzSvU") == "3nWa_dRzSvU"
    assert normalize_query("  harissa   chickpeas ") == "harissa chickpeas"
    assert uploads_playlist_for("UCq3Ci-h945sbEYXpVlw7rJg") == "UUq3Ci-h945sbEYXpVlw7rJg"
    for bad in ("ab", "a" * 31, "has space", "12345", "é/x"):
        with pytest.raises(BadInput):
            normalize_handle(bad)
    for bad_id in ("UC123", "XXq3Ci-h945sbEYXpVlw7rJg", "UCq3Ci-h945sbEYXpVlw7rJg!"):
        with pytest.raises(BadInput):
            normalize_channel_id(bad_id)
    for bad_video in ("short", "3nWa_dRzSvU0", "3nWa dRzSvU"):
        with pytest.raises(BadInput):
            normalize_video_id(bad_video)
    for bad_query in ("", "   ", "x" * 201):
        with pytest.raises(BadInput):
            normalize_query(bad_query)
