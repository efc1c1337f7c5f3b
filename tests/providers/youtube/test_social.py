"""refresh_yt_activities and refresh_yt_profile_relationship, provider side: activities and
subscriptions parsed from recorded answers, and fetched from the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import pytest

from providers.errors import BadInput, TargetNotFound, TargetPrivate
from providers.http import RawResponse
from providers.youtube import PROVIDERS
from providers.youtube.crawler import reparse_listing
from sandbox import youtube as world_data
from sandbox.youtube_social import (
    activity_count,
    is_playlist_activity,
    subscribed_handles,
    subscription_count,
    subscriptions_private,
)
from tests.providers.youtube.support import YouTubeSandbox
from tests.providers.youtube.test_crawler_sandbox import crawler

Recorded = Callable[[str], RawResponse]
TOKEN = PROVIDERS["ytapitoken"]


def _channel(test: Callable[[world_data.ChannelFacts], bool]) -> world_data.ChannelFacts:
    for handle in world_data.CATALOGUE:
        facts = world_data.channel_facts(handle, 0)
        if facts is not None and test(facts):
            return facts
    raise AssertionError("no such channel")


def test_recorded_activities_parse_each_type(recorded: Recorded) -> None:
    found, cursor = TOKEN.parse_activities(recorded("ytapitoken/activities.json"))
    assert cursor == "CAUQAA"
    upload, added, bulletin = found
    assert (upload.activity_type, upload.video_id) == ("upload", "WJaij9ffOIY")
    assert upload.published_at == datetime(2024, 3, 27, 4, 25, tzinfo=UTC)
    assert upload.channel_id == "UCJskGeByzRRSvmOyZOz61ig"
    assert (added.activity_type, added.video_id) == ("playlistItem", "_eNhaDCr6P0")
    assert added.playlist_id == "PLgUwDviBIf0q7vrFA_HEWcqRqMpCXzYAL"
    # An empty contentDetails names nothing, and is no error.
    assert bulletin.activity_type == "bulletin" and bulletin.video_id is None


def test_recorded_subscriptions_parse(recorded: Recorded) -> None:
    found, cursor = TOKEN.parse_subscriptions(recorded("ytapitoken/subscriptions.json"))
    assert cursor == "CDIQAA"
    first, second = found
    assert first.subscriber_channel_id == "UCOcL9BOQb7g9Jae0feybkSg"
    assert first.channel_id == "UC-m6zNItyoDk5lSykDlhE4Q"
    assert first.subscribed_at == datetime(2020, 7, 14, 4, 28, 48, 385000, tzinfo=UTC)
    assert first.thumbnail and "s800" in first.thumbnail
    assert second.title == "ZiggyD Gaming"


def test_private_subscriptions_are_a_fact(recorded: Recorded) -> None:
    with pytest.raises(TargetPrivate):
        TOKEN.parse_subscriptions(recorded("ytapitoken/error_subscriptions_forbidden.json"))


async def test_activities_page_through_the_sandbox(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    facts = _channel(lambda f: activity_count(f) >= 55)
    fetched = await crawler(yt, session, yt.credentials("ytapitoken")).activities(
        facts.channel_id, max_activities=55
    )
    assert fetched.provider == "ytapitoken" and len(fetched.raw) == 2  # 50 a page
    assert len(fetched.value) == 55
    assert all(a.channel_id == facts.channel_id and a.video_id for a in fetched.value)
    expected = [
        "playlistItem" if is_playlist_activity(world_data.video_facts(facts, i)) else "upload"
        for i in range(55)
    ]
    assert [a.activity_type for a in fetched.value] == expected
    assert {a.activity_id for a in reparse_listing(fetched.raw)} >= {
        a.activity_id for a in fetched.value
    }
    nobody = await crawler(yt, session, yt.credentials("ytapitoken")).activities(
        "UC" + "x" * 22, max_activities=5
    )
    assert nobody.value == []


async def test_subscriptions_page_through_the_sandbox(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    facts = _channel(lambda f: not subscriptions_private(f) and subscription_count(f) > 60)
    fetched = await crawler(yt, session, yt.credentials("ytapitoken")).subscriptions(
        facts.channel_id, max_subscriptions=1000
    )
    assert len(fetched.value) == subscription_count(facts) and len(fetched.raw) == 2
    targets = [world_data.channel_id_for(h) for h in subscribed_handles(facts)]
    assert [s.channel_id for s in fetched.value] == targets
    assert {s.subscriber_channel_id for s in fetched.value} == {facts.channel_id}
    assert all(s.subscribed_at and s.subscribed_at.microsecond for s in fetched.value[:5])

    private = _channel(subscriptions_private)
    with pytest.raises(TargetPrivate):
        await crawler(yt, session, yt.credentials("ytapitoken")).subscriptions(private.channel_id)
    with pytest.raises(TargetNotFound):
        await crawler(yt, session, yt.credentials("ytapitoken")).subscriptions("UC" + "x" * 22)


def test_the_genre_request_names_category_language_and_order() -> None:
    from providers.credentials import Credential

    cred = Credential(id="k", provider="ytapitoken", secret={"key": "AIzaX"})
    request = TOKEN.genre_request(("10", "en"), None, cred, "https://www.googleapis.com")
    assert request.url == "https://www.googleapis.com/youtube/v3/search"
    assert request.params["videoCategoryId"] == "10" and request.params["type"] == "video"
    assert request.params["relevanceLanguage"] == "en"
    assert request.params["order"] == "viewCount"


async def test_genre_pages_through_the_sandbox(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    from sandbox.youtube_social import genre_pool

    pool = genre_pool("22", "hi", yt.state.reference())
    fetched = await crawler(yt, session, yt.credentials("ytapitoken")).genre("22", "hi", 70)
    assert [r.video_id for r in fetched.value] == [v.video_id for v in pool[:70]]
    assert len(fetched.raw) == 2
    with pytest.raises(BadInput):
        await crawler(yt, session, yt.credentials("ytapitoken")).genre("music", None)
