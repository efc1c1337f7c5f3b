"""Outbox events: one per status change, same transaction, same payload on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import Engine, select

from beat.store.models import scrape_request_log
from beat.store.outbox import EXCHANGE, SCRAPE_REQUEST_ROUTING_KEY, Outbox, OutboxEvent
from beat.store.queue import Completion, Failure, RequestQueue

from .conftest import Db, ago

FLOW = "refresh_profile_by_handle"
PAYLOAD_KEYS = {
    "event_id",
    "scl_id",
    "flow",
    "platform",
    "params",
    "status",
    "priority",
    "reason",
    "event_timestamp",
    "picked_at",
    "expires_at",
    "retry_count",
}


def test_every_transition_writes_one_event(make_queue: Callable[..., RequestQueue], db: Db) -> None:
    queue = make_queue(lease_seconds=60)
    completed = queue.enqueue(FLOW, "instagram", {"handle": "a"}).id
    failed = queue.enqueue(FLOW, "instagram", {"handle": "b"}, max_attempts=2).id
    expired = queue.enqueue(FLOW, "instagram", {"handle": "c"}, expires_at=ago(1)).id

    claimed = {c.id: c for c in queue.claim_batch([FLOW], 5, batch_id="b1")}  # expires `c`
    queue.complete([Completion(completed, claimed[completed].attempt)])
    queue.fail([Failure(failed, 1, "timeout", True)])  # retry
    db.set_times([failed], run_after=ago(1))
    queue.claim_batch([FLOW], 5, batch_id="b2")
    db.set_times([failed], lease_expires_at=ago(1))
    queue.release_expired_leases()  # attempt 2 of 2: FAILED

    assert db.statuses(completed) == ["PENDING", "PROCESSING", "COMPLETE"]
    assert db.statuses(failed) == ["PENDING", "PROCESSING", "PENDING", "PROCESSING", "FAILED"]
    assert db.statuses(expired) == ["PENDING", "EXPIRED"]
    reasons = [e["payload"]["reason"] for e in db.events(failed)]
    assert reasons == [None, None, "timeout", None, "lease expired after 2 attempts"]
    assert db.events(expired)[-1]["payload"]["reason"] == "expired before it was claimed"


def test_event_rows_and_payload_keys(queue: RequestQueue, db: Db) -> None:
    made = queue.enqueue(FLOW, "instagram", {"handle": "nasa"}, priority=4, account_id="x").id
    claimed = queue.claim_batch([FLOW], 1, batch_id="b1")[0]
    queue.fail([Failure(made, claimed.attempt, "boom", True)])

    events = db.events(made)
    assert len(events) == 3
    for event in events:
        payload = event["payload"]
        assert set(payload) == PAYLOAD_KEYS
        assert (event["exchange"], event["routing_key"]) == (EXCHANGE, SCRAPE_REQUEST_ROUTING_KEY)
        assert payload["event_id"] == event["event_id"]
        assert uuid.UUID(event["event_id"]).version == 4
        assert (payload["scl_id"], payload["flow"], payload["platform"]) == (
            made,
            FLOW,
            "instagram",
        )
        assert (payload["params"], payload["priority"]) == ({"handle": "nasa"}, 4)
        assert event["published_at"] is None and event["publish_attempts"] == 0
        for key in ("event_timestamp", "expires_at"):
            assert datetime.fromisoformat(payload[key]).utcoffset().total_seconds() == 0  # type: ignore[union-attr]

    pending, processing, retry = (e["payload"] for e in events)
    assert pending["picked_at"] is None and pending["retry_count"] == 0
    assert processing["picked_at"] is not None and processing["reason"] is None
    assert (retry["status"], retry["reason"], retry["retry_count"]) == ("PENDING", "boom", 1)
    record = queue.get(made)
    assert record is not None
    assert datetime.fromisoformat(retry["event_timestamp"]) == record.updated_at
    assert datetime.fromisoformat(processing["picked_at"]) == record.picked_at


def test_python_builder_matches_what_the_database_wrote(
    engine: Engine, queue: RequestQueue, db: Db
) -> None:
    """On Postgres the events are built in SQL; they must equal OutboxEvent.scrape_request."""
    made = queue.enqueue(FLOW, "instagram", {"handle": "nasa", "n": [1, 2]}, priority=2).id
    claimed = queue.claim_batch([FLOW], 1, batch_id="b1")[0]
    queue.fail([Failure(made, claimed.attempt, "rate limited", True)])

    with engine.connect() as conn:
        row = conn.execute(select(scrape_request_log).where(scrape_request_log.c.id == made))
        current = row.mappings().one()
    expected = dict(OutboxEvent.scrape_request(current, "rate limited").payload)
    written = dict(db.events(made)[-1]["payload"])
    assert expected.pop("event_id") != written.pop("event_id")
    assert written == expected


def test_relay_side_reads_and_marks_events(engine: Engine, queue: RequestQueue) -> None:
    for i in range(3):
        queue.enqueue(FLOW, "instagram", {"i": i})
    relay = Outbox(engine)
    first = relay.pending_events(limit=2)
    assert [e.payload["params"] for e in first] == [{"i": 0}, {"i": 1}]
    assert relay.mark_published([e.id for e in first]) == 2
    assert relay.mark_published([e.id for e in first]) == 0  # already published
    assert relay.mark_attempt_failed([]) == 0

    with engine.begin() as conn:  # a relay holding its rows while it publishes
        rest = relay.pending_events(limit=10, conn=conn)
        assert [e.payload["params"] for e in rest] == [{"i": 2}]
        relay.mark_attempt_failed([rest[0].id], conn=conn)
    assert relay.pending_events()[0].publish_attempts == 1


@pytest.mark.postgres
def test_pending_events_skips_rows_another_relay_holds(pg_engine: Engine) -> None:
    queue = RequestQueue(pg_engine)
    for i in range(4):
        queue.enqueue(FLOW, "instagram", {"i": i})
    relay = Outbox(pg_engine)
    with pg_engine.begin() as first, pg_engine.begin() as second:
        a = relay.pending_events(limit=2, conn=first)
        b = relay.pending_events(limit=2, conn=second)
        assert {e.id for e in a}.isdisjoint(e.id for e in b) and len(a) == len(b) == 2
