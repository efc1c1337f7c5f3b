"""What the original's downstream consumer (event-grpc, Go) would read off RabbitMQ.

Data is scraped through the sandbox by the API (so the inline refresh's provider calls are
traced too), relayed to the real RabbitMQ, and read back by a consumer written on the bare
AMQP client (py-amqp: no beat code) from queues bound to ``beat.dx`` with each routing key and
to ``identity.dx`` with ``trace_log``. Each payload is checked the way the consumer parses it:
times with Go's layout ``2006-01-02 15:04:05``, ``scl_id`` a decimal string
(``strconv.ParseUint``), numbers where it casts to float64, an object where it casts to a
map, a boolean where it casts to bool.

The activity routing keys (profile_relationship_log_events, post_activity_log_events,
order_log_events) are produced by real batch runs: requests go in over HTTP, the families'
sensors and jobs run them through Dagster against the sandbox (as the e2e tests do), the
outbox is relayed to this module's exchanges and every message is decoded the same way.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import amqp
import dagster as dg
import pytest
from sqlalchemy import select

from beat.config import load_settings
from beat.events.publisher import KombuPublisher
from beat.events.relay import OutboxRelay
from beat.flows import FAMILIES
from beat.store.models import instagram_account, instagram_post
from beat.store.models_shopify import shopify_order
from beat.store.outbox import Outbox
from beat.store.queue import RequestQueue
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import drive_until_drained
from providers.http import is_secret_name
from sandbox.youtube import video_facts
from sandbox.youtube_comments import comment_count
from sandbox.youtube_social import subscribed_handles, subscription_count, subscriptions_private
from tests.contract.client import call
from tests.contract.serving import TOKEN, serve_api
from tests.e2e.conftest import Stack
from tests.e2e.test_instagram_activity import STAR
from tests.e2e.test_youtube_shopify import KNOWN

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.rabbitmq]

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
#: This module's own names for beat.dx and identity.dx on the shared broker (the publisher's
#: `exchanges`), so it never fights other tests over the real ones.
EXCHANGES = {name: f"contract.{name}.{uuid.uuid4().hex[:8]}" for name in ("beat.dx", "identity.dx")}
BINDINGS = {
    "scrape_request_log_events": EXCHANGES["beat.dx"],
    "profile_log_events": EXCHANGES["beat.dx"],
    "post_log_events": EXCHANGES["beat.dx"],
    "trace_log": EXCHANGES["identity.dx"],
}
#: Every key the batch runs publish on (their provider calls are traced too).
ACTIVITY_BINDINGS = {
    **{key: EXCHANGES["beat.dx"]
       for key in ("scrape_request_log_events", "profile_log_events", "post_log_events",
                   "profile_relationship_log_events", "post_activity_log_events",
                   "order_log_events")},
    "trace_log": EXCHANGES["identity.dx"],
}  # fmt: skip


def go_time(value: Any) -> None:
    assert isinstance(value, str), value
    datetime.strptime(value, "%Y-%m-%d %H:%M:%S")  # raises unless exactly the layout


def go_time_or_null(value: Any) -> None:
    if value is not None:
        go_time(value)


def text(value: Any) -> None:
    assert isinstance(value, str), value


def text_or_null(value: Any) -> None:
    assert value is None or isinstance(value, str), value


def obj(value: Any) -> None:
    assert isinstance(value, dict), value


def integer(value: Any) -> None:
    assert isinstance(value, int) and not isinstance(value, bool), value


def decimal_id(value: Any) -> None:
    assert isinstance(value, str) and value.isascii() and value.isdigit(), value


def count_from_one(value: Any) -> None:
    integer(value)
    assert value >= 1, value


SCHEMAS: dict[str, dict[str, Any]] = {
    "scrape_request_log_events": {
        "event_id": text, "scl_id": decimal_id, "flow": text, "platform": text, "params": obj,
        "status": text, "priority": integer, "reason": text_or_null, "event_timestamp": go_time,
        "picked_at": go_time_or_null, "expires_at": go_time_or_null, "retry_count": count_from_one,
    },
    "profile_log_events": {
        "event_id": text, "source": text, "platform": text, "profile_id": text, "handle": text,
        "event_timestamp": go_time, "metrics": obj, "dimensions": obj,
    },
    "post_log_events": {
        "event_id": text, "source": text, "platform": text, "profile_id": text, "handle": text,
        "shortcode": text, "publish_time": go_time, "event_timestamp": go_time, "metrics": obj,
        "dimensions": obj,
    },
}  # fmt: skip
# The original's trace keys, each of the type the consumer casts it to; beat adds a few.
TRACE_SCHEMA: dict[str, Any] = {
    "id": text, "hostname": text, "hostName": text, "serviceName": text, "timestamp": text,
    "timeTaken": integer, "method": text, "uri": text, "headers": obj, "responseStatus": integer,
    "remoteAddress": text, "onlyRequest": lambda v: isinstance(v, bool) or pytest.fail(v),
    "requestBody": text, "responseBody": text,
}  # fmt: skip
TRACE_EXTRAS = {"event_id", "provider", "kind", "error"}


@contextmanager
def _queues(bindings: dict[str, str]) -> Iterator[tuple[amqp.Channel, dict[str, str]]]:
    """A queue of our own per routing key, bound to its exchange; all deleted afterwards."""
    connection = amqp.Connection("127.0.0.1:5672", userid="guest", password="guest")
    connection.connect()
    chan = connection.channel()
    suffix = uuid.uuid4().hex[:8]
    queues = {}
    for key, exchange in bindings.items():
        _ensure_exchange(connection, exchange)
        name = f"contract_{key}_{suffix}"
        chan.queue_declare(name, durable=False, auto_delete=False)
        chan.queue_bind(name, exchange=exchange, routing_key=key)
        queues[key] = name
    yield chan, queues
    for name in queues.values():
        chan.queue_delete(name)
    for name in set(bindings.values()):
        chan.exchange_delete(name)
    connection.close()


@pytest.fixture
def channel() -> Iterator[tuple[amqp.Channel, dict[str, str]]]:
    with _queues(BINDINGS) as opened:
        yield opened


@pytest.fixture
def activity_channel() -> Iterator[tuple[amqp.Channel, dict[str, str]]]:
    with _queues(ACTIVITY_BINDINGS) as opened:
        yield opened


def _ensure_exchange(connection: amqp.Connection, name: str) -> None:
    """Bind to the exchange as it exists; declare it (direct, as the original did) if not."""
    probe = connection.channel()
    try:
        probe.exchange_declare(name, "direct", passive=True)
        probe.close()
    except amqp.exceptions.NotFound:
        connection.channel().exchange_declare(name, "direct", durable=True, auto_delete=False)


def drain(chan: amqp.Channel, queue: str) -> list[dict[str, Any]]:
    payloads = []
    while (message := chan.basic_get(queue, no_ack=True)) is not None:
        payloads.append(json.loads(message.body))
    return payloads


def test_every_routing_key_parses_as_the_consumer_reads_it(
    tmp_path: Path, channel: tuple[amqp.Channel, dict[str, str]]
) -> None:
    chan, queues = channel
    with serve_api(tmp_path) as served:
        url = served.url
        assert call(f"{url}/profiles/instagram/byhandle/alice.example", headers=AUTH)[0] == 200
        body = {"platform": "INSTAGRAM", "params": {"handle": "bob.example"}}
        status, created, _ = call(
            f"{url}/scrape_request_log/flow/refresh_profile_by_handle", "POST", body=body,
            headers=AUTH,
        )  # fmt: skip
        assert status == 201
        queue = RequestQueue(served.engine)
        queue.claim_batch(["refresh_profile_by_handle"], 10, batch_id="contract")  # PROCESSING
        update = {"status": "PENDING", "retry_count": 2}  # the recovery DAG's retry
        assert call(f"{url}/scrape_request_log/flow/update/{created['scrape_id']}", "POST",
                    body=update, headers=AUTH)[0] == 200  # fmt: skip
        ours = {m.event_id for m in Outbox(served.engine).pending_events(limit=10_000)}
        with KombuPublisher(AMQP_URL, exchanges=EXCHANGES) as publisher:
            report = OutboxRelay(served.engine, publisher).relay()
        assert report.failures == 0 and report.messages == len(ours)

    received = {key: [p for p in drain(chan, name) if p.get("event_id") in ours]
                for key, name in queues.items()}  # fmt: skip
    assert sum(len(v) for v in received.values()) == len(ours)  # every event, on its key
    for key, schema in SCHEMAS.items():
        assert received[key], f"no {key} arrived"
        for payload in received[key]:
            assert set(payload) == set(schema), (key, payload)
            for name, check in schema.items():
                check(payload[name])
    scrape = received["scrape_request_log_events"]
    assert {p["status"] for p in scrape} == {"PENDING", "PROCESSING"}
    retried = [p for p in scrape if p["scl_id"] == str(created["scrape_id"])]
    assert [p["retry_count"] for p in retried] == [1, 1, 2]  # the original's count
    assert all(p["picked_at"] for p in scrape if p["status"] == "PROCESSING")

    traces = received["trace_log"]
    assert traces, "the inline refresh's provider calls are traced"
    for payload in traces:
        assert set(payload) == set(TRACE_SCHEMA) | TRACE_EXTRAS, payload
        for name, check in TRACE_SCHEMA.items():
            check(payload[name])
        assert payload["serviceName"] == "beat" and payload["onlyRequest"] is False
        assert "?" not in payload["remoteAddress"] and payload["responseStatus"] == 200
        assert payload["responseBody"], "bodies are kept (scrubbed, truncated)"
        assert len(payload["responseBody"]) <= 2048 + len("...(truncated)")
    dumped = json.dumps(traces)
    assert "access_token=REDACTED" in dumped or "REDACTED" in dumped
    for secret in _sandbox_secrets(served):
        assert secret not in dumped, "a credential leaked into trace_log"


def _sandbox_secrets(served: Any) -> list[str]:
    secrets = []
    for items in served.sandbox.credential_secrets().values():
        for secret in items:
            # Ids (Graph's user_id, a channel id) are in URL paths by design; keys and tokens
            # must never be.
            secrets += [v for k, v in secret.items() if is_secret_name(k) and len(str(v)) >= 8]
    return secrets


# ---- The activity routing keys, produced by batch runs --------------------------------------


def channel_id(value: Any) -> None:
    """A YouTube channel id as the API sends it (``UC`` and 22 more characters)."""
    assert isinstance(value, str) and value.startswith("UC") and len(value) == 24, value


def one_of(*allowed: str) -> Any:
    def check(value: Any) -> None:
        assert value in allowed, value

    return check


# The common part of the original's data events (§6 "…"), then each key's own fields; ids are
# strings (Instagram's decimal, YouTube's channel ids, Shopify's decimal order ids).
ACTIVITY_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("post_activity_log_events", "INSTAGRAM"): {
        "event_id": text, "source": text, "platform": text, "event_timestamp": go_time,
        "metrics": obj, "dimensions": obj, "activity_type": one_of("LIKE", "COMMENT"),
        "actor_profile_id": decimal_id, "shortcode": text, "publish_time": go_time_or_null,
    },
    ("post_activity_log_events", "YOUTUBE"): {
        "event_id": text, "source": text, "platform": text, "profile_id": channel_id,
        "handle": channel_id, "event_timestamp": go_time, "metrics": obj, "dimensions": obj,
        "activity_type": one_of("COMMENT"), "actor_profile_id": channel_id, "shortcode": text,
        "publish_time": go_time,
    },
    ("profile_relationship_log_events", "INSTAGRAM"): {
        "event_id": text, "source": text, "platform": text, "event_timestamp": go_time,
        "relationship_type": one_of("FOLLOWS"), "source_profile_id": decimal_id,
        "target_profile_id": decimal_id, "source_dimensions": obj, "target_dimensions": obj,
    },
    ("profile_relationship_log_events", "YOUTUBE"): {
        "event_id": text, "source": text, "platform": text, "event_timestamp": go_time,
        "relationship_type": one_of("FOLLOWS"), "source_profile_id": channel_id,
        "target_profile_id": channel_id, "source_dimensions": obj, "target_dimensions": obj,
    },
    ("order_log_events", "SHOPIFY"): {
        "event_id": text, "source": text, "platform": text, "event_timestamp": go_time,
        "metrics": obj, "dimensions": obj, "platform_order_id": decimal_id, "store": text,
    },
}  # fmt: skip
ACTIVITY_KEYS = {key for key, _ in ACTIVITY_SCHEMAS}


@pytest.fixture
def events_stay_in_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs leave their events in the outbox; this test relays them to its own exchanges."""
    monkeypatch.setenv("BEAT_RELAY_AFTER_BATCH_SECONDS", "0")


def _run(stack: Stack, family: str, deadline_seconds: float = 300) -> None:
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = drive_until_drained(
            defs, instance, stack.queue, [FAMILIES[family]], deadline_seconds=deadline_seconds
        )
    assert report.drained and report.runs >= 1


def _relay_and_read(
    stack: Stack, opened: tuple[amqp.Channel, dict[str, str]]
) -> dict[str, list[dict[str, Any]]]:
    """Relay the whole outbox to our exchanges; every event must arrive on its own key."""
    chan, queues = opened
    ours = {m.event_id: m.routing_key for m in Outbox(stack.engine).pending_events(limit=100_000)}
    with KombuPublisher(AMQP_URL, exchanges=EXCHANGES) as publisher:
        report = OutboxRelay(stack.engine, publisher, rows_per_pass=1000).relay(max_seconds=120)
    assert report.failures == 0 and report.messages == len(ours)
    received = {key: [p for p in drain(chan, name) if p.get("event_id") in ours]
                for key, name in queues.items()}  # fmt: skip
    assert {p["event_id"]: k for k, ps in received.items() for p in ps} == ours
    return received


def _check_activity_keys(received: dict[str, list[dict[str, Any]]], platform: str) -> None:
    """Every payload on an activity key, against its schema: exact keys, each as the
    consumer casts it; the other keys the runs published, against the first test's."""
    for payload in received.pop("trace_log"):
        assert set(payload) == set(TRACE_SCHEMA) | TRACE_EXTRAS, payload
        for name, check in TRACE_SCHEMA.items():
            check(payload[name])
    for key, payloads in received.items():
        for payload in payloads:
            schema = (
                ACTIVITY_SCHEMAS[(key, payload["platform"])] if key in ACTIVITY_KEYS
                else SCHEMAS[key]
            )  # fmt: skip
            assert set(payload) == set(schema), (key, payload)
            for name, check in schema.items():
                check(payload[name])
            if key in ACTIVITY_KEYS:
                assert payload["platform"] == platform, payload
                _check_times_inside_maps(payload)


def _check_times_inside_maps(payload: dict[str, Any]) -> None:
    """A time among the dimensions (an order's created_at, a follow's followed_at) is in the
    consumer's layout too; raw provider objects (order_data) nested deeper are left as sent."""
    for name in ("dimensions", "source_dimensions", "target_dimensions"):
        for key, value in payload.get(name, {}).items():
            if key.endswith(("_at", "_time")):
                go_time_or_null(value)


def test_instagram_follows_likes_and_comments_parse_as_the_consumer_reads_them(
    stack: Stack, events_stay_in_outbox: None, activity_channel: Any
) -> None:
    stack.submit("refresh_profile_by_handle", [{"handle": STAR}])
    _run(stack, "instagram")
    with stack.engine.connect() as conn:
        star, shortcode = conn.execute(
            select(instagram_post.c.profile_id, instagram_post.c.shortcode)
            .join(instagram_account, instagram_account.c.profile_id == instagram_post.c.profile_id)
            .where(instagram_account.c.handle == STAR, instagram_post.c.comments > 0)
            .order_by(instagram_post.c.comments.desc())
            .limit(1)
        ).one()
    # Upstream DAGs send the profile id as a number or a string; the events carry a string.
    stack.submit("fetch_profile_followers", [{"profile_id": int(star)}])
    stack.submit("fetch_profile_following", [{"profile_id": star}])
    stack.submit("fetch_post_likes", [{"shortcode": shortcode, "max_likes": 30}])
    stack.submit("fetch_post_comments", [{"shortcode": shortcode}])
    _run(stack, "instagram_activity")
    assert stack.statuses() == {"COMPLETE": 5}

    received = _relay_and_read(stack, activity_channel)
    _check_activity_keys(received, "INSTAGRAM")
    follows = received["profile_relationship_log_events"]
    followers = [p for p in follows if p["target_profile_id"] == star]
    following = [p for p in follows if p["source_profile_id"] == star]
    assert len(followers) == 2000 and len(following) == 200  # the original's caps
    # The fake-follower report reads JSONExtractString(source_dimensions, 'handle').
    assert all(isinstance(p["source_dimensions"].get("handle"), str) for p in followers)
    activity = received["post_activity_log_events"]
    likes = [p for p in activity if p["activity_type"] == "LIKE"]
    comments = [p for p in activity if p["activity_type"] == "COMMENT"]
    assert len(likes) == 30 and comments
    assert {p["shortcode"] for p in activity} == {shortcode}
    assert all(p["publish_time"] is not None for p in comments)  # a comment's own time


def test_youtube_comments_and_subscriptions_parse_as_the_consumer_reads_them(
    stack: Stack, events_stay_in_outbox: None, activity_channel: Any
) -> None:
    video = next(
        video_facts(f, i) for f in KNOWN for i in range(min(f.video_count, 10))
        if 0 < (comment_count(video_facts(f, i)) or 0) < 50
    )  # fmt: skip
    follower = next(f for f in KNOWN if not subscriptions_private(f) and subscription_count(f) > 20)
    stack.submit("fetch_yt_post_comments", [{"shortcode": video.video_id}])
    stack.submit("refresh_yt_profile_relationship",
                 [{"channel_id": follower.channel_id, "max_relationship": 500}])  # fmt: skip
    _run(stack, "youtube")
    assert stack.statuses() == {"COMPLETE": 2}

    received = _relay_and_read(stack, activity_channel)
    _check_activity_keys(received, "YOUTUBE")
    comments = received["post_activity_log_events"]
    assert len(comments) == comment_count(video)
    assert {(p["shortcode"], p["profile_id"]) for p in comments} == {
        (video.video_id, video.channel.channel_id)
    }
    follows = received["profile_relationship_log_events"]
    assert len(follows) == len(subscribed_handles(follower))
    assert {p["source_profile_id"] for p in follows} == {follower.channel_id}
    assert any("followed_at" in p["target_dimensions"] for p in follows)


def test_shopify_orders_parse_as_the_consumer_reads_them(
    stack: Stack, events_stay_in_outbox: None, activity_channel: Any
) -> None:
    stack.submit("refresh_orders_by_store", [{"store": "north-outfitters"}])
    _run(stack, "shopify")
    assert stack.statuses() == {"COMPLETE": 1}

    received = _relay_and_read(stack, activity_channel)
    _check_activity_keys(received, "SHOPIFY")
    orders = received["order_log_events"]
    with stack.engine.connect() as conn:
        stored = set(conn.execute(select(shopify_order.c.platform_order_id)).scalars())
    assert orders and {p["platform_order_id"] for p in orders} == stored
    assert {p["store"] for p in orders} == {"north-outfitters"}
