"""The profile-family flows beyond refresh_profile_by_handle, through intake, sensor and run
on PostgreSQL against the sandbox: rows where they belong, reels with the profile."""

from __future__ import annotations

import dagster as dg
import pytest
from sqlalchemy import select

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models import instagram_account, instagram_post, scrape_request_log
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import drive_until_drained
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROFILES = FAMILIES["instagram"]


def test_profile_flows_end_to_end(stack: Stack) -> None:
    defs = build_definitions(load_settings())
    stack.submit("refresh_profile_by_handle", [{"handle": "flows.main"}])
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [PROFILES])
        with stack.engine.connect() as conn:
            pk = conn.execute(select(instagram_account.c.profile_id)).scalar_one()
            reels = (
                conn.execute(
                    select(instagram_post.c.shortcode).where(instagram_post.c.plays.is_not(None))
                )
                .scalars()
                .all()
            )
        stack.submit("refresh_profile_basic", [{"profile_id": "1", "handle": "flows.basic"}])
        stack.submit(
            "refresh_profile_custom", [{"profile_id": 2, "handle": "flows.custom", "max_posts": 4}]
        )
        stack.submit("refresh_tagged_posts_by_profile_id", [{"profile_id": pk, "max_posts": 3}])
        drive_until_drained(defs, instance, stack.queue, [PROFILES])
    assert stack.statuses() == {"COMPLETE": 4}
    assert reels  # the profile refresh brought reels (plays come from the reels answer)
    with stack.engine.connect() as conn:
        by_handle = dict(
            conn.execute(select(instagram_account.c.handle, instagram_account.c.profile_id)).all()
        )

        def posts_of(handle: str) -> int:
            return len(conn.execute(
                select(instagram_post.c.shortcode).where(instagram_post.c.handle == handle)
            ).all())  # fmt: skip

        basic_posts = posts_of("flows.basic")
        custom_posts = posts_of("flows.custom")
        tagged = conn.execute(
            select(scrape_request_log.c.provider, scrape_request_log.c.data).where(
                scrape_request_log.c.flow == "refresh_tagged_posts_by_profile_id"
            )
        ).one()
    assert {"flows.main", "flows.basic", "flows.custom"} <= set(by_handle)
    assert (basic_posts, custom_posts) == (0, 4)
    assert tagged.provider == "arraybobo" and "posts=3" in str(tagged.data)
