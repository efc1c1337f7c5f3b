"""Every read endpoint, decoded with a strict schema of exactly the original's names and the
types its Go client (coffee/client/beat/entry.go) decodes, without an Authorization header,
on data scraped through the sandbox into PostgreSQL.

Strict means: no key missing, no key added, an int64 field never a float or a string, a
float field a JSON number. The schemas are written here from the original's contract, not
imported from beat.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import aiohttp
import pytest
from pydantic import BaseModel, ConfigDict, field_validator

from beat.config import sandbox_base_urls
from beat.pipeline.family import FlowOutcome, WriteContext
from beat.pipeline.youtube import PIPELINE as YOUTUBE
from beat.pipeline.youtube import refresh_yt_profiles
from beat.store.credentials import DbCredentialPool
from providers.youtube.crawler import YouTubeCrawler
from sandbox.youtube import CATALOGUE, channel_facts, channel_id_for
from tests.contract.client import call
from tests.contract.serving import TOKEN, Served, serve_api

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
Number = int | float


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Status(Strict):
    type: Literal["SUCCESS"]
    message: str


class ErrorStatus(Strict):
    type: Literal["ERROR"]
    message: str
    code: int


class ErrorAnswer(Strict):
    status: ErrorStatus


def _time(value: str | None) -> str | None:
    assert value is None or ISO_TIME.match(value), value
    return value


class PostMetricsNumbers(Strict):
    reach: int
    views: int | None
    engagement_rate: Number
    likes: int | None
    play_count: int | None


class PostDimensions(Strict):
    caption: str | None
    comments: int | None
    thumbnail_url: str | None
    display_url: str | None


class Post(Strict):
    shortcode: str
    post_id: str | None
    post_type: str | None
    post_url: str
    publish_time: str | None
    metrics: PostMetricsNumbers
    dimensions: PostDimensions

    _times = field_validator("publish_time")(_time)


class Averages(Strict):
    avg_engagement: Number | None
    avg_plays: Number | None
    avg_likes: Number | None
    avg_comments: Number | None
    avg_reach: Number | None


class PostMetrics(Strict):
    static: Averages
    reels: Averages
    story: Averages
    all: Averages


class Profile(Strict):
    platform: Literal["INSTAGRAM", "YOUTUBE"]
    handle: str | None
    fbid: str | None
    profile_id: str
    profile_pic_url: str | None
    biography: str | None
    following: int | None
    followers: int | None
    full_name: str | None
    is_private: bool | None
    media_count: int | None
    updated_at: str | None
    recent_posts: list[Post]
    post_metrics: PostMetrics
    channel_id: str | None
    title: str | None
    subscribers: int | None
    uploads: int | None
    views: int | None
    thumbnail: str | None

    _times = field_validator("updated_at")(_time)


class ProfileAnswer(Strict):
    status: Status
    profile: Profile


class NestedProfile(Strict):
    platform: Literal["INSTAGRAM"]
    handle: str | None
    profile: Profile


class NestedProfileAnswer(Strict):
    status: Status
    profile: NestedProfile


class RecentPostsData(Strict):
    platform: Literal["INSTAGRAM"]
    profile_id: str
    recent_posts: list[Post]


class RecentPostsAnswer(Strict):
    status: Status
    data: RecentPostsData


class ShortcodePost(Post):
    platform: Literal["INSTAGRAM"]
    handle: str | None
    data_provider: str | None


class ShortcodeAnswer(Strict):
    status: Status
    post: ShortcodePost


class RequestLogPost(Strict):
    scrape_id: int
    data: str | None
    status: str
    params: dict[str, Any]
    created_at: str
    flow: str
    scraped_at: str | None
    platform: str

    _times = field_validator("created_at", "scraped_at")(_time)


class RequestLogAnswer(Strict):
    status: Status
    post: RequestLogPost
    scrape_request_log: dict[str, Any]  # beat's fuller view, beside the original's shape


class ListedRequest(Strict):
    scrape_id: int
    account_id: str
    data: str | None
    status: str
    params: dict[str, Any]
    created_at: str
    flow: str
    scraped_at: str | None
    platform: str


class ListAnswer(Strict):
    status: Status
    account_id: str
    scrape_list: list[ListedRequest]


class UpdateAnswer(Strict):
    status: Status
    post: RequestLogPost


class Insights(Strict):
    handle: str
    followers: int | None
    following: int | None
    media_count: int | None
    post_metrics: PostMetrics


class InsightsAnswer(Strict):
    status: Status
    profile: Insights


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_api(Path(tmp_path_factory.mktemp("contract"))) as served:
        # Scrape through the sandbox once, with the token: everything below reads it back.
        status, body, _ = call(
            f"{served.url}/profiles/instagram/byhandle/alice.example", headers=AUTH
        )
        assert status == 200, body
        yield served


def decode(model: type[BaseModel], answer: tuple[int, Any, Any], status: int = 200) -> Any:
    got, body, _ = answer
    assert got == status, body
    return model.model_validate(body)


def test_profile_by_handle_full_refresh(served: Served) -> None:
    url = f"{served.url}/profiles/INSTAGRAM/byhandle/alice.example?full_refresh=1"
    answer = decode(ProfileAnswer, call(url))
    profile = answer.profile
    assert profile.platform == "INSTAGRAM" and profile.handle == "alice.example"
    assert profile.recent_posts, "the sandbox profile has posts"
    assert {p.post_type for p in profile.recent_posts} <= {"image", "carousel", "reels"}
    assert profile.post_metrics.all.avg_likes is not None
    for flags in ("full_refresh=true&force_refresh=0", "full_refresh=TRUE", ""):
        decode(
            ProfileAnswer, call(f"{served.url}/profiles/instagram/byhandle/alice.example?{flags}")
        )


def test_profile_by_id_and_by_profile_id(served: Served) -> None:
    profile_id = _profile_id(served)
    by_id = decode(ProfileAnswer, call(f"{served.url}/profiles/instagram/byid/{profile_id}"))
    assert by_id.profile.profile_id == profile_id
    nested = decode(
        NestedProfileAnswer, call(f"{served.url}/profiles/instagram/byprofileid/{profile_id}")
    )
    assert nested.profile.profile.profile_id == profile_id
    decode(ErrorAnswer, call(f"{served.url}/profiles/instagram/byid/999999999999"), 404)


def test_recent_posts_and_post_by_shortcode(served: Served) -> None:
    profile_id = _profile_id(served)
    recent = decode(
        RecentPostsAnswer, call(f"{served.url}/recent/posts/instagram/byprofileid/{profile_id}")
    )
    assert recent.data.profile_id == profile_id and 0 < len(recent.data.recent_posts) <= 12
    shortcode = recent.data.recent_posts[0].shortcode
    post = decode(ShortcodeAnswer, call(f"{served.url}/posts/INSTAGRAM/byshortcode/{shortcode}"))
    assert post.post.shortcode == shortcode and post.post.post_url.endswith(shortcode)


class ChannelResponse(Strict):
    handle: str
    channel_id: str


class ChannelAnswer(Strict):
    status: Status
    response: ChannelResponse


def _scrape_channel(served: Served, handle: str) -> str:
    """One channel through the YouTube crawler and the youtube family's writer, as a batch
    would store it."""
    channel_id = channel_id_for(handle)

    async def fetch() -> FlowOutcome:
        async with aiohttp.ClientSession() as session:
            crawler = YouTubeCrawler(
                session, DbCredentialPool(served.engine), sandbox_base_urls(served.sandbox.url)
            )
            return await refresh_yt_profiles(crawler, {"channel_ids": [channel_id]})

    outcome = asyncio.run_coroutine_threadsafe(fetch(), served.loop).result(timeout=60)
    with served.engine.begin() as conn:
        YOUTUBE.write(conn, [outcome], WriteContext())
    return channel_id


def test_youtube_channel_reads(served: Served) -> None:
    facts = next(f for f in map(lambda h: channel_facts(h, 0), CATALOGUE) if f is not None)
    channel_id = _scrape_channel(served, facts.handle)
    answer = decode(ChannelAnswer, call(f"{served.url}/youtube/channel/byhandle/@{facts.handle}"))
    assert answer.response.channel_id == channel_id
    for path in (f"byhandle/{facts.handle}", f"byid/{channel_id}"):
        profile = decode(ProfileAnswer, call(f"{served.url}/profiles/YOUTUBE/{path}")).profile
        assert profile.platform == "YOUTUBE" and profile.channel_id == channel_id
        assert profile.handle == facts.handle and profile.title
        assert profile.subscribers is not None and profile.uploads is not None


def test_youtube_without_a_channel_row_is_a_clean_404(served: Served) -> None:
    decode(ErrorAnswer, call(f"{served.url}/youtube/channel/byhandle/@tseries"), 404)
    decode(
        ErrorAnswer, call(f"{served.url}/profiles/youtube/byhandle/UCq-Fj5jknLsUf-MWSy4_brA"), 404
    )
    decode(ErrorAnswer, call(f"{served.url}/profiles/youtube/byid/UCq-Fj5jknLsUf-MWSy4_brA"), 404)


def test_request_log_endpoints(served: Served) -> None:
    headers = {**AUTH, "x-bb-account-id": "acct-42", "Content-Type": "application/json"}
    body = {"platform": "INSTAGRAM", "params": {"handle": "bob.example"}}
    status, created, _ = call(
        f"{served.url}/scrape_request_log/flow/refresh_profile_by_handle", "POST", body=body,
        headers=headers,
    )  # fmt: skip
    assert status == 201, created
    scrape_id = created["scrape_id"]
    log = decode(RequestLogAnswer, call(f"{served.url}/scrape_request_log/flow/{scrape_id}"))
    assert (log.post.scrape_id, log.post.status) == (scrape_id, "PENDING")
    listed = decode(ListAnswer, call(f"{served.url}/list_scrape_data/acct-42?size=5"))
    assert [r.scrape_id for r in listed.scrape_list] == [scrape_id]
    update = {"flow": "refresh_profile_by_handle", "platform": "INSTAGRAM",
              "params": {"handle": "bob.example"}, "status": "FAILED", "retry_count": 3}  # fmt: skip
    updated = decode(
        UpdateAnswer,
        call(
            f"{served.url}/scrape_request_log/flow/update/{scrape_id}",
            "POST",
            body=update,
            headers=AUTH,
        ),
    )
    assert updated.post.status == "FAILED"
    assert (
        call(f"{served.url}/scrape_request_log/flow/update/{scrape_id}", "POST", body=update)[0]
        == 401
    )


def test_insights_take_the_creators_token_and_need_ours(served: Served) -> None:
    query = "token=EAAcreator-token-xyz&user_id=17841400000000001"
    url = f"{served.url}/profiles/INSTAGRAM/byhandle/alice.example/insights?{query}"
    assert call(url)[0] == 401  # stores a credential and fetches: our token required
    insights = decode(InsightsAnswer, call(url, headers=AUTH))
    assert insights.profile.handle == "alice.example"
    audience = f"{served.url}/profiles/INSTAGRAM/byhandle/alice.example/audienceinsights?{query}"
    decode(ErrorAnswer, call(audience, headers=AUTH), 404)  # no audience insights stored yet


def test_heartbeat_takes_the_originals_booleans(served: Served) -> None:
    for value, claiming in (("0", False), ("False", False), ("1", True), ("true", True)):
        status, body, _ = call(f"{served.url}/heartbeat?beat={value}", "PUT", headers=AUTH)
        assert (
            status == 200
            and body["status"]["message"] == f"heartbeat set to {str(claiming).lower()}"
        )
    assert call(f"{served.url}/heartbeat?beat=maybe", "PUT", headers=AUTH)[0] == 400


def _profile_id(served: Served) -> str:
    _, body, _ = call(f"{served.url}/profiles/instagram/byhandle/alice.example")
    return str(body["profile"]["profile_id"])
