"""The body of one hammering process (multiprocessing spawn imports this module).

Each process builds its own limiter on the shared backend, waits for a common start time, then
runs hammering tasks (``acquire_all_or_nothing`` in a tight loop) and waiting tasks
(``acquire``) over random subsets of the shared limits, refunding ~10% of its grants at once.
It writes every grant as a JSON line: backend time, cost, keys, refunded."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

from providers.ratelimit import Limit, RateLimitTimeout
from tests.ratelimit.support import BackendSpec

FAST = Limit("fast", 150, 1.0, burst=20)  # 150 per any second; 20 at once, then 131/s
SLOW = Limit("slow", 20, 0.5, burst=5)  # 20 per any 500 ms; 5 at once, then 32/s
HANDLES = [Limit(f"handle:{i}", 3, 0.2, burst=2) for i in range(8)]  # 3 per 200 ms each
LIMITS = [FAST, SLOW, *HANDLES]
CAP = Limit("cap", 100_000, 3600.0, burst=100_000)  # T = 1 h: consumption is readable
ALL = [*LIMITS, CAP]


def pick(rng: random.Random) -> tuple[list[Limit], int]:
    lims = [CAP, FAST]
    if rng.random() < 0.5:
        lims.append(SLOW)
    if rng.random() < 0.7:
        lims.append(rng.choice(HANDLES))
        return lims, 1
    return lims, rng.choice([1, 1, 2])


async def _main(spec: BackendSpec, seed: int, ready: Any, seconds: float) -> list[Any]:
    limiter = spec.make()
    out: list[Any] = []
    # Every process has imported and built its limiter before any starts: on a loaded machine
    # a fixed start time could pass before the slowest process is up, and nothing overlaps.
    await asyncio.to_thread(ready.wait, 120)
    start_at = time.time()
    stop_at = start_at + seconds

    async def record(grant: Any, rng: random.Random) -> None:
        refund = rng.random() < 0.1
        if refund:
            await limiter.refund(grant)
        out.append([grant.at_us, grant.cost, list(grant.keys), refund])

    async def hammer(n: int) -> None:
        rng = random.Random(seed * 100 + n)
        while time.time() < stop_at:
            lims, cost = pick(rng)
            d = await limiter.acquire_all_or_nothing(lims, cost)
            if d.granted:
                await record(d.token, rng)
            await asyncio.sleep(0)

    async def waiter(n: int) -> None:
        rng = random.Random(seed * 100 + 50 + n)
        while time.time() < stop_at:
            lims, cost = pick(rng)
            try:
                grant = await limiter.acquire(lims, timeout=stop_at - time.time(), cost=cost)
            except RateLimitTimeout:
                continue
            await record(grant, rng)

    try:
        await asyncio.gather(*(hammer(n) for n in range(3)), *(waiter(n) for n in range(3)))
    finally:
        await limiter.aclose()
    return out


def run(spec: BackendSpec, seed: int, ready: Any, seconds: float, out_path: str) -> None:
    """``ready``: a multiprocessing Barrier shared by every worker and the test."""
    grants = asyncio.run(_main(spec, seed, ready, seconds))
    with open(out_path, "w") as fh:
        for row in grants:
            fh.write(json.dumps(row) + "\n")
