import dagster as dg

from beat.limits import load_specs, open_limiter
from providers.engine import BeforeRequest
from providers.ratelimit import RateLimiter, RateSpecs, make_before_request


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
        return load_specs(self.specs_file)

    def limiter(self) -> RateLimiter:
        """A new limiter (open it inside the event loop that uses it; ``aclose`` when done)."""
        return open_limiter(self.redis_url, self.local_path, self.specs())

    def before_request(self, limiter: RateLimiter) -> BeforeRequest:
        return make_before_request(limiter, timeout=self.wait_seconds)
