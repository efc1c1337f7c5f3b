"""What the YouTube and Shopify benchmarks share: beat's path (requests PENDING, then the
family's real batch sensor and in-process runs until COMPLETE) and the floor's inserts
(raw psycopg, the same rows, history and outbox events, in one transaction per chunk)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from sandbox import RATE_LIMITS_FILE, sandbox_credentials


def run_ours(
    pg_url: str,
    sandbox_url: str,
    family: str,
    requests: Sequence[tuple[str, str, dict[str, Any]]],
    concurrency: int,
) -> tuple[float, int]:
    """(seconds, batch runs) to take `requests` (flow, platform, params) to COMPLETE."""
    home = Path(tempfile.mkdtemp(prefix="beat-bench-"))
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ.update(
        BEAT_HOME=str(home), BEAT_DATABASE_URL=pg_url, BEAT_SANDBOX_URL=sandbox_url,
        DAGSTER_HOME=str(home / "dagster"), BEAT_CONCURRENCY=str(concurrency),
        BEAT_MEDIA_FROM_BATCHES="0", BEAT_RATE_LIMITS=str(RATE_LIMITS_FILE),
        BEAT_REDIS_URL=os.environ.get("BEAT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        BEAT_MAX_INFLIGHT_BATCHES="2", BEAT_RELAY_AFTER_BATCH_SECONDS="0",
    )  # fmt: skip
    import dagster as dg

    from beat.config import load_settings
    from beat.flows import FAMILIES
    from beat.store.credentials import save_credentials
    from beat.store.db import make_engine, upgrade
    from beat.store.queue import NewRequest, RequestQueue
    from beat_dagster import driver
    from beat_dagster.definitions import build_definitions

    engine = make_engine(pg_url)
    upgrade(engine)
    save_credentials(engine, sandbox_credentials())
    queue = RequestQueue(engine)
    queue.enqueue_many([NewRequest(flow, platform, params) for flow, platform, params in requests])
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = driver.drive_until_drained(
            defs, instance, queue, [FAMILIES[family]], idle_sleep_seconds=0.05
        )
    complete = queue.count_by_status().get("COMPLETE", 0)
    engine.dispose()
    return report.seconds, report.runs if complete == len(requests) else -1


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict | list) else value


def append_sql(table: str, key: Sequence[str], columns: Sequence[str]) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'%({c})s' for c in columns)}) "
        f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
    )


async def write_rows(cur: Any, sql: str, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await cur.executemany(sql, [{k: _adapt(v) for k, v in row.items()} for row in rows])


async def write_outbox(cur: Any, routing_key: str, payloads: Sequence[dict[str, Any]]) -> None:
    if payloads:
        await cur.execute(
            "INSERT INTO outbox (exchange, routing_key, event_format, event_count, events) "
            "VALUES ('beat.dx', %s, 'payloads', %s, %s)",
            (routing_key, len(payloads), json.dumps(payloads, default=str)),
        )
