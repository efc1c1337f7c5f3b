"""The limiter interface, the GCRA arithmetic both backends share, and the waiting loop.

Semantics (identical in every backend; ``tests/ratelimit`` runs one suite over all of them)
==========================================================================================

``Limit(key, rate, period_seconds, burst)`` promises: **in any window of ``period_seconds``,
at most ``rate`` units are granted under ``key``** (a unit is one request of cost 1; refunded
grants do not count). ``burst`` (1..rate, default 1) is how many units may be granted at once
from idle.

Each limit is a GCRA cell: one integer, the theoretical arrival time (TAT, microseconds).
With emission interval ``T`` and tolerance ``burst * T``, a request of ``cost`` at time ``now``
is allowed iff ``max(TAT, now) + cost*T - now <= burst*T``; a grant stores that new TAT.

Why not the textbook ``T = period/rate`` with ``burst = rate``? That is a token bucket holding
``rate`` tokens and refilling ``rate`` per period, so a window of one period can see up to
``2*rate - 1`` grants (a full bucket, then the refill). In general, any ``n`` units granted in a
half-open window of length ``W`` satisfy ``n < burst + W/T``. We therefore choose

    T = ceil(period / (rate - burst + 1))      (microseconds)

so that ``n < burst + rate - burst + 1``, i.e. ``n <= rate`` for ``W = period``: the promise above
holds exactly, for every ``burst``. The price of a burst is sustained throughput:
``rate - burst + 1`` units per period. ``burst=1`` (the default) is pure pacing at the full rate
(850 per 60 s becomes one grant every 70.6 ms), the right shape for provider rate specs.
``burst=rate`` allows the whole budget at once but then refills one unit per period, the right
shape for a hard cap that must never be crossed (tests use it to measure consumption exactly).

All-or-nothing: a request names several limits; it is granted only if every limit allows it,
and then every TAT is written. A denial writes nothing, so it consumes nothing anywhere, and
reports ``retry_after`` = the largest wait among the denying limits (exact: after that long, with
no other traffic, every limit allows the request) and ``denied_by`` = that limit's key.

Refund (``refund(grant)``) hands back an unused grant: each TAT goes down by
``cost*T - (now - granted_at)`` (clamped to ``0..cost*T``), never below ``now``. So a refund
right after the grant returns the full ``cost*T``, and one made ``cost*T`` or more after the
grant returns nothing: that capacity has already come back with time. The plain rule
("subtract ``cost*T``, never below ``now``") is unsafe for late refunds: once the grant's slot
has come back with time and a later grant has taken it, subtracting ``cost*T`` frees that later
grant's slot too, and a window can then see ``rate + cost``
(``tests/ratelimit/test_limiter.py::test_a_late_refund_cannot_free_a_later_grants_slot``).
Since the grant's TAT was at least ``granted_at + cost*T``, the amount given back never exceeds
what the grant added and time has not yet returned. Refunding a grant twice is a no-op.

Integers: times are integer microseconds and ``T`` is rounded *up*, so the arithmetic is exact
both in Python and in Redis Lua (doubles, exact below 2**53); rounding up only makes a limit
stricter.

Clock: the promise is stated in the backend's clock (Redis ``TIME``, or the machine's clock for
the local backend). If that clock is stepped forward, up to the step's worth of capacity is
released early; stepped back, grants are only delayed. A Redis failover to a replica may lose
the last TAT writes (replication is asynchronous): keep a margin under hard provider limits.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

from providers.ratelimit.errors import RateLimitTimeout

if TYPE_CHECKING:
    from providers.ratelimit.policy import RateSpecs

__all__ = [
    "US",
    "WAKE_SLACK_SECONDS",
    "Decision",
    "Grant",
    "Limit",
    "LimiterBase",
    "RateLimiter",
    "gcra_acquire",
    "gcra_refund",
    "gcra_remaining",
    "refund_amount",
    "validate_request",
]

US = 1_000_000
#: Largest ``burst * T`` accepted (~71 years): ``now + 2*burst*T`` stays below 2**53, exact as
#: a Lua double, for decades to come.
_MAX_TOLERANCE_US = 2**51
#: ``acquire`` sleeps ``retry_after`` plus this, so clock rounding (microsecond TATs, the event
#: loop's timer granularity) never turns one wait into two round trips.
WAKE_SLACK_SECONDS = 0.001


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``rate`` units per any window of ``period_seconds`` under ``key``; up to
    ``burst`` (default 1, i.e. paced) at once. See the module docstring for the arithmetic."""

    key: str
    rate: int
    period_seconds: float
    burst: int | None = None
    interval_us: int = field(init=False, repr=False, compare=False, hash=False)
    tolerance_us: int = field(init=False, repr=False, compare=False, hash=False)
    _hash: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key or len(self.key) > 512:
            raise ValueError("Limit.key must be a non-empty string of at most 512 characters")
        if any(c in self.key for c in "{}\r\n"):
            raise ValueError(f"Limit.key may not contain braces or newlines: {self.key!r}")
        if isinstance(self.rate, bool) or not isinstance(self.rate, int) or self.rate < 1:
            raise ValueError(f"Limit.rate must be an int >= 1, not {self.rate!r}")
        period = float(self.period_seconds)
        if not math.isfinite(period) or period <= 0:
            raise ValueError(f"Limit.period_seconds must be > 0, not {self.period_seconds!r}")
        burst = 1 if self.burst is None else self.burst
        if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= self.rate:
            raise ValueError(f"Limit.burst must be an int in 1..rate ({self.rate}), not {burst!r}")
        interval = max(1, math.ceil(period * US / (self.rate - burst + 1)))
        if burst * interval > _MAX_TOLERANCE_US:
            raise ValueError(f"Limit {self.key!r}: burst * interval exceeds ~70 years")
        object.__setattr__(self, "interval_us", interval)
        object.__setattr__(self, "tolerance_us", burst * interval)
        object.__setattr__(self, "_hash", hash((self.key, self.rate, period, burst)))

    def __hash__(self) -> int:  # cached: limits are dictionary keys on the hot path
        return self._hash

    @property
    def capacity(self) -> int:
        """``burst``, resolved: the most units grantable at once from idle."""
        return 1 if self.burst is None else self.burst

    @property
    def sustained_per_period(self) -> float:
        """Units per period once the burst is spent (``rate - burst + 1``, up to rounding)."""
        return self.period_seconds * US / self.interval_us


@dataclass(eq=False, slots=True)
class Grant:
    """Proof of a granted request; pass it to ``refund`` if the request was not used.

    ``at`` is the backend clock (Redis ``TIME`` or the local clock) at the grant, in seconds;
    ``at_us`` the same in integer microseconds (refunds are computed from it)."""

    limits: tuple[Limit, ...]
    cost: int
    at_us: int
    refunded: bool = False

    @property
    def at(self) -> float:
        return self.at_us / US

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(lim.key for lim in self.limits)


class Decision(NamedTuple):
    """The answer of ``acquire_all_or_nothing``. ``retry_after`` is 0 when granted; when denied
    it is the exact wait (seconds) after which the request would pass, all else equal, and
    ``denied_by`` the key of the limit needing the longest wait. ``at`` is the backend clock.

    (A NamedTuple rather than a frozen dataclass: it is built on the hot path, 3x cheaper.
    Test ``decision.granted``; a Decision is a non-empty tuple, so always truthy.)"""

    granted: bool
    retry_after: float
    denied_by: str | None
    token: Grant | None
    at: float = 0.0


@runtime_checkable
class RateLimiter(Protocol):
    """What callers depend on. ``RedisRateLimiter`` and ``LocalRateLimiter`` implement it."""

    async def acquire_all_or_nothing(self, limits: Sequence[Limit], cost: int = 1) -> Decision:
        """One atomic attempt: grant against every limit, or against none."""
        ...

    async def refund(self, grant: Grant) -> None:
        """Hand back a grant that was not used."""
        ...

    async def acquire(
        self, limits: Sequence[Limit], *, timeout: float | None, cost: int = 1
    ) -> Grant:
        """Wait (sleeping exactly ``retry_after``) until granted; ``RateLimitTimeout`` if the
        wait would exceed ``timeout`` seconds."""
        ...

    async def remaining(self, limits: Sequence[Limit]) -> dict[str, float]:
        """Units grantable right now per limit key (fractional: refill is continuous)."""
        ...

    async def acquire_for(
        self,
        provider: str,
        handle: str | None = None,
        *,
        timeout: float | None,
        cost: int = 1,
    ) -> Grant:
        """``acquire(limits_for(provider, handle))`` with this limiter's specs."""
        ...

    async def aclose(self) -> None: ...


# --------------------------------------------------------------------------- pure GCRA


def validate_request(limits: Sequence[Limit], cost: int) -> tuple[Limit, ...]:
    """Check one request; return the limits as a tuple. A cost above a limit's burst could
    never be granted, so it is a caller bug (ValueError), not a denial."""
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 1:
        raise ValueError(f"cost must be an int >= 1, not {cost!r}")
    lims = tuple(limits)
    keys = set()
    for lim in lims:
        if not isinstance(lim, Limit):
            raise TypeError(f"expected Limit, got {type(lim).__name__}")
        if lim.key in keys:
            raise ValueError(f"limit key {lim.key!r} appears twice in one request")
        keys.add(lim.key)
        if cost > lim.capacity:
            raise ValueError(
                f"cost {cost} exceeds the burst ({lim.capacity}) of limit {lim.key!r}; "
                "it could never be granted"
            )
    return lims


def gcra_acquire(
    now_us: int, tats_us: Sequence[int], limits: Sequence[Limit], cost: int
) -> tuple[bool, int, int, list[int]]:
    """Phase 1 of the all-or-nothing check (the Lua script is a line-by-line transcription).

    Returns ``(granted, wait_us, denied_index, new_tats)``; ``denied_index`` is -1 when
    granted. The caller writes ``new_tats`` only when granted."""
    worst = 0
    denied = -1
    new: list[int] = []
    for i, lim in enumerate(limits):
        tat = max(tats_us[i], now_us)
        ntat = tat + cost * lim.interval_us
        allow_at = ntat - lim.tolerance_us
        if allow_at > now_us and allow_at - now_us > worst:
            worst = allow_at - now_us
            denied = i
        new.append(ntat)
    return denied < 0, worst, denied, new


def refund_amount(now_us: int, granted_at_us: int, interval_us: int, cost: int) -> int:
    """How much of a grant's ``cost*T`` a refund at ``now_us`` gives back: all of it at once,
    nothing ``cost*T`` later (clamped, so a clock stepping back never gives back more)."""
    full = cost * interval_us
    return min(full, max(0, granted_at_us + full - now_us))


def gcra_refund(now_us: int, tat_us: int, granted_at_us: int, interval_us: int, cost: int) -> int:
    """The TAT after refunding one grant (``<= now_us`` means "idle": the key can go)."""
    give_back = refund_amount(now_us, granted_at_us, interval_us, cost)
    return max(tat_us - give_back, now_us)


def gcra_remaining(now_us: int, tat_us: int, lim: Limit) -> float:
    """Units grantable at ``now_us``: ``burst - max(0, TAT - now)/T``."""
    backlog = max(0, tat_us - now_us)
    return max(0.0, lim.capacity - backlog / lim.interval_us)


# --------------------------------------------------------------------------- shared behaviour


class LimiterBase:
    """The parts both backends share: the waiting loop and the provider-spec shortcut.

    Subclasses implement ``acquire_all_or_nothing``, ``refund`` and ``remaining``."""

    specs: RateSpecs | None = None

    async def acquire_all_or_nothing(
        self, limits: Sequence[Limit], cost: int = 1
    ) -> Decision:  # pragma: no cover - abstract
        raise NotImplementedError

    async def refund(self, grant: Grant) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    async def remaining(
        self, limits: Sequence[Limit]
    ) -> dict[str, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    async def aclose(self) -> None:
        return None

    async def acquire(
        self, limits: Sequence[Limit], *, timeout: float | None, cost: int = 1
    ) -> Grant:
        """Try; when denied, sleep exactly ``retry_after`` (+1 ms slack) and try again.

        Never polls: each further attempt happens only after the backend said it would pass.
        (Under contention another caller may win that slot; the next denial carries a new
        exact wait.) If the wait would end after ``timeout`` seconds, raise
        ``RateLimitTimeout`` at once instead of sleeping in vain; ``timeout=None`` waits as
        long as needed. Backend failures raise ``LimiterUnavailable`` (nothing is granted)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + max(0.0, timeout)
        while True:
            decision = await self.acquire_all_or_nothing(limits, cost)
            if decision.granted:
                assert decision.token is not None
                return decision.token
            wait = decision.retry_after + WAKE_SLACK_SECONDS
            if deadline is not None and loop.time() + wait > deadline:
                raise RateLimitTimeout(
                    f"limit {decision.denied_by!r} needs {decision.retry_after:.3f}s, "
                    f"more than the {timeout:g}s allowed",
                    retry_after=decision.retry_after,
                    denied_by=decision.denied_by,
                )
            await asyncio.sleep(wait)

    async def acquire_for(
        self,
        provider: str,
        handle: str | None = None,
        *,
        timeout: float | None,
        cost: int = 1,
    ) -> Grant:
        """Wait for the stacked limits of one request to ``provider`` about ``handle``
        (``policy.limits_for``), using this limiter's ``specs`` (default specs if unset)."""
        from providers.ratelimit.policy import limits_for

        return await self.acquire(
            limits_for(provider, handle, specs=self.specs), timeout=timeout, cost=cost
        )
