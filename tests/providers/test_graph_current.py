"""Graph as it answers today, over real HTTP against the sandbox: paging on `after` alone,
no ig_id, reels told from feed posts, every carousel child, a code-100 caller fault."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from providers.crawler import InstagramCrawler
from providers.credentials import StaticCredentials
from providers.errors import NoProviderAvailable
from sandbox import RunningSandbox
from sandbox.data import carousel_size, facts_for

from .test_crawler_sandbox import handle_with_posts

GRAPH_ONLY = {"profile_by_handle": ["graphapi"]}


def _facts(sandbox: RunningSandbox, handle: str) -> Any:
    facts = facts_for(handle, sandbox.state.reference())
    assert facts is not None and not facts.is_private
    return facts


async def test_paging_follows_after_without_next_links(
    sandbox: RunningSandbox, make_crawler: Callable[..., InstagramCrawler]
) -> None:
    assert sandbox.state.graph_next_links is False  # as Graph often answers
    handle = handle_with_posts(55)
    facts = _facts(sandbox, handle)
    got = await make_crawler(chains=GRAPH_ONLY).profile_with_posts(
        handle, max_posts=None, max_age_days=None
    )
    assert got.provider == "graphapi"
    assert [p.shortcode for p in got.value.posts] == [p.shortcode for p in facts.posts]
    # media_count posts seen: no last, empty page asked for.
    assert len(got.raw) == -(-facts.media_count // 25)


async def test_a_profile_without_ig_id_is_keyed_by_its_graph_id(
    sandbox: RunningSandbox, make_crawler: Callable[..., InstagramCrawler]
) -> None:
    sandbox.state.graph_ig_id = False
    handle = handle_with_posts(30)
    facts = _facts(sandbox, handle)
    got = await make_crawler(chains=GRAPH_ONLY).profile_with_posts(handle, max_age_days=None)
    assert got.value.profile.profile_id == facts.fbid
    assert {p.profile_id for p in got.value.posts} == {facts.fbid}


async def test_reels_and_carousel_children(
    sandbox: RunningSandbox, make_crawler: Callable[..., InstagramCrawler]
) -> None:
    handle = handle_with_posts(40)
    facts = _facts(sandbox, handle)
    got = await make_crawler(chains=GRAPH_ONLY).profile_with_posts(
        handle, max_posts=None, max_age_days=None
    )
    by_code = {p.shortcode: p for p in got.value.posts}
    kinds = {"image": "image", "video": "reels", "carousel": "carousel"}
    for post in facts.posts:
        parsed = by_code[post.shortcode]
        assert parsed.post_type == kinds[post.kind]
        if post.kind == "carousel":
            assert len(parsed.children) == carousel_size(post)
            assert all(c.media_url for c in parsed.children)
        else:
            assert parsed.children == ()


async def test_code_100_on_the_callers_node_rejects_the_credential(
    sandbox: RunningSandbox, make_crawler: Callable[..., InstagramCrawler]
) -> None:
    secrets = sandbox.credential_secrets()
    secrets["graphapi"] = [{**secrets["graphapi"][0], "user_id": "17841400000000009"}]
    credentials = StaticCredentials.from_secrets(secrets)
    crawler = make_crawler(chains=GRAPH_ONLY, credentials=credentials)
    with pytest.raises(NoProviderAvailable) as info:
        await crawler.profile_with_posts(handle_with_posts(20))
    assert "(#100/33) Unsupported get request" in str(info.value.errors[0])
    (cred,) = credentials.eligible("graphapi") or [None]
    # Marked dead: the next request does not spend a call on it.
    assert cred is None
    before = sandbox.state.requests("graphapi")
    with pytest.raises(NoProviderAvailable):
        await crawler.profile_with_posts(handle_with_posts(20))
    assert sandbox.state.requests("graphapi") == before
