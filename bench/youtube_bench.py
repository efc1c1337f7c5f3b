"""refresh_yt_profiles throughput: PENDING -> COMPLETE through sensor and run, vs a floor.

Each request names 50 channel ids (one Data API call: channels.list takes 50 ids).
FLOOR: a bare asyncio loop doing the same HTTP (one channels.list call per request, key
credential), the same pure parser, and the same writes in chunks with raw psycopg: the
youtube_account upsert (newer observation only), the profile_log history row and the
profile_log_events outbox rows, in one transaction per chunk. No queue, no Dagster, no
raw-response storage, no request status events.
OURS: requests enqueued PENDING, then youtube_batch_sensor ticks and its runs execute
in-process until every request is COMPLETE. Both talk to one sandbox process over loopback.

    python bench/youtube_bench.py [--requests 400] [--concurrency 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from beat.pipeline.youtube import ObservedChannel
from beat.store.youtube import channel_event, channel_observation, channel_row, upsert_newer_sql
from bench.family_support import append_sql, run_ours, write_outbox, write_rows
from bench.support import start_sandbox
from providers.credentials import Credential
from providers.http import RawResponse
from providers.youtube import PROVIDERS
from sandbox import sandbox_credentials
from tests.support import scratch_postgres

PER_REQUEST = 50
KEY = next(secret for name, secret, _ in sandbox_credentials() if name == "ytapitoken")
CRED = Credential("1", "ytapitoken", KEY)
API = PROVIDERS["ytapitoken"]


async def learn_channels(sandbox_url: str, count: int) -> list[str]:
    """Channel ids the sandbox knows: it learns a channel when asked for it by handle."""
    base = f"{sandbox_url}/ytapitoken"
    ids: list[str] = []
    gate = asyncio.Semaphore(64)

    async def one(session: aiohttp.ClientSession, handle: str) -> None:
        request = API.channel_request(None, handle, CRED, base)
        async with gate, session.get(request.url, params=request.params) as r:
            raw = RawResponse.build("ytapitoken", "channels", r.status, await r.read(), ())
        ids.extend(c.channel_id for c in API.parse_channels(raw))

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, f"benchchannel{i}") for i in range(count)))
    return sorted(ids)


async def run_floor(
    pg_url: str, sandbox_url: str, batches: list[list[str]], concurrency: int
) -> float:
    base = f"{sandbox_url}/ytapitoken"
    conn = await psycopg.AsyncConnection.connect(
        pg_url.replace("postgresql+psycopg://", "postgresql://")
    )
    done: list[tuple[ObservedChannel, ...]] = []
    lock, gate = asyncio.Lock(), asyncio.Semaphore(concurrency)
    sqls: dict[str, str] = {}

    async def flush(chunk: list[tuple[ObservedChannel, ...]]) -> None:
        now = datetime.now(UTC)
        items = {c.channel.channel_id: c for batch in chunk for c in batch}.values()
        rows = [channel_row(c, "ytapitoken", now) for c in items]
        history = [channel_observation(c, "ytapitoken") for c in items]
        if rows and not sqls:
            sqls["rows"] = upsert_newer_sql("youtube_account", ["channel_id"], list(rows[0]))
            sqls["log"] = append_sql("profile_log", ["platform", "profile_id", "observed_at"],
                                     list(history[0]))  # fmt: skip
        async with lock, conn.transaction(), conn.cursor() as cur:
            await write_rows(cur, sqls["rows"], rows)
            await write_rows(cur, sqls["log"], history)
            payloads = [channel_event(c, "ytapitoken").payload for c in items]
            await write_outbox(cur, "profile_log_events", payloads)

    async def one(session: aiohttp.ClientSession, ids: list[str]) -> None:
        request = API.channels_request(ids, CRED, base)
        async with gate, session.get(request.url, params=request.params) as r:
            raw = RawResponse.build("ytapitoken", "channels", r.status, await r.read(), ())
        seen = datetime.now(UTC)
        done.append(tuple(ObservedChannel(c, seen) for c in API.parse_channels(raw)))
        if len(done) >= 200:
            chunk = done[:]
            done.clear()
            await flush(chunk)

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(one(session, ids) for ids in batches))
    if done:
        await flush(done)
    elapsed = time.perf_counter() - started
    await conn.close()
    return elapsed


def one_round(
    sandbox_url: str, batches: list[list[str]], concurrency: int
) -> tuple[float, float, int]:
    from beat.store.db import make_engine, upgrade

    with (
        scratch_postgres("beat_bench_yt_floor") as floor_url,
        scratch_postgres("beat_bench_yt") as ours_url,
    ):
        upgrade(make_engine(floor_url))
        floor_seconds = asyncio.run(run_floor(floor_url, sandbox_url, batches, concurrency))
        requests = [("refresh_yt_profiles", "YOUTUBE", {"channel_ids": ids}) for ids in batches]
        ours_seconds, runs = run_ours(ours_url, sandbox_url, "youtube", requests, concurrency)
    if runs < 0:
        raise SystemExit("not every request reached COMPLETE")
    return floor_seconds, ours_seconds, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--channels", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sandbox, sandbox_url = start_sandbox("--no-quotas")
    floors, ours, ratios = [], [], []
    try:
        channels = asyncio.run(learn_channels(sandbox_url, args.channels))
        batches = [
            [channels[(i * PER_REQUEST + j) % len(channels)] for j in range(PER_REQUEST)]
            for i in range(args.requests)
        ]
        for round_no in range(1, args.rounds + 1):
            floor_seconds, ours_seconds, runs = one_round(sandbox_url, batches, args.concurrency)
            floors.append(args.requests / floor_seconds)
            ours.append(args.requests / ours_seconds)
            ratios.append(ours[-1] / floors[-1])
            print(f"round {round_no}: floor {floors[-1]:6.1f}/s  beat {ours[-1]:6.1f}/s "
                  f"({runs} batch runs)  ratio {ratios[-1]:.2f}", flush=True)  # fmt: skip
    finally:
        sandbox.terminate()
    print(f"refresh_yt_profiles x {args.requests} ({PER_REQUEST} channels each), "
          f"{len(channels)} channels, concurrency {args.concurrency}, PostgreSQL")  # fmt: skip
    print(f"  {'floor (bare asyncio + psycopg), median':44}{median(floors):8.1f} requests/s")
    print(f"  {'beat (sensor + batch runs), median':44}{median(ours):8.1f} requests/s")
    print(f"  {'ratio beat/floor, median of rounds':44}{median(ratios):8.2f}   (target >= 0.5)")


if __name__ == "__main__":
    main()
