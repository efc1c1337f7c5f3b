"""Redis backend: every operation is ONE call of ONE Lua script (EVALSHA).

* Time is Redis ``TIME``, read inside the script, so worker clocks never matter.
* Acquire is two-phase inside the script: compute every limit's would-be TAT and check it; only
  if all pass, ``SET`` every key (``PX`` = until the TAT, so idle keys vanish by themselves).
  A denial writes nothing and returns the largest wait and which limit gave it.
* Every key is ``{<prefix>}:<limit key>``: one hash tag, one cluster slot, so the multi-key
  script is valid on Redis Cluster.
* The script is sent with ``EVALSHA`` and loaded again only on ``NOSCRIPT`` (the script did not
  run, so resending is safe). Any other failure, in particular a timeout, is **never replayed**:
  the script may have committed, and a replay would count the request twice. We talk to a pooled
  connection directly for this reason: ``Redis.execute_command`` retries timeouts and
  connection errors (10 times for a ``Redis(host=...)`` client in redis-py 8) and would replay
  (``tests/ratelimit/test_redis_backend.py`` shows it). The command is RESP-packed by hand from
  cached pieces, and one watchdog task per limiter enforces the end-to-end ``timeout``
  instead of a timer per call: both were measurable client CPU per acquisition.
* Fail closed: an unreachable, failing or silent Redis raises ``LimiterUnavailable``; nothing
  is ever granted without the script's answer.

Redis Cluster: the script and keys are cluster-ready, but this class sends through a
``redis.asyncio.Redis`` connection pool; on a cluster, give it a client for the node that owns
the ``{<prefix>}`` slot (``CLUSTER KEYSLOT``) or add a cluster transport.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from providers.errors import scrub_text
from providers.ratelimit.core import (
    US,
    Decision,
    Grant,
    Limit,
    LimiterBase,
    gcra_remaining,
    validate_request,
)
from providers.ratelimit.errors import LimiterUnavailable
from providers.ratelimit.policy import RateSpecs

__all__ = ["SCRIPT", "SCRIPT_SHA", "RedisRateLimiter"]

#: The one script. KEYS: one GCRA cell per limit (all under one hash tag), holding the TAT in
#: microseconds as an 8-byte big-endian IEEE double (exact: below 2**53; ``struct`` is 3 us per
#: call cheaper than formatting 16-digit decimals, ~20% of the script's cost).
#: ARGV[1] op: 'a' acquire | 'r' refund | 'p' peek.
#: ARGV[2] '' to read Redis TIME (always, in production), else a client clock in microseconds
#:   (the fallback for servers that reject TIME in scripts; keys then get an hour of expiry
#:   margin, so a client clock lagging the server never expires a TAT early).
#: ARGV[3] cost. ARGV[2+2i], ARGV[3+2i]: per key, the interval T (us) and, for 'a', the
#:   tolerance burst*T (us); for 'r', the grant's time (us, the same for every key).
#: Replies (integers are exact: every value stays below 2**53): 'a' granted: the integer now;
#:   'a' denied: {now, wait_us, denying index}; 'r': now; 'p': {now, tat_1 .. tat_n}
#:   (0 = no key). The common reply is one integer, the cheapest to produce and to parse.
#:   Transcribes core.gcra_* line by line.
SCRIPT = """
local op = ARGV[1]
local now
local margin = 0
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
  margin = 3600000
end
local cost = tonumber(ARGV[3])
local n = #KEYS
local pack, unpack_d = struct.pack, struct.unpack
local tats = redis.call('MGET', unpack(KEYS))
for i = 1, n do
  local v = tats[i]
  if v then
    if #v ~= 8 then
      return redis.error_reply('beat rate limiter: corrupt state in ' .. KEYS[i])
    end
    v = unpack_d('>d', v)
    if v ~= v then
      return redis.error_reply('beat rate limiter: corrupt state in ' .. KEYS[i])
    end
    tats[i] = v
  else
    tats[i] = 0
  end
end
if op == 'a' then
  local worst, denied, new = 0, 0, {}
  for i = 1, n do
    local tat = tats[i]
    if tat < now then tat = now end
    local ntat = tat + cost * tonumber(ARGV[2 + 2 * i])
    local allow_at = ntat - tonumber(ARGV[3 + 2 * i])
    if allow_at > now and allow_at - now > worst then
      worst = allow_at - now
      denied = i
    end
    new[i] = ntat
  end
  if denied > 0 then
    return {now, worst, denied}
  end
  for i = 1, n do
    redis.call('SET', KEYS[i], pack('>d', new[i]),
               'PX', math.ceil((new[i] - now) / 1000) + margin)
  end
  return now
elseif op == 'r' then
  for i = 1, n do
    local full = cost * tonumber(ARGV[2 + 2 * i])
    local give = tonumber(ARGV[3 + 2 * i]) + full - now
    if give > full then give = full end
    if give > 0 then
      local tat = tats[i] - give
      if tat > now then
        redis.call('SET', KEYS[i], pack('>d', tat),
                   'PX', math.ceil((tat - now) / 1000) + margin)
      else
        redis.call('DEL', KEYS[i])
      end
    end
  end
  return now
elseif op == 'p' then
  local out = {now}
  for i = 1, n do
    out[i + 1] = tats[i]
  end
  return out
end
return redis.error_reply('beat rate limiter: unknown op')
"""

SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()

_CACHE_MAX = 65536


class RedisRateLimiter(LimiterBase):
    """Stacked GCRA limits on Redis (see the module docstring).

    ``client`` is any ``redis.asyncio.Redis`` (its retry settings do not matter: the limiter
    never replays). ``prefix`` becomes the hash tag of every key. ``timeout`` bounds each
    operation end to end (pool wait, connect, send, reply); past it the outcome is unknown and
    ``LimiterUnavailable`` is raised. ``specs`` feeds ``acquire_for`` (default specs if None).

    ``client_clock`` (integer microseconds) replaces Redis ``TIME``: only for servers that
    reject ``TIME`` in scripts (reported on ElastiCache Serverless), where every worker must
    then run a synchronized clock; the tests use it to drive both backends with one synthetic
    clock. Leave it None.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str = "beat:rl",
        *,
        timeout: float = 2.0,
        specs: RateSpecs | None = None,
        owns_client: bool = False,
        client_clock: Callable[[], int] | None = None,
    ) -> None:
        if not prefix or any(c in prefix for c in "{}\r\n "):
            raise ValueError(f"prefix must be non-empty, without braces or spaces: {prefix!r}")
        if timeout <= 0:
            raise ValueError("timeout must be > 0")
        self.client = client
        self.prefix = prefix
        self.timeout = timeout
        self.specs = specs
        self._tag = "{" + prefix + "}:"
        self._owns_client = owns_client
        self._client_clock = client_clock
        self._script = SCRIPT
        self._sha = SCRIPT_SHA
        self._argv_cache: dict[Limit, bytes] = {}
        self._key_cache: dict[str, bytes] = {}
        self._heads: dict[tuple[int, bool], bytes] = {}
        self._inflight: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self._watchdog_loop: asyncio.AbstractEventLoop | None = None
        kwargs = client.connection_pool.connection_kwargs
        self._where = f"redis at {kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        if kwargs.get("path"):
            self._where = f"redis at unix:{kwargs['path']}"

    @classmethod
    def from_url(
        cls,
        url: str,
        prefix: str = "beat:rl",
        *,
        timeout: float = 2.0,
        specs: RateSpecs | None = None,
    ) -> RedisRateLimiter:
        """A limiter owning its own client: short socket timeouts, no client-side retries.
        ``aclose()`` closes the client."""
        client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(client, prefix, timeout=timeout, specs=specs, owns_client=True)

    def redis_key(self, key: str) -> str:
        """The Redis key of a limit key: ``{prefix}:key`` (one hash tag for all)."""
        return self._tag + key

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    # -- operations ---------------------------------------------------------------------------

    async def acquire_all_or_nothing(self, limits: Sequence[Limit], cost: int = 1) -> Decision:
        lims = validate_request(limits, cost)
        if not lims:
            return _empty_grant(cost)
        argv = [self._static_argv(lim) for lim in lims]
        reply = await self._eval(b"a", lims, cost, argv)
        if type(reply) is int:
            grant = Grant(limits=lims, cost=cost, at_us=reply)
            return Decision(True, 0.0, None, grant, reply / US)
        now_us, wait_us, index = _ints(reply, 3)
        return Decision(False, wait_us / US, lims[index - 1].key, None, now_us / US)

    async def refund(self, grant: Grant) -> None:
        if grant.refunded or not grant.limits:
            grant.refunded = True
            return
        at = _bulk(b"%d" % grant.at_us)
        argv = [_bulk(b"%d" % lim.interval_us) + at for lim in grant.limits]
        await self._eval(b"r", grant.limits, grant.cost, argv)
        grant.refunded = True

    async def remaining(self, limits: Sequence[Limit]) -> dict[str, float]:
        lims = validate_request(limits, 1) if limits else ()
        if not lims:
            return {}
        now_us, *tats = _ints(await self._eval(b"p", lims, 1, []), 1 + len(lims))
        return {
            lim.key: gcra_remaining(now_us, tat, lim) for lim, tat in zip(lims, tats, strict=True)
        }

    # -- plumbing -----------------------------------------------------------------------------

    def _static_argv(self, lim: Limit) -> bytes:
        """``interval, tolerance`` of a limit, RESP-encoded once (cached per limit)."""
        seg = self._argv_cache.get(lim)
        if seg is None:
            if len(self._argv_cache) >= _CACHE_MAX:
                self._argv_cache.clear()
            seg = _bulk(b"%d" % lim.interval_us) + _bulk(b"%d" % lim.tolerance_us)
            self._argv_cache[lim] = seg
        return seg

    def _key_segment(self, lim: Limit) -> bytes:
        seg = self._key_cache.get(lim.key)
        if seg is None:
            if len(self._key_cache) >= _CACHE_MAX:
                self._key_cache.clear()
            seg = self._key_cache[lim.key] = _bulk((self._tag + lim.key).encode())
        return seg

    def _command(self, op: bytes, lims: Sequence[Limit], cost: int, argv: Sequence[bytes]) -> bytes:
        """The whole EVALSHA command, RESP-packed by hand from cached pieces (redis-py's
        generic packer was the largest client-side cost)."""
        n = len(lims)
        head = self._heads.get((n, bool(argv)))
        if head is None:
            count = 6 + n + (2 * n if argv else 0)
            head = b"*%d\r\n" % count + _bulk(b"EVALSHA") + _bulk(self._sha.encode())
            head = self._heads[(n, bool(argv))] = head + _bulk(b"%d" % n)
        if self._client_clock is None:
            middle = _MIDDLE.get((op, cost)) or _bulk(op) + _EMPTY + _bulk(b"%d" % cost)
        else:
            now = b"%d" % int(self._client_clock())
            middle = _bulk(op) + _bulk(now) + _bulk(b"%d" % cost)
        return b"".join([head, *[self._key_segment(lim) for lim in lims], middle, *argv])

    async def _eval(
        self, op: bytes, lims: Sequence[Limit], cost: int, argv: Sequence[bytes]
    ) -> Any:
        """EVALSHA once; on NOSCRIPT load and EVALSHA once more. Nothing else is retried.

        The end-to-end bound is enforced by a watchdog task (``_watch``) rather than one
        ``asyncio.timeout`` per call, whose timer handle cost ~5 us per operation."""
        command = self._command(op, lims, cost, argv)
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always inside a task under asyncio
            raise RuntimeError("RedisRateLimiter must be used from an asyncio task")
        loop = asyncio.get_running_loop()
        self._inflight[task] = loop.time() + self.timeout
        if self._watchdog is None or self._watchdog_loop is not loop or self._watchdog.done():
            self._watchdog_loop = loop
            self._watchdog = loop.create_task(self._watch())
        try:
            try:
                reply = await self._send(command)
            except NoScriptError:
                await self._send(_pack(b"SCRIPT", b"LOAD", self._script.encode()))
                reply = await self._send(command)
        except asyncio.CancelledError:
            if task in self._expired and task.uncancel() == 0:
                raise self._unavailable(
                    f"no answer within {self.timeout:g}s; the outcome is unknown and is not "
                    "replayed"
                ) from None
            raise
        except (RedisError, OSError) as exc:
            detail = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, (RedisTimeoutError, TimeoutError)):
                detail += "; the outcome is unknown and is not replayed"
            raise self._unavailable(detail) from None
        finally:
            del self._inflight[task]
            self._expired.discard(task)
        return reply

    async def _watch(self) -> None:
        """Cancel operations past their deadline (checked every ``min(50 ms, timeout/4)``);
        ``_eval`` turns that cancellation into ``LimiterUnavailable``. Exits when idle."""
        loop = asyncio.get_running_loop()
        tick = min(0.05, self.timeout / 4)
        while self._inflight:
            await asyncio.sleep(tick)
            now = loop.time()
            for task, deadline in list(self._inflight.items()):
                if deadline <= now and task not in self._expired:
                    self._expired.add(task)
                    task.cancel()

    async def _send(self, packed: bytes) -> Any:
        """One packed command on one pooled connection, without redis-py's retry layer.

        On anything but a server error reply (which leaves the connection in sync) the
        connection is dropped, so a half-read reply can never leak into the next command."""
        pool = self.client.connection_pool
        conn = await pool.get_connection()
        try:
            await conn.send_packed_command(packed)
            return await conn.read_response()
        except ResponseError:
            raise
        except BaseException:
            await conn.disconnect(nowait=True)
            raise
        finally:
            await pool.release(conn)

    def _unavailable(self, detail: str) -> LimiterUnavailable:
        message = scrub_text(
            f"rate limiter backend unavailable ({self._where}): {detail}; failing closed, "
            "nothing granted"
        )
        return LimiterUnavailable(message)


def _ints(reply: Any, n: int) -> list[int]:
    """An array reply of ``n`` integers (anything else is a protocol error: fail closed)."""
    if not isinstance(reply, list) or len(reply) != n or any(type(v) is not int for v in reply):
        raise LimiterUnavailable(
            f"unexpected rate limiter script reply ({type(reply).__name__}); failing closed, "
            "nothing granted"
        )
    return reply


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


_EMPTY = _bulk(b"")
#: The op/now/cost arguments of the common calls (server time, cost 1..4), pre-packed.
_MIDDLE = {
    (op, cost): _bulk(op) + _EMPTY + _bulk(b"%d" % cost)
    for op in (b"a", b"r", b"p")
    for cost in range(1, 5)
}


def _pack(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(_bulk(a) for a in args)


def _empty_grant(cost: int) -> Decision:
    now_us = time.time_ns() // 1000
    grant = Grant(limits=(), cost=cost, at_us=now_us)
    return Decision(True, 0.0, None, grant, now_us / US)
