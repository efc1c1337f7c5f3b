"""refresh_stories_posts through intake, sensor and run on PostgreSQL against the sandbox: the
creator's own Graph token (stored by the audienceinsights endpoint, as the original took it)
reads its profile, all its media (paged on cursors.after) and its current stories, written to
instagram_account and instagram_post (stories as post_type story, keyed by the story id) with
their observation history in post_log."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import dagster as dg
import pytest
from sqlalchemy import select

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models import instagram_account, instagram_post, scrape_request_log
from beat.store.models_history import post_log
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import drive_until_drained
from sandbox import DEFAULT_GRAPH_TOKEN
from sandbox.data import facts_for
from sandbox.state import DEFAULT_USER_ID
from sandbox.stories import graph_story_id, story_ids
from tests.e2e.conftest import TOKEN, Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CREATOR_TOKEN = "EAAcreator-own-token-0002"


def _creator_with_stories() -> str:
    """A professional sandbox account with stories and more than one page of media."""
    for i in range(500):
        facts = facts_for(f"creator.{i}", 0)
        if facts and facts.account_type != 1 and facts.media_count > 25 and story_ids(facts):
            return facts.handle
    raise AssertionError("no such handle")


async def _call(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as r:
        return r.status, await r.json()


def test_stories_posts_end_to_end(stack: Stack) -> None:
    creator = _creator_with_stories()
    config = {"graph_tokens": [DEFAULT_GRAPH_TOKEN, CREATOR_TOKEN]}
    status, _ = asyncio.run(
        _call("POST", f"{stack.services.sandbox_url}/_sandbox/config", json=config)
    )
    assert status == 200
    # The creator hands over its own token (stored as a graphapi credential for its handle).
    url = f"{stack.services.api_url}/profiles/INSTAGRAM/byhandle/{creator}/audienceinsights"
    query = {"token": CREATOR_TOKEN, "user_id": DEFAULT_USER_ID}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert asyncio.run(_call("GET", url, params=query, headers=headers))[0] == 404
    defs = build_definitions(load_settings())
    stack.submit("refresh_stories_posts", [{"handle": creator}])
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [FAMILIES["instagram"]])
    assert stack.statuses() == {"COMPLETE": 1}
    with stack.engine.connect() as conn:
        facts = facts_for(creator, 0)
        assert facts is not None
        account = conn.execute(select(instagram_account)).mappings().one()
        posts = conn.execute(select(instagram_post)).mappings().all()
        history = conn.execute(select(post_log.c.post_key, post_log.c.post_type)).all()
        provider = conn.execute(select(scrape_request_log.c.provider)).scalar_one()
    assert provider == "graphapi"
    assert (account["handle"], account["profile_id"]) == (creator, facts.pk)
    by_key = {p["shortcode"]: p for p in posts}
    # Every post of the account (under 60 days old and fewer than 150 in the sandbox), over
    # more than one page, and each current story keyed by its story id.
    assert {p.shortcode for p in facts.posts} <= set(by_key)
    stories = {k: p for k, p in by_key.items() if p["post_type"] == "story"}
    assert set(stories) == set(story_ids(facts))
    assert len(by_key) == facts.media_count + len(stories)
    for story_id, story in stories.items():
        assert story["post_id"] == graph_story_id(story_id)
        assert (story["profile_id"], story["handle"]) == (facts.pk, creator)
        assert story["publish_time"] is not None and story["content_type"] in ("IMAGE", "VIDEO")
    # One observation of each in the history.
    assert sorted(k for k, _ in history) == sorted(by_key)
    assert {k for k, t in history if t == "story"} == set(stories)
