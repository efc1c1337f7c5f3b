"""refresh_profile_by_handle throughput: PENDING -> COMPLETE through sensor and run, vs a floor.

FLOOR: a bare asyncio loop doing the same provider HTTP (Graph profile + posts pages, same
paging rule, then the profile's reels from ArrayBobo), the same pure parsers, and the same
inserts in chunks with raw psycopg (the row upserts and the profile/post change events the
contract requires in the same transaction): no queue, no Dagster, no raw-response storage,
no request status events.
OURS: requests enqueued PENDING, then the real instagram_batch_sensor ticks and its runs
execute in-process on a Dagster instance (SQLite under a temp DAGSTER_HOME), until every
request is COMPLETE. Both talk to one sandbox process over loopback HTTP. ArrayBobo's own
rate limit (100 per 30 s, a provider budget) is lifted for the bench: it measures the
pipeline, and the floor has no limiter at all.

    python bench/pipeline_bench.py [--requests 2000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from beat.pipeline.instagram import with_reels
from beat.store.instagram import (
    POST_COLUMNS,
    PROFILE_COLUMNS,
    driver_rows,
    post_event,
    post_row,
    profile_event,
    profile_row,
    upsert_sql,
)
from bench.support import start_sandbox
from providers.credentials import Credential
from providers.http import RawResponse
from providers.instagram import PROVIDERS
from providers.model import ProfileWithPosts
from sandbox import RATE_LIMITS_FILE, sandbox_credentials
from tests.support import scratch_postgres

SECRETS = {provider: secret for provider, secret, _ in sandbox_credentials()}
MAX_POSTS, MAX_AGE_SECONDS, MAX_REELS = 50, 30 * 86400, 10


async def floor_fetch(
    session: aiohttp.ClientSession, base: str, bobo_base: str, handle: str
) -> tuple[Any, list[Any]]:
    graph, cred = PROVIDERS["graphapi"], Credential("1", "graphapi", SECRETS["graphapi"])
    bobo, bobo_cred = PROVIDERS["arraybobo"], Credential("2", "arraybobo", SECRETS["arraybobo"])

    async def get(request: Any, kind: str, provider: str = "graphapi") -> RawResponse:
        async with session.get(request.url, params=request.params, headers=request.headers) as r:
            return RawResponse.build(provider, kind, r.status, await r.read(), r.headers.items())

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
    found = ProfileWithPosts(
        profile, tuple(p.with_owner(profile.profile_id, profile.handle) for p in kept)
    )
    if profile.is_private:
        return profile, list(found.posts)
    request = bobo.listing_request("reels", profile.profile_id, None, bobo_cred, bobo_base)
    reels, _ = bobo.parse_listing("reels", await get(request, "reels_page", "arraybobo"))
    return profile, list(with_reels(found, reels[:MAX_REELS]).posts)


async def run_floor(pg_url: str, sandbox_url: str, handles: list[str], concurrency: int) -> float:
    base = f"{sandbox_url}/graph"
    conn = await psycopg.AsyncConnection.connect(
        pg_url.replace("postgresql+psycopg://", "postgresql://")
    )
    account_sql = upsert_sql("instagram_account", "profile_id", PROFILE_COLUMNS)
    post_sql = upsert_sql("instagram_post", "shortcode", (*POST_COLUMNS, "publish_time"))
    gate = asyncio.Semaphore(concurrency)
    done: list[tuple[Any, list[Any]]] = []
    lock = asyncio.Lock()

    async def flush(chunk: list[tuple[Any, list[Any]]]) -> None:
        now = datetime.now(UTC)
        async with lock, conn.transaction(), conn.cursor() as cur:
            await cur.executemany(account_sql, [profile_row(p, "graphapi", now) for p, _ in chunk])
            await cur.executemany(
                post_sql, driver_rows([post_row(x, "graphapi", now) for _, ps in chunk for x in ps])
            )
            # The contract's data-change events, in the same transaction, one row per key.
            profiles = [profile_event(p, "graphapi", now).payload for p, _ in chunk]
            posts = [post_event(x, "graphapi", now).payload for _, ps in chunk for x in ps]
            await cur.executemany(
                "INSERT INTO outbox (exchange, routing_key, event_format, event_count, events) "
                "VALUES ('beat.dx', %s, 'payloads', %s, %s)",
                [
                    ("profile_log_events", len(profiles), json.dumps(profiles)),
                    ("post_log_events", len(posts), json.dumps(posts)),
                ],
            )

    async def one(session: aiohttp.ClientSession, handle: str) -> None:
        async with gate:
            done.append(await floor_fetch(session, base, f"{sandbox_url}/arraybobo", handle))
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


def bench_limits(home: Path) -> Path:
    """The sandbox's limits with ArrayBobo's provider budget lifted (see the docstring)."""
    limits = json.loads(RATE_LIMITS_FILE.read_text())
    limits.setdefault("providers", {})["arraybobo"] = {"rate": 1_000_000, "period": 1}
    path = home / "ratelimits.json"
    path.write_text(json.dumps(limits))
    return path


def run_ours(
    pg_url: str, sandbox_url: str, handles: list[str], concurrency: int
) -> tuple[float, int]:
    home = Path(tempfile.mkdtemp(prefix="beat-bench-"))
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ.update(
        BEAT_HOME=str(home), BEAT_DATABASE_URL=pg_url, BEAT_SANDBOX_URL=sandbox_url,
        DAGSTER_HOME=str(home / "dagster"), BEAT_CONCURRENCY=str(concurrency),
        BEAT_MEDIA_FROM_BATCHES="0",
        BEAT_RATE_LIMITS=str(bench_limits(home)),
        # Production's limiter: every provider call acquires its stacked limits in Redis.
        BEAT_REDIS_URL=os.environ.get("BEAT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        # Runs execute one after another in this process (the daemon would run them side by
        # side), so two runs of 1000 rather than four of 500.
        BEAT_MAX_INFLIGHT_BATCHES="2",  # the refresh flow alone, as the floor does
        # Events are written to the outbox inside the measured path; publishing them is
        # measured by bench/relay_bench.py and left to the relay sensor here.
        BEAT_RELAY_AFTER_BATCH_SECONDS="0",
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
    queue.enqueue_many(
        [NewRequest("refresh_profile_by_handle", "INSTAGRAM", {"handle": h}) for h in handles]
    )
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = driver.drive_until_drained(
            defs, instance, queue, [FAMILIES["instagram"]], idle_sleep_seconds=0.05
        )
    complete = queue.count_by_status().get("COMPLETE", 0)
    engine.dispose()
    return report.seconds, report.runs if complete == len(handles) else -1


def warm_up(sandbox_url: str, handles: list[str], concurrency: int) -> None:
    """One discarded floor pass: the sandbox generates each handle's payloads on first use."""
    from beat.store.db import make_engine, upgrade

    with scratch_postgres("beat_bench_warm") as url:
        upgrade(make_engine(url))
        asyncio.run(run_floor(url, sandbox_url, handles, concurrency))


def one_round(sandbox_url: str, handles: list[str], concurrency: int) -> tuple[float, float, int]:
    """(floor seconds, beat seconds, batch runs) on fresh databases."""
    from beat.store.db import make_engine, upgrade

    with (
        scratch_postgres("beat_bench_floor") as floor_url,
        scratch_postgres("beat_bench_ours") as ours_url,
    ):
        upgrade(make_engine(floor_url))
        floor_seconds = asyncio.run(run_floor(floor_url, sandbox_url, handles, concurrency))
        ours_seconds, runs = run_ours(ours_url, sandbox_url, handles, concurrency)
    if runs < 0:
        raise SystemExit("not every request reached COMPLETE")
    return floor_seconds, ours_seconds, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    handles = [f"bench.{i:05d}" for i in range(args.requests)]
    sandbox, sandbox_url = start_sandbox("--no-quotas")
    ratios, floors, ours = [], [], []
    try:
        warm_up(sandbox_url, handles, args.concurrency)
        for round_no in range(1, args.rounds + 1):
            floor_seconds, ours_seconds, runs = one_round(sandbox_url, handles, args.concurrency)
            floors.append(args.requests / floor_seconds)
            ours.append(args.requests / ours_seconds)
            ratios.append(ours[-1] / floors[-1])
            print(
                f"round {round_no}: floor {floors[-1]:6.1f}/s  beat {ours[-1]:6.1f}/s "
                f"({runs} batch runs)  ratio {ratios[-1]:.2f}",
                flush=True,
            )
    finally:
        sandbox.terminate()
    print(
        f"refresh_profile_by_handle (profile, posts, reels) x {args.requests}, "
        f"concurrency {args.concurrency}, PostgreSQL"
    )
    print(f"  {'floor (bare asyncio + psycopg), median':44}{median(floors):8.1f} requests/s")
    print(f"  {'beat (sensor + batch runs), median':44}{median(ours):8.1f} requests/s")
    print(f"  {'ratio beat/floor, median of rounds':44}{median(ratios):8.2f}   (target >= 0.5)")


if __name__ == "__main__":
    main()
