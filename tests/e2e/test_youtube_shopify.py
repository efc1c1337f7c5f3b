"""YouTube and Shopify flows: intake -> sensor -> batch run -> rows, events and history, on
PostgreSQL against the sandbox; then a backfill of the day from the stored raw responses."""

from __future__ import annotations

import base64
import gzip
import json
import re
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import select, update

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models_history import post_log, profile_log
from beat.store.models_shopify import shopify_order, shopify_product
from beat.store.models_youtube import youtube_account, youtube_post
from beat.store.outbox import Outbox
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import QUIET_RUN_CONFIG, drive_until_drained
from beat_dagster.partitions import today_partition_key
from sandbox.youtube import CATALOGUE, channel_facts, channel_id_for, video_facts
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
CHANNELS = [channel_id_for(handle) for handle in CATALOGUE]
# Channels the sandbox knows (some catalogue handles have none), with public subscriber counts
# and at least 20 uploads, so each assertion below has something to see.
KNOWN = [f for f in (channel_facts(h, 0) for h in CATALOGUE) if f is not None]
BUSY = [f.channel_id for f in KNOWN if f.video_count >= 20 and not f.hidden_subscribers]
PII = ("@example.com", "+1555", "203.0.113.", "authenticate?key=", "Main St")


def events(stack: Stack, routing_key: str) -> list[dict]:
    pending = Outbox(stack.engine).pending_events(limit=100_000)
    return [dict(m.payload) for m in pending if m.routing_key == routing_key]


def drive(stack: Stack, family: str) -> dg.DagsterInstance:
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = drive_until_drained(
            defs, instance, stack.queue, [FAMILIES[family]], deadline_seconds=180
        )
        assert report.drained and report.runs >= 1
    return defs


def rebuild_today(defs: dg.Definitions, family: str) -> None:
    with dg.DagsterInstance.get() as instance:
        job = defs.resolve_job_def(FAMILIES[family].job_name)
        result = job.execute_in_process(
            run_config=QUIET_RUN_CONFIG, instance=instance, partition_key=today_partition_key()
        )
    assert result.success


@pytest.fixture(autouse=True)
def keep_events_in_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEAT_RELAY_AFTER_BATCH_SECONDS", "0")


def test_youtube_flows_land_in_tables_events_and_history(stack: Stack) -> None:
    stack.submit(
        "refresh_yt_profiles", [{"channel_ids": CHANNELS[:30]}, {"channel_ids": CHANNELS[30:]}]
    )
    stack.submit(
        "refresh_yt_posts_by_channel_id",
        [{"channel_id": BUSY[0], "max_posts": 20}, {"channel_id": BUSY[1], "max_posts": 5,
          "filter": {"start_date": "2000-01-01", "end_date": "2000-01-02"}}],
    )  # fmt: skip
    stack.submit("refresh_yt_posts_by_playlist_id", [{"channel_id": BUSY[2], "max_posts": 7}])
    stack.submit(
        "refresh_yt_posts_by_search", [{"keywords": ["cooking", "travel"], "max_results": 5}]
    )
    defs = drive(stack, "youtube")

    assert stack.statuses() == {"COMPLETE": 6}
    assert stack.count(youtube_account) == len(KNOWN)  # ids nobody knows are left out
    with stack.engine.connect() as conn:
        posts = conn.execute(select(youtube_post)).mappings().all()
        logs = conn.execute(select(profile_log).where(profile_log.c.platform == "YOUTUBE")).all()
        post_logs = conn.execute(select(post_log).where(post_log.c.platform == "YOUTUBE")).all()
    by_channel = {c: [p for p in posts if p["channel_id"] == c] for c in BUSY[:3]}
    assert len(by_channel[BUSY[0]]) == 20
    assert by_channel[BUSY[1]] == []  # nothing was published in those two days of 2000
    uploads = "UU" + BUSY[2][2:]
    assert sum(p["playlist_id"] == uploads for p in by_channel[BUSY[2]]) == 7
    assert any(p["keywords"] == ["cooking", "travel"] for p in posts)
    assert all(p["post_type"] in ("video", "short") and p["observed_at"] for p in posts)
    assert len(logs) == len(KNOWN) and len(post_logs) == len(posts)

    profile_events = events(stack, "profile_log_events")
    post_events = events(stack, "post_log_events")
    assert len(profile_events) == len(KNOWN) and len(post_events) == len(posts)
    sample = profile_events[0]
    assert sample["platform"] == "YOUTUBE" and sample["handle"] == sample["profile_id"]
    assert TIMESTAMP.match(sample["event_timestamp"])
    assert {"subscriber_count", "view_count", "video_count"} <= set(sample["metrics"])
    video = post_events[0]
    assert TIMESTAMP.match(video["publish_time"]) and TIMESTAMP.match(video["event_timestamp"])
    assert video["shortcode"] == video["dimensions"]["shortcode"]

    # A newer observation is in the table; the backfill of today must not regress it nor
    # publish anything.
    future = datetime.now(UTC) + timedelta(days=1)
    with stack.engine.begin() as conn:
        conn.execute(
            update(youtube_account)
            .where(youtube_account.c.channel_id == BUSY[0])
            .values(subscribers=-1, observed_at=future)
        )
        conn.execute(update(youtube_account).where(youtube_account.c.channel_id == BUSY[1])
                     .values(subscribers=-1))  # fmt: skip
    rebuild_today(defs, "youtube")
    with stack.engine.connect() as conn:
        query = select(youtube_account.c.channel_id, youtube_account.c.subscribers)
        subs = {channel: count for channel, count in conn.execute(query)}
    assert subs[BUSY[0]] == -1  # newer: kept
    assert subs[BUSY[1]] > 0  # same observation: rebuilt from the raw response
    assert len(events(stack, "profile_log_events")) == len(KNOWN)


def test_shopify_orders_and_products_without_personal_data(stack: Stack) -> None:
    stack.submit(
        "refresh_orders_by_store",
        [{"store": "maple-goods", "limit": 100},
         {"store": "north-outfitters", "created_at_min": "2000-01-01T00:00:00Z"}],
    )  # fmt: skip
    stack.submit("refresh_products_by_store", [{"store": "maple-goods", "max_pages": 2}])
    drive(stack, "shopify")

    assert stack.statuses() == {"COMPLETE": 3}
    with stack.engine.connect() as conn:
        orders = conn.execute(select(shopify_order)).mappings().all()
    stores = {o["store"] for o in orders}
    assert stores == {"maple-goods", "north-outfitters"}
    assert len(orders) > 300  # every page was read (maple-goods pages 100 at a time)
    assert stack.count(shopify_product) > 0
    refunded = [o for o in orders if o["financial_status"] == "refunded"]
    assert refunded and all(o["current_total_price"] == 0 for o in refunded)
    partial = [o for o in orders if o["financial_status"] == "partially_refunded"]
    assert partial and all(o["current_total_price"] < o["total_price"] for o in partial)

    order_events = events(stack, "order_log_events")
    assert len(order_events) == len(orders)
    assert order_events[0]["platform"] == "SHOPIFY"
    assert TIMESTAMP.match(order_events[0]["event_timestamp"])
    raw = b"".join(
        gzip.decompress(path.read_bytes())
        for path in (stack.home / "objects" / "raw" / "shopify").rglob("*.jsonl.gz")
    )
    stored = json.dumps([dict(o) for o in orders], default=str) + json.dumps(order_events)
    decoded = raw.decode() + "".join(
        base64.b64decode(r["body_b64"]).decode()
        for line in raw.decode().splitlines()
        for r in json.loads(line)["responses"]
    )
    for marker in PII:
        assert marker not in stored and marker not in decoded, marker


def test_post_type_youtube_told_survives_later_duration_guesses(stack: Stack) -> None:
    """A Short longer than 60 s: refresh_yt_post_type asks youtube.com; a later refresh that
    only has the duration (which says "video") must not undo it."""
    long_short = next(
        v for f in KNOWN for v in (video_facts(f, i) for i in range(f.video_count))
        if v.short and v.duration > 60
    )  # fmt: skip
    stack.submit("refresh_yt_post_type", [{"post_id": long_short.video_id}])
    drive(stack, "youtube")
    stack.submit("refresh_yt_posts", [{"post_ids": [long_short.video_id]}])
    drive(stack, "youtube")
    assert stack.statuses() == {"COMPLETE": 2}
    with stack.engine.connect() as conn:
        row = conn.execute(
            select(youtube_post.c.post_type, youtube_post.c.post_type_source).where(
                youtube_post.c.shortcode == long_short.video_id
            )
        ).one()
    assert tuple(row) == ("short", "shorts_url")
