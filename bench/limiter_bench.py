"""Rate-limiter benchmark: stacked acquisitions per second in one process, against the plain
Redis round-trip floor measured in the same run with the same client and concurrency.

    python bench/limiter_bench.py [--url redis://127.0.0.1:6379/0] [--seconds 4] [--reps 3]
                                  [--concurrency 100] [--handles 10000] [--loop asyncio|uvloop|both]

Per event loop, methods run interleaved ``--reps`` times, ``--seconds`` each (order reversed
every other rep); medians shown, plus the median of per-rep STACKED/INCR ratios, the steadier
figure when other work shares the machine.

  INCR      ``await client.incr(key)``: one round trip through redis-py's normal command path
            (the floor the target ratio is measured against).
  PING      ``await client.ping()``: the same, no key.
  STACKED   ``RedisRateLimiter.acquire_all_or_nothing([day, minute, handle])``: one EVALSHA of
            the limiter script over 3 GCRA keys (the handle drawn from ``--handles``), rates so
            high that nothing is denied (denials are counted and must be 0).
  LOCAL     the same stacked acquisition on ``LocalRateLimiter`` (SQLite file), for
            information; it is not a Redis round trip.

The client is ``redis.asyncio.Redis(host, port, db)`` as an application would build it; both the
floor and the limiter share it. Keys live under a scratch prefix deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from providers.ratelimit import Limit, LocalRateLimiter, RedisRateLimiter

DAY = Limit("bench:day", 10**9, 86400.0, burst=10**6)
MINUTE = Limit("bench:minute", 10**7, 60.0, burst=10**5)


def handle_limits(n: int) -> list[Limit]:
    return [Limit(f"bench:handle:{i}", 1000, 1.0, burst=100) for i in range(n)]


async def drive(
    op: Callable[[random.Random], Awaitable[bool]], concurrency: int, seconds: float
) -> dict[str, float]:
    """Run ``op`` from ``concurrency`` tasks for ``seconds``; ops/s, latency percentiles."""
    stop = time.perf_counter() + seconds
    latencies: list[float] = []
    denied = 0

    async def worker(n: int) -> None:
        nonlocal denied
        rng = random.Random(n)
        while True:
            t0 = time.perf_counter()
            if t0 >= stop:
                return
            ok = await op(rng)
            latencies.append(time.perf_counter() - t0)
            denied += not ok

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    latencies.sort()
    n = len(latencies)
    return {
        "ops": n / elapsed,
        "p50": latencies[n // 2] * 1000 if n else 0.0,
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
        "cpu_us": cpu / n * 1e6 if n else 0.0,
        "denied": denied,
    }


async def bench(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    url = urlsplit(args.url)
    client = aioredis.Redis(
        host=url.hostname or "127.0.0.1",
        port=url.port or 6379,
        db=int(url.path.strip("/") or 0),
        password=url.password,
    )
    prefix = f"beatbench:{uuid.uuid4().hex[:8]}"
    limiter = RedisRateLimiter(client, prefix)
    handles = handle_limits(args.handles)
    incr_key = "{" + prefix + "}:incr"
    tmp = tempfile.TemporaryDirectory()
    local = LocalRateLimiter(Path(tmp.name) / "bench.sqlite3")

    async def incr(rng: random.Random) -> bool:
        await client.incr(incr_key)
        return True

    async def ping(rng: random.Random) -> bool:
        await client.ping()
        return True

    async def stacked(rng: random.Random) -> bool:
        d = await limiter.acquire_all_or_nothing([DAY, MINUTE, rng.choice(handles)])
        return d.granted

    async def stacked_local(rng: random.Random) -> bool:
        d = await local.acquire_all_or_nothing([DAY, MINUTE, rng.choice(handles)])
        return d.granted

    methods: dict[str, Callable[[random.Random], Awaitable[bool]]] = {
        "INCR": incr,
        "PING": ping,
        "STACKED": stacked,
    }
    results: dict[str, list[dict[str, float]]] = {name: [] for name in [*methods, "LOCAL"]}
    try:
        # warm up: connections, script load, SQLite file
        await drive(incr, args.concurrency, 0.3)
        await drive(stacked, args.concurrency, 0.3)
        await drive(stacked_local, args.concurrency, 0.3)
        for rep in range(args.reps):
            order = list(methods.items())
            if rep % 2:
                order.reverse()
            for name, op in order:
                results[name].append(await drive(op, args.concurrency, args.seconds))
        results["LOCAL"].append(await drive(stacked_local, args.concurrency, args.seconds))
    finally:
        keys = [k async for k in client.scan_iter(match="{" + prefix + "}*", count=1000)]
        for i in range(0, len(keys), 1000):
            await client.delete(*keys[i : i + 1000])
        await local.aclose()
        tmp.cleanup()
        await client.aclose()
    return results


def report(loop_name: str, results: dict[str, list[dict[str, float]]]) -> float:
    print(f"\n== {loop_name} ==")
    print(
        f"{'method':8} {'ops/s (median)':>15} {'[min-max]':>17} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'cpu us/op':>9} {'denied':>6}"
    )
    med: dict[str, float] = {}
    for name, runs in results.items():
        ops = [r["ops"] for r in runs]
        med[name] = statistics.median(ops)
        print(
            f"{name:8} {med[name]:15.0f} {f'[{min(ops):.0f}-{max(ops):.0f}]':>17} "
            f"{statistics.median(r['p50'] for r in runs):7.1f} "
            f"{statistics.median(r['p99'] for r in runs):7.1f} "
            f"{statistics.median(r['cpu_us'] for r in runs):9.0f} "
            f"{sum(int(r['denied']) for r in runs):6d}"
        )
    ratio = med["STACKED"] / med["INCR"]
    cpu = {n: statistics.median(r["cpu_us"] for r in runs) for n, runs in results.items()}
    paired = statistics.median(
        s["ops"] / i["ops"] for s, i in zip(results["STACKED"], results["INCR"], strict=True)
    )
    print(f"STACKED / INCR = {ratio:.2f} of medians, {paired:.2f} median of per-rep ratios")
    print("  (target >= 0.85; per-rep pairs run back to back, so they share the machine's load)")
    print(f"STACKED / PING = {med['STACKED'] / med['PING']:.2f}")
    print(
        f"client CPU per op, INCR / STACKED = {cpu['INCR'] / cpu['STACKED']:.2f} "
        "(steadier than throughput when other work shares the machine)"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--handles", type=int, default=10000)
    parser.add_argument("--loop", choices=["asyncio", "uvloop", "both"], default="both")
    args = parser.parse_args()
    print(
        f"limiter bench: {args.concurrency} tasks, {args.seconds:g}s x {args.reps} reps, "
        f"3 stacked limits, {args.handles} handles, redis {args.url.split('@')[-1]}"
    )
    loops = ["asyncio", "uvloop"] if args.loop == "both" else [args.loop]
    for name in loops:
        if name == "uvloop":
            import uvloop

            results = uvloop.run(bench(args))
        else:
            results = asyncio.run(bench(args))
        report(name, results)


if __name__ == "__main__":
    main()
