"""Followers listings: intake -> their own sensor -> batch run -> relationship log and events,
through Dagster on PostgreSQL against the sandbox; and they never hold up profile refreshes."""

from __future__ import annotations

import dagster as dg
import pytest
from sqlalchemy import func, select

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models import instagram_account, instagram_post, outbox, scrape_request_log
from beat.store.models_instagram import post_activity_log, profile_relationship_log
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import drive_until_drained
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

#: A public sandbox account with several thousand followers (more than the 2,000 cap).
STAR = "fans.of.1"
ACTIVITY = FAMILIES["instagram_activity"]
PROFILES = FAMILIES["instagram"]


def _profile_id(stack: Stack, handle: str) -> str:
    with stack.engine.connect() as conn:
        return conn.execute(
            select(instagram_account.c.profile_id).where(instagram_account.c.handle == handle)
        ).scalar_one()


def test_followers_listing_end_to_end(stack: Stack) -> None:
    defs = build_definitions(load_settings())
    stack.submit("refresh_profile_by_handle", [{"handle": STAR}])
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [PROFILES])
        star = _profile_id(stack, STAR)
        # Upstream DAGs send the id as a number or a string: both are the same request shape.
        stack.submit("fetch_profile_followers", [{"profile_id": int(star)}])
        report = drive_until_drained(defs, instance, stack.queue, [ACTIVITY], deadline_seconds=300)
        assert report.drained and report.runs == 1
        materialized = instance.fetch_materializations(
            dg.AssetKey("instagram_profile_relationships"), limit=5
        ).records
    assert stack.statuses() == {"COMPLETE": 2}
    assert materialized and materialized[0].asset_materialization.metadata["day_rows"].value == 2000

    rel = profile_relationship_log.c
    with stack.engine.connect() as conn:
        rows = conn.execute(
            select(rel.relationship_type, rel.target_profile_id, rel.provider, rel.source_handle)
        ).all()
        provider = conn.execute(
            select(scrape_request_log.c.provider).where(
                scrape_request_log.c.flow == "fetch_profile_followers"
            )
        ).scalar_one()
        events = conn.execute(
            select(outbox.c.events).where(outbox.c.routing_key == "profile_relationship_log_events")
        ).scalars()
        payloads = [payload for packed in events for payload in packed]
    # The original's cap, every page from the one provider that served the first.
    assert len(rows) == 2000
    assert {(t, target, p) for t, target, p, _ in rows} == {("FOLLOWS", star, provider)}
    assert all(handle for *_, handle in rows)
    assert len(payloads) == 2000
    sample = payloads[0]
    assert set(sample) == {
        "event_id", "source", "platform", "relationship_type", "source_profile_id",
        "target_profile_id", "source_dimensions", "target_dimensions", "event_timestamp",
    }  # fmt: skip
    assert (sample["relationship_type"], sample["target_profile_id"]) == ("FOLLOWS", star)
    assert len(sample["event_timestamp"]) == len("2026-01-01 00:00:00")
    assert sample["source_dimensions"]["handle"]


def test_listings_do_not_hold_up_profile_refreshes(stack: Stack) -> None:
    """The activity family has its own sensor and job: profiles queued behind a listing are
    claimed and done by the profiles family while the listing waits for its own."""
    defs = build_definitions(load_settings())
    stack.submit("refresh_profile_by_handle", [{"handle": STAR}])
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [PROFILES])
        stack.submit("fetch_profile_followers", [{"profile_id": _profile_id(stack, STAR)}])
        stack.submit("refresh_profile_by_handle", [{"handle": f"queued.{i}"} for i in range(5)])
        # Only the profiles family runs: its sensor never claims the listing.
        report = drive_until_drained(defs, instance, stack.queue, [PROFILES], deadline_seconds=8)
        assert not report.drained and report.runs >= 1
    assert stack.statuses() == {"COMPLETE": 6, "PENDING": 1}
    with stack.engine.connect() as conn:
        pending = conn.execute(
            select(scrape_request_log.c.flow).where(scrape_request_log.c.status == "PENDING")
        ).scalar_one()
        assert pending == "fetch_profile_followers"
        assert (
            conn.execute(select(func.count()).select_from(profile_relationship_log)).scalar() == 0
        )


def test_following_likes_and_comments_end_to_end(stack: Stack) -> None:
    defs = build_definitions(load_settings())
    stack.submit("refresh_profile_by_handle", [{"handle": STAR}])
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [PROFILES])
        star = _profile_id(stack, STAR)
        with stack.engine.connect() as conn:
            shortcode, comments = conn.execute(
                select(instagram_post.c.shortcode, instagram_post.c.comments)
                .where(instagram_post.c.profile_id == star, instagram_post.c.comments > 0)
                .order_by(instagram_post.c.comments.desc())
                .limit(1)
            ).one()
        stack.submit("fetch_profile_following", [{"profile_id": star}])
        stack.submit("fetch_post_likes", [{"shortcode": shortcode, "max_likes": 60}])
        stack.submit("fetch_post_comments", [{"shortcode": shortcode}])
        report = drive_until_drained(defs, instance, stack.queue, [ACTIVITY], deadline_seconds=300)
    assert report.drained
    assert stack.statuses() == {"COMPLETE": 4}

    rel, act = profile_relationship_log.c, post_activity_log.c
    with stack.engine.connect() as conn:
        following = conn.execute(
            select(rel.source_profile_id, func.count()).group_by(rel.source_profile_id)
        ).all()
        activity = dict(
            conn.execute(select(act.activity_type, func.count()).group_by(act.activity_type)).all()
        )
        comment = conn.execute(
            select(act.comment_id, act.text, act.activity_time, act.actor_handle).where(
                act.activity_type == "COMMENT"
            )
        ).first()
        events = conn.execute(
            select(outbox.c.events).where(outbox.c.routing_key == "post_activity_log_events")
        ).scalars()
        payloads = [payload for packed in events for payload in packed]
    assert following == [(star, 200)]  # the original's cap: 200 accounts followed
    assert activity == {"LIKE": 60, "COMMENT": comments}
    assert comment is not None and comment.comment_id and comment.activity_time is not None
    assert len(payloads) == 60 + comments
    like = next(p for p in payloads if p["activity_type"] == "LIKE")
    said = next(p for p in payloads if p["activity_type"] == "COMMENT")
    assert set(like) == {
        "event_id", "source", "platform", "activity_type", "actor_profile_id", "shortcode",
        "publish_time", "event_timestamp", "metrics", "dimensions",
    }  # fmt: skip
    assert like["shortcode"] == shortcode and like["publish_time"] is None
    assert len(said["publish_time"]) == len("2026-01-01 00:00:00")
    assert set(said["dimensions"]) == {"comment_id", "text", "handle"}
