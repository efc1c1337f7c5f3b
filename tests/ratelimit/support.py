"""Helpers for the rate-limiter tests (importable from spawned worker processes)."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis

from providers.ratelimit import Limit, LocalRateLimiter, RedisRateLimiter
from providers.ratelimit.core import US, LimiterBase

REDIS_URL = os.environ.get("BEAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class BackendSpec:
    """Enough to build an equivalent limiter in any process: ``kind`` is ``local`` (target =
    SQLite path) or ``redis`` (target = URL, ``prefix`` = key prefix)."""

    kind: str
    target: str
    prefix: str

    def make(self, clock: Callable[[], int] | None = None) -> LimiterBase:
        if self.kind == "local":
            if clock is None:
                return LocalRateLimiter(self.target)
            return LocalRateLimiter(self.target, clock=clock)
        lim = RedisRateLimiter.from_url(self.target, self.prefix, timeout=5.0)
        if clock is not None:
            lim._client_clock = clock
        return lim


def delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match="{" + prefix + "}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def max_window_units(events: Iterable[tuple[int, int]], period_us: float) -> int:
    """The most units (sum of costs) granted in any half-open window ``[t, t + period)``.
    ``events`` are ``(at_us, cost)``; the maximum is attained by a window starting at a grant."""
    ordered = sorted(events)
    best = 0
    total = 0
    j = 0
    for i in range(len(ordered)):
        # advance the right edge
        while j < len(ordered) and ordered[j][0] < ordered[i][0] + period_us:
            total += ordered[j][1]
            j += 1
        best = max(best, total)
        total -= ordered[i][1]
    return best


def window_violations(
    grants: Iterable[tuple[int, int, Iterable[str]]], limits: Iterable[Limit]
) -> dict[str, tuple[int, int]]:
    """``{key: (max units in a window, rate)}`` for every limit whose promise was broken.
    ``grants`` are effective (non-refunded) ``(at_us, cost, keys)``."""
    per_key: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for at, cost, keys in grants:
        for key in keys:
            per_key[key].append((at, cost))
    bad = {}
    for lim in limits:
        worst = max_window_units(per_key.get(lim.key, []), lim.period_seconds * US)
        if worst > lim.rate:
            bad[lim.key] = (worst, lim.rate)
    return bad
