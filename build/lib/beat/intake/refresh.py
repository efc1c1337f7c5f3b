"""The API's inline profile refresh (``GET /profiles/instagram/byhandle/{handle}``).

The original server refreshed a profile inline when its data was more than a day old. Here the
refresh goes through exactly what a batch run uses (the fallback crawler, the credential pool
and the stacked rate limits, same keys, same budget), stores the raw responses where backfills
find them and upserts the rows with their events in one transaction. When the budget has no
room within the wait allowed, the caller is told to come back later (the original's error
code 2, "Concurrency Limit Exceeded") and nothing is sent to any provider.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import Engine, select

from beat.config import Settings
from beat.limits import load_specs, open_limiter
from beat.objects import ObjectStore, open_object_store
from beat.pipeline.batch import raw_lines, raw_prefix, raw_record
from beat.pipeline.family import FlowOutcome, WriteContext
from beat.pipeline.instagram import PIPELINE, refresh_profile_by_handle
from beat.store.credentials import DbCredentialPool
from beat.store.models import instagram_account
from providers.crawler import InstagramCrawler
from providers.instagram.base import normalize_handle
from providers.ratelimit import RateLimiter, make_before_request, target_handle

__all__ = ["InlineRefresher", "ProfileAnswer"]

MAX_AGE = timedelta(days=1)
FLOW = "refresh_profile_by_handle"


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
        assert self._crawler is not None, "call start() first"
        with target_handle(clean):
            outcome = await refresh_profile_by_handle(self._crawler, {"handle": clean})
        await asyncio.to_thread(self._store, clean, outcome)
        return ProfileAnswer(await asyncio.to_thread(self._stored, clean), refreshed=True)

    def _stored(self, handle: str) -> dict[str, Any] | None:
        query = select(instagram_account).where(instagram_account.c.handle == handle)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(instagram_account.c.refreshed_at.desc())).first()
        return dict(row._mapping) if row is not None else None

    def _store(self, handle: str, outcome: FlowOutcome) -> None:
        """Raw responses first (a backfill rebuilds from them), then rows and events."""
        record = raw_record(None, 1, FLOW, {"handle": handle}, outcome)
        key = f"{raw_prefix('instagram', datetime.now(UTC).date())}api/{uuid.uuid4().hex}.jsonl.gz"
        self.objects.put(key, raw_lines([record]), "application/gzip")
        with self.engine.begin() as conn:
            PIPELINE.write(conn, [outcome], WriteContext())


def _fresh(row: dict[str, Any]) -> bool:
    refreshed = row.get("refreshed_at")
    if refreshed is None:
        return False
    if refreshed.tzinfo is None:
        refreshed = refreshed.replace(tzinfo=UTC)
    return datetime.now(UTC) - refreshed < MAX_AGE
