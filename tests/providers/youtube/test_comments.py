"""fetch_yt_post_comments' provider side: commentThreads parsed from a recorded answer, and
fetched from the sandbox over real HTTP (paging, comments turned off, unknown video)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import pytest

from providers.errors import TargetNotFound
from providers.http import RawResponse
from providers.youtube import PROVIDERS
from providers.youtube.crawler import reparse_listing
from sandbox import youtube as world_data
from sandbox.youtube_comments import comment_count
from tests.providers.youtube.support import YouTubeSandbox
from tests.providers.youtube.test_crawler_sandbox import crawler, handle_with

Recorded = Callable[[str], RawResponse]
TOKEN = PROVIDERS["ytapitoken"]


def test_a_recorded_comment_threads_page_parses(recorded: Recorded) -> None:
    comments, cursor = TOKEN.parse_comments(recorded("ytapitoken/comment_threads.json"))
    assert cursor and cursor.startswith("Z2V0X25ld2VzdF9maXJzdC0t")
    first, second = comments
    assert first.comment_id == "UgzUoQgRFt_6K4EGlsV4AaABAg"
    assert first.video_id == "7ghhRHRP6t4" and first.channel_id == "UCN1hnUccO4FD5WfM7ithXaw"
    assert first.author_channel_id == "UCdfN6Ar5A9E21KBfLlNCbNQ"
    assert first.author_name == "@priscillaratti4041"
    assert first.published_at == datetime(2024, 1, 6, 20, 30, 9, tzinfo=UTC)
    # textOriginal, not the HTML-escaped textDisplay.
    assert second.text == "Nobody's love ... Song title made me die from laughter"
    assert (second.like_count, second.reply_count) == (12, 3)
    assert second.edited_at == datetime(2022, 12, 18, 9, 1, 2, tzinfo=UTC)
    assert {d["key"] for d in second.dimensions()} == {"comment_id", "text", "handle"}


def test_comments_turned_off_are_no_comments(recorded: Recorded) -> None:
    assert TOKEN.parse_comments(recorded("ytapitoken/error_comments_disabled.json")) == ([], None)


def test_the_request_asks_for_the_newest_hundred_as_plain_text() -> None:
    from providers.credentials import Credential

    cred = Credential(id="k", provider="ytapitoken", secret={"key": "AIzaX"})
    request = TOKEN.comments_request("7ghhRHRP6t4", "tok", cred, "https://www.googleapis.com")
    assert request.url == "https://www.googleapis.com/youtube/v3/commentThreads"
    assert request.params == {
        "part": "snippet", "videoId": "7ghhRHRP6t4", "maxResults": "100", "order": "time",
        "textFormat": "plainText", "pageToken": "tok", "key": "AIzaX",
    }  # fmt: skip


def _video_with_comments(reference: int, at_least: int) -> world_data.VideoFacts:
    channel = world_data.channel_facts(handle_with(20), reference)
    assert channel is not None
    for index in range(channel.video_count):
        video = world_data.video_facts(channel, index)
        count = comment_count(video)
        if count is not None and count >= at_least:
            return video
    raise AssertionError("no such video")


def _video_without_comments(reference: int) -> world_data.VideoFacts:
    for handle in world_data.CATALOGUE:
        channel = world_data.channel_facts(handle, reference)
        for index in range(channel.video_count if channel else 0):
            video = world_data.video_facts(channel, index)  # type: ignore[arg-type]
            if comment_count(video) is None:
                return video
    raise AssertionError("no such video")


async def test_comments_page_through_the_sandbox_and_rebuild_from_raw(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    video = _video_with_comments(yt.state.reference(), at_least=150)
    fetched = await crawler(yt, session, yt.credentials("ytapitoken")).comments(
        video.video_id, max_comments=150
    )
    assert fetched.provider == "ytapitoken"
    assert [r.kind for r in fetched.raw] == ["comment_threads", "comment_threads"]
    assert len(fetched.value) == 150
    assert len({c.comment_id for c in fetched.value}) == 150
    assert all(c.video_id == video.video_id for c in fetched.value)
    assert all(c.author_channel_id and c.author_channel_id.startswith("UC") for c in fetched.value)
    stamps = [c.published_at for c in fetched.value]
    assert stamps == sorted(stamps, reverse=True)  # order=time: newest first
    assert {c.comment_id for c in reparse_listing(fetched.raw)} >= {
        c.comment_id for c in fetched.value
    }


async def test_comments_off_and_unknown_videos(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    quiet = _video_without_comments(yt.state.reference())
    crawl = crawler(yt, session, yt.credentials("ytapitoken"))
    off = await crawl.comments(quiet.video_id, max_comments=10)
    assert off.value == [] and off.provider == "ytapitoken"
    with pytest.raises(TargetNotFound):
        await crawl.comments("AAAAAAAAAAA", max_comments=10)
