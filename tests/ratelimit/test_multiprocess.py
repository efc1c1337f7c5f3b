"""Eight processes (spawn) hammer shared limits on one backend for a few seconds. Using the
grant times from the backend's own clock, no sliding window of any limit may hold more than its
rate, and the day-style cap must have been consumed by exactly the units kept (refunds given
back in full)."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from pathlib import Path

from providers.ratelimit.core import US
from tests.ratelimit import mp_worker
from tests.ratelimit.support import BackendSpec, max_window_units, window_violations

PROCESSES = 8
SECONDS = 2.5


def test_eight_processes_never_exceed_any_window(backend: BackendSpec, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(PROCESSES + 1)
    procs = []
    for n in range(PROCESSES):
        out = tmp_path / f"grants-{n}.jsonl"
        p = ctx.Process(target=mp_worker.run, args=(backend, n, ready, SECONDS, str(out)))
        p.start()
        procs.append((p, out))
    ready.wait(timeout=120)  # released when every worker is up: they start together
    for p, _ in procs:
        p.join(timeout=60)
        assert p.exitcode == 0, f"worker exit code {p.exitcode}"

    rows = [json.loads(line) for _, out in procs for line in out.read_text().splitlines()]
    kept = [(at, cost, keys) for at, cost, keys, refunded in rows if not refunded]
    refunds = sum(1 for *_, refunded in rows if refunded)
    assert len({tuple(r[2]) for r in rows}) > 4 and refunds > 0
    assert len({int(r[0]) // (SECONDS * US / 2) for r in rows}) >= 2  # spread over the run

    assert window_violations(kept, mp_worker.ALL) == {}
    # ... and the limits were really under pressure: the fast one is saturated
    fast = [(at, cost) for at, cost, keys in kept if "fast" in keys]
    assert max_window_units(fast, US) >= 0.75 * mp_worker.FAST.rate

    async def cap_left() -> float:
        limiter = backend.make()
        try:
            return (await limiter.remaining([mp_worker.CAP]))["cap"]
        finally:
            await limiter.aclose()

    consumed = mp_worker.CAP.rate - asyncio.run(cap_left())
    assert round(consumed) == sum(cost for _, cost, _ in kept)
    assert abs(consumed - round(consumed)) < 0.01
