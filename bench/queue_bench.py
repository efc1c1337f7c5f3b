"""Drain benchmark: our RequestQueue against a raw-SQL floor and PgQueuer 1.6.

    python bench/queue_bench.py [--pg-url URL] [--rows 50000] [--workers 16] [--batch 50]

Every system drains the same number of freshly loaded jobs with W workers taking B jobs per
claim. The systems run interleaved `--repeat` times and medians are reported, as jobs/s and as
jobs per CPU-second (this process plus the Postgres backends serving it), which stays
comparable when other work shares the machine.

  FLOOR     psycopg 3, hand-written SQL, autocommit: the same claim CTE (one ordered index
            probe, FOR UPDATE SKIP LOCKED) returning the same columns as OURS, then
            `UPDATE ... WHERE id = ANY(...)`. No expiry sweep, no fencing, no outbox. What the
            database does for this access pattern.
  RAW+OB    psycopg 3 running RequestQueue's exact Postgres statements (claim with expiry
            sweep and its outbox row; fenced completion with its outbox row), autocommit, rows
            left as tuples. The same database work as OURS without our Python layer.
  OURS      RequestQueue.claim_batch + RequestQueue.complete as a caller uses them (an engine
            from beat.store.db.make_engine, W threads sharing its pool): per claim and per
            completion, one statement writing one outbox row with an event per request.
  PGQ/n     PgQueuer 1.6 as its own benchmark runs it (tools/benchmark.py, drain strategy):
            n QueueManagers, one asyncpg connection each, in one uvloop event loop, a no-op
            async entrypoint, drain mode; batch size B like ours, and its recommended table
            settings (`pgq autovac`: fillfactor 70, aggressive autovacuum). Durability left at
            its default, `durable` (every table logged), like ours. `--pgq-workers` (default
            5,16): 5 is its benchmark's default and sits at its peak here (4-8 managers
            drained ~8k jobs/s on 2 vCPUs, 16 ~6.5k, 32 ~5k: one event loop does all of its
            Python work), 16 matches W. Compare against its best.

Everything happens in a scratch database that is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import make_url, text
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from beat.store.db import make_engine, upgrade
from beat.store.queue import (
    PG_COMPLETE_SQL,
    ClaimedRequest,
    Completion,
    RequestQueue,
    pg_claim_sql,
)

DEFAULT_PG_URL = os.environ.get(
    "BEAT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
FLOW = "bench"
LEASE_SECONDS = 120.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
# What RequestQueue's claim returns: ClaimedRequest's fields less batch_id, times as UTC.
CLAIMED_SQL = ", ".join(
    f"t.{name} AT TIME ZONE 'UTC'" if name.endswith("_at") else f"t.{name}"
    for name in ClaimedRequest._fields
    if name != "batch_id"
)
ATTEMPT = ClaimedRequest._fields.index("attempt")  # before batch_id, so the same in a row
SYSTEMS = ("FLOOR", "RAW+OB", "OURS")

EVENTS_SQL = "SELECT coalesce(sum(event_count), 0) FROM outbox"
FLOOR_COMPLETE_SQL = """
UPDATE scrape_request_log
SET status = 'COMPLETE', scraped_at = now(), lease_expires_at = NULL, updated_at = now()
WHERE id = ANY(%(ids)s) AND status = 'PROCESSING'
"""
LOAD_SQL = """
INSERT INTO scrape_request_log
    (idempotency_key, flow, platform, params, status, priority, created_at, run_after,
     expires_at, updated_at, attempt, retry_count, max_attempts)
SELECT 'bench-' || g, %(flow)s, 'instagram', jsonb_build_object('handle', 'user' || g),
       'PENDING', 1 + g %% 3, now() - make_interval(secs => %(rows)s - g),
       now() - interval '1 hour', now() + interval '1 day', now(), 0, 0, 3
FROM generate_series(1, %(rows)s) AS g
"""


def floor_claim_sql(limit: int) -> str:
    """RequestQueue's `picked` CTE and UPDATE, returning the same columns, and nothing else.

    The LIMIT is a literal for the same reason as in RequestQueue: so that the prepared
    statement gets a generic plan instead of being planned on every call.
    """
    return f"""
WITH picked AS MATERIALIZED (
    SELECT candidate.id
    FROM unnest(ARRAY[%(flow_0)s::varchar]) AS wanted(flow)
    CROSS JOIN LATERAL (
        SELECT id, priority, created_at
        FROM scrape_request_log
        WHERE status = 'PENDING'
          AND flow = wanted.flow
          AND run_after <= now()
          AND (expires_at IS NULL OR expires_at > now())
        ORDER BY priority DESC, created_at, id
        LIMIT {int(limit)}
        FOR UPDATE SKIP LOCKED
    ) AS candidate
    ORDER BY candidate.priority DESC, candidate.created_at, candidate.id
    LIMIT {int(limit)}
)
UPDATE scrape_request_log AS t
SET status = 'PROCESSING',
    attempt = t.attempt + 1,
    batch_id = %(batch_id)s,
    picked_at = now(),
    lease_expires_at = now() + make_interval(secs => %(lease_seconds)s),
    dagster_run_id = NULL,
    updated_at = now()
FROM picked
WHERE t.id = picked.id
RETURNING {CLAIMED_SQL}
"""


def new_batch_id() -> str:
    return uuid.uuid4().hex


def as_psycopg(sql: str) -> str:
    """RequestQueue's `:name` SQL in psycopg's `%(name)s` style, as SQLAlchemy sends it."""
    return str(text(sql).compile(dialect=pg_psycopg.dialect()))


@dataclass
class Run:
    name: str
    jobs: int
    seconds: float
    client_cpu: float
    server_cpu: float

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds

    @property
    def per_cpu(self) -> float:
        return self.jobs / max(self.client_cpu + self.server_cpu, 1e-9)


# --------------------------------------------------------------------------------------------
# Scratch database and measurement helpers


@contextmanager
def scratch_database(base_url: str) -> Iterator[str]:
    """Create a throwaway database; yield its libpq URL; always drop it."""
    base = make_url(base_url).set(drivername="postgresql")
    name = f"beat_bench_{uuid.uuid4().hex[:10]}"
    admin = base.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlalchemy_url(conninfo: str) -> str:
    return "postgresql+psycopg" + conninfo.removeprefix("postgresql")


def backend_cpu(conninfo: str) -> dict[int, float]:
    """CPU seconds used so far by each backend connected to this database (not this one)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        pids = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    usage = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited, or Postgres runs on another machine
            continue
        usage[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return usage


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, conninfo: str, jobs: int, drain: Callable[[], None]) -> Run:
    """Time `drain()`; its workers must be connected already, so their backends are counted."""
    before, cpu0, t0 = backend_cpu(conninfo), client_cpu(), time.perf_counter()
    drain()
    seconds, cpu1 = time.perf_counter() - t0, client_cpu()
    after = backend_cpu(conninfo)
    server = sum(after[pid] - before.get(pid, 0.0) for pid in after)
    return Run(name, jobs, seconds, cpu1 - cpu0, server)


def load_jobs(conninfo: str, rows: int) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("TRUNCATE scrape_request_log, outbox RESTART IDENTITY")
        conn.execute(LOAD_SQL, {"flow": FLOW, "rows": rows})
        conn.execute("VACUUM ANALYZE scrape_request_log")
        conn.execute("VACUUM ANALYZE outbox")
        conn.execute("CHECKPOINT")


def count(conninfo: str, sql: str) -> int:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def assert_drained(conninfo: str, rows: int) -> None:
    done = count(conninfo, "SELECT count(*) FROM scrape_request_log WHERE status = 'COMPLETE'")
    if done != rows:
        raise RuntimeError(f"expected {rows} COMPLETE rows, found {done}")


def run_threads(workers: int, target: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # re-raised below: a dead worker would skew the result
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


# --------------------------------------------------------------------------------------------
# The systems


def bench_raw(
    name: str,
    conninfo: str,
    rows: int,
    workers: int,
    claim_sql: str,
    complete: Callable[[psycopg.Connection[Any], list[tuple[Any, ...]]], None],
) -> Run:
    """W psycopg connections in autocommit: each claim and completion is one statement."""
    load_jobs(conninfo, rows)
    conns = [psycopg.connect(conninfo, autocommit=True) for _ in range(workers)]

    def worker(index: int) -> None:
        conn = conns[index]
        params = {"flow_0": FLOW, "lease_seconds": LEASE_SECONDS, "expired_reason": "expired"}
        # A fresh batch id per claim, as OURS (and the Dagster sensor) use: batch_id is indexed,
        # and a few constant ids would make its index far cheaper to maintain than it is.
        while claimed := conn.execute(claim_sql, {**params, "batch_id": new_batch_id()}).fetchall():
            complete(conn, claimed)

    try:
        run = measure(name, conninfo, rows, lambda: run_threads(workers, worker))
    finally:
        for conn in conns:
            conn.close()
    assert_drained(conninfo, rows)
    return run


def bench_floor(conninfo: str, rows: int, workers: int, batch: int) -> Run:
    def complete(conn: psycopg.Connection[Any], claimed: list[tuple[Any, ...]]) -> None:
        conn.execute(FLOOR_COMPLETE_SQL, {"ids": [row[0] for row in claimed]})

    return bench_raw("FLOOR", conninfo, rows, workers, floor_claim_sql(batch), complete)


def bench_raw_outbox(conninfo: str, rows: int, workers: int, batch: int) -> Run:
    complete_sql = as_psycopg(PG_COMPLETE_SQL)

    def complete(conn: psycopg.Connection[Any], claimed: list[tuple[Any, ...]]) -> None:
        items = [{"id": r[0], "attempt": r[ATTEMPT], "provider": "bench"} for r in claimed]
        if conn.execute(complete_sql, {"items": json.dumps(items)}).fetchall():
            raise RuntimeError("a completion was fenced in a fault-free run")

    claim_sql = as_psycopg(pg_claim_sql(1, batch))
    return bench_raw("RAW+OB", conninfo, rows, workers, claim_sql, complete)


def bench_ours(conninfo: str, rows: int, workers: int, batch: int) -> tuple[Run, tuple[int, int]]:
    load_jobs(conninfo, rows)
    engine = make_engine(sqlalchemy_url(conninfo), pool_size=workers, max_overflow=0)
    queue = RequestQueue(engine, lease_seconds=LEASE_SECONDS)
    with engine.connect():  # the first connection also initialises the dialect
        pass
    pooled = [engine.connect() for _ in range(workers)]  # open them all before timing
    for conn in pooled:
        conn.close()

    def worker(index: int) -> None:
        while claimed := queue.claim_batch([FLOW], batch, batch_id=new_batch_id()):
            done = [Completion(c.id, c.attempt, provider="bench") for c in claimed]
            if queue.complete(done).fenced_ids:
                raise RuntimeError("a completion was fenced in a fault-free run")

    try:
        run = measure("OURS", conninfo, rows, lambda: run_threads(workers, worker))
    finally:
        engine.dispose()
    assert_drained(conninfo, rows)
    outbox = (count(conninfo, "SELECT count(*) FROM outbox"), count(conninfo, EVENTS_SQL))
    if outbox[1] != 2 * rows:
        raise RuntimeError(f"expected {2 * rows} events, found {outbox[1]}")
    return run, outbox


def bench_pgqueuer(conninfo: str, rows: int, workers: int, batch: int) -> Run:
    coroutine = _bench_pgqueuer(conninfo, rows, workers, batch)
    try:
        import uvloop  # PgQueuer's own benchmark runs on uvloop: give it its best setting
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


async def _bench_pgqueuer(conninfo: str, rows: int, workers: int, batch: int) -> Run:
    import asyncpg
    from pgqueuer import QueueManager
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.models import Job
    from pgqueuer.queries import Queries
    from pgqueuer.types import QueueExecutionMode

    admin = Queries(AsyncpgDriver(await asyncpg.connect(conninfo)))
    if not await admin.schema_is_installed():
        await admin.install()
        await admin.optimize_autovacuum()  # `pgq autovac`, which its docs recommend
    await admin.clear_queue()
    await admin.clear_statistics_log()
    for start in range(0, rows, 5000):
        n = min(5000, rows - start)
        await admin.enqueue([FLOW] * n, [b""] * n, [0] * n)
    await admin.driver.execute("VACUUM ANALYZE pgqueuer")
    await admin.driver.execute("CHECKPOINT")

    managers = []
    for _ in range(workers):
        qm = QueueManager(Queries(AsyncpgDriver(await asyncpg.connect(conninfo))))

        @qm.entrypoint(FLOW)
        async def no_op(job: Job) -> None:
            return None

        managers.append(qm)

    # measure() is synchronous: it runs in a helper thread and waits for the drain on this loop.
    loop = asyncio.get_running_loop()

    async def drain_all() -> None:
        await asyncio.gather(
            *(qm.run(batch_size=batch, mode=QueueExecutionMode.drain) for qm in managers)
        )

    def drain_blocking() -> None:
        asyncio.run_coroutine_threadsafe(drain_all(), loop).result()

    run = await asyncio.to_thread(measure, f"PGQ/{workers}", conninfo, rows, drain_blocking)
    left = [s for s in await admin.queue_size() if s.status in ("queued", "picked") and s.count]
    if left:
        raise RuntimeError(f"PgQueuer left work behind: {left}")
    return run


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="server for the scratch DB")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--pgq-workers",
        default="5,16",
        help="PgQueuer QueueManager counts to run, comma-separated; empty to skip PgQueuer",
    )
    args = parser.parse_args()
    pgq_workers = [int(n) for n in args.pgq_workers.split(",") if n.strip()]

    systems = [*SYSTEMS, *(f"PGQ/{n}" for n in pgq_workers)]
    runs: dict[str, list[Run]] = {name: [] for name in systems}
    outbox = (0, 0)
    with scratch_database(args.pg_url) as conninfo:
        upgrade(sqlalchemy_url(conninfo))
        print(
            f"rows={args.rows} workers={args.workers} batch={args.batch} repeat={args.repeat} "
            f"pgq-workers={','.join(map(str, pgq_workers)) or '-'}"
        )
        for rep in range(args.repeat):
            runs["FLOOR"].append(bench_floor(conninfo, args.rows, args.workers, args.batch))
            runs["RAW+OB"].append(bench_raw_outbox(conninfo, args.rows, args.workers, args.batch))
            ours, outbox = bench_ours(conninfo, args.rows, args.workers, args.batch)
            runs["OURS"].append(ours)
            for n in pgq_workers:
                runs[f"PGQ/{n}"].append(bench_pgqueuer(conninfo, args.rows, n, args.batch))
            for name in systems:
                if runs[name]:
                    print_run(f"rep {rep + 1}", runs[name][-1])
    report(runs, args.rows, outbox)


def print_run(label: str, run: Run) -> None:
    print(
        f"  {label} {run.name:<7} {run.rate:>9,.0f} jobs/s {run.seconds:6.2f} s "
        f"{run.per_cpu:>8,.0f} jobs/CPU-s (client {run.client_cpu:5.2f} s, "
        f"server {run.server_cpu:5.2f} s)"
    )


def report(runs: dict[str, list[Run]], rows: int, outbox: tuple[int, int]) -> None:
    def median(name: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs[name])

    def ratio(a: str, b: str, attr: str = "rate") -> float:
        return median(a, attr) / median(b, attr)

    print(f"\nmedians of {len(runs['FLOOR'])} interleaved runs")
    for name in runs:
        if runs[name]:
            print(
                f"  {name:<7} {median(name, 'rate'):>9,.0f} jobs/s"
                f"  {median(name, 'per_cpu'):>8,.0f} jobs/CPU-s"
            )
    print("\nratios: jobs/s, and jobs per CPU-second (less skewed by other load on the box)")

    def print_ratio(a: str, b: str, note: str) -> None:
        label = f"{a.lower()}/{b.lower()}"
        print(f"  {label:<14} {ratio(a, b):5.2f}  CPU {ratio(a, b, 'per_cpu'):5.2f}  {note}")

    print_ratio("OURS", "FLOOR", "(target >= 0.7)")
    print_ratio("OURS", "RAW+OB", "(same SQL as raw psycopg: the cost of our Python layer)")
    print_ratio("RAW+OB", "FLOOR", "(outbox, expiry sweep, fencing: the database's share)")
    pgq = [name for name in runs if name.startswith("PGQ/")]
    for name in pgq:
        print_ratio("OURS", name, "(target >= 3)")
    if pgq:
        best = max(pgq, key=lambda name: median(name, "rate"))
        print_ratio("FLOOR", best, "(the bare SQL against PgQueuer at its best: a ceiling)")
    rows_out, events = outbox
    print(
        f"\nextra work in OURS and RAW+OB: {events:,} outbox events for {rows:,} jobs (the "
        f"PROCESSING and COMPLETE event of each) packed into {rows_out:,} outbox rows (one per "
        "claim and per completion), an expiry sweep in every claim, (id, attempt) fencing on "
        "completion."
    )


if __name__ == "__main__":
    main()
