"""refresh_profile_by_handle throughput: PENDING -> COMPLETE through sensor and run, vs a floor.

FLOOR: a bare asyncio loop doing the same provider HTTP (profile + posts pages, same paging
rule), the same pure parsers, and the same upserts in chunks with raw psycopg: no queue, no
Dagster, no raw-response storage, no outbox.
OURS: requests enqueued PENDING, then the real instagram_batch_sensor ticks and its runs
execute in-process on a Dagster instance (SQLite under a temp DAGSTER_HOME), until every
request is COMPLETE. Both talk to one sandbox process over loopback HTTP.

    python bench/pipeline_bench.py [--requests 2000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from beat.store.instagram import POST_COLUMNS, PROFILE_COLUMNS, post_row, profile_row  # noqa: E402
from providers.credentials import Credential  # noqa: E402
from providers.http import RawResponse  # noqa: E402
from providers.instagram import PROVIDERS  # noqa: E402
from tests.support import scratch_postgres  # noqa: E402

GRAPH_SECRET = {"token": "sandbox-graph-token", "user_id": "17841400000000000"}
MAX_POSTS, MAX_AGE_SECONDS = 50, 30 * 86400


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port)], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("sandbox did not start")


def upsert_sql(table: str, key: str, columns: tuple[str, ...]) -> str:
    names = (key, *columns, "provider", "refreshed_at", "created_at", "updated_at")
    updates = ", ".join(f"{c} = COALESCE(EXCLUDED.{c}, {table}.{c})" for c in columns)
    return (
        f"INSERT INTO {table} ({', '.join(names)}) "
        f"VALUES ({', '.join('%(' + n + ')s' for n in names)}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}, provider = EXCLUDED.provider, "
        "refreshed_at = EXCLUDED.refreshed_at, updated_at = EXCLUDED.updated_at"
    )


async def floor_fetch(
    session: aiohttp.ClientSession, base: str, handle: str
) -> tuple[Any, list[Any]]:
    graph, cred = PROVIDERS["graphapi"], Credential("1", "graphapi", GRAPH_SECRET)

    async def get(request: Any, kind: str) -> RawResponse:
        async with session.get(request.url, params=request.params, headers=request.headers) as r:
            return RawResponse.build("graphapi", kind, r.status, await r.read(), r.headers.items())

    profile, posts, cursor = graph.parse_profile(
        await get(graph.profile_request(handle, cred, base), "profile")
    )
    posts = list(posts)
    cutoff = time.time() - MAX_AGE_SECONDS
    while cursor and len(posts) < MAX_POSTS and posts and posts[-1].taken_at.timestamp() > cutoff:
        page, cursor = graph.parse_posts(
            await get(graph.posts_request(profile, cursor, cred, base), "posts_page")
        )
        posts.extend(page)
    kept = [p for p in posts if p.taken_at is None or p.taken_at.timestamp() > cutoff][:MAX_POSTS]
    return profile, [p.with_owner(profile.profile_id, profile.handle) for p in kept]


async def run_floor(pg_url: str, sandbox_url: str, handles: list[str], concurrency: int) -> float:
    base = f"{sandbox_url}/graph"
    conn = await psycopg.AsyncConnection.connect(
        pg_url.replace("postgresql+psycopg://", "postgresql://")
    )
    account_sql = upsert_sql("instagram_account", "profile_id", PROFILE_COLUMNS)
    post_sql = upsert_sql("instagram_post", "shortcode", POST_COLUMNS)
    gate = asyncio.Semaphore(concurrency)
    done: list[tuple[Any, list[Any]]] = []
    lock = asyncio.Lock()

    async def flush(chunk: list[tuple[Any, list[Any]]]) -> None:
        now = datetime.now(UTC)
        async with lock, conn.transaction(), conn.cursor() as cur:
            await cur.executemany(account_sql, [profile_row(p, "graphapi", now) for p, _ in chunk])
            await cur.executemany(
                post_sql, [post_row(x, "graphapi", now) for _, ps in chunk for x in ps]
            )

    async def one(session: aiohttp.ClientSession, handle: str) -> None:
        async with gate:
            done.append(await floor_fetch(session, base, handle))
        if len(done) >= 200:
            chunk = done[:]
            done.clear()
            await flush(chunk)

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(one(session, h) for h in handles))
    if done:
        await flush(done)
    elapsed = time.perf_counter() - started
    await conn.close()
    return elapsed


def run_ours(
    pg_url: str, sandbox_url: str, handles: list[str], concurrency: int
) -> tuple[float, int]:
    home = Path(tempfile.mkdtemp(prefix="beat-bench-"))
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ.update(
        BEAT_HOME=str(home), BEAT_DATABASE_URL=pg_url, BEAT_SANDBOX_URL=sandbox_url,
        DAGSTER_HOME=str(home / "dagster"), BEAT_CONCURRENCY=str(concurrency),
        BEAT_MEDIA_FROM_BATCHES="0",  # the refresh flow alone, as the floor does
    )  # fmt: skip
    import dagster as dg

    from beat.config import load_settings
    from beat.flows import FAMILIES
    from beat.store.credentials import SANDBOX_CREDENTIALS, save_credentials
    from beat.store.db import make_engine, upgrade
    from beat.store.queue import NewRequest, RequestQueue
    from beat_dagster.definitions import build_definitions
    from beat_dagster.driver import drive_until_drained

    engine = make_engine(pg_url)
    upgrade(engine)
    save_credentials(engine, SANDBOX_CREDENTIALS)
    queue = RequestQueue(engine)
    queue.enqueue_many(
        [NewRequest("refresh_profile_by_handle", "INSTAGRAM", {"handle": h}) for h in handles]
    )
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = drive_until_drained(
            defs, instance, queue, [FAMILIES["instagram"]], idle_sleep_seconds=0.05
        )
    complete = queue.count_by_status().get("COMPLETE", 0)
    engine.dispose()
    return report.seconds, report.runs if complete == len(handles) else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    handles = [f"bench.{i:05d}" for i in range(args.requests)]
    sandbox, sandbox_url = start_sandbox()
    try:
        with (
            scratch_postgres("beat_bench_floor") as floor_url,
            scratch_postgres("beat_bench_ours") as ours_url,
        ):
            from beat.store.db import make_engine, upgrade

            upgrade(make_engine(floor_url))
            floor_seconds = asyncio.run(
                run_floor(floor_url, sandbox_url, handles, args.concurrency)
            )
            ours_seconds, runs = run_ours(ours_url, sandbox_url, handles, args.concurrency)
    finally:
        sandbox.terminate()
    if runs < 0:
        raise SystemExit("not every request reached COMPLETE")
    floor_rate, ours_rate = args.requests / floor_seconds, args.requests / ours_seconds
    print(
        f"refresh_profile_by_handle x {args.requests}, concurrency {args.concurrency}, PostgreSQL"
    )
    floor_label, ours_label = "floor (bare asyncio + psycopg)", f"beat (sensor + {runs} batch runs)"
    print(f"  {floor_label:40}{floor_rate:8.1f} requests/s  ({floor_seconds:.2f} s)")
    print(f"  {ours_label:40}{ours_rate:8.1f} requests/s  ({ours_seconds:.2f} s)")
    print(f"  {'ratio beat/floor':40}{ours_rate / floor_rate:8.2f}   (target >= 0.5)")


if __name__ == "__main__":
    main()
