"""refresh_orders_by_store throughput: PENDING -> COMPLETE through sensor and run, vs a floor.

Each request reads every page of one store's orders (250 a page, the Link cursor), as the
flow does. FLOOR: a bare asyncio loop doing the same HTTP and paging, the same pure parser
and personal-data redaction, and the same writes in chunks with raw psycopg (shopify_order
upsert, newer observation only, and order_log_events outbox rows). No queue, no Dagster, no
raw-response storage, no request status events. OURS: requests PENDING, then
shopify_batch_sensor ticks and its runs execute in-process until every request is COMPLETE.

    python bench/shopify_bench.py [--requests 60] [--concurrency 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from beat.pipeline.shopify import ObservedOrder
from beat.store.shopify import order_event, order_row
from beat.store.youtube import upsert_newer_sql
from bench.family_support import run_ours, write_outbox, write_rows
from bench.support import start_sandbox
from providers.credentials import Credential
from providers.http import RawResponse
from providers.shopify import PROVIDERS
from providers.shopify.admin import redact_orders_page
from sandbox import sandbox_credentials

ADMIN = PROVIDERS["shopify"]
CREDS = {
    handle: Credential(str(i), "shopify", secret, handle=handle)
    for i, (name, secret, handle) in enumerate(sandbox_credentials())
    if name == "shopify" and handle
}
STORES = sorted(CREDS)


async def fetch_orders(session: aiohttp.ClientSession, base: str, store: str) -> list[Any]:
    cred = CREDS[store]
    request = ADMIN.orders_request(store, cred, base)
    orders: list[Any] = []
    while True:
        async with session.get(request.url, params=request.params, headers=request.headers) as r:
            raw = RawResponse.build("shopify", "orders_page", r.status, await r.read(),
                                    r.headers.items())  # fmt: skip
        page = ADMIN.parse_orders(raw, store)
        redact_orders_page(raw)  # what beat stores; the floor pays for it too
        orders += page.orders
        if page.next_page_info is None:
            return orders
        request = ADMIN.next_orders_request(store, page.next_page_info, cred, base)


async def run_floor(pg_url: str, sandbox_url: str, stores: list[str], concurrency: int) -> float:
    base = f"{sandbox_url}/shopify"
    conn = await psycopg.AsyncConnection.connect(
        pg_url.replace("postgresql+psycopg://", "postgresql://")
    )
    done: list[list[ObservedOrder]] = []
    lock, gate = asyncio.Lock(), asyncio.Semaphore(concurrency)
    sql: list[str] = []

    async def flush(chunk: list[list[ObservedOrder]]) -> None:
        now = datetime.now(UTC)
        items = {o.order.platform_order_id: o for batch in chunk for o in batch}.values()
        rows = [order_row(o, "shopify", now) for o in items]
        if rows and not sql:
            sql.append(upsert_newer_sql("shopify_order", ["platform_order_id"], list(rows[0])))
        async with lock, conn.transaction(), conn.cursor() as cur:
            await write_rows(cur, sql[0], rows)
            await write_outbox(
                cur, "order_log_events", [order_event(o, "shopify").payload for o in items]
            )

    async def one(session: aiohttp.ClientSession, store: str) -> None:
        async with gate:
            orders = await fetch_orders(session, base, store)
        seen = datetime.now(UTC)
        done.append([ObservedOrder(o, seen) for o in orders])
        if len(done) >= 20:
            chunk = done[:]
            done.clear()
            await flush(chunk)

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(one(session, s) for s in stores))
    if done:
        await flush(done)
    elapsed = time.perf_counter() - started
    await conn.close()
    return elapsed


def one_round(sandbox_url: str, stores: list[str], concurrency: int) -> tuple[float, float, int]:
    from beat.store.db import make_engine, upgrade
    from tests.support import scratch_postgres

    with (
        scratch_postgres("beat_bench_shop_floor") as floor_url,
        scratch_postgres("beat_bench_shop") as ours_url,
    ):
        upgrade(make_engine(floor_url))
        floor_seconds = asyncio.run(run_floor(floor_url, sandbox_url, stores, concurrency))
        requests = [("refresh_orders_by_store", "SHOPIFY", {"store": s}) for s in stores]
        ours_seconds, runs = run_ours(ours_url, sandbox_url, "shopify", requests, concurrency)
    if runs < 0:
        raise SystemExit("not every request reached COMPLETE")
    return floor_seconds, ours_seconds, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stores = [STORES[i % len(STORES)] for i in range(args.requests)]
    sandbox, sandbox_url = start_sandbox("--no-quotas")
    floors, ours, ratios = [], [], []
    try:
        asyncio.run(run_floor_warm(sandbox_url, stores[:2]))
        for round_no in range(1, args.rounds + 1):
            floor_seconds, ours_seconds, runs = one_round(sandbox_url, stores, args.concurrency)
            floors.append(args.requests / floor_seconds)
            ours.append(args.requests / ours_seconds)
            ratios.append(ours[-1] / floors[-1])
            print(f"round {round_no}: floor {floors[-1]:6.1f}/s  beat {ours[-1]:6.1f}/s "
                  f"({runs} batch runs)  ratio {ratios[-1]:.2f}", flush=True)  # fmt: skip
    finally:
        sandbox.terminate()
    print(f"refresh_orders_by_store x {args.requests} (stores {', '.join(STORES)}, every page), "
          f"concurrency {args.concurrency}, PostgreSQL")  # fmt: skip
    print(f"  {'floor (bare asyncio + psycopg), median':44}{median(floors):8.1f} requests/s")
    print(f"  {'beat (sensor + batch runs), median':44}{median(ours):8.1f} requests/s")
    print(f"  {'ratio beat/floor, median of rounds':44}{median(ratios):8.2f}   (target >= 0.5)")


async def run_floor_warm(sandbox_url: str, stores: list[str]) -> None:
    """The sandbox builds each store's pages on first use: pay that outside the rounds."""
    async with aiohttp.ClientSession() as session:
        for store in stores:
            await fetch_orders(session, f"{sandbox_url}/shopify", store)


if __name__ == "__main__":
    main()
