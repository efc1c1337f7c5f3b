"""Distributed rate limiting for provider calls: stacked GCRA limits, all-or-nothing.

One small interface (``RateLimiter``), two backends with the same semantics:

* ``RedisRateLimiter``: one Lua script per operation on Redis (``TIME`` as the clock, one
  hash tag for every key, fail closed);
* ``LocalRateLimiter``: the embedded default, a SQLite file shared by the processes of one
  machine (``BEGIN IMMEDIATE`` transactions, the system clock).

    limiter = RedisRateLimiter.from_url("redis://127.0.0.1:6379/0")
    decision = await limiter.acquire_all_or_nothing(limits_for("arraybobo", "nike"))
    grant = await limiter.acquire_for("arraybobo", "nike", timeout=20)   # waits
    await limiter.refund(grant)                                          # if unused

What a ``Limit`` promises, and why the GCRA is parametrized the way it is: ``core``.
Provider rate specs are data: ``specs``; how they are stacked: ``policy``.
"""

from providers.ratelimit.core import (
    WAKE_SLACK_SECONDS,
    Decision,
    Grant,
    Limit,
    RateLimiter,
)
from providers.ratelimit.errors import LimiterUnavailable, RateLimitTimeout
from providers.ratelimit.local import LocalRateLimiter, default_local_path
from providers.ratelimit.policy import (
    DEFAULT_SPECS,
    RateSpec,
    RateSpecs,
    current_target_handle,
    handle_key,
    limits_for,
    make_before_request,
    specs_with,
    target_handle,
)
from providers.ratelimit.redis_backend import RedisRateLimiter

__all__ = [
    "DEFAULT_SPECS",
    "WAKE_SLACK_SECONDS",
    "Decision",
    "Grant",
    "Limit",
    "LimiterUnavailable",
    "LocalRateLimiter",
    "RateLimitTimeout",
    "RateLimiter",
    "RateSpec",
    "RateSpecs",
    "RedisRateLimiter",
    "current_target_handle",
    "default_local_path",
    "handle_key",
    "limits_for",
    "make_before_request",
    "specs_with",
    "target_handle",
]
