"""Embedded backend: one SQLite file shared by every process of one machine.

Same semantics as the Redis backend (same ``core.gcra_*`` arithmetic, same tests):

* Atomicity: each operation is one ``BEGIN IMMEDIATE`` transaction, which takes the database's
  write lock before reading, so read-check-write of all the request's keys is atomic across
  threads and processes; a denial commits nothing.
* Time: ``time.time()`` (as ``time.time_ns() // 1000``), read *after* the write lock is taken,
  so grants are stamped in commit order. Every process on the machine reads the same system
  clock, which plays the role of Redis ``TIME``. A clock stepped backwards only delays grants
  (TATs stay ahead); stepped forwards it releases at most the step's worth of capacity.
* Durability: WAL with ``synchronous=NORMAL``; a power cut may lose the last grants' TATs, i.e.
  briefly over-admit by those few grants. Idle rows (TAT in the past) are purged now and then.
* Async: calls run on a dedicated one-thread executor (``asyncio.to_thread`` in spirit, but
  without tying up the event loop's default executor, which DNS resolution needs). Within a
  process operations are therefore serialized; across processes SQLite's lock serializes them.
* Fail closed: a missing/unwritable path, a corrupt file or a lock not obtained within
  ``busy_timeout`` seconds raises ``LimiterUnavailable``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from providers.errors import scrub_text
from providers.ratelimit.core import (
    US,
    Decision,
    Grant,
    Limit,
    LimiterBase,
    gcra_acquire,
    gcra_refund,
    gcra_remaining,
    refund_amount,
    validate_request,
)
from providers.ratelimit.errors import LimiterUnavailable
from providers.ratelimit.policy import RateSpecs

__all__ = ["LocalRateLimiter", "default_local_path"]

R = TypeVar("R")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS beat_rl (key TEXT PRIMARY KEY, tat INTEGER NOT NULL) WITHOUT ROWID"
)
_PURGE_EVERY_US = 60 * US


def default_local_path() -> Path:
    """``$BEAT_RATELIMIT_DB`` or ``~/.cache/beat/ratelimit.sqlite3``."""
    env = os.environ.get("BEAT_RATELIMIT_DB")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "beat" / "ratelimit.sqlite3"


def _wall_clock_us() -> int:
    return time.time_ns() // 1000


class LocalRateLimiter(LimiterBase):
    """Stacked GCRA limits in a SQLite file (see the module docstring).

    ``clock`` returns integer microseconds; it exists for tests (the default is the system
    clock, which is what makes processes agree). ``busy_timeout`` is how long to wait for
    another process's write lock: a transaction holds it for well under a millisecond, but a
    machine starved of CPU can stretch that by seconds, and giving up means failing closed."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 15.0,
        specs: RateSpecs | None = None,
        clock: Callable[[], int] = _wall_clock_us,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.specs = specs
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="beat-rl")
        self._conn: sqlite3.Connection | None = None
        self._last_purge = 0
        self._closed = False

    # -- operations ---------------------------------------------------------------------------

    async def acquire_all_or_nothing(self, limits: Sequence[Limit], cost: int = 1) -> Decision:
        lims = validate_request(limits, cost)
        if not lims:
            now = self._clock()
            return Decision(True, 0.0, None, Grant(limits=(), cost=cost, at_us=now), now / US)
        return await self._run(lambda conn: self._acquire_tx(conn, lims, cost))

    async def refund(self, grant: Grant) -> None:
        if grant.refunded or not grant.limits:
            grant.refunded = True
            return
        await self._run(lambda conn: self._refund_tx(conn, grant))
        grant.refunded = True

    async def remaining(self, limits: Sequence[Limit]) -> dict[str, float]:
        lims = validate_request(limits, 1) if limits else ()
        if not lims:
            return {}

        def peek(conn: sqlite3.Connection) -> dict[str, float]:
            now = self._clock()
            tats = self._read(conn, lims)
            pairs = zip(lims, tats, strict=True)
            return {lim.key: gcra_remaining(now, tat, lim) for lim, tat in pairs}

        return await self._run(peek, write=False)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True

        def close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, close)
        self._executor.shutdown(wait=False)

    # -- transactions (run on the executor thread) ---------------------------------------------

    def _acquire_tx(self, conn: sqlite3.Connection, lims: tuple[Limit, ...], cost: int) -> Decision:
        now = self._clock()
        tats = self._read(conn, lims)
        granted, wait, denied, new = gcra_acquire(now, tats, lims, cost)
        if not granted:
            return Decision(False, wait / US, lims[denied].key, None, now / US)
        conn.executemany(
            "INSERT INTO beat_rl (key, tat) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET tat = excluded.tat",
            [(lim.key, tat) for lim, tat in zip(lims, new, strict=True)],
        )
        self._maybe_purge(conn, now)
        grant = Grant(limits=lims, cost=cost, at_us=now)
        return Decision(True, 0.0, None, grant, now / US)

    def _refund_tx(self, conn: sqlite3.Connection, grant: Grant) -> None:
        now = self._clock()
        tats = self._read(conn, grant.limits)
        for lim, tat in zip(grant.limits, tats, strict=True):
            if refund_amount(now, grant.at_us, lim.interval_us, grant.cost) <= 0:
                continue  # nothing left to give back (same rule as the Lua script)
            new = gcra_refund(now, tat, grant.at_us, lim.interval_us, grant.cost)
            if new > now:
                conn.execute("UPDATE beat_rl SET tat = ? WHERE key = ?", (new, lim.key))
            else:
                conn.execute("DELETE FROM beat_rl WHERE key = ?", (lim.key,))

    @staticmethod
    def _read(conn: sqlite3.Connection, lims: Sequence[Limit]) -> list[int]:
        marks = ",".join("?" * len(lims))
        rows = dict(
            conn.execute(
                f"SELECT key, tat FROM beat_rl WHERE key IN ({marks})",
                [lim.key for lim in lims],
            ).fetchall()
        )
        return [int(rows.get(lim.key, 0)) for lim in lims]

    def _maybe_purge(self, conn: sqlite3.Connection, now: int) -> None:
        if now - self._last_purge >= _PURGE_EVERY_US:
            self._last_purge = now
            conn.execute("DELETE FROM beat_rl WHERE tat <= ?", (now,))

    # -- plumbing -----------------------------------------------------------------------------

    async def _run(self, tx: Callable[[sqlite3.Connection], R], *, write: bool = True) -> R:
        if self._closed:
            raise LimiterUnavailable("rate limiter is closed; failing closed, nothing granted")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transaction, tx, write)

    def _transaction(self, tx: Callable[[sqlite3.Connection], R], write: bool) -> R:
        try:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = tx(conn)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            return result
        except (sqlite3.Error, OSError) as exc:
            message = scrub_text(
                f"rate limiter backend unavailable (sqlite at {self.path}): "
                f"{type(exc).__name__}: {exc}; failing closed, nothing granted"
            )
            raise LimiterUnavailable(message) from None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute(_SCHEMA)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn
