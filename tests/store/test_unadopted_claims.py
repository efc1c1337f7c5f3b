"""Only real attempts count: a claim whose batch no run ever adopted (a launch failure, a
misconfigured instance) gives its attempt back when its lease lapses. Both backends."""

from __future__ import annotations

from collections.abc import Callable

from beat.store.queue import Completion, RequestQueue

from .conftest import Db, ago

FLOW = "refresh_profile_by_handle"


def lapse_unadopted_claim(queue: RequestQueue, db: Db, ids: list[int], batch: str) -> None:
    """The sensor claims a batch, its run never starts, the lease lapses, the reaper runs."""
    db.set_times(ids, run_after=ago(1))  # skip the backoff, as time would
    claimed = queue.claim_batch([FLOW], len(ids), batch_id=batch)
    assert sorted(c.id for c in claimed) == sorted(ids)
    db.set_times(ids, lease_expires_at=ago(1))
    reaped = queue.release_expired_leases()
    assert sorted(reaped.requeued_ids) == sorted(ids) and reaped.failed_ids == ()


def test_claims_never_adopted_spend_no_attempt(
    make_queue: Callable[..., RequestQueue], db: Db
) -> None:
    queue = make_queue(default_max_attempts=3)
    ids = [queue.enqueue(FLOW, "instagram", {"handle": f"h{i}"}).id for i in range(5)]
    for round_ in range(4):  # more lapsed claims than max_attempts
        lapse_unadopted_claim(queue, db, ids, batch=f"never-run-{round_}")

    for request_id in ids:
        record = queue.get(request_id)
        assert record is not None and record.status == "PENDING"
        assert record.retry_count == 0  # no attempt at the work was spent
        assert record.attempt == 4 and record.max_attempts == 3 + 4  # each claim given back
        assert record.last_error is not None and "before any run adopted" in record.last_error

    # A run that does start gets the batch, and the attempt fence still holds: the stale
    # claims' attempts cannot complete it, the adopted one can.
    db.set_times(ids, run_after=ago(1))
    claims = queue.claim_batch([FLOW], 5, batch_id="real")
    adopted = queue.adopt_batch("real", "run-1")
    assert [c.attempt for c in adopted] == [c.attempt for c in claims] == [5] * 5
    stale = queue.complete([Completion(ids[0], 4, "p")])
    assert stale.fenced_ids == (ids[0],)
    done = queue.complete([Completion(c.id, c.attempt, "p") for c in adopted])
    assert sorted(done.completed_ids) == sorted(ids)


def test_adopted_claims_still_count_when_their_run_dies(
    make_queue: Callable[..., RequestQueue], db: Db
) -> None:
    """A run that adopted its batch and then vanished (killed) made a real attempt."""
    queue = make_queue(default_max_attempts=2)
    made = queue.enqueue(FLOW, "instagram", {"handle": "x"}).id
    for round_ in range(2):
        db.set_times([made], run_after=ago(1))
        queue.claim_batch([FLOW], 1, batch_id=f"b{round_}")
        queue.adopt_batch(f"b{round_}", f"run-{round_}")
        db.set_times([made], lease_expires_at=ago(1))
        queue.release_expired_leases()
    record = queue.get(made)
    assert record is not None and record.status == "FAILED"
    assert record.last_error == "lease expired after 2 attempts"


def test_a_run_that_lost_its_database_gives_attempts_back(
    make_queue: Callable[..., RequestQueue], db: Db
) -> None:
    """release_batch(give_back=True): the run failed through no fault of its requests."""
    queue = make_queue(default_max_attempts=1)
    made = queue.enqueue(FLOW, "instagram", {"handle": "y"}).id
    queue.claim_batch([FLOW], 1, batch_id="b")
    queue.adopt_batch("b", "run")
    assert queue.release_batch("b", "run", "run failed: database unavailable", give_back=True)
    record = queue.get(made)
    assert record is not None and record.status == "PENDING" and record.max_attempts == 2
    queue.claim_batch([FLOW], 1, batch_id="b2")
    queue.adopt_batch("b2", "run2")
    queue.release_batch("b2", "run2", "run failed: RuntimeError")  # a bug's failure counts
    record = queue.get(made)
    assert record is not None and record.status == "FAILED"
