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


def test_profile_by_profile_id_end_to_end(stack: Stack) -> None:
    """By id through the profile_by_id chain (jotucker, then arraybobo when jotucker fails):
    the account row is found by its id, the handle comes from the answer."""
    defs = build_definitions(load_settings())
    stack.submit("refresh_profile_basic", [{"profile_id": "1", "handle": "byid.one"}])
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [PROFILES])
        with stack.engine.connect() as conn:
            pk = conn.execute(select(instagram_account.c.profile_id)).scalar_one()
            conn.execute(
                instagram_account.update().values(handle="old.name", followers=None)
            )  # as if renamed since, and its counts unknown
            conn.commit()
        stack.submit("refresh_profile_by_profile_id", [{"profile_id": int(pk)}])
        drive_until_drained(defs, instance, stack.queue, [PROFILES])
        stack.fault("jotucker", "server_error")
        stack.submit("refresh_profile_by_profile_id", [{"profile_id": pk}])
        drive_until_drained(defs, instance, stack.queue, [PROFILES])
    assert stack.statuses() == {"COMPLETE": 3}
    with stack.engine.connect() as conn:
        account = conn.execute(select(instagram_account)).mappings().one()
        providers = (
            conn.execute(
                select(scrape_request_log.c.provider)
                .where(scrape_request_log.c.flow == "refresh_profile_by_profile_id")
                .order_by(scrape_request_log.c.id)
            )
            .scalars()
            .all()
        )
    assert providers == ["jotucker", "arraybobo"]
    assert (account["profile_id"], account["handle"]) == (pk, "byid.one")
    assert account["followers"] is not None


def test_story_posts_by_profile_id_end_to_end(stack: Stack) -> None:
    """Current stories through the story_posts chain (arraybobo), keyed by their id, plus a
    stub post for an asked story the provider no longer shows."""
    defs = build_definitions(load_settings())
    handles = [f"stories.{i}" for i in range(8)]
    stack.submit("refresh_profile_basic", [{"profile_id": "1", "handle": h} for h in handles])
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [PROFILES])
        with stack.engine.connect() as conn:
            accounts = conn.execute(
                select(instagram_account.c.profile_id, instagram_account.c.handle)
            ).all()
        # The sandbox shows (last digit of the pk) % 4 stories of a public account.
        pk, handle = max(accounts, key=lambda a: int(a.profile_id[-1]) % 4)
        expected = int(pk[-1]) % 4
        assert expected > 0
        stack.submit(
            "refresh_story_posts_by_profile_id",
            [{"profile_id": pk, "handle": handle, "story_ids": ["999000111"],
              "profile_er": 1.5}],
        )  # fmt: skip
        drive_until_drained(defs, instance, stack.queue, [PROFILES])
    assert stack.statuses() == {"COMPLETE": 9}
    with stack.engine.connect() as conn:
        stories = (
            conn.execute(select(instagram_post).where(instagram_post.c.post_type == "story"))
            .mappings()
            .all()
        )
        provider = conn.execute(
            select(scrape_request_log.c.provider).where(
                scrape_request_log.c.flow == "refresh_story_posts_by_profile_id"
            )
        ).scalar_one()
    assert provider == "arraybobo"
    assert len(stories) == expected + 1
    assert {(s["profile_id"], s["handle"]) for s in stories} == {(pk, handle)}
    assert all(s["shortcode"] == s["post_id"] for s in stories)  # keyed by the story id
    stub = next(s for s in stories if s["shortcode"] == "999000111")
    assert stub["display_url"] is None
    assert all(s["display_url"] for s in stories if s is not stub)
