"""Insights flows through intake, sensor and run on PostgreSQL against the sandbox, with the
creator's own Graph token (stored by the audienceinsights endpoint, as the original took it):
post lifetime metrics and the creator's audience, then the read API answers from the table."""

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
from beat.store.models_instagram_insights import (
    instagram_post_insights,
    instagram_profile_insights,
)
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import drive_until_drained
from sandbox import DEFAULT_GRAPH_TOKEN
from sandbox.graph_insights import number
from sandbox.state import DEFAULT_USER_ID
from tests.e2e.conftest import TOKEN, Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROFILES = FAMILIES["instagram"]
CREATOR = "flows.main"
CREATOR_TOKEN = "EAAcreator-own-token-0001"


async def _call(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as r:
        return r.status, await r.json()


def _audience(stack: Stack) -> tuple[int, Any]:
    url = f"{stack.services.api_url}/profiles/INSTAGRAM/byhandle/{CREATOR}/audienceinsights"
    query = {"token": CREATOR_TOKEN, "user_id": DEFAULT_USER_ID}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return asyncio.run(_call("GET", url, params=query, headers=headers))


def test_insights_end_to_end(stack: Stack) -> None:
    # The sandbox's Graph knows the creator's own token besides the pool's general one.
    config = {"graph_tokens": [DEFAULT_GRAPH_TOKEN, CREATOR_TOKEN]}
    status, _ = asyncio.run(
        _call("POST", f"{stack.services.sandbox_url}/_sandbox/config", json=config)
    )
    assert status == 200
    defs = build_definitions(load_settings())
    stack.submit("refresh_profile_by_handle", [{"handle": CREATOR}])
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [PROFILES])
        # Stores the creator's credential (handle = the creator); nothing to show yet.
        assert _audience(stack)[0] == 404
        with stack.engine.connect() as conn:
            profile_id = conn.execute(select(instagram_account.c.profile_id)).scalar_one()
            post = conn.execute(
                select(instagram_post.c.shortcode, instagram_post.c.post_id)
                .where(instagram_post.c.post_type == "image", instagram_post.c.handle == CREATOR)
                .limit(1)
            ).one()
        stack.submit("refresh_profile_insights", [{"handle": CREATOR}])
        stack.submit(
            "refresh_post_insights",
            [{"shortcode": post.shortcode, "handle": CREATOR, "post_id": post.post_id,
              "post_type": "image"}],
        )  # fmt: skip
        stack.submit(
            "refresh_story_insights",
            [{"story_id": "1790009", "shortcode": "STORY9", "profile_id": profile_id,
              "handle": CREATOR}],
        )  # fmt: skip
        drive_until_drained(defs, instance, stack.queue, [PROFILES])
        materialized = instance.fetch_materializations(
            dg.AssetKey("instagram_profile_insights"), limit=1
        ).records
    assert stack.statuses() == {"COMPLETE": 4}
    assert materialized
    with stack.engine.connect() as conn:
        stored_post = (
            conn.execute(
                select(instagram_post_insights).where(
                    instagram_post_insights.c.shortcode == post.shortcode
                )
            )
            .mappings()
            .one()
        )
        story = (
            conn.execute(
                select(instagram_post_insights).where(
                    instagram_post_insights.c.shortcode == "STORY9"
                )
            )
            .mappings()
            .one()
        )
        audience = conn.execute(select(instagram_profile_insights)).mappings().one()
        providers = set(
            conn.execute(
                select(scrape_request_log.c.provider).where(
                    scrape_request_log.c.flow.in_(
                        [
                            "refresh_post_insights",
                            "refresh_profile_insights",
                            "refresh_story_insights",
                        ]
                    )
                )
            ).scalars()
        )
    assert providers == {"graphapi"}
    assert stored_post["shortcode"] == post.shortcode
    assert stored_post["reach"] == number(post.post_id, "reach")
    assert stored_post["interactions"] == number(post.post_id, "total_interactions")
    assert stored_post["impressions"] is None  # retired by Graph v22; not asked
    assert (story["post_type"], story["post_id"]) == ("story", "1790009")
    assert story["taps_forward"] == number("1790009", "navigation", "tap_forward", high=300)
    assert story["exits"] == number("1790009", "navigation", "tap_exit", high=300)
    assert story["replies"] == number("1790009", "replies")
    # Keyed by the stored account's id, so the read API finds it.
    assert (audience["profile_id"], audience["graph_user_id"]) == (profile_id, DEFAULT_USER_ID)
    follower_metric, reached_metric = "follower_demographics", "reached_audience_demographics"
    assert audience["audience_country"]["US"] == number(
        DEFAULT_USER_ID, follower_metric, "US", high=900
    )
    # Reached under reached, engaged under engaged (the original swapped them).
    assert audience["reached_city"]["London, England"] == number(
        DEFAULT_USER_ID, reached_metric, "London, England", high=900
    )
    assert audience["engaged_country"]["US"] == number(
        DEFAULT_USER_ID, "engaged_audience_demographics", "US", high=900
    )
    assert audience["audience_gender_age"]["female"]["18-24"] == number(
        DEFAULT_USER_ID, follower_metric, "F", "18-24", high=900
    )
    status, body = _audience(stack)
    assert status == 200
    assert body["profile"]["audience_data"] == {
        "city": audience["audience_city"],
        "gender_age": audience["audience_gender_age"],
    }
