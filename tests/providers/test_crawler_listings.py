"""Listings (following, likes, comments) over real HTTP against the sandbox: paged on one
provider to the cap, exactly the accounts and comments the sandbox holds."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from beat.pipeline.batch import raw_record
from beat.pipeline.family import FlowOutcome
from beat.pipeline.instagram_activity import reparse_activity
from providers.crawler import InstagramCrawler
from providers.errors import BadInput, TargetNotFound
from sandbox import RunningSandbox
from sandbox.data import facts_for
from sandbox.instagram_listings import listed_handle

from .test_crawler_sandbox import handle_with_posts


async def _known(crawler: InstagramCrawler, handle: str) -> None:
    """The sandbox learns ids as providers show them (a real provider knows them all)."""
    await crawler.profile_with_posts(handle, max_age_days=None)


async def test_following_pages_to_the_cap(
    sandbox: RunningSandbox, make_crawler: Callable[..., InstagramCrawler]
) -> None:
    crawler = make_crawler()
    handle = "fans.of.1"
    facts = facts_for(handle, sandbox.state.reference())
    assert facts is not None and facts.following > 200
    await _known(crawler, handle)
    got = await crawler.listing("following", facts.pk, 200)
    assert got.provider == "jotucker"
    expected = [listed_handle("following", handle, i) for i in range(200)]
    assert [a.handle for a in got.value] == expected
    assert {r.kind for r in got.raw} == {"following_page"} and len(got.raw) == 4


async def test_likes_and_comments_of_a_post(
    sandbox: RunningSandbox, make_crawler: Callable[..., InstagramCrawler]
) -> None:
    handle = handle_with_posts(20)
    facts = facts_for(handle, sandbox.state.reference())
    assert facts is not None
    post = max(facts.posts, key=lambda p: p.comments)
    crawler = make_crawler()
    likes = await crawler.listing("likes", post.shortcode, 120)
    assert len(likes.value) == min(120, post.likes)
    assert likes.value[0].handle == listed_handle("liker", post.shortcode, 0)
    comments = await crawler.listing("comments", post.shortcode, 1000)
    assert len(comments.value) == post.comments
    assert len({c.comment_id for c in comments.value}) == post.comments
    assert all(c.created_at is not None and c.owner.handle for c in comments.value)

    # The stored pages rebuild the same rows (a backfill), with no network.
    record = raw_record(1, 1, "fetch_post_comments", {"shortcode": post.shortcode,
                        "max_comments": 1000}, FlowOutcome(comments.provider, {}, tuple(comments.raw)))  # fmt: skip
    rebuilt = reparse_activity(record)
    assert [a.comment.comment_id for a in rebuilt.of("activities")] == [
        c.comment_id for c in comments.value
    ]


async def test_listing_targets_are_checked(make_crawler: Callable[..., InstagramCrawler]) -> None:
    crawler = make_crawler()
    with pytest.raises(BadInput):
        await crawler.listing("following", "not-an-id", 10)
    with pytest.raises(BadInput):
        await crawler.listing("likes", "bad shortcode!", 10)
    with pytest.raises(BadInput):
        await crawler.listing("stories", "123", 10)


async def test_a_listing_of_a_missing_post_is_a_target_fact(
    make_crawler: Callable[..., InstagramCrawler],
) -> None:
    # A target fact ends the fetch at once: no other provider would know the post either.
    with pytest.raises(TargetNotFound):
        await make_crawler().listing("likes", "ZZZZnotapost", 10)


async def test_reels_of_a_profile(
    sandbox: RunningSandbox, make_crawler: Callable[..., InstagramCrawler]
) -> None:
    handle = handle_with_posts(40)
    facts = facts_for(handle, sandbox.state.reference())
    assert facts is not None
    crawler = make_crawler()
    await _known(crawler, handle)
    got = await crawler.listing("reels", facts.pk, 10)
    videos = [p.shortcode for p in facts.posts if p.kind == "video"]
    assert got.provider == "arraybobo"
    assert [r.shortcode for r in got.value] == videos[:10]
    assert all(r.post_type == "reels" and r.plays is not None for r in got.value)
