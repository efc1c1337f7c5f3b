"""refresh_stories_posts' Graph fetch: the stories variant of business_discovery (request
shape), a recorded-shape answer parsed, and the creator's own media and stories fetched from
the sandbox over real HTTP with cursor paging, re-parsed into the same result."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from beat.pipeline.instagram import reparse_instagram, reparse_stories_posts
from providers.crawler import InstagramCrawler
from providers.credentials import Credential, StaticCredentials
from providers.errors import NoProviderAvailable
from providers.http import RawResponse
from providers.instagram.graph_stories import GraphStories
from providers.model import InstagramProfile
from sandbox import RunningSandbox
from sandbox.data import facts_for
from sandbox.stories import story_ids

Recorded = Callable[[str], RawResponse]
CRED = Credential("g", "graphapi", {"token": "EAAGtok-secret", "user_id": "17841400000000001"})


def test_first_request_asks_stories_and_product_type_later_pages_page_on_after() -> None:
    graph = GraphStories(page_size=25, version="v24.0")
    first = graph.profile_request("mapleandrye", CRED, "https://graph.example")
    fields = first.params["fields"]
    assert first.url == "https://graph.example/v24.0/17841400000000001"
    assert fields.startswith("business_discovery.username(mapleandrye){")
    assert "media_product_type" in fields and ",stories{" in fields
    later = graph.posts_request(
        InstagramProfile(profile_id="1", handle="mapleandrye"), "QVFIUmVu", CRED, "https://g.ex"
    )
    assert "media.after(QVFIUmVu).limit(25)" in later.params["fields"]
    assert "stories{" not in later.params["fields"]


def test_recorded_answer_gives_media_within_90_days_then_stories(recorded: Recorded) -> None:
    raw = recorded("graphapi/stories_page.json")
    got = reparse_stories_posts([raw])
    assert got.profile.handle == "mapleandrye"
    assert got.profile.profile_id == "17841405822304914"  # no ig_id: the Graph id
    # The January post is older than 90 days before the answer's Date: cut.
    assert [(p.shortcode, p.post_type) for p in got.posts] == [
        ("C6DeFgHiJkL", "reels"),
        ("C5zZyXwVuTs", "image"),
        ("3355667788990011223", "story"),
        ("3355667788990011224", "story"),
    ]
    story = got.posts[3]
    assert (story.post_id, story.content_type) == ("18045678901234567", "VIDEO")
    assert story.display_url == (
        "https://scontent.cdninstagram.example/v/t50.2886-16/oven_door.mp4"
    )
    assert story.taken_at == datetime(2024, 4, 29, 7, 30, tzinfo=UTC)
    assert (story.profile_id, story.handle) == ("17841405822304914", "mapleandrye")


def _creator_with_stories(at_least_posts: int) -> str:
    for i in range(500):
        handle = f"creator.{i}"
        facts = facts_for(handle, 0)
        if (
            facts is not None
            and facts.account_type != 1
            and facts.media_count > at_least_posts
            and story_ids(facts)
        ):
            return handle
    raise AssertionError("no such handle")


async def test_sandbox_pages_on_after_and_keys_stories_by_their_id(
    sandbox: RunningSandbox, make_crawler: Callable[..., InstagramCrawler]
) -> None:
    assert sandbox.state.graph_next_links is False  # only cursors.after, as Graph answers
    handle = _creator_with_stories(25)
    facts = facts_for(handle, sandbox.state.reference())
    assert facts is not None
    token = sorted(sandbox.state.graph_tokens)[0]
    creator = Credential(
        "c", "graphapi", {"token": token, "user_id": "17841400000000001"}, handle=handle
    )
    crawler = make_crawler(credentials=StaticCredentials({"graphapi": [creator]}))
    got = await crawler.stories_posts(handle)
    assert got.provider == "graphapi"
    assert len(got.raw) == -(-facts.media_count // 25)  # paged on cursors.after alone
    stories = [p for p in got.value.posts if p.post_type == "story"]
    media = [p for p in got.value.posts if p.post_type != "story"]
    # Sandbox posts are under 60 days old and fewer than 150: all of them.
    assert [p.shortcode for p in media] == [p.shortcode for p in facts.posts]
    assert [s.shortcode for s in stories] == story_ids(facts)
    assert {s.profile_id for s in stories} == {facts.pk}
    record = {"flow": "refresh_stories_posts", "params": {"handle": handle},
              "provider": "graphapi", "responses": [r.to_dict() for r in got.raw]}  # fmt: skip
    rebuilt = reparse_instagram(record)
    assert rebuilt.items == {"profiles": (got.value.profile,), "posts": got.value.posts}
    # Only the creator's own credential reads it.
    with pytest.raises(NoProviderAvailable):
        await crawler.stories_posts("someone.else")


def test_at_most_150_posts_then_the_stories(recorded: Recorded) -> None:
    """The recorded answer's shape with 160 recent media: the first 150 are kept."""
    raw = recorded("graphapi/stories_page.json")
    body = json.loads(raw.body)
    reel = body["business_discovery"]["media"]["data"][0]
    body["business_discovery"]["media"]["data"] = [
        {**reel, "id": f"179{i:05d}", "permalink": f"https://www.instagram.com/reel/R{i:05d}/"}
        for i in range(160)
    ]
    body["business_discovery"]["media_count"] = 160
    bigger = RawResponse.build(
        provider=raw.provider, kind=raw.kind, status=raw.status,
        body=json.dumps(body).encode(), headers=dict(raw.headers), url=raw.url_redacted,
        fetched_at=raw.fetched_at,
    )  # fmt: skip
    got = reparse_stories_posts([bigger])
    media = [p.shortcode for p in got.posts if p.post_type != "story"]
    assert media == [f"R{i:05d}" for i in range(150)]
    assert [p.post_type for p in got.posts[150:]] == ["story", "story"]
