"""Graph insights with the creator's own token: request shapes, the recorded answers parsed,
and the sandbox answering the same way over real HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from beat.pipeline.instagram_insights import POST_INSIGHTS, PROFILE_INSIGHTS, reparse_insights
from providers.crawler import InstagramCrawler
from providers.credentials import Credential, StaticCredentials
from providers.errors import MalformedResponse, NoProviderAvailable
from providers.http import RawResponse
from providers.instagram import graph_insights as insights
from sandbox import RunningSandbox
from sandbox.graph_insights import NAVIGATION_ACTIONS, number

KIND_OF = {
    "refresh_story_insights": POST_INSIGHTS,
    "refresh_post_insights": POST_INSIGHTS,
    "refresh_profile_insights": PROFILE_INSIGHTS,
}
Recorded = Callable[[str], RawResponse]
CRED = Credential("g", "graphapi", {"token": "EAAGtok-secret", "user_id": "17841400000000001"})


def test_post_metrics_follow_the_graph_version() -> None:
    assert "impressions" in insights.post_metrics("image", "v17.0")
    assert "plays" in insights.post_metrics("reels", "v21.0")
    current = insights.post_metrics("reels", "v24.0")
    assert "views" in current and "plays" not in current
    assert insights.post_metrics("video", "v24.0") == current
    with pytest.raises(ValueError):
        insights.post_metrics("story", "v24.0")


def test_post_insights_request() -> None:
    request = insights.post_insights_request("1790", "carousel", CRED, "https://g/", "v24.0")
    assert request.url == "https://g/v24.0/1790/insights"
    assert request.params["metric"] == "reach,views,total_interactions,saved,likes,comments,shares"


def test_profile_insights_requests_ask_every_audience_and_breakdown() -> None:
    asked = insights.profile_insights_requests(CRED, "https://g", "v24.0")
    assert len(asked) == 9
    assert {(a, b) for a, b, _ in asked} == {
        (a, b)
        for a in ("follower", "reached", "engaged")
        for b in ("country", "city", "gender,age")
    }
    _, _, request = asked[0]
    assert request.url == "https://g/v24.0/17841400000000001/insights"
    assert request.params["metric"] == "follower_demographics"
    assert request.params["timeframe"] == "last_90_days"
    assert request.params["metric_type"] == "total_value"


def test_recorded_media_insights(recorded: Recorded) -> None:
    metrics = insights.parse_post_insights(recorded("graphapi/media_insights.json"))
    assert metrics == {
        "reach": 1284, "likes": 96, "views": 2310, "comments": 7, "total_interactions": 118,
        "saved": 11, "shares": 4,
    }  # fmt: skip


def test_recorded_demographics_find_dimensions_by_name(recorded: Recorded) -> None:
    raw = recorded("graphapi/audience_demographics_gender_age.json")
    got = insights.parse_demographics(raw, "gender,age")
    assert got == {
        "female": {"18-24": 31, "25-34": 44},
        "male": {"25-34": 19},
        "uncategorized": {"35-44": 2},
    }
    with pytest.raises(MalformedResponse):
        insights.parse_demographics(raw, "country")


async def test_sandbox_answers_like_graph(
    sandbox: RunningSandbox, make_crawler: Callable[..., InstagramCrawler]
) -> None:
    token = sorted(sandbox.state.graph_tokens)[0]
    creator = Credential(
        "c", "graphapi", {"token": token, "user_id": "17841400000000001"}, handle="creator.one"
    )
    crawler = make_crawler(credentials=StaticCredentials({"graphapi": [creator]}))
    post = await crawler.post_insights("creator.one", "1790001", "ABCD", "reels")
    assert post.value.metrics["views"] == number("1790001", "views")
    assert set(post.value.metrics) == set(insights.post_metrics("reels", "v24.0"))
    audience = await crawler.profile_insights("creator.one")
    assert len(audience.raw) == 9
    reached = audience.value.audience["reached"]
    uid, metric = "17841400000000001", "reached_audience_demographics"
    assert reached["country"]["US"] == number(uid, metric, "US", high=900)
    # Each audience under its own name (the original swapped reached and engaged).
    engaged = audience.value.audience["engaged"]["country"]["US"]
    assert engaged == number(uid, "engaged_audience_demographics", "US", high=900)
    assert set(reached["gender_age"]) == {"female", "male", "uncategorized"}
    story = await crawler.story_insights("creator.one", "1790002", "STORY1")
    assert len(story.raw) == 2
    nav = {a: number("1790002", "navigation", a, high=300) for a in NAVIGATION_ACTIONS}
    assert {k: story.value.metrics[k] for k in nav} == nav
    assert story.value.metrics["navigation"] == sum(nav.values())
    assert story.value.metrics["replies"] == number("1790002", "replies")
    # A backfill re-parses the stored answers into the same result.
    for flow, params, fetched in (
        ("refresh_story_insights", {"story_id": "1790002", "shortcode": "STORY1",
                                    "profile_id": "1", "handle": "creator.one"}, story),
        ("refresh_post_insights", {"shortcode": "ABCD", "handle": "creator.one",
                                   "post_id": "1790001", "post_type": "reels"}, post),
        ("refresh_profile_insights", {"handle": "creator.one"}, audience),
    ):  # fmt: skip
        record = {"flow": flow, "params": params, "provider": "graphapi",
                  "responses": [r.to_dict() for r in fetched.raw]}  # fmt: skip
        assert reparse_insights(record).items == {KIND_OF[flow]: (fetched.value,)}
    # Only the creator's own credential reads its insights.
    with pytest.raises(NoProviderAvailable):
        await crawler.profile_insights("someone.else")
