"""Each YouTube flow against the sandbox over HTTP, on every provider of its chain: what the
live run keeps is exactly what a backfill re-parses from the stored raw responses, and
channels are fetched in as few calls as each provider allows."""

from __future__ import annotations

import random
from typing import Any

import aiohttp
import pytest

from beat.pipeline.batch import raw_record
from beat.pipeline.youtube import CHANNELS, PIPELINE, VIDEOS
from providers.youtube.crawler import YouTubeCrawler
from sandbox import youtube as world_data
from tests.providers.youtube.support import YouTubeSandbox

PROVIDERS = ("ytapitoken", "ytapi", "yt-v31", "youtube138")
KNOWN = [f for f in (world_data.channel_facts(h, 0) for h in world_data.CATALOGUE) if f]
BUSY = next(f.channel_id for f in KNOWN if f.video_count >= 30)


def only(name: str) -> dict[str, list[Any]]:
    chain = [name]
    return {"channel": chain, "channel_video_ids": chain, "videos": chain,
            "search": ["ytapitoken"], "post_type": ["yt-shorts"]}  # fmt: skip


def crawler(yt: YouTubeSandbox, session: aiohttp.ClientSession, name: str) -> YouTubeCrawler:
    return YouTubeCrawler(
        session, yt.credentials(), yt.base_urls, only(name), timeout_seconds=5.0,
        rng=random.Random(1),
    )  # fmt: skip


def reparsed(flow: str, params: dict[str, Any], outcome: Any) -> Any:
    return PIPELINE.reparse(raw_record(1, 1, flow, params, outcome))


FLOWS = [
    ("refresh_yt_profiles", {"channel_ids": [world_data.channel_id_for(h) for h in world_data.CATALOGUE]}),
    ("refresh_yt_posts_by_channel_id", {"channel_id": BUSY, "filter": None, "max_posts": 12}),
    ("refresh_yt_posts_by_playlist_id", {"channel_id": BUSY, "max_posts": 12}),
]  # fmt: skip


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize(("flow", "params"), FLOWS, ids=[f for f, _ in FLOWS])
async def test_live_outcome_equals_its_reparse(
    yt: YouTubeSandbox, session: aiohttp.ClientSession, name: str, flow: str, params: dict
) -> None:
    outcome = await PIPELINE.handlers[flow](crawler(yt, session, name), params)
    assert outcome.provider == name
    assert reparsed(flow, params, outcome) == outcome
    if flow == "refresh_yt_profiles":
        assert len(outcome.of(CHANNELS)) == len(KNOWN)
        calls = yt.requests(name, "channel")
        # 40 ids: one Data API call (50 ids a call); the scraper asks one id at a time.
        assert calls == (len(world_data.CATALOGUE) if name == "youtube138" else 1)
    else:
        assert len(outcome.of(VIDEOS)) == 12


async def test_search_and_posts_by_id_reparse(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    search = {"job_id": 7, "keywords": ["cooking"], "start_date": None, "end_date": None,
              "categorization": "food", "frequency": None, "max_results": 8}  # fmt: skip
    found = await PIPELINE.handlers["refresh_yt_posts_by_search"](
        crawler(yt, session, "ytapitoken"), search
    )
    videos = found.of(VIDEOS)
    assert videos and all(v.keywords == ("cooking",) and v.category == "food" for v in videos)
    assert reparsed("refresh_yt_posts_by_search", search, found) == found
    by_id = {"post_ids": [v.video.video_id for v in videos], "playlist_id": None,
             "category": None, "topic": "cooking"}  # fmt: skip
    again = await PIPELINE.handlers["refresh_yt_posts"](crawler(yt, session, "yt-v31"), by_id)
    assert [v.video.video_id for v in again.of(VIDEOS)] == by_id["post_ids"]
    assert all(v.topic == "cooking" for v in again.of(VIDEOS))
    assert reparsed("refresh_yt_posts", by_id, again) == again


def _videos_where(test: Any) -> Any:
    for facts in KNOWN:
        for index in range(facts.video_count):
            video = world_data.video_facts(facts, index)
            if test(video):
                return video
    raise AssertionError("no such video in the sandbox")


@pytest.mark.parametrize(
    ("pick", "expected"),
    [
        (lambda v: v.short and v.duration > 60, "short"),  # a long Short: duration would say video
        (lambda v: not v.short and v.duration <= 60, "video"),  # a brief landscape video
    ],
    ids=["long-short", "brief-video"],
)
async def test_post_type_is_what_youtube_answers(
    yt: YouTubeSandbox, session: aiohttp.ClientSession, pick: Any, expected: str
) -> None:
    video = _videos_where(pick)
    params = {"post_id": video.video_id}
    outcome = await PIPELINE.handlers["refresh_yt_post_type"](
        crawler(yt, session, "ytapitoken"), params
    )
    (row,) = outcome.of(VIDEOS)
    assert row.post_type == expected and row.video.post_type != expected
    assert reparsed("refresh_yt_post_type", params, outcome) == outcome
