"""The outbox relay against the real RabbitMQ: contracts per routing key, and an outage."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import Engine

from beat.events.publisher import KombuPublisher
from beat.events.relay import OutboxRelay
from beat.store.instagram import upsert_instagram
from beat.store.outbox import Outbox, OutboxMessage
from beat.store.queue import Completion, Failure, RequestQueue
from providers.model import InstagramPost, InstagramProfile
from tests.events.support import AMQP_URL, publisher, wait_for_rabbit

pytestmark = pytest.mark.rabbitmq

PAYLOAD_KEYS = {
    "scrape_request_log_events": {
        "event_id", "scl_id", "flow", "platform", "params", "status", "priority", "reason",
        "event_timestamp", "picked_at", "expires_at", "retry_count",
    },
    "profile_log_events": {
        "event_id", "source", "platform", "profile_id", "handle", "event_timestamp", "metrics",
        "dimensions",
    },
    "post_log_events": {
        "event_id", "source", "platform", "profile_id", "handle", "shortcode", "publish_time",
        "event_timestamp", "metrics", "dimensions",
    },
}  # fmt: skip


def consume(queues: dict[str, Queue]) -> dict[str, list[dict]]:
    received: dict[str, list[dict]] = {key: [] for key in queues}
    with Connection(AMQP_URL) as conn:
        for key, queue in queues.items():
            bound = queue(conn.channel())
            while (message := bound.get(no_ack=True)) is not None:
                received[key].append(json.loads(message.body))
    return received


def make_events(engine: Engine, requests: int = 6) -> int:
    """Status changes and data changes, as a batch run writes them; returns the event count."""
    queue = RequestQueue(engine)
    for i in range(requests):
        queue.enqueue("refresh_profile_by_handle", "INSTAGRAM", {"handle": f"h{i}"})
    claims = queue.claim_batch(["refresh_profile_by_handle"], requests, batch_id="b1")
    half = len(claims) // 2
    queue.complete([Completion(c.id, c.attempt, "graphapi") for c in claims[:half]])
    queue.fail([Failure(c.id, c.attempt, "target not found", False) for c in claims[half:]])
    now = datetime.now(UTC)
    profile = InstagramProfile("1", "one", "One", "bio", 10, 2, 3, None, False, True, True,
                               "creator", None, None, None, None)  # fmt: skip
    posts = [InstagramPost(f"sc{i}", str(i), "1", "one", "image", "IMAGE", "hi", 5, 1, None,
                           None, "https://cdn.example/x.jpg", None, now) for i in range(3)]  # fmt: skip
    with engine.begin() as conn:
        upsert_instagram(conn, [(profile, "graphapi", now)], [(p, "graphapi", now) for p in posts])
    return requests * 3 + 1 + len(posts)


def expected_messages(engine: Engine) -> list[OutboxMessage]:
    return Outbox(engine).pending_events(limit=10_000)


def test_payload_keys_per_routing_key(
    engine: Engine, exchanges: dict[str, str], bound_queues: dict[str, Queue]
) -> None:
    total = make_events(engine)
    with publisher(exchanges) as relay_publisher:
        report = OutboxRelay(engine, relay_publisher).relay()
    assert (report.messages, report.failures) == (total, 0)
    received = consume(bound_queues)
    assert sum(len(v) for v in received.values()) == total
    for key, payloads in received.items():
        assert payloads, key
        for payload in payloads:
            assert set(payload) == PAYLOAD_KEYS[key]
    statuses = [p["status"] for p in received["scrape_request_log_events"]]
    assert sorted(set(statuses)) == ["COMPLETE", "FAILED", "PENDING", "PROCESSING"]
    profile = received["profile_log_events"][0]
    assert profile["metrics"]["followers"] == 10  # dimensions and metrics flattened
    assert Outbox(engine).pending_events() == []


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


class StopsBrokerMidway(KombuPublisher):
    """Publishes normally until `after` messages, then stops RabbitMQ under its own feet."""

    def __init__(self, url: str, after: int, exchanges: dict[str, str]) -> None:
        super().__init__(url, exchanges=exchanges)
        self.after, self.sent = after, 0

    def _publish_one(self, producer, message, timeout) -> None:  # type: ignore[no-untyped-def]
        if self.sent == self.after:
            subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True)
        super()._publish_one(producer, message, timeout)
        self.sent += 1


@pytest.mark.slow
def test_broker_outage_mid_relay_loses_nothing(
    engine: Engine, exchanges: dict[str, str], bound_queues: dict[str, Queue]
) -> None:
    make_events(engine, requests=40)
    expected = {m.event_id for m in expected_messages(engine)}
    try:
        with StopsBrokerMidway(AMQP_URL, after=25, exchanges=exchanges) as stopping:
            first = OutboxRelay(engine, stopping, rows_per_pass=2).relay()
        assert first.failures == 1 and first.messages < len(expected)
        assert Outbox(engine).pending_events(limit=10_000), "unsent events wait in the outbox"
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True)
        wait_for_rabbit()
    with publisher(exchanges) as relay_publisher:
        second = OutboxRelay(engine, relay_publisher).relay()
    assert second.failures == 0
    received = consume(bound_queues)
    ids = [p["event_id"] for payloads in received.values() for p in payloads]
    assert set(ids) == expected  # every event arrived; a consumer dedupes replays on event_id
    assert len(ids) - len(set(ids)) <= 25  # at most the messages of the interrupted pass repeat
    assert Outbox(engine).pending_events() == []


def test_filesystem_transport_is_the_embedded_default(engine: Engine, tmp_path) -> None:
    total = make_events(engine)
    folder = tmp_path / "broker"
    with KombuPublisher("filesystem://", local_folder=folder) as publisher:
        report = OutboxRelay(engine, publisher).relay()
    assert report.messages == total
    assert len([p for p in folder.iterdir() if p.is_file()]) == total
    assert not (Path.cwd() / "control").exists()


def test_unreachable_broker_keeps_events(engine: Engine) -> None:
    total = make_events(engine)
    with KombuPublisher("amqp://guest:secret-pw@127.0.0.1:1//") as publisher:
        report = OutboxRelay(engine, publisher).relay()
    assert report.failures == 1 and report.messages == 0
    assert "secret-pw" not in (report.last_error or "")
    assert len(expected_messages(engine)) == total


def test_trace_events_reach_identity_dx_without_secrets(
    engine: Engine, exchanges: dict[str, str]
) -> None:
    from beat.events.trace import trace_events
    from beat.store.outbox import write_events
    from providers.http import HttpCall, redact_headers, redact_url

    secret = "k-1234567890-secret"
    call = HttpCall(
        provider="arraybobo", kind="profile", method="GET",
        url_redacted=redact_url(f"https://graph.example/v12.0/1?access_token={secret}&fields=x"),
        request_headers=redact_headers({"x-rapidapi-key": secret, "Accept": "application/json"}),
        status=200, elapsed_ms=12.5, error=None, at=time.time(),
    )  # fmt: skip
    with engine.begin() as conn:
        write_events(conn, trace_events([call]))
    queue = Queue(
        f"test_trace_{uuid.uuid4().hex[:8]}",
        Exchange(exchanges["identity.dx"], type="direct", durable=True),
        routing_key="trace_log",
        durable=True,
        auto_delete=False,
    )
    with Connection(AMQP_URL) as conn:
        queue(conn.channel()).declare()
    try:
        with publisher(exchanges) as relay_publisher:
            assert OutboxRelay(engine, relay_publisher).relay().messages == 1
        [payload] = consume({"trace_log": queue})["trace_log"]
    finally:
        with Connection(AMQP_URL) as conn:
            queue(conn.channel()).delete()
    assert {"id", "hostname", "serviceName", "timestamp", "timeTaken", "method", "uri",
            "headers", "responseStatus"} <= set(payload)  # fmt: skip
    assert payload["serviceName"] == "beat" and payload["responseStatus"] == 200
    assert secret not in json.dumps(payload)
    assert payload["headers"]["x-rapidapi-key"] == "REDACTED"
