"""refresh_profile_by_handle: the profile, its recent posts, then about 10 reels, as the
original did; its stored raw responses (from two providers) rebuild the same outcome."""

from __future__ import annotations

from collections.abc import Callable

from beat.pipeline.batch import raw_record
from beat.pipeline.instagram import HANDLERS, MAX_REELS, POSTS, reparse_instagram
from providers.crawler import InstagramCrawler
from sandbox import RunningSandbox
from sandbox.data import facts_for

from .test_crawler_sandbox import handle_with_posts


async def test_profile_flow_brings_reels_and_rebuilds_them(
    sandbox: RunningSandbox, make_crawler: Callable[..., InstagramCrawler]
) -> None:
    handle = handle_with_posts(45)
    facts = facts_for(handle, sandbox.state.reference())
    assert facts is not None
    crawler = make_crawler()
    params = {"handle": handle}
    outcome = await HANDLERS["refresh_profile_by_handle"](crawler, params)
    assert outcome.provider == "graphapi"
    assert {r.provider for r in outcome.raw} == {"graphapi", "arraybobo"}
    posts = {p.shortcode: p for p in outcome.of(POSTS)}
    reels = [p.shortcode for p in facts.posts if p.kind == "video"][:MAX_REELS]
    assert set(reels) <= set(posts)
    # A reel that is also a recent post keeps Graph's fields and gains the plays Graph lacks.
    assert all(posts[code].plays is not None for code in reels)
    assert len(posts) == len(set(posts))

    rebuilt = reparse_instagram(raw_record(1, 1, "refresh_profile_by_handle", params, outcome))
    assert rebuilt.items == outcome.items


async def test_other_profile_flows_stay_without_reels(
    make_crawler: Callable[..., InstagramCrawler],
) -> None:
    handle = handle_with_posts(20)
    basic = await HANDLERS["refresh_profile_basic"](
        make_crawler(), {"profile_id": "1", "handle": handle}
    )
    assert basic.of(POSTS) == () and {r.provider for r in basic.raw} == {"graphapi"}
    custom = await HANDLERS["refresh_profile_custom"](
        make_crawler(), {"profile_id": "1", "handle": handle, "max_posts": 3}
    )
    assert len(custom.of(POSTS)) == 3


async def test_tagged_posts_by_profile_id(
    sandbox: RunningSandbox, make_crawler: Callable[..., InstagramCrawler]
) -> None:
    from sandbox.app import tagged_posts

    handle = handle_with_posts(20)
    facts = facts_for(handle, sandbox.state.reference())
    assert facts is not None
    crawler = make_crawler()
    await crawler.profile_with_posts(handle, max_posts=0)  # the sandbox learns the id
    params = {"profile_id": facts.pk, "max_posts": 5}
    outcome = await HANDLERS["refresh_tagged_posts_by_profile_id"](crawler, params)
    expected = tagged_posts(facts, sandbox.state.reference())[:5]
    assert outcome.provider == "arraybobo"
    got = outcome.of(POSTS)
    assert [(p.shortcode, p.handle) for p in got] == [(p.shortcode, o.handle) for o, p in expected]
    assert all(p.profile_id != facts.pk for p in got)  # other accounts' posts
    rebuilt = reparse_instagram(
        raw_record(1, 1, "refresh_tagged_posts_by_profile_id", params, outcome)
    )
    assert rebuilt.items == outcome.items
