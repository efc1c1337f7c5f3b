"""YouTube comments (and what people do around videos): intake -> sensor -> batch run -> rows and
the original's activity events, on PostgreSQL against the sandbox; then a backfill of the day."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from beat.store.models_youtube import (
    youtube_activity,
    youtube_channel_insights,
    youtube_comment,
    youtube_post,
    youtube_relationship,
)
from sandbox.youtube import channel_id_for, video_facts
from sandbox.youtube_analytics import OWNERS, report
from sandbox.youtube_comments import comment_count
from sandbox.youtube_social import (
    activity_count,
    genre_pool,
    subscribed_handles,
    subscription_count,
    subscriptions_private,
)
from tests.e2e.conftest import Stack
from tests.e2e.test_youtube_shopify import KNOWN, TIMESTAMP, drive, events, rebuild_today

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

VIDEOS = [video_facts(f, i) for f in KNOWN for i in range(min(f.video_count, 10))]


@pytest.fixture(autouse=True)
def keep_events_in_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEAT_RELAY_AFTER_BATCH_SECONDS", "0")


def test_comments_land_as_rows_and_comment_activities(stack: Stack) -> None:
    talked = next(v for v in VIDEOS if (comment_count(v) or 0) >= 130)
    small = next(v for v in VIDEOS if 0 < (comment_count(v) or 0) < 20)
    quiet = next(v for v in VIDEOS if comment_count(v) is None)
    stack.submit(
        "fetch_yt_post_comments",
        [{"shortcode": talked.video_id, "max_comments": 120},
         {"shortcode": small.video_id},
         {"shortcode": quiet.video_id, "max_comments": 5}],
    )  # fmt: skip
    defs = drive(stack, "youtube")

    assert stack.statuses() == {"COMPLETE": 3}
    with stack.engine.connect() as conn:
        rows = conn.execute(select(youtube_comment)).mappings().all()
    by_video = {v.video_id: [r for r in rows if r["shortcode"] == v.video_id]
                for v in (talked, small, quiet)}  # fmt: skip
    assert len(by_video[talked.video_id]) == 120  # two pages of 100, cut at max_comments
    assert len(by_video[small.video_id]) == comment_count(small)
    assert by_video[quiet.video_id] == []  # comments turned off: nothing, and no failure
    assert all(r["author_channel_id"].startswith("UC") and r["published_at"] for r in rows)
    assert {r["channel_id"] for r in by_video[talked.video_id]} == {talked.channel.channel_id}

    activity = events(stack, "post_activity_log_events")
    assert len(activity) == len(rows)
    sample = next(e for e in activity if e["shortcode"] == talked.video_id)
    assert sample["platform"] == "YOUTUBE" and sample["activity_type"] == "COMMENT"
    assert sample["source"] == "ytapitoken"
    assert sample["profile_id"] == talked.channel.channel_id == sample["handle"]
    assert sample["actor_profile_id"].startswith("UC")
    assert TIMESTAMP.match(sample["publish_time"]) and TIMESTAMP.match(sample["event_timestamp"])
    assert {"comment_id", "text", "handle"} <= set(sample["dimensions"])
    assert "likes" in sample["metrics"]

    # The backfill rebuilds the rows from the stored pages (max_comments still applies) and
    # publishes nothing new.
    with stack.engine.begin() as conn:
        conn.execute(update(youtube_comment).values(likes=-1))
    rebuild_today(defs, "youtube")
    with stack.engine.connect() as conn:
        rebuilt = conn.execute(select(youtube_comment)).mappings().all()
    assert len(rebuilt) == len(rows) and all(r["likes"] >= 0 for r in rebuilt)
    assert len(events(stack, "post_activity_log_events")) == len(rows)


def test_activities_and_subscriptions_land_with_follow_events(stack: Stack) -> None:
    busy = next(f for f in KNOWN if activity_count(f) >= 30)
    follower = next(f for f in KNOWN if not subscriptions_private(f) and subscription_count(f) > 60)
    private = next(f for f in KNOWN if subscriptions_private(f))
    stack.submit("refresh_yt_activities", [{"channel_id": busy.channel_id, "max_activities": 30}])
    stack.submit(
        "refresh_yt_profile_relationship",
        [{"channel_id": follower.channel_id, "max_relationship": 500},
         {"channel_id": private.channel_id}],
    )  # fmt: skip
    defs = drive(stack, "youtube")

    statuses = stack.statuses()
    assert statuses == {"COMPLETE": 2, "FAILED": 1}  # private subscriptions: a fact, no retry
    with stack.engine.connect() as conn:
        acts = conn.execute(select(youtube_activity)).mappings().all()
        follows = conn.execute(select(youtube_relationship)).mappings().all()
    assert len(acts) == 30 and {a["channel_id"] for a in acts} == {busy.channel_id}
    assert {a["activity_type"] for a in acts} <= {"upload", "playlistItem"}
    assert all(a["video_id"] and a["published_at"] for a in acts)

    targets = [channel_id_for(h) for h in subscribed_handles(follower)]
    assert sorted(r["target_channel_id"] for r in follows) == sorted(targets)
    assert {r["source_channel_id"] for r in follows} == {follower.channel_id}
    assert {r["relationship_type"] for r in follows} == {"FOLLOWS"}

    sent = events(stack, "profile_relationship_log_events")
    assert len(sent) == len(targets)
    sample = sent[0]
    assert sample["platform"] == "YOUTUBE" and sample["relationship_type"] == "FOLLOWS"
    assert sample["source_profile_id"] == follower.channel_id
    assert sample["target_profile_id"] in targets
    assert TIMESTAMP.match(sample["event_timestamp"])
    assert TIMESTAMP.match(sample["target_dimensions"]["followed_at"])
    assert sample["target_dimensions"]["title"]

    with stack.engine.begin() as conn:
        conn.execute(update(youtube_relationship).values(target_title=None, relationship_type="X"))
    rebuild_today(defs, "youtube")
    with stack.engine.connect() as conn:
        rebuilt = conn.execute(select(youtube_relationship)).mappings().all()
    assert len(rebuilt) == len(targets) and {r["relationship_type"] for r in rebuilt} == {"FOLLOWS"}
    assert len(events(stack, "profile_relationship_log_events")) == len(targets)


def test_posts_by_genre_are_the_categorys_most_viewed_in_the_language_first(
    stack: Stack,
) -> None:
    # Which videos and in what order does not depend on the reference time (only publish times).
    pool = genre_pool("10", "en", 0)
    stack.submit("refresh_yt_posts_by_genre", [{"category": "10", "language": "en",
                                               "max_results": 20}])  # fmt: skip
    drive(stack, "youtube")
    assert stack.statuses() == {"COMPLETE": 1}
    with stack.engine.connect() as conn:
        posts = conn.execute(select(youtube_post)).mappings().all()
    assert {p["shortcode"] for p in posts} == {v.video_id for v in pool[:20]}
    assert all(p["category_id"] == "10" and p["category"] == "10" for p in posts)
    english = [p for p in posts if (p["audio_language"] or "").startswith("en")]
    assert english  # relevanceLanguage put them first
    assert len(events(stack, "post_log_events")) == 20


def test_profile_insights_through_the_owners_grant(stack: Stack) -> None:
    owner = next(iter(OWNERS.values()))
    stack.submit("refresh_yt_profile_insights", [{"channel_id": owner}])
    defs = drive(stack, "youtube")
    assert stack.statuses() == {"COMPLETE": 1}
    with stack.engine.connect() as conn:
        row = conn.execute(select(youtube_channel_insights)).mappings().one()
    start, end = row["period_start"], row["period_end"]
    assert row["channel_id"] == owner and (end - start).days == 89
    expected = report(owner, "country", start.isoformat(), end.isoformat(), 200)
    assert row["country"] == {c: v for c, v in expected["rows"]}
    assert row["city"] and abs(sum(row["gender_age"].values()) - 100) < 1

    with stack.engine.begin() as conn:
        conn.execute(update(youtube_channel_insights).values(country=None))
    rebuild_today(defs, "youtube")
    with stack.engine.connect() as conn:
        rebuilt = conn.execute(select(youtube_channel_insights)).mappings().one()
    assert rebuilt["country"] == row["country"] and rebuilt["period_end"] == end
