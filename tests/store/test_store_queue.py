"""RequestQueue semantics; every test runs against SQLite and against PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from beat.store.queue import (
    ClaimedRequest,
    Completion,
    Failure,
    NewRequest,
    RequestQueue,
)

from .conftest import Db, ago, from_now

FLOW = "refresh_profile_by_handle"
OTHER_FLOW = "refresh_post_by_shortcode"


def claim_one(queue: RequestQueue, flow: str = FLOW, batch: str = "b1") -> ClaimedRequest:
    claimed = queue.claim_batch([flow], 1, batch_id=batch)
    assert len(claimed) == 1
    return claimed[0]


# -- enqueue ----------------------------------------------------------------------------------


def test_enqueue_is_idempotent_and_writes_nothing_the_second_time(queue: RequestQueue, db: Db):
    first = queue.enqueue(FLOW, "instagram", {"handle": "nasa"}, idempotency_key="k-1")
    events_after_first = len(db.events())
    again = queue.enqueue(FLOW, "instagram", {"handle": "other"}, idempotency_key="k-1")

    assert first.created and first.status == "PENDING"
    assert (again.id, again.created, again.status) == (first.id, False, "PENDING")
    assert len(db.events()) == events_after_first == 1
    record = queue.get(first.id)
    assert record is not None and record.params == {"handle": "nasa"}


def test_enqueue_reports_the_current_status_of_an_existing_key(queue: RequestQueue):
    first = queue.enqueue(FLOW, "instagram", {}, idempotency_key="k-1")
    claim_one(queue)
    assert queue.enqueue(FLOW, "instagram", {}, idempotency_key="k-1").status == "PROCESSING"
    assert queue.get(first.id).attempt == 1  # type: ignore[union-attr]


def test_enqueue_without_key_generates_one(queue: RequestQueue):
    a = queue.enqueue(FLOW, "instagram", {"handle": "a"})
    b = queue.enqueue(FLOW, "instagram", {"handle": "a"})
    assert a.id != b.id and a.created and b.created
    key = queue.get(a.id).idempotency_key  # type: ignore[union-attr]
    assert uuid.UUID(key).version == 4


def test_enqueue_stores_every_field(queue: RequestQueue):
    run_after, expires_at = from_now(60), from_now(3600)
    made = queue.enqueue(
        FLOW,
        "instagram",
        {"handle": "nasa", "n": [1, 2]},
        priority=5,
        expires_at=expires_at,
        account_id="acct-1",
        source="api",
        max_attempts=7,
        run_after=run_after,
    )
    record = queue.get(made.id)
    assert record is not None
    assert (record.flow, record.platform, record.priority) == (FLOW, "instagram", 5)
    assert (record.account_id, record.source, record.max_attempts) == ("acct-1", "api", 7)
    assert (record.attempt, record.retry_count, record.status) == (0, 0, "PENDING")
    assert abs(record.run_after - run_after) < timedelta(milliseconds=1)
    assert abs(record.expires_at - expires_at) < timedelta(milliseconds=1)  # type: ignore[operator]
    assert record.created_at.tzinfo is not None


def test_default_expiry_and_run_after_come_from_the_queue(make_queue: Callable[..., RequestQueue]):
    queue = make_queue(default_expiry_seconds=120, default_max_attempts=4)
    record = queue.get(queue.enqueue(FLOW, "instagram", {}).id)
    assert record is not None and record.expires_at is not None
    assert record.expires_at - record.created_at == timedelta(seconds=120)
    assert record.run_after == record.created_at and record.max_attempts == 4

    no_expiry = make_queue(default_expiry_seconds=None)
    assert no_expiry.get(no_expiry.enqueue(FLOW, "instagram", {}).id).expires_at is None  # type: ignore[union-attr]


def test_enqueue_many_keeps_input_order_and_dedupes(queue: RequestQueue, db: Db):
    existing = queue.enqueue(FLOW, "instagram", {}, idempotency_key="old")
    results = queue.enqueue_many(
        [
            NewRequest(FLOW, "instagram", {"i": 1}, idempotency_key="new-1"),
            NewRequest(FLOW, "instagram", {"i": 2}, idempotency_key="old"),
            NewRequest(FLOW, "instagram", {"i": 3}, idempotency_key="new-1"),
            NewRequest(OTHER_FLOW, "youtube", {"i": 4}),
        ]
    )
    assert [r.created for r in results] == [True, False, False, True]
    assert results[1].id == existing.id and results[2].id == results[0].id
    assert len({r.id for r in results}) == 3
    assert len(db.events()) == 3  # "old", "new-1" and the keyless one: one PENDING event each
    assert queue.get(results[0].id).params == {"i": 1}  # type: ignore[union-attr]
    assert queue.enqueue_many([]) == []


def test_enqueue_joins_the_callers_transaction(engine: Engine, queue: RequestQueue, db: Db):
    with pytest.raises(RuntimeError), engine.begin() as conn:
        queue.enqueue(FLOW, "instagram", {}, idempotency_key="rolled-back", conn=conn)
        raise RuntimeError("business logic failed")
    assert queue.count_by_status() == {} and db.events() == []


# -- claiming ---------------------------------------------------------------------------------


def test_claim_takes_highest_priority_then_oldest(queue: RequestQueue):
    ids = {
        name: queue.enqueue(FLOW, "instagram", {"n": name}, priority=priority).id
        for name, priority in [("low-old", 1), ("high-old", 5), ("low-new", 1), ("high-new", 5)]
    }
    queue.enqueue(OTHER_FLOW, "instagram", {}, priority=99)

    first = queue.claim_batch([FLOW], 3, batch_id="b1")
    second = queue.claim_batch([FLOW], 3, batch_id="b2")

    order = ["high-old", "high-new", "low-old"]
    assert [c.id for c in first] == [ids[name] for name in order]
    assert [c.id for c in second] == [ids["low-new"]]
    assert queue.claim_batch([FLOW], 3, batch_id="b3") == []


def test_claim_across_flows_orders_globally(queue: RequestQueue):
    a = queue.enqueue(FLOW, "instagram", {}, priority=1).id
    b = queue.enqueue(OTHER_FLOW, "instagram", {}, priority=3).id
    c = queue.enqueue(OTHER_FLOW, "instagram", {}, priority=2).id
    claimed = queue.claim_batch([FLOW, OTHER_FLOW, FLOW], 2, batch_id="b1")
    assert [x.id for x in claimed] == [b, c]
    assert [x.id for x in queue.claim_batch([FLOW, OTHER_FLOW], 5, batch_id="b2")] == [a]


def test_claimed_request_carries_what_a_worker_needs(queue: RequestQueue):
    made = queue.enqueue(
        FLOW, "instagram", {"handle": "nasa"}, idempotency_key="k", account_id="a", priority=2
    )
    claimed = claim_one(queue, batch="batch-7")
    assert (claimed.id, claimed.flow, claimed.platform) == (made.id, FLOW, "instagram")
    assert (claimed.params, claimed.attempt, claimed.batch_id) == ({"handle": "nasa"}, 1, "batch-7")
    assert (claimed.idempotency_key, claimed.account_id, claimed.priority) == ("k", "a", 2)
    assert (claimed.retry_count, claimed.max_attempts) == (0, 3)
    assert claimed.picked_at >= claimed.created_at

    record = queue.get(made.id)
    assert record is not None and record.status == "PROCESSING"
    assert record.lease_expires_at is not None
    assert record.lease_expires_at - record.picked_at == timedelta(seconds=120)  # type: ignore[operator]


def test_claim_skips_rows_whose_run_after_is_in_the_future(queue: RequestQueue, db: Db):
    later = queue.enqueue(FLOW, "instagram", {}, run_after=from_now(3600)).id
    now = queue.enqueue(FLOW, "instagram", {}).id
    assert queue.pending_count([FLOW]) == 1
    assert [c.id for c in queue.claim_batch([FLOW], 10, batch_id="b1")] == [now]

    db.set_times([later], run_after=ago(1))
    assert [c.id for c in queue.claim_batch([FLOW], 10, batch_id="b2")] == [later]


def test_expired_rows_are_marked_expired_and_never_claimed(queue: RequestQueue, db: Db):
    expired = queue.enqueue(FLOW, "instagram", {}, expires_at=ago(1)).id
    elsewhere = queue.enqueue(OTHER_FLOW, "instagram", {}, expires_at=ago(1)).id
    fresh = queue.enqueue(FLOW, "instagram", {}).id
    assert queue.pending_count([FLOW]) == 1

    assert [c.id for c in queue.claim_batch([FLOW], 10, batch_id="b1")] == [fresh]
    record = queue.get(expired)
    assert record is not None and record.status == "EXPIRED" and record.attempt == 0
    assert db.statuses(expired) == ["PENDING", "EXPIRED"]
    assert queue.get(elsewhere).status == "PENDING"  # type: ignore[union-attr]  # not swept

    assert queue.expire_overdue() == 1
    assert queue.get(elsewhere).status == "EXPIRED"  # type: ignore[union-attr]
    assert queue.claim_batch([FLOW, OTHER_FLOW], 10, batch_id="b2") == []
    assert queue.expire_overdue() == 0


def test_claim_with_nothing_to_do(queue: RequestQueue):
    assert queue.claim_batch([FLOW], 10, batch_id="b") == []
    assert queue.claim_batch([], 10, batch_id="b") == []
    queue.enqueue(FLOW, "instagram", {})
    assert queue.claim_batch([FLOW], 0, batch_id="b") == []


# -- completing and fencing -------------------------------------------------------------------


def test_complete_records_the_result(queue: RequestQueue):
    made = queue.enqueue(FLOW, "instagram", {})
    claimed = claim_one(queue)
    report = queue.complete([Completion(claimed.id, claimed.attempt, "graphapi", "ok: 12 posts")])
    assert report.completed_ids == (made.id,) and report.fenced_ids == ()
    record = queue.get(made.id)
    assert record is not None
    assert (record.status, record.provider, record.data) == ("COMPLETE", "graphapi", "ok: 12 posts")
    assert record.scraped_at is not None and record.lease_expires_at is None


def test_complete_with_wrong_attempt_or_state_is_fenced(queue: RequestQueue):
    pending = queue.enqueue(FLOW, "instagram", {}).id
    claimed = claim_one(queue)
    queue.enqueue(FLOW, "instagram", {})  # stays PENDING

    report = queue.complete([Completion(claimed.id, claimed.attempt + 1), Completion(999_999, 1)])
    assert report.completed_ids == () and report.fenced_ids == (pending, 999_999)
    assert queue.get(pending).status == "PROCESSING"  # type: ignore[union-attr]
    assert queue.complete([]).completed_ids == ()


def test_lease_expiry_requeues_and_fences_the_stale_worker(
    make_queue: Callable[..., RequestQueue], db: Db
):
    queue = make_queue(lease_seconds=0.2)
    made = queue.enqueue(FLOW, "instagram", {}).id
    stale = claim_one(queue, batch="worker-a")
    queue.adopt_batch("worker-a", "run-a")  # a run started on it: the lapse counts

    assert queue.release_expired_leases().requeued_ids == ()  # lease still running
    db.set_times([made], lease_expires_at=ago(1))
    reaped = queue.release_expired_leases()
    assert reaped.requeued_ids == (made,) and reaped.failed_ids == ()
    record = queue.get(made)
    assert record is not None and record.status == "PENDING" and record.retry_count == 1
    assert record.last_error == "lease expired after 1 attempts"
    assert record.run_after > record.updated_at  # backoff before the next claim
    assert queue.claim_batch([FLOW], 1, batch_id="worker-b") == []

    db.set_times([made], run_after=ago(1))
    fresh = claim_one(queue, batch="worker-b")
    assert fresh.attempt == 2

    late = queue.complete([Completion(stale.id, stale.attempt, "p1", "stale result")])
    assert late.fenced_ids == (made,) and late.completed_ids == ()
    record = queue.get(made)
    assert record is not None and record.status == "PROCESSING" and record.data is None

    assert queue.complete([Completion(fresh.id, fresh.attempt, "p2", "ok")]).completed_ids == (
        made,
    )
    record = queue.get(made)
    assert record is not None and (record.status, record.provider, record.data) == (
        "COMPLETE",
        "p2",
        "ok",
    )


def test_lease_really_expires_with_time(make_queue: Callable[..., RequestQueue]):
    import time

    queue = make_queue(lease_seconds=0.3)
    made = queue.enqueue(FLOW, "instagram", {}).id
    claim_one(queue)
    time.sleep(0.6)
    assert queue.release_expired_leases().requeued_ids == (made,)


def test_reaper_fails_rows_out_of_attempts(make_queue: Callable[..., RequestQueue], db: Db):
    queue = make_queue()
    made = queue.enqueue(FLOW, "instagram", {}, max_attempts=1).id
    claim_one(queue)
    queue.adopt_batch("b1", "run-1")
    db.set_times([made], lease_expires_at=ago(1))
    reaped = queue.release_expired_leases()
    assert reaped.failed_ids == (made,) and reaped.requeued_ids == ()
    record = queue.get(made)
    assert record is not None and record.status == "FAILED"
    assert record.data == record.last_error == "lease expired after 1 attempts"


# -- failing and retrying ---------------------------------------------------------------------


def test_retryable_failures_back_off_then_fail_at_max_attempts(
    make_queue: Callable[..., RequestQueue], db: Db
):
    queue = make_queue(backoff_base_seconds=10, backoff_max_seconds=15)
    made = queue.enqueue(FLOW, "instagram", {}).id
    expected_delays = {1: 10, 2: 15}  # base * 2**(attempt-1), capped at max

    for attempt in (1, 2):
        claimed = claim_one(queue)
        assert claimed.attempt == attempt
        report = queue.fail([Failure(made, attempt, f"429 from provider ({attempt})", True, "p")])
        assert report.retried_ids == (made,) and report.failed_ids == ()
        record = queue.get(made)
        assert record is not None
        assert (record.status, record.retry_count, record.attempt) == ("PENDING", attempt, attempt)
        assert record.last_error == f"429 from provider ({attempt})" and record.data is None
        delay = (record.run_after - record.updated_at).total_seconds()
        assert 0.8 * expected_delays[attempt] - 0.01 <= delay <= 1.2 * expected_delays[attempt]
        assert queue.pending_count([FLOW]) == 0
        assert queue.claim_batch([FLOW], 1, batch_id="too-early") == []
        db.set_times([made], run_after=ago(1))

    claim_one(queue)
    report = queue.fail([Failure(made, 3, "still 429", True)])
    assert report.failed_ids == (made,) and report.retried_ids == ()
    record = queue.get(made)
    assert record is not None and (record.status, record.data, record.retry_count) == (
        "FAILED",
        "still 429",
        2,
    )
    assert db.statuses(made) == [
        "PENDING",
        "PROCESSING",
        "PENDING",
        "PROCESSING",
        "PENDING",
        "PROCESSING",
        "FAILED",
    ]


def test_non_retryable_failure_fails_at_once(queue: RequestQueue):
    made = queue.enqueue(FLOW, "instagram", {}).id
    claimed = claim_one(queue)
    report = queue.fail([Failure(made, claimed.attempt, "profile does not exist", False, "p")])
    assert report.failed_ids == (made,)
    record = queue.get(made)
    assert record is not None and (record.status, record.data, record.provider) == (
        "FAILED",
        "profile does not exist",
        "p",
    )


def test_fail_is_fenced(queue: RequestQueue):
    made = queue.enqueue(FLOW, "instagram", {}).id
    claimed = claim_one(queue)
    report = queue.fail(
        [Failure(made, claimed.attempt + 1, "x", True), Failure(12345, 1, "x", True)]
    )
    assert report.fenced_ids == (made, 12345) and report.retried_ids == report.failed_ids == ()
    assert queue.get(made).status == "PROCESSING"  # type: ignore[union-attr]


def test_completion_and_failure_join_the_callers_transaction(
    engine: Engine, queue: RequestQueue, db: Db
):
    a = queue.enqueue(FLOW, "instagram", {}).id
    b = queue.enqueue(FLOW, "instagram", {}).id
    claimed = {c.id: c for c in queue.claim_batch([FLOW], 2, batch_id="b1")}
    events_before = len(db.events())

    with pytest.raises(RuntimeError), engine.begin() as conn:
        queue.complete([Completion(a, claimed[a].attempt)], conn=conn)
        queue.fail([Failure(b, claimed[b].attempt, "x", False)], conn=conn)
        raise RuntimeError("saving the scraped data failed")

    assert {queue.get(a).status, queue.get(b).status} == {"PROCESSING"}  # type: ignore[union-attr]
    assert len(db.events()) == events_before

    with engine.begin() as conn:
        queue.complete([Completion(a, claimed[a].attempt)], conn=conn)
    assert queue.get(a).status == "COMPLETE"  # type: ignore[union-attr]


# -- batches and Dagster runs -----------------------------------------------------------------


def test_release_batch_hands_rows_back_at_once(queue: RequestQueue):
    ids = [queue.enqueue(FLOW, "instagram", {"i": i}).id for i in range(3)]
    claimed = queue.claim_batch([FLOW], 3, batch_id="b1")
    queue.complete([Completion(claimed[0].id, claimed[0].attempt)])

    assert queue.release_batch("b1", reason="run failed") == 2
    for row_id in ids[1:]:
        record = queue.get(row_id)
        assert record is not None
        assert (record.status, record.attempt, record.last_error) == ("PENDING", 1, "run failed")
        assert record.lease_expires_at is None and record.run_after <= record.updated_at
    assert queue.get(ids[0]).status == "COMPLETE"  # type: ignore[union-attr]
    again = queue.claim_batch([FLOW], 3, batch_id="b2")
    assert sorted(c.id for c in again) == ids[1:] and {c.attempt for c in again} == {2}
    assert queue.release_batch("no-such-batch") == 0


def test_release_batch_fails_rows_on_their_last_attempt(queue: RequestQueue):
    made = queue.enqueue(FLOW, "instagram", {}, max_attempts=1).id
    claim_one(queue)
    assert queue.release_batch("b1") == 1
    record = queue.get(made)
    assert record is not None and (record.status, record.data) == ("FAILED", "run ended")


def test_release_batch_with_run_id_only_touches_that_runs_rows(queue: RequestQueue):
    ids = [queue.enqueue(FLOW, "instagram", {}).id for _ in range(2)]
    queue.claim_batch([FLOW], 2, batch_id="b1")
    queue.adopt_batch("b1", "run-1")
    assert queue.release_batch("b1", run_id="run-0") == 0
    assert queue.release_batch("b1", run_id="run-1") == 2
    assert {queue.get(i).status for i in ids} == {"PENDING"}  # type: ignore[union-attr]


def test_adopt_batch_first_run_keeps_the_attempt(queue: RequestQueue, db: Db):
    ids = [queue.enqueue(FLOW, "instagram", {}).id for _ in range(2)]
    claimed = queue.claim_batch([FLOW], 2, batch_id="b1")
    events = len(db.events())

    adopted = queue.adopt_batch("b1", "run-1")
    assert sorted(c.id for c in adopted) == ids
    assert [c.attempt for c in adopted] == [c.attempt for c in claimed] == [1, 1]
    assert {r.dagster_run_id for r in queue.batch_rows("b1")} == {"run-1"}
    assert len(db.events()) == events  # no status changed

    again = queue.adopt_batch("b1", "run-1")  # the same run retrying its start: idempotent
    assert [c.attempt for c in again] == [1, 1]


def test_adopt_batch_by_a_new_run_fences_out_the_old_one(queue: RequestQueue, db: Db):
    done, held, released = (queue.enqueue(FLOW, "instagram", {}).id for _ in range(3))
    queue.claim_batch([FLOW], 3, batch_id="b1")
    old = {c.id: c for c in queue.adopt_batch("b1", "run-1")}
    queue.complete([Completion(done, old[done].attempt)])
    queue.release_batch("b1", run_id="run-1", reason="run-1 drained")
    queue.claim_batch([FLOW], 1, batch_id="b2")  # one released row now belongs to b2
    rows_b2 = queue.batch_rows("b2")
    assert len(rows_b2) == 1
    rejoin = held if rows_b2[0].id == released else released
    taken_by_b2 = rows_b2[0].id

    new = {c.id: c for c in queue.adopt_batch("b1", "run-2")}
    assert list(new) == [rejoin]  # not the COMPLETE row, not the one claimed into b2
    assert new[rejoin].attempt == 2
    assert db.statuses(rejoin)[-2:] == ["PENDING", "PROCESSING"]
    assert db.events(rejoin)[-1].payload["reason"] == "adopted by run run-2"

    stale = queue.complete([Completion(rejoin, old[rejoin].attempt)])
    assert stale.fenced_ids == (rejoin,)
    assert queue.complete([Completion(rejoin, 2)]).completed_ids == (rejoin,)
    assert queue.get(taken_by_b2).batch_id == "b2"  # type: ignore[union-attr]


def test_adopt_batch_takes_over_processing_rows_from_a_crashed_run(queue: RequestQueue):
    made = queue.enqueue(FLOW, "instagram", {}).id
    queue.claim_batch([FLOW], 1, batch_id="b1")
    first = queue.adopt_batch("b1", "run-1")[0]
    second = queue.adopt_batch("b1", "run-2")[0]  # re-execution while run-1 may still live
    assert (first.attempt, second.attempt) == (1, 2)
    assert queue.complete([Completion(made, first.attempt)]).fenced_ids == (made,)
    assert queue.extend_leases("b1", "run-1") == 0
    assert queue.extend_leases("b1", "run-2") == 1


def test_extend_leases_pushes_the_deadline(make_queue: Callable[..., RequestQueue], db: Db):
    queue = make_queue(lease_seconds=300)
    made = queue.enqueue(FLOW, "instagram", {}).id
    queue.claim_batch([FLOW], 1, batch_id="b1")
    queue.adopt_batch("b1", "run-1")
    db.set_times([made], lease_expires_at=from_now(5))
    assert queue.extend_leases("b1", "run-1") == 1
    record = queue.get(made)
    assert record is not None and record.lease_expires_at > from_now(250)  # type: ignore[operator]
    assert queue.release_expired_leases().requeued_ids == ()


# -- reading ----------------------------------------------------------------------------------


def test_counts_and_lookups(queue: RequestQueue):
    for _ in range(3):
        queue.enqueue(FLOW, "instagram", {})
    queue.enqueue(OTHER_FLOW, "instagram", {})
    claimed = queue.claim_batch([FLOW], 2, batch_id="b1")
    queue.complete([Completion(claimed[0].id, claimed[0].attempt)])

    assert queue.count_by_status() == {"PENDING": 2, "PROCESSING": 1, "COMPLETE": 1}
    assert queue.count_by_status([FLOW]) == {"PENDING": 1, "PROCESSING": 1, "COMPLETE": 1}
    assert queue.pending_count([FLOW, OTHER_FLOW]) == 2
    assert queue.inflight_batch_count([FLOW]) == 1
    queue.claim_batch([OTHER_FLOW], 1, batch_id="b2")
    assert queue.inflight_batch_count([FLOW, OTHER_FLOW]) == 2
    assert queue.inflight_batch_count([OTHER_FLOW]) == 1
    assert [r.id for r in queue.batch_rows("b1")] == sorted(c.id for c in claimed)
    assert queue.get(10_000) is None


def test_a_completion_larger_than_one_statement_is_still_one_transaction(
    queue: RequestQueue, db: Db
):
    made = queue.enqueue_many([NewRequest(FLOW, "instagram", {"i": i}) for i in range(1001)])
    claimed = queue.claim_batch([FLOW], 1001, batch_id="b1")
    report = queue.complete([Completion(c.id, c.attempt) for c in claimed] + [Completion(0, 1)])
    assert report.completed_ids == tuple(sorted(m.id for m in made)) and report.fenced_ids == (0,)
    # Statements of at most 1000 items (the fenced id 0 sorts first), each with its outbox row.
    assert [r.event_count for r in db.outbox_rows()][-2:] == [999, 2]
    assert queue.count_by_status() == {"COMPLETE": 1001}


def test_deferral_gives_the_attempt_back_and_waits_exactly(
    make_queue: Callable[..., RequestQueue], db: Db
):
    """Waiting for rate-limit budget is nobody's failure: a request deferred more times than
    it has attempts is still PENDING, comes back after exactly the wait asked for, and is
    fenced like any other settlement."""
    queue = make_queue(default_max_attempts=2)
    made = queue.enqueue(FLOW, "instagram", {}).id
    for attempt in (1, 2, 3):
        claimed = claim_one(queue)
        assert claimed.attempt == attempt
        report = queue.fail(
            [Failure(made, attempt, "deferred global:minute", True, defer_seconds=42.0)]
        )
        assert report.retried_ids == (made,) and report.failed_ids == ()
        record = queue.get(made)
        assert record is not None
        assert (record.status, record.retry_count, record.max_attempts) == (
            "PENDING",
            0,
            2 + attempt,
        )
        delay = (record.run_after - record.updated_at).total_seconds()
        assert 41.9 <= delay <= 42.1
        db.set_times([made], run_after=ago(1))
    claim_one(queue)
    stale = queue.fail([Failure(made, 3, "late writer", True, defer_seconds=1.0)])
    assert stale.fenced_ids == (made,)
    # Real failures still end it after the 2 attempts it was given.
    first = queue.fail([Failure(made, 4, "provider 5xx", True)])
    assert first.retried_ids == (made,)
    db.set_times([made], run_after=ago(1))
    claim_one(queue)
    assert queue.fail([Failure(made, 5, "provider 5xx", True)]).failed_ids == (made,)
