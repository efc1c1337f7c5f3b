"""fetch_hashtag_posts through intake, the instagram_activity sensor and run, on PostgreSQL
against the sandbox: paged on one provider to max_posts, the posts in instagram_post and each
linked to its hashtag; a second sighting moves last_observed_at, never first."""

from __future__ import annotations

import dagster as dg
import pytest
from sqlalchemy import select

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models import instagram_post, outbox, scrape_request_log
from beat.store.models_instagram_hashtags import instagram_hashtag_post
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import drive_until_drained
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ACTIVITY = FAMILIES["instagram_activity"]


def test_hashtag_posts_end_to_end(stack: Stack) -> None:
    defs = build_definitions(load_settings())
    stack.submit("fetch_hashtag_posts", [{"hashtag": "#SummerVibes", "max_posts": 30}])
    stack.submit("fetch_hashtag_posts", [{"hashtag": "nonexistenttag"}])
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [ACTIVITY])
        with stack.engine.connect() as conn:
            first = dict(
                conn.execute(
                    select(
                        instagram_hashtag_post.c.shortcode,
                        instagram_hashtag_post.c.first_observed_at,
                    )
                ).all()
            )
        stack.submit("fetch_hashtag_posts", [{"hashtag": "summervibes", "max_posts": 30}])
        drive_until_drained(defs, instance, stack.queue, [ACTIVITY])
        materialized = instance.fetch_materializations(
            dg.AssetKey("instagram_hashtag_posts"), limit=1
        ).records
    assert stack.statuses() == {"COMPLETE": 2, "FAILED": 1}
    assert materialized
    with stack.engine.connect() as conn:
        links = conn.execute(select(instagram_hashtag_post)).mappings().all()
        posts = conn.execute(select(instagram_post.c.shortcode, instagram_post.c.handle)).all()
        log = conn.execute(
            select(scrape_request_log.c.status, scrape_request_log.c.provider).where(
                scrape_request_log.c.flow == "fetch_hashtag_posts"
            )
        ).all()
        events = (
            conn.execute(select(outbox.c.events).where(outbox.c.routing_key == "post_log_events"))
            .scalars()
            .all()
        )
    assert len(first) == 30 and len(links) == 30  # capped at max_posts across pages
    assert {link["hashtag"] for link in links} == {"summervibes"}
    assert {link["provider"] for link in links} == {"jotucker"}
    assert {link["shortcode"] for link in links} <= {p.shortcode for p in posts}
    assert all(p.handle and p.handle.startswith("tagger.") for p in posts)
    for link in links:  # seen again: last moves forward, first stays
        assert link["first_observed_at"] == first[link["shortcode"]]
        assert link["last_observed_at"] >= link["first_observed_at"]
    assert ("COMPLETE", "jotucker") in log
    assert sum(len(packed) for packed in events) == 60  # two sightings of 30 posts
