"""The rate limiter every provider call goes through, built from settings.

One place for the Dagster runs (``RateLimiterResource``) and the API's inline refresh, so both
paths draw on the same stacked budgets: Redis when ``BEAT_REDIS_URL`` is set (every process
everywhere), else a SQLite file under BEAT_HOME (every process of this machine).
"""

from __future__ import annotations

import json
from pathlib import Path

from providers.ratelimit import (
    LocalRateLimiter,
    RateLimiter,
    RateSpecs,
    RedisRateLimiter,
    specs_with,
)

__all__ = ["fetches_within", "load_specs", "open_limiter"]


def load_specs(path: str | None) -> RateSpecs:
    """The default specs, with the JSON override at ``path`` (BEAT_RATE_LIMITS) applied."""
    if not path:
        return specs_with(None)
    try:
        override = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read rate limits from {path}: {exc}") from None
    return specs_with(override)


def fetches_within(specs: RateSpecs, seconds: float) -> int | None:
    """The most fetches the global budget can grant in ``seconds`` from rest (burst plus
    refill, for the tightest global limit), or None when there is no global limit."""
    limits = specs.global_limits_list()
    if not limits:
        return None
    return int(min(lim.capacity + lim.rate * seconds / lim.period_seconds for lim in limits))


def open_limiter(redis_url: str | None, local_path: str, specs: RateSpecs) -> RateLimiter:
    """A new limiter carrying ``specs`` (``make_before_request`` reads them from it); open it
    inside the event loop that uses it and ``aclose`` it after."""
    if redis_url:
        return RedisRateLimiter.from_url(redis_url, specs=specs)
    return LocalRateLimiter(local_path, specs=specs)
