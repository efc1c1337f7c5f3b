"""The API's inline refresh (profiles by handle, posts by shortcode).

The original server refreshed a profile inline when its data was more than a day old. Here the
refresh goes through exactly what a batch run uses (the fallback crawler, the credential pool
and the stacked rate limits, same keys, same budget), stores the raw responses where backfills
find them and upserts the rows with their events in one transaction. When the budget has no
room within the wait allowed, the caller is told to come back later (the original's error
code 2, "Concurrency Limit Exceeded") and nothing is sent to any provider. Every provider call
made for a caller becomes a trace event (identity.dx / trace_log), as batch runs' calls do,
written whether the refresh succeeded or not.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import Engine, select

from beat.config import Settings
from beat.events.trace import trace_events
from beat.limits import load_specs, open_limiter
from beat.objects import ObjectStore, open_object_store
from beat.pipeline.batch import raw_lines, raw_prefix, raw_record
from beat.pipeline.family import FlowOutcome, WriteContext
from beat.pipeline.instagram import (
    PIPELINE,
    refresh_post_by_shortcode,
    refresh_profile_by_handle,
)
from beat.store.credentials import DbCredentialPool
from beat.store.models import instagram_account
from beat.store.outbox import write_events
from providers.crawler import InstagramCrawler
from providers.http import HttpCall
from providers.instagram.base import normalize_handle, normalize_shortcode
from providers.ratelimit import RateLimiter, make_before_request, target_handle

__all__ = ["InlineRefresher", "ProfileAnswer"]

MAX_AGE = timedelta(days=1)
FLOW = "refresh_profile_by_handle"
POST_FLOW = "refresh_post_by_shortcode"
#: The provider calls of the refresh running in this task (the crawler is shared).
_CALLS: contextvars.ContextVar[list[HttpCall] | None] = contextvars.ContextVar(
    "inline_refresh_calls", default=None
)


@dataclass(frozen=True)
class ProfileAnswer:
    profile: dict[str, Any] | None
    refreshed: bool


class InlineRefresher:
    """Open with ``await start()`` inside the serving loop, ``await close()`` at shutdown."""

    def __init__(self, engine: Engine, objects: ObjectStore, settings: Settings) -> None:
        self.engine = engine
        self.objects = objects
        self.settings = settings
        self.pool = DbCredentialPool(engine)
        self._session: aiohttp.ClientSession | None = None
        self._limiter: RateLimiter | None = None
        self._crawler: InstagramCrawler | None = None

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> InlineRefresher:
        objects = open_object_store(
            settings.object_store_url, endpoint_url=settings.s3_endpoint_url
        )
        return cls(engine, objects, settings)

    async def start(self) -> None:
        self._limiter = open_limiter(
            self.settings.redis_url,
            str(self.settings.ratelimit_path),
            load_specs(self.settings.rate_limits_file),
        )
        self._session = aiohttp.ClientSession()
        self._crawler = InstagramCrawler(
            self._session,
            self.pool,
            self.settings.provider_base_urls,
            timeout_seconds=self.settings.provider_timeout_seconds,
            before_request=make_before_request(
                self._limiter, timeout=self.settings.limiter_wait_seconds
            ),
            on_call=_record_call,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._limiter is not None:
            await self._limiter.aclose()

    async def profile(self, handle: str, *, force: bool = False) -> ProfileAnswer:
        """The stored profile, refreshed first when missing, older than a day, or ``force``.
        Provider errors propagate (``Deferred``, ``TargetFact``, ``NoProviderAvailable``...)."""
        clean = normalize_handle(handle)
        stored = await asyncio.to_thread(self._stored, clean)
        if stored is not None and not force and _fresh(stored):
            return ProfileAnswer(stored, refreshed=False)
        await self.refresh_profile(clean)
        return ProfileAnswer(await asyncio.to_thread(self._stored, clean), refreshed=True)

    async def refresh_profile(self, handle: str) -> None:
        """Fetch a profile and its recent posts now, and store them (no freshness check)."""
        clean = normalize_handle(handle)
        await self._refresh(FLOW, {"handle": clean}, clean, refresh_profile_by_handle)

    async def refresh_post(self, shortcode: str) -> None:
        """Fetch one post by shortcode now, and store it."""
        clean = normalize_shortcode(shortcode)
        await self._refresh(POST_FLOW, {"shortcode": clean}, clean, refresh_post_by_shortcode)

    async def _refresh(self, flow: str, params: dict[str, Any], target: str, handler: Any) -> None:
        assert self._crawler is not None, "call start() first"
        calls: list[HttpCall] = []
        token = _CALLS.set(calls)
        try:
            with target_handle(target):
                outcome = await handler(self._crawler, params)
        except BaseException:
            await asyncio.to_thread(self._store_traces, calls)
            raise
        finally:
            _CALLS.reset(token)
        await asyncio.to_thread(self._store, flow, params, outcome, calls)

    def _stored(self, handle: str) -> dict[str, Any] | None:
        query = select(instagram_account).where(instagram_account.c.handle == handle)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(instagram_account.c.refreshed_at.desc())).first()
        return dict(row._mapping) if row is not None else None

    def _store(
        self, flow: str, params: dict[str, Any], outcome: FlowOutcome, calls: list[HttpCall]
    ) -> None:
        """Raw responses first (a backfill rebuilds from them), then rows, events and traces."""
        record = raw_record(None, 1, flow, params, outcome)
        key = f"{raw_prefix('instagram', datetime.now(UTC).date())}api/{uuid.uuid4().hex}.jsonl.gz"
        self.objects.put(key, raw_lines([record]), "application/gzip")
        with self.engine.begin() as conn:
            PIPELINE.write(conn, [outcome], WriteContext())
            write_events(conn, trace_events(calls))

    def _store_traces(self, calls: list[HttpCall]) -> None:
        if calls:
            with self.engine.begin() as conn:
                write_events(conn, trace_events(calls))


def _record_call(call: HttpCall) -> None:
    calls = _CALLS.get()
    if calls is not None:
        calls.append(call)


def _fresh(row: dict[str, Any]) -> bool:
    refreshed = row.get("refreshed_at")
    if refreshed is None:
        return False
    if refreshed.tzinfo is None:
        refreshed = refreshed.replace(tzinfo=UTC)
    return datetime.now(UTC) - refreshed < MAX_AGE
