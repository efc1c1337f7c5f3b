"""Redis-only properties: key layout, expiry, script loading, no replay after a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot

from providers.ratelimit import Limit, LimiterUnavailable, RedisRateLimiter
from providers.ratelimit.redis_backend import SCRIPT_SHA
from tests.ratelimit.support import REDIS_URL

pytestmark = pytest.mark.redis


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    """A client built the common way, ``Redis(host=..., port=...)``, which in redis-py 8
    retries timeouts and connection errors 10 times (``from_url`` clients do not retry)."""
    url = urlsplit(REDIS_URL)
    db = int(url.path.strip("/") or 0)
    c = aioredis.Redis(host=url.hostname or "127.0.0.1", port=url.port or 6379, db=db)
    assert c.get_retry() is not None and c.get_retry().get_retries() > 0
    try:
        yield c
    finally:
        await c.aclose()


async def test_every_key_shares_one_hash_tag_and_expires(
    client: aioredis.Redis, redis_prefix: str
) -> None:
    limiter = RedisRateLimiter(client, redis_prefix)
    lims = [
        Limit("provider:arraybobo", 100, 30.0),
        Limit("global:day", 20000, 86400.0, burst=1000),
        Limit("handle:some.one", 1, 0.3),
    ]
    assert (await limiter.acquire_all_or_nothing(lims)).granted
    keys = sorted(k.decode() for k in await client.keys("*" + redis_prefix + "*"))
    assert keys == sorted("{" + redis_prefix + "}:" + lim.key for lim in lims)
    assert len({key_slot(k.encode()) for k in keys}) == 1
    for key in keys:
        assert await client.pttl(key) > 0  # every key carries an expiry: idle keys vanish
    assert await client.pttl(limiter.redis_key("handle:some.one")) <= 300
    await asyncio.sleep(0.35)
    assert await client.exists(limiter.redis_key("handle:some.one")) == 0


async def test_script_is_reloaded_after_script_flush(
    client: aioredis.Redis, redis_prefix: str
) -> None:
    limiter = RedisRateLimiter(client, redis_prefix)
    lim = Limit("reload", 100, 3600.0, burst=100)  # T = 1 h: no refill during the test
    assert (await limiter.acquire_all_or_nothing([lim])).granted
    assert (await client.script_exists(SCRIPT_SHA)) == [True]
    await client.script_flush()
    assert (await client.script_exists(SCRIPT_SHA)) == [False]
    assert (await limiter.acquire_all_or_nothing([lim])).granted  # NOSCRIPT -> load -> run
    assert (await client.script_exists(SCRIPT_SHA)) == [True]
    assert (await limiter.remaining([lim]))["reload"] == pytest.approx(98, abs=0.01)


async def test_a_timed_out_call_is_never_replayed(
    client: aioredis.Redis, redis_prefix: str
) -> None:
    """Block the server (a 250 ms busy script) while the limiter's EVALSHA waits in the socket.
    The limiter times out after 150 ms and reports LimiterUnavailable; the server still runs
    the request once when the block ends, but never twice. (Sending through
    ``client.execute_command`` instead replays it on a fresh connection: 2 consumed.)"""
    limiter = RedisRateLimiter(client, redis_prefix, timeout=0.15)
    lim = Limit("once", 5, 3600.0, burst=5)
    assert (await limiter.acquire_all_or_nothing([lim])).granted  # warm a pooled connection
    blocker = aioredis.Redis.from_url(REDIS_URL)
    busy = (
        "local t = redis.call('TIME') local s = t[1] * 1e6 + t[2] "
        "repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - s > 250000 return 1"
    )
    try:
        blocking = asyncio.create_task(blocker.eval(busy, 0))
        await asyncio.sleep(0.05)
        with pytest.raises(LimiterUnavailable, match="not replayed"):
            await limiter.acquire_all_or_nothing([lim])
        await blocking
    finally:
        await blocker.aclose()
    await asyncio.sleep(0.1)
    left = (await limiter.remaining([lim]))["once"]
    assert 2.9 < left <= 4.0 + 1e-3  # 1 (warm-up) + at most 1 (the timed-out call) consumed


async def test_non_numeric_state_fails_closed(client: aioredis.Redis, redis_prefix: str) -> None:
    limiter = RedisRateLimiter(client, redis_prefix)
    await client.set(limiter.redis_key("garbage"), "not a number")
    with pytest.raises(LimiterUnavailable):
        await limiter.acquire_all_or_nothing([Limit("garbage", 1, 1.0)])


async def test_decode_responses_client_works(redis_prefix: str) -> None:
    c = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        limiter = RedisRateLimiter(c, redis_prefix)
        lim = Limit("decoded", 2, 10.0, burst=2)
        d = await limiter.acquire_all_or_nothing([lim])
        assert d.granted and d.token is not None
        await limiter.refund(d.token)
        assert (await limiter.remaining([lim]))["decoded"] == pytest.approx(2.0, abs=1e-3)
    finally:
        await c.aclose()


def test_prefix_without_braces() -> None:
    c = aioredis.Redis.from_url(REDIS_URL)
    with pytest.raises(ValueError):
        RedisRateLimiter(c, "{bad}")
