import json
from pathlib import Path

import dagster as dg

from providers.engine import BeforeRequest
from providers.ratelimit import (
    LocalRateLimiter,
    RateLimiter,
    RateSpecs,
    RedisRateLimiter,
    make_before_request,
    specs_with,
)


class RateLimiterResource(dg.ConfigurableResource):
    """The stacked provider / global / per-handle rate limits every provider call passes.

    With ``redis_url`` every process everywhere shares one budget through Redis; without it,
    the processes of this machine share a SQLite file. Both fail closed: when the store is
    unreachable no call is made and the request returns to the queue."""

    redis_url: str | None = None
    local_path: str
    #: JSON file overriding the default specs (``providers/ratelimit/specs.py``).
    specs_file: str | None = None
    #: Longest wait for budget before the request is deferred (or the next provider tried).
    wait_seconds: float = 30.0

    def specs(self) -> RateSpecs:
        if not self.specs_file:
            return specs_with(None)
        try:
            override = json.loads(Path(self.specs_file).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read rate limits from {self.specs_file}: {exc}") from None
        return specs_with(override)

    def limiter(self) -> RateLimiter:
        """A new limiter (open it inside the event loop that uses it; ``aclose`` when done)."""
        if self.redis_url:
            return RedisRateLimiter.from_url(self.redis_url, specs=self.specs())
        return LocalRateLimiter(self.local_path, specs=self.specs())

    def before_request(self, limiter: RateLimiter) -> BeforeRequest:
        return make_before_request(limiter, timeout=self.wait_seconds, specs=self.specs())
