"""The limiter contract, run on both backends (see conftest: ``backend``/``limiter``)."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any

import pytest

from providers.errors import ProviderFault, RateLimited
from providers.ratelimit import (
    Limit,
    LimiterUnavailable,
    LocalRateLimiter,
    RateLimiter,
    RateLimitTimeout,
    RedisRateLimiter,
)
from providers.ratelimit.core import WAKE_SLACK_SECONDS
from tests.ratelimit.support import BackendSpec


def count_calls(limiter: Any) -> list[tuple[float, Any]]:
    """Wrap ``acquire_all_or_nothing`` on the instance; return ``(call time, decision)``s."""
    calls: list[tuple[float, Any]] = []
    inner = limiter.acquire_all_or_nothing

    async def counted(limits: Any, cost: int = 1) -> Any:
        started = time.monotonic()
        decision = await inner(limits, cost)
        calls.append((started, decision))
        return decision

    limiter.acquire_all_or_nothing = counted
    return calls


async def test_both_backends_implement_the_protocol(limiter: Any) -> None:
    assert isinstance(limiter, RateLimiter)


async def test_burst_then_denial_with_exact_retry_after(limiter: Any) -> None:
    lim = Limit("burst", 5, 1.0, burst=5)  # T = 1 s: five at once, then one per second
    granted = [await limiter.acquire_all_or_nothing([lim]) for _ in range(5)]
    assert all(d.granted for d in granted)
    first = granted[0].at
    denied = await limiter.acquire_all_or_nothing([lim])
    assert not denied.granted and denied.token is None
    assert denied.denied_by == "burst"
    # exact: the sixth unit is due one interval after the first grant
    assert denied.retry_after == pytest.approx(1.0 - (denied.at - first), abs=1e-5)
    assert 0 < denied.retry_after <= 1.0


async def test_paced_by_default(limiter: Any) -> None:
    lim = Limit("paced", 850, 60.0)  # burst=None -> 1: one grant per 60/850 s
    assert lim.interval_us == math.ceil(60e6 / 850)
    assert (await limiter.acquire_all_or_nothing([lim])).granted
    denied = await limiter.acquire_all_or_nothing([lim])
    assert not denied.granted
    assert 0 < denied.retry_after <= 60 / 850 + 1e-6


async def test_a_denial_writes_nothing(limiter: Any) -> None:
    free = Limit("free", 10, 60.0, burst=10)
    full = Limit("full", 1, 60.0)
    assert (await limiter.acquire_all_or_nothing([full])).granted
    for _ in range(20):
        d = await limiter.acquire_all_or_nothing([free, full])
        assert not d.granted and d.denied_by == "full"
    left = await limiter.remaining([free, full])
    assert left["free"] == 10.0  # untouched: still a full burst
    assert left["full"] < 0.01
    if isinstance(limiter, RedisRateLimiter):
        assert await limiter.client.exists(limiter.redis_key("free")) == 0


async def test_denied_by_names_the_longest_wait(limiter: Any) -> None:
    short = Limit("short", 1, 0.5)
    long = Limit("long", 1, 5.0)
    assert (await limiter.acquire_all_or_nothing([short, long])).granted
    d = await limiter.acquire_all_or_nothing([short, long])
    assert d.denied_by == "long"
    assert 4.5 < d.retry_after <= 5.0


async def test_stacked_limits_leak_nothing(limiter: Any) -> None:
    """The original's failure: sequential hits burned the day budget on denied requests.
    Here 100 tasks hammer day/minute/per-handle limits over 50 handles: exactly the granted
    units are consumed from every limit, and the minute cap is reached exactly."""
    day = Limit("day", 20000, 86400.0, burst=20000)  # T = 1 day: consumption is readable
    minute = Limit("minute", 60, 60.0, burst=60)  # T = 60 s: 60 at once, then nothing
    handles = [Limit(f"handle:{i}", 1, 1.0) for i in range(50)]
    granted = 0
    per_handle = [0] * 50
    stop = time.monotonic() + 2.0

    async def hammer(n: int) -> None:
        nonlocal granted
        i = n
        while time.monotonic() < stop:
            i = (i + 7) % 50
            d = await limiter.acquire_all_or_nothing([day, minute, handles[i]])
            if d.granted:
                granted += 1
                per_handle[i] += 1
            await asyncio.sleep(0)

    await asyncio.gather(*(hammer(n) for n in range(100)))
    left = await limiter.remaining([day, minute, *handles])
    assert granted == 60  # 50 handles in the first second, then 10 more
    assert 20000 - math.floor(left["day"]) == granted  # consumed == granted, exactly
    assert 60 - math.floor(left["minute"]) == granted
    assert max(per_handle) <= 2


async def test_acquire_sleeps_exactly_retry_after_once(limiter: Any) -> None:
    lim = Limit("wait", 1, 0.4)
    calls = count_calls(limiter)
    first = await limiter.acquire([lim], timeout=2)
    second = await limiter.acquire([lim], timeout=2)
    # one grant, then exactly one denial and one grant: no polling in between
    assert [d.granted for _, d in calls] == [True, False, True]
    (_, _), (denied_at, denial), (granted_at, _) = calls
    assert denial.retry_after == pytest.approx(0.4 - (denial.at - first.at), abs=1e-5)
    slept = granted_at - denied_at
    assert denial.retry_after + WAKE_SLACK_SECONDS <= slept < denial.retry_after + 0.3
    assert 0.4 <= second.at - first.at < 0.4 + 0.3  # granted once due (slack: a busy CI box)


async def test_acquire_fails_fast_when_the_wait_exceeds_the_timeout(limiter: Any) -> None:
    lim = Limit("slow", 1, 10.0)
    await limiter.acquire([lim], timeout=1)
    started = time.monotonic()
    with pytest.raises(RateLimitTimeout) as info:
        await limiter.acquire([lim], timeout=0.5)
    assert time.monotonic() - started < 0.45  # did not sleep towards the 0.5 s timeout
    err = info.value
    assert isinstance(err, ProviderFault) and not isinstance(err, RateLimited)
    assert err.denied_by == "slow" and 9.0 < (err.retry_after or 0) <= 10.0


async def test_refund_restores_capacity_on_every_limit(limiter: Any) -> None:
    a = Limit("a", 3, 30.0, burst=3)  # T = 30 s: nothing refills during the test
    b = Limit("b", 3, 30.0, burst=3)
    grants = [await limiter.acquire([a, b], timeout=0) for _ in range(3)]
    assert not (await limiter.acquire_all_or_nothing([a, b])).granted
    await limiter.refund(grants[1])
    left = await limiter.remaining([a, b])
    assert left["a"] == pytest.approx(1.0, abs=0.01)
    assert left["b"] == pytest.approx(1.0, abs=0.01)
    await limiter.refund(grants[1])  # a second refund of the same grant is a no-op
    assert (await limiter.remaining([a]))["a"] == pytest.approx(1.0, abs=0.01)
    assert (await limiter.acquire_all_or_nothing([a, b])).granted
    assert not (await limiter.acquire_all_or_nothing([a, b])).granted


async def test_a_late_refund_gives_back_only_what_time_has_not(limiter: Any) -> None:
    lim = Limit("late", 1, 0.2)
    grant = await limiter.acquire([lim], timeout=0)
    await asyncio.sleep(0.25)  # the grant's interval has fully elapsed
    await limiter.refund(grant)
    assert (await limiter.remaining([lim]))["late"] == 1.0  # not 2: burst is the ceiling
    assert (await limiter.acquire_all_or_nothing([lim])).granted
    assert not (await limiter.acquire_all_or_nothing([lim])).granted


async def test_a_late_refund_cannot_free_a_later_grants_slot(limiter: Any) -> None:
    """The naive rule (TAT - cost*T, floored at now) would let ``k`` through here: ``g``'s
    slot already came back with time, so refunding it must not cancel ``h``'s."""
    lim = Limit("stale", 1, 0.2)
    g = await limiter.acquire([lim], timeout=0)
    await asyncio.sleep(0.25)
    h = await limiter.acquire_all_or_nothing([lim])
    assert h.granted
    await limiter.refund(g)
    k = await limiter.acquire_all_or_nothing([lim])
    assert not k.granted and k.retry_after > 0.15


async def test_remaining_of_idle_limits_is_the_burst(limiter: Any) -> None:
    lims = [Limit("x", 10, 1.0, burst=4), Limit("y", 3, 1.0)]
    assert await limiter.remaining(lims) == {"x": 4.0, "y": 1.0}
    assert await limiter.remaining([]) == {}


async def test_weighted_costs(limiter: Any) -> None:
    lim = Limit("w", 10, 10.0, burst=10)  # T = 10 s
    assert (await limiter.acquire_all_or_nothing([lim], cost=7)).granted
    d = await limiter.acquire_all_or_nothing([lim], cost=4)
    assert not d.granted and 9.0 < d.retry_after <= 10.0
    assert (await limiter.acquire_all_or_nothing([lim], cost=3)).granted


async def test_requests_that_can_never_pass_are_rejected(limiter: Any) -> None:
    lim = Limit("v", 10, 1.0, burst=2)
    with pytest.raises(ValueError, match="burst"):
        await limiter.acquire_all_or_nothing([lim], cost=3)
    with pytest.raises(ValueError, match="twice"):
        await limiter.acquire_all_or_nothing([lim, Limit("v", 5, 1.0)])
    with pytest.raises(ValueError, match="cost"):
        await limiter.acquire_all_or_nothing([lim], cost=0)


async def test_no_limits_is_granted(limiter: Any) -> None:
    d = await limiter.acquire_all_or_nothing([])
    assert d.granted and d.token is not None
    await limiter.refund(d.token)


@pytest.mark.parametrize("kind", ["local", pytest.param("redis", marks=pytest.mark.redis)])
async def test_unreachable_backend_fails_closed(kind: str, tmp_path: Path) -> None:
    lim_spec = Limit("down", 100, 1.0, burst=100)
    limiter: Any
    if kind == "redis":
        # nothing listens on port 1; a password in the URL must not show up in errors
        limiter = RedisRateLimiter.from_url("redis://:hunter2secret@127.0.0.1:1/0", timeout=1)
    else:
        blocker = tmp_path / "file"
        blocker.write_text("not a directory")
        limiter = LocalRateLimiter(blocker / "ratelimit.sqlite3")
    try:
        for call in (
            lambda: limiter.acquire_all_or_nothing([lim_spec]),
            lambda: limiter.acquire([lim_spec], timeout=5),
            lambda: limiter.remaining([lim_spec]),
        ):
            started = time.monotonic()
            with pytest.raises(LimiterUnavailable) as info:
                await call()
            assert time.monotonic() - started < 1.5
            message = str(info.value)
            assert "unavailable" in message and "nothing granted" in message
            assert "hunter2" not in message and "hunter2" not in repr(info.value)
            assert isinstance(info.value, ProviderFault)
    finally:
        await limiter.aclose()


async def test_corrupt_sqlite_file_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "rl.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    limiter = LocalRateLimiter(path)
    try:
        with pytest.raises(LimiterUnavailable):
            await limiter.acquire_all_or_nothing([Limit("c", 1, 1.0)])
    finally:
        await limiter.aclose()


async def test_two_instances_share_state(backend: BackendSpec) -> None:
    """Two limiter objects on the same backend (as two processes would) see one budget."""
    one, two = backend.make(), backend.make()
    try:
        lim = Limit("shared", 2, 60.0, burst=2)
        assert (await one.acquire_all_or_nothing([lim])).granted
        assert (await two.acquire_all_or_nothing([lim])).granted
        assert not (await one.acquire_all_or_nothing([lim])).granted
        assert not (await two.acquire_all_or_nothing([lim])).granted
    finally:
        await one.aclose()
        await two.aclose()
