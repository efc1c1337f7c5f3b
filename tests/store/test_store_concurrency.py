"""Many claimers at once: no request is claimed twice, none is lost, all complete.

Postgres: 16 threads, each on its own pooled connection. SQLite: several processes on one
database file, serialised by BEGIN IMMEDIATE.
"""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from collections import Counter

import pytest
from sqlalchemy import Engine

from beat.store.db import make_engine
from beat.store.queue import Completion, NewRequest, RequestQueue

from .conftest import Db

FLOW = "refresh_profile_by_handle"
ROWS = 5_000


def load(queue: RequestQueue, rows: int = ROWS) -> set[int]:
    made = queue.enqueue_many(
        [NewRequest(FLOW, "instagram", {"n": i}, priority=i % 3) for i in range(rows)]
    )
    return {m.id for m in made}


def drain(queue: RequestQueue, batch: int) -> list[int]:
    """Claim and complete until the flow is empty; returns every id this worker claimed."""
    claimed_ids: list[int] = []
    while claimed := queue.claim_batch([FLOW], batch, batch_id=uuid.uuid4().hex):
        claimed_ids += [c.id for c in claimed]
        report = queue.complete([Completion(c.id, c.attempt, "test") for c in claimed])
        assert report.fenced_ids == ()
    return claimed_ids


def drain_in_process(url: str, batch: int) -> list[int]:
    """Entry point of one SQLite worker process: its own engine, as a real worker would have."""
    engine = make_engine(url)
    try:
        return drain(RequestQueue(engine), batch)
    finally:
        engine.dispose()


def check_drained(queue: RequestQueue, db: Db, expected: set[int], claims: list[int]) -> None:
    duplicates = [i for i, n in Counter(claims).items() if n > 1]
    assert duplicates == []
    assert set(claims) == expected
    assert queue.count_by_status() == {"COMPLETE": len(expected)}
    events = db.events()
    assert len(events) == 3 * len(expected)  # PENDING, PROCESSING, COMPLETE each
    assert len({e.event_id for e in events}) == len(events)
    statuses: dict[int, list[str]] = {}
    for event in events:
        statuses.setdefault(int(event.payload["scl_id"]), []).append(event.payload["status"])
    assert set(statuses) == expected
    assert all(s == ["PENDING", "PROCESSING", "COMPLETE"] for s in statuses.values())
    # Packed: one outbox row per enqueue chunk, claim and completion, not one per request.
    assert len(db.outbox_rows()) < len(expected) // 10


@pytest.mark.postgres
def test_sixteen_threads_drain_postgres(pg_engine: Engine) -> None:
    queue = RequestQueue(pg_engine)
    expected = load(queue)
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def worker() -> None:
        try:
            start.wait()
            results.append(drain(queue, batch=25))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(1 for r in results if r) > 1  # the work really was shared
    check_drained(queue, Db(pg_engine), expected, [i for r in results for i in r])


def test_processes_drain_sqlite(sqlite_url: str, sqlite_engine: Engine) -> None:
    queue = RequestQueue(sqlite_engine)
    expected = load(queue)
    # spawn, not fork: the test process may have threads (and SQLite connections) already.
    context = multiprocessing.get_context("spawn")
    with context.Pool(6) as pool:
        results = pool.starmap(drain_in_process, [(sqlite_url, 40)] * 6, chunksize=1)
    assert sum(1 for r in results if r) > 1  # the work really was shared
    check_drained(queue, Db(sqlite_engine), expected, [i for r in results for i in r])
