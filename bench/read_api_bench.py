"""The read API: a cached profile read (profile, 24 recent posts, post_metrics) under 100
concurrent clients, and an inline refresh against a sandbox answering in 100 ms.

Floors, measured in the same run:

* reads: a bare aiohttp handler running the same three SELECTs (account by handle, latest 12
  reels, latest 12 static posts) with raw SQL on psycopg's async connections and returning
  the rows as JSON, with no envelope, no views and no post_metrics;
* refresh: a bare aiohttp GET of the same Graph URL the refresh calls, from the same process,
  times the provider calls a refresh makes.

Each server runs in a process of its own (``--serve``), the load comes from this one. Reads
run interleaved (beat, floor, beat, floor...) and the median of the rounds is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import free_port, start_sandbox
from sandbox import RATE_LIMITS_FILE, sandbox_credentials
from tests.support import scratch_postgres

TOKEN = "bench-token-0123456789"
HANDLE = "alice.example"
CLIENTS = 100
REQUESTS_PER_ROUND = 2000
ROUNDS = 3
REFRESHES = 20

ACCOUNT_SQL = (
    "SELECT * FROM instagram_account WHERE handle = %s "
    "ORDER BY refreshed_at DESC NULLS LAST LIMIT 1"
)
POSTS_SQL = (
    "SELECT * FROM instagram_post WHERE profile_id = %s AND {kind} "
    "ORDER BY publish_time DESC NULLS LAST, id DESC LIMIT 12"
)
REELS = POSTS_SQL.format(kind="post_type = 'reels' AND plays >= 0")
STATIC = POSTS_SQL.format(kind="post_type IN ('carousel', 'image')")


# -- servers (each in its own process) --------------------------------------------------------


def serve_beat(port: int, database_url: str, sandbox_url: str) -> None:
    from dataclasses import replace

    from aiohttp import web

    from beat.config import load_settings, sandbox_base_urls
    from beat.intake.api import build_api
    from beat.intake.refresh import InlineRefresher
    from beat.store.db import make_engine
    from beat.store.queue import RequestQueue

    engine = make_engine(database_url)
    settings = replace(load_settings(), provider_base_urls=sandbox_base_urls(sandbox_url))
    refresher = InlineRefresher.from_settings(engine, settings)
    app = build_api(RequestQueue(engine), token=TOKEN, refresher=refresher)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def serve_floor(port: int, database_url: str) -> None:
    import psycopg
    from aiohttp import web
    from psycopg.rows import dict_row

    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://")
    pool: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def open_pool(_: web.Application) -> None:
        for _ in range(10):
            conn = await psycopg.AsyncConnection.connect(
                conninfo, autocommit=True, row_factory=dict_row
            )
            pool.put_nowait(conn)

    async def profile(request: web.Request) -> web.Response:
        conn = await pool.get()
        try:
            account = await (await conn.execute(ACCOUNT_SQL, (request.match_info["h"],))).fetchone()
            assert account is not None
            reels = await (await conn.execute(REELS, (account["profile_id"],))).fetchall()
            static = await (await conn.execute(STATIC, (account["profile_id"],))).fetchall()
        finally:
            pool.put_nowait(conn)
        body = json.dumps({"profile": account, "posts": reels + static}, default=str)
        return web.Response(text=body, content_type="application/json")

    app = web.Application()
    app.on_startup.append(open_pool)
    app.router.add_get("/profiles/instagram/byhandle/{h}", profile)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def start_server(kind: str, database_url: str, sandbox_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"read_bench_{port}"
    redis = os.environ.get("BEAT_REDIS_URL", "redis://127.0.0.1:6379/0")
    env = {**os.environ, "BEAT_RATE_LIMITS": str(RATE_LIMITS_FILE), "BEAT_REDIS_URL": redis,
           "BEAT_HOME": str(home)}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--port", str(port),
         "--db", database_url, "--sandbox", sandbox_url],
        cwd=ROOT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            import socket

            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"{kind} server did not start")


# -- load --------------------------------------------------------------------------------------


async def hammer(url: str, total: int, clients: int) -> tuple[float, list[float]]:
    """`total` GETs from `clients` concurrent clients; (requests per second, latencies in ms)."""
    latencies: list[float] = []
    remaining = total
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    assert response.status == 200, response.status
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return total / elapsed, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def refresh_latencies(api: str, count: int) -> list[float]:
    latencies = []
    async with aiohttp.ClientSession() as session:
        for i in range(count):
            started = time.perf_counter()
            async with session.get(
                f"{api}/profiles/instagram/byhandle/bench.refresh{i}",
                params={"force_refresh": "1"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as response:
                await response.read()
                assert response.status == 200, await response.text()
                assert response.headers["X-Beat-Refreshed"] == "true"
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def raw_graph_latencies(sandbox: str, count: int) -> list[float]:
    from beat.config import sandbox_base_urls
    from providers.credentials import Credential
    from providers.instagram import PROVIDERS

    secret = next(s for p, s, _ in sandbox_credentials() if p == "graphapi")
    graph = PROVIDERS["graphapi"]
    latencies = []
    async with aiohttp.ClientSession() as session:
        for i in range(count):
            request = graph.profile_request(
                f"bench.raw{i}", Credential("1", "graphapi", secret),
                sandbox_base_urls(sandbox)["graphapi"],
            )  # fmt: skip
            started = time.perf_counter()
            async with session.get(request.url, params=request.params) as response:
                await response.read()
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def provider_calls(sandbox: str) -> int:
    import urllib.request

    with urllib.request.urlopen(f"{sandbox}/_sandbox/stats") as response:
        stats = json.loads(response.read())
    return int(sum(v.get("requests", 0) for v in stats.values() if isinstance(v, dict)))


def main() -> None:
    from beat.store.credentials import save_credentials
    from beat.store.db import make_engine, upgrade

    with scratch_postgres("beat_read_bench") as database_url:
        engine = make_engine(database_url)
        upgrade(engine)
        save_credentials(engine, sandbox_credentials())
        engine.dispose()
        sandbox, sandbox_url = start_sandbox("--no-quotas")
        slow, slow_url = start_sandbox("--no-quotas", "--latency-ms", "100")
        servers: list[subprocess.Popen] = [sandbox, slow]
        try:
            beat, beat_url = start_server("beat", database_url, sandbox_url)
            floor, floor_url = start_server("floor", database_url, sandbox_url)
            servers += [beat, floor]
            run_reads(beat_url, floor_url)
            slow_beat, slow_beat_url = start_server("beat", database_url, slow_url)
            servers.append(slow_beat)
            run_refresh(slow_beat_url, slow_url)
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(timeout=10)


def run_reads(beat_url: str, floor_url: str) -> None:
    import urllib.request

    seed = urllib.request.Request(
        f"{beat_url}/profiles/instagram/byhandle/{HANDLE}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(seed) as response:  # scraped once through the sandbox
        profile = json.loads(response.read())["profile"]
    posts = len(profile["recent_posts"])
    path = f"/profiles/instagram/byhandle/{HANDLE}"
    asyncio.run(hammer(beat_url + path + "?full_refresh=1", 300, CLIENTS))  # warm-up
    asyncio.run(hammer(floor_url + path, 300, CLIENTS))
    results: dict[str, list[tuple[float, list[float]]]] = {"beat": [], "floor": []}
    for _ in range(ROUNDS):
        results["beat"].append(
            asyncio.run(hammer(beat_url + path + "?full_refresh=1", REQUESTS_PER_ROUND, CLIENTS))
        )
        results["floor"].append(asyncio.run(hammer(floor_url + path, REQUESTS_PER_ROUND, CLIENTS)))
    print(f"cached profile read ({posts} recent posts + post_metrics), {CLIENTS} clients, "
          f"{REQUESTS_PER_ROUND} requests x {ROUNDS} interleaved rounds, PostgreSQL")  # fmt: skip
    summary = {}
    for name, rounds in results.items():
        rps = median(r for r, _ in rounds)
        lat = [ms for _, values in rounds for ms in values]
        summary[name] = rps
        label = "beat API " if name == "beat" else "floor    "
        rates = ", ".join(f"{r:.0f}" for r, _ in rounds)
        print(f"  {label} {rps:8.0f} req/s   p50 {pct(lat, 0.5):6.1f} ms   "
              f"p99 {pct(lat, 0.99):6.1f} ms   (rounds: {rates})")  # fmt: skip
    print(f"  ratio beat/floor: {summary['beat'] / summary['floor']:.2f}")


def run_refresh(api: str, sandbox: str) -> None:
    before = provider_calls(sandbox)
    beat = asyncio.run(refresh_latencies(api, REFRESHES))
    calls = (provider_calls(sandbox) - before) / REFRESHES
    raw = asyncio.run(raw_graph_latencies(sandbox, REFRESHES))
    floor = pct(raw, 0.5) * max(calls, 1)
    print(f"inline refresh (force_refresh), sandbox answering in 100 ms, {REFRESHES} handles:")
    print(f"  beat API  p50 {pct(beat, 0.5):6.1f} ms  p99 {pct(beat, 0.99):6.1f} ms  "
          f"({calls:.1f} provider calls per refresh; target p50 <= 300 ms)")  # fmt: skip
    print(
        f"  floor     p50 {floor:6.1f} ms  (raw GET p50 {pct(raw, 0.5):.1f} ms x {calls:.1f} calls)"
    )
    print(f"  ratio beat/floor (latency, lower is better): {pct(beat, 0.5) / floor:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", choices=["beat", "floor"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--db")
    parser.add_argument("--sandbox")
    args = parser.parse_args()
    if args.serve == "beat":
        serve_beat(args.port, args.db, args.sandbox)
    elif args.serve == "floor":
        serve_floor(args.port, args.db)
    else:
        main()
