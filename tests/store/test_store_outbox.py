"""Outbox events: one per status change, same transaction, same payload on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import Engine, select

from beat.store.models import scrape_request_log
from beat.store.outbox import (
    EXCHANGE,
    FORMAT_PAYLOADS,
    FORMAT_SCRAPE_REQUEST,
    MAX_EVENTS_PER_ROW,
    SCRAPE_REQUEST_RECORD,
    SCRAPE_REQUEST_ROUTING_KEY,
    Outbox,
    OutboxEvent,
    OutboxRow,
    messages,
    render_scrape_request,
    write_events,
)
from beat.store.queue import Completion, Failure, NewRequest, RequestQueue

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
    queue.adopt_batch("b2", "run-2")  # a run started on it: the lapse is a real attempt
    db.set_times([failed], lease_expires_at=ago(1))
    queue.release_expired_leases()  # attempt 2 of 2: FAILED

    assert db.statuses(completed) == ["PENDING", "PROCESSING", "COMPLETE"]
    assert db.statuses(failed) == ["PENDING", "PROCESSING", "PENDING", "PROCESSING", "FAILED"]
    assert db.statuses(expired) == ["PENDING", "EXPIRED"]
    reasons = [e.payload["reason"] for e in db.events(failed)]
    assert reasons == [None, None, "timeout", None, "lease expired after 2 attempts"]
    assert db.events(expired)[-1].payload["reason"] == "expired before it was claimed"


def test_event_messages_and_payload_keys(queue: RequestQueue, db: Db) -> None:
    made = queue.enqueue(FLOW, "instagram", {"handle": "nasa"}, priority=4, account_id="x").id
    claimed = queue.claim_batch([FLOW], 1, batch_id="b1")[0]
    queue.fail([Failure(made, claimed.attempt, "boom", True)])

    rows = db.outbox_rows()
    assert len(rows) == 3 and [r.event_count for r in rows] == [1, 1, 1]
    for row in rows:
        assert (row.exchange, row.routing_key) == (EXCHANGE, SCRAPE_REQUEST_ROUTING_KEY)
        assert row.event_format == FORMAT_SCRAPE_REQUEST
        assert row.published_at is None and row.publish_attempts == 0
    events = db.events(made)
    assert len(events) == 3
    for event in events:
        payload = event.payload
        assert set(payload) == PAYLOAD_KEYS
        assert (event.exchange, event.routing_key) == (EXCHANGE, SCRAPE_REQUEST_ROUTING_KEY)
        assert payload["event_id"] == event.event_id
        assert uuid.UUID(event.event_id).version == 4
        assert (payload["scl_id"], payload["flow"], payload["platform"]) == (
            str(made),
            FLOW,
            "instagram",
        )
        assert (payload["params"], payload["priority"]) == ({"handle": "nasa"}, 4)
        for key in ("event_timestamp", "expires_at"):  # the consumer's Go layout, in UTC
            assert datetime.strptime(payload[key], "%Y-%m-%d %H:%M:%S")

    pending, processing, retry = (e.payload for e in events)
    # retry_count as the original counted it: 1 at creation, +1 per return to PENDING.
    assert pending["picked_at"] is None and pending["retry_count"] == 1
    assert processing["picked_at"] is not None and processing["reason"] is None
    assert (retry["status"], retry["reason"], retry["retry_count"]) == ("PENDING", "boom", 2)
    record = queue.get(made)
    assert record is not None and record.picked_at is not None
    assert retry["event_timestamp"] == record.updated_at.strftime("%Y-%m-%d %H:%M:%S")
    assert processing["picked_at"] == record.picked_at.strftime("%Y-%m-%d %H:%M:%S")


def test_a_batch_transition_writes_one_row_with_one_message_per_request(
    queue: RequestQueue, db: Db
) -> None:
    made = [
        r.id
        for r in queue.enqueue_many(
            [NewRequest(FLOW, "instagram", {"i": i}) for i in range(4)]
            + [NewRequest(FLOW, "instagram", {"i": 9}, expires_at=ago(1))]
        )
    ]
    claimed = queue.claim_batch([FLOW], 3, batch_id="b1")  # also expires the last one
    report = queue.complete([Completion(c.id, c.attempt) for c in claimed[:2]])
    queue.fail([Failure(claimed[2].id, claimed[2].attempt, "429", True)])
    assert len(report.completed_ids) == 2

    rows = db.outbox_rows()
    # enqueue_many, claim (3 PROCESSING + 1 EXPIRED), complete, fail: one row each.
    assert [r.event_count for r in rows] == [5, 4, 2, 1]
    for row, expected in zip(
        rows,
        [
            {i: "PENDING" for i in made},
            {**{c.id: "PROCESSING" for c in claimed}, made[-1]: "EXPIRED"},
            {c.id: "COMPLETE" for c in claimed[:2]},
            {claimed[2].id: "PENDING"},
        ],
        strict=True,
    ):
        unpacked = list(row.messages())
        assert {int(m.payload["scl_id"]): m.payload["status"] for m in unpacked} == expected
        assert len(unpacked) == len(expected)  # one message per request per transition
        for m in unpacked:
            assert set(m.payload) == PAYLOAD_KEYS
            assert m.outbox_id == row.id and m.event_id == m.payload["event_id"]
    event_ids = [m.event_id for m in db.events()]
    assert len(set(event_ids)) == len(event_ids) == 12


def test_nothing_changed_writes_no_row(queue: RequestQueue, db: Db) -> None:
    queue.claim_batch([FLOW], 5, batch_id="b1")
    queue.complete([Completion(12345, 1)])
    queue.fail([Failure(12345, 1, "x", True)])
    assert queue.expire_overdue() == 0
    assert queue.release_batch("b1") == 0
    assert db.outbox_rows() == []


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
    written = dict(db.events(made)[-1].payload)
    assert expected.pop("event_id") != written.pop("event_id")
    assert written == expected


def test_relay_side_reads_and_marks_events(engine: Engine, queue: RequestQueue) -> None:
    queue.enqueue(FLOW, "instagram", {"i": 0})
    queue.enqueue_many([NewRequest(FLOW, "instagram", {"i": i}) for i in (1, 2)])
    queue.enqueue(FLOW, "instagram", {"i": 3})
    relay = Outbox(engine)
    first = relay.pending_events(limit=2)  # two rows, three messages
    assert [e.payload["params"] for e in first] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert all(set(e.payload) == PAYLOAD_KEYS for e in first)
    rows = {e.outbox_id for e in first}
    assert len(rows) == 2
    assert relay.mark_published(e.outbox_id for e in first) == 2
    assert relay.mark_published(rows) == 0  # already published
    assert relay.mark_attempt_failed([]) == 0

    with engine.begin() as conn:  # a relay holding its rows while it publishes
        rest = relay.pending_rows(limit=10, conn=conn)
        assert [e.payload["params"] for e in messages(rest)] == [{"i": 3}]
        relay.mark_attempt_failed([rest[0].id], conn=conn)
    assert relay.pending_rows()[0].publish_attempts == 1


def test_write_events_packs_one_row_per_routing_key(engine: Engine, db: Db) -> None:
    def event(routing_key: str, n: int) -> OutboxEvent:
        event_id = str(uuid.uuid4())
        return OutboxEvent(event_id, EXCHANGE, routing_key, {"event_id": event_id, "n": n})

    written = [event("profile_log_events", 0), event("post_log_events", 1)]
    written += [event("profile_log_events", 2), event("post_log_events", 3)]
    with engine.begin() as conn:
        write_events(conn, written)
        write_events(conn, [])
    rows = db.outbox_rows()
    assert [(r.routing_key, r.event_format, r.event_count) for r in rows] == [
        ("profile_log_events", FORMAT_PAYLOADS, 2),
        ("post_log_events", FORMAT_PAYLOADS, 2),
    ]
    assert rows[0].events == [e.payload for e in written[::2]]  # stored as given
    published = messages(rows)
    assert [m.payload["n"] for m in published] == [0, 2, 1, 3]
    by_id = {e.event_id: e for e in written}
    for m in published:
        source = by_id[m.event_id]
        assert (m.exchange, m.routing_key, m.payload) == (
            source.exchange,
            source.routing_key,
            source.payload,
        )


def test_write_events_caps_the_messages_per_row(engine: Engine, db: Db) -> None:
    events = []
    for _ in range(MAX_EVENTS_PER_ROW + 1):
        event_id = str(uuid.uuid4())
        events.append(OutboxEvent(event_id, EXCHANGE, "post_log_events", {"event_id": event_id}))
    with engine.begin() as conn:
        write_events(conn, events)
    assert [r.event_count for r in db.outbox_rows()] == [MAX_EVENTS_PER_ROW, 1]


def test_an_event_must_carry_its_id_in_its_payload() -> None:
    with pytest.raises(ValueError, match="event_id"):
        OutboxEvent("a", EXCHANGE, "post_log_events", {"event_id": "b"})
    with pytest.raises(ValueError, match="event_id"):
        OutboxEvent("a", EXCHANGE, "post_log_events", {})


def test_a_row_that_does_not_add_up_is_refused() -> None:
    def row(**changes: object) -> OutboxRow:
        fields: dict[str, object] = {
            "id": 1,
            "exchange": EXCHANGE,
            "routing_key": "k",
            "event_format": FORMAT_PAYLOADS,
            "event_id_seed": None,
            "event_count": 1,
            "events": [{"event_id": "a"}],
            "created_at": datetime.now(),
            "published_at": None,
            "publish_attempts": 0,
        }
        return OutboxRow(**{**fields, **changes})  # type: ignore[arg-type]

    assert [m.event_id for m in row().messages()] == ["a"]
    with pytest.raises(ValueError, match="event_count"):
        list(row(event_count=2).messages())
    with pytest.raises(ValueError, match="format"):
        list(row(event_format="scrape_request.v9").messages())
    with pytest.raises(ValueError, match="format"):  # a record row needs its seed
        list(row(event_format=FORMAT_SCRAPE_REQUEST).messages())


def test_status_events_are_compact_records_rendered_on_read(queue: RequestQueue, db: Db) -> None:
    made = queue.enqueue_many([NewRequest(FLOW, "instagram", {"i": i}) for i in range(3)])
    (row,) = db.outbox_rows()
    assert (row.event_format, row.event_count) == (FORMAT_SCRAPE_REQUEST, 3)
    assert row.event_id_seed is not None and row.event_id_seed.version == 4
    assert [len(record) for record in row.events] == [len(SCRAPE_REQUEST_RECORD)] * 3
    assert [record[0] for record in row.events] == [m.id for m in made]

    first, again = list(row.messages()), list(db.outbox_rows()[0].messages())
    # The ids derive from the stored seed: reading (and publishing) a row again gives the same
    # messages, so consumers can drop the repeats.
    assert [m.event_id for m in first] == [m.event_id for m in again]
    assert [m.payload for m in first] == [m.payload for m in again]
    assert len({m.event_id for m in first}) == 3
    assert all(uuid.UUID(m.event_id).version == 4 for m in first)


def test_rendering_normalises_any_offset_to_utc() -> None:
    record = [7, FLOW, "instagram", {"h": "x"}, "PENDING", 1, None]
    record += ["2026-05-01T15:30:00.12+05:30", None, "infinity", 0]
    payload = render_scrape_request(record, "id-1")
    assert set(payload) == PAYLOAD_KEYS
    assert payload["event_timestamp"] == "2026-05-01 10:00:00"
    assert (payload["scl_id"], payload["retry_count"]) == ("7", 1)
    assert (payload["picked_at"], payload["expires_at"]) == (None, "infinity")
