"""Claim throughput with 10 million finished rows present, and while retention purges them.

    python bench/retention_bench.py [--pg-url URL] [--old-rows 10000000] [--jobs 20000]

Two scratch databases (dropped at the end); W threads drain `--jobs` freshly loaded pending
requests through RequestQueue.claim_batch + RequestQueue.complete (batches of 50). Runs on the
two databases alternate, so load from other work on the machine hits both alike:

  EMPTY     no history: the table holds only the jobs being drained.
  10M OLD   the other database, holding `--old-rows` finished rows (COMPLETE / FAILED /
            EXPIRED, last changed over the past 60 days) added with INSERT ... SELECT
            generate_series, then vacuumed and analyzed, as autovacuum would have.
  PURGING   10M OLD while beat.store.retention.purge_finished deletes the rows past a 30-day
            retention in batches of 5,000 (resting as long as each batch took, the default)
            in another thread.

Printed: jobs/s of each, the ratios to EMPTY (target >= 0.8), the purge rate, and how long
queue_health's report takes with the history present.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from beat.store.db import make_engine, upgrade
from beat.store.queue import Completion, RequestQueue
from beat.store.queue_health import measure
from beat.store.retention import RetentionPolicy, purge_finished
from bench.queue_bench import scratch_database, sqlalchemy_url

FLOW = "refresh_profile_by_handle"
PENDING_SQL = """
INSERT INTO scrape_request_log
    (idempotency_key, flow, platform, params, status, priority, created_at, run_after,
     updated_at, attempt, retry_count, max_attempts)
SELECT %(prefix)s || g, %(flow)s, 'INSTAGRAM', jsonb_build_object('handle', 'user' || g),
       'PENDING', 1, now() - make_interval(secs => %(rows)s - g), now() - interval '1 hour',
       now(), 0, 0, 3
FROM generate_series(1, %(rows)s) AS g
"""
# Finished rows as the queue leaves them: claimed once, completed with a provider, or failed
# with a reason, or expired; spread over 60 days of updated_at.
OLD_SQL = """
INSERT INTO scrape_request_log
    (idempotency_key, flow, platform, params, status, priority, created_at, picked_at,
     scraped_at, run_after, updated_at, attempt, retry_count, max_attempts, batch_id,
     dagster_run_id, provider, last_error)
SELECT 'old-' || g, %(flow)s, 'INSTAGRAM', jsonb_build_object('handle', 'old' || g),
       CASE WHEN g %% 20 = 0 THEN 'FAILED' WHEN g %% 97 = 0 THEN 'EXPIRED' ELSE 'COMPLETE' END,
       1, ts - interval '5 minutes', ts - interval '1 minute', ts, ts - interval '5 minutes',
       ts, 1, 0, 3, 'old-batch-' || (g / 1000), 'old-run-' || (g / 1000), 'graphapi',
       CASE WHEN g %% 20 = 0 THEN 'target NotFound: no such account' END
FROM generate_series(%(first)s, %(last)s) AS g,
     LATERAL (SELECT now() - make_interval(secs => g::float8 / %(rows)s * 5184000)) AS at(ts)
"""


def load_pending(conninfo: str, rows: int) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        prefix = f"job-{uuid.uuid4().hex[:8]}-"
        conn.execute(PENDING_SQL, {"prefix": prefix, "flow": FLOW, "rows": rows})
        conn.execute("ANALYZE scrape_request_log")


def load_old(conninfo: str, rows: int, chunk: int = 1_000_000) -> float:
    started = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for first in range(1, rows + 1, chunk):
            last = min(rows, first + chunk - 1)
            conn.execute(OLD_SQL, {"flow": FLOW, "first": first, "last": last, "rows": rows})
            print(f"  loaded {last:,} old rows ({time.perf_counter() - started:.0f} s)", flush=True)
        conn.execute("VACUUM ANALYZE scrape_request_log")
    return time.perf_counter() - started


def drain(queue: RequestQueue, jobs: int, workers: int, batch: int) -> float:
    """Claim+complete until `jobs` are done; jobs/s."""
    done = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal done
        while True:
            claims = queue.claim_batch([FLOW], batch, batch_id=uuid.uuid4().hex)
            if not claims:
                return
            queue.complete([Completion(c.id, c.attempt, "graphapi", None) for c in claims])
            with lock:
                done += len(claims)

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    assert done == jobs, f"drained {done} of {jobs}"
    return jobs / seconds


def measured(label: str, runs: list[float]) -> float:
    rate = statistics.median(runs)
    print(f"{label:10} {rate:10,.0f} jobs/s   (runs: {', '.join(f'{r:,.0f}' for r in runs)})")
    return rate


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--old-rows", type=int, default=10_000_000)
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with scratch_database(args.pg_url) as empty_db, scratch_database(args.pg_url) as old_db:
        engines = {}
        for name, conninfo in (("empty", empty_db), ("old", old_db)):
            engines[name] = make_engine(sqlalchemy_url(conninfo), pool_size=args.workers + 2)
            upgrade(engines[name])
        queues = {name: RequestQueue(engine) for name, engine in engines.items()}
        conninfos = {"empty": empty_db, "old": old_db}

        def one_drain(name: str) -> float:
            load_pending(conninfos[name], args.jobs)
            return drain(queues[name], args.jobs, args.workers, args.batch)

        print(f"loading {args.old_rows:,} finished rows into the second database ...", flush=True)
        load_seconds = load_old(old_db, args.old_rows)
        with psycopg.connect(old_db) as conn:
            size = conn.execute(
                "SELECT pg_size_pretty(pg_total_relation_size('scrape_request_log'))"
            ).fetchone()
        print(f"  {load_seconds:.0f} s; table with indexes: {size[0] if size else '?'}")
        setup = f"{args.workers} workers, batches of {args.batch}, {args.jobs:,} jobs a run"
        print(f"claim+complete, {setup}, the two databases interleaved:")
        rates: dict[str, list[float]] = {"EMPTY": [], "10M OLD": [], "PURGING": []}
        for _ in range(args.repeat):
            rates["EMPTY"].append(one_drain("empty"))
            rates["10M OLD"].append(one_drain("old"))
        # Retention running in the old database while it claims, against the empty one.
        policy = RetentionPolicy(keep=timedelta(days=30), batch_size=5000)
        purges = []
        for _ in range(args.repeat):
            rates["EMPTY"].append(one_drain("empty"))
            load_pending(old_db, args.jobs)
            stop = threading.Event()
            purger = threading.Thread(
                target=lambda stop=stop: purges.append(
                    purge_finished(engines["old"], policy, should_stop=stop.is_set)
                )
            )
            purger.start()
            time.sleep(0.5)  # the purge is under way before the claims start
            rates["PURGING"].append(drain(queues["old"], args.jobs, args.workers, args.batch))
            stop.set()
            purger.join()
        empty = measured("EMPTY", rates["EMPTY"])
        old = measured("10M OLD", rates["10M OLD"])
        purging = measured("PURGING", rates["PURGING"])
        health_empty = timed(lambda: measure(engines["empty"]))
        health_old = timed(lambda: measure(engines["old"]))
        deleted = sum(p.deleted for p in purges)
        seconds = sum(p.seconds for p in purges)
        print()
        print(f"ratio 10M OLD / EMPTY : {old / empty:.2f}   (target >= 0.8)")
        print(f"ratio PURGING / EMPTY : {purging / empty:.2f}")
        print(
            f"purge while claiming  : {deleted:,} rows in {seconds:.1f} s "
            f"({deleted / seconds if seconds else 0:,.0f} rows/s, batches of 5,000, pause ratio 1)"
        )
        print(
            f"queue_health report   : {health_empty * 1000:.1f} ms empty, "
            f"{health_old * 1000:.1f} ms with {args.old_rows:,} finished rows"
        )
        for engine in engines.values():
            engine.dispose()


if __name__ == "__main__":
    main()
