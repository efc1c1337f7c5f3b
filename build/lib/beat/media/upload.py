"""Download media and store it once: ``process_media`` is the library entry point.

For each ``MediaItem`` (an entity's picture or video URL):

1. A URL already in ``asset_log`` is not fetched again: the same entity is ``already_stored``;
   another entity gets a row pointing at the stored key (``deduplicated``).
2. Otherwise the URL is fetched safely (``beat.media.fetch``), typed from its bytes and hashed
   while streaming. Items sharing a URL in one call share one fetch.
3. Content already stored (same SHA-256 under some key) is not uploaded again: the row points
   at that key (``deduplicated``). Otherwise the body goes to the entity's own key
   ``assets/{entity_type}s/{platform}/{entity_id}.{ext}`` (``uploaded``).
4. ``asset_log`` rows are upserted on ``entity_id`` at the end of the call.

Permanent outcomes (``skipped``: expired signature, not media, too large, 4xx; ``refused``:
unsafe URL or bad item) are returned with their reason for the caller to record in the
request's status; ``failed`` (network, timeout, 5xx, 429, object store errors) is retryable.

Keys are shared by identical content, and an entity's own key is overwritten when its media
changes. Before that happens, any other entity whose row points at the key gets the old bytes
copied to its own key and its row repointed ("hand-over"), so no row ever ends up pointing at
bytes other than its own.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import IO, Any, Literal, TypeVar

from sqlalchemy import Engine

from beat.media.errors import MediaError, OutcomeStatus
from beat.media.fetch import Download, SafeFetcher, SessionFactory
from beat.media.guard import FetchPolicy
from beat.media.sniff import BY_KEY_EXTENSION, MP4, hint_from_url
from beat.objects import LocalFolderStore, ObjectStore, S3Store
from beat.store.assets import (
    AssetRecord,
    find_by_hashes,
    find_known,
    find_referrers,
    repoint,
    upsert_assets,
)
from providers.model import InstagramPost, InstagramProfile

__all__ = [
    "ENTITY_TYPES",
    "MediaItem",
    "MediaOutcome",
    "asset_key",
    "media_items_from",
    "process_media",
    "summarize",
]

T = TypeVar("T")

ENTITY_TYPES = frozenset({"POST", "PROFILE"})
ASSET_TYPES = frozenset({"IMAGE", "VIDEO"})
STORED: frozenset[str] = frozenset({"uploaded", "deduplicated", "already_stored"})
_SAFE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")
_SAFE_PLATFORM = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


def asset_key(entity_type: str, platform: str, entity_id: str, ext: str) -> str:
    """The object-store key of an entity's media (the original's layout)."""
    return f"assets/{entity_type.lower()}s/{platform.lower()}/{entity_id}.{ext}"


def content_type_of_key(key: str) -> str | None:
    ext = key.rsplit(".", 1)[-1].lower() if "." in key else ""
    if ext == "mp4":
        return MP4.content_type
    media = BY_KEY_EXTENSION.get(ext)
    return media.content_type if media else None


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One entity's media to store (the params of the original ``asset_upload_flow``)."""

    entity_type: str  # POST | PROFILE
    entity_id: str
    platform: str  # INSTAGRAM, YOUTUBE...
    asset_type: str  # IMAGE | VIDEO (what the caller expects; the bytes decide what is stored)
    original_url: str

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> MediaItem:
        """From ``asset_upload_flow`` params (``hash`` is ignored: we hash the content)."""
        return cls(
            entity_type=str(params["entity_type"]).upper(),
            entity_id=str(params["entity_id"]),
            platform=str(params["platform"]).upper(),
            asset_type=str(params.get("asset_type") or "IMAGE").upper(),
            original_url=str(params["original_url"]),
        )

    def key(self, ext: str) -> str:
        return asset_key(self.entity_type, self.platform, self.entity_id, ext)

    def problem(self) -> str | None:
        """Why this item cannot be processed at all (bad input), or None."""
        if self.entity_type not in ENTITY_TYPES:
            return f"bad item: entity_type {self.entity_type!r} is not POST or PROFILE"
        if self.asset_type not in ASSET_TYPES:
            return f"bad item: asset_type {self.asset_type!r} is not IMAGE or VIDEO"
        if not _SAFE_ID.match(self.entity_id) or ".." in self.entity_id:
            return f"bad item: entity_id {self.entity_id[:80]!r} cannot be part of a key"
        if not _SAFE_PLATFORM.match(self.platform):
            return f"bad item: platform {self.platform[:40]!r}"
        if not self.original_url:
            return "bad item: no original_url"
        return None


@dataclass(frozen=True, slots=True)
class MediaOutcome:
    """What happened to one item. ``key`` is where its bytes are (for stored outcomes)."""

    item: MediaItem
    status: OutcomeStatus
    key: str | None = None
    content_type: str | None = None
    bytes: int | None = None
    reason: str | None = None
    content_hash: str | None = None

    @property
    def stored(self) -> bool:
        return self.status in STORED

    @property
    def retryable(self) -> bool:
        """Only network/5xx/store faults are worth another attempt; everything else is final."""
        return self.status == "failed"

    @property
    def request_status(self) -> Literal["COMPLETE", "FAILED"]:
        """How the request that asked for this item ends: stored is COMPLETE; skipped and
        refused are FAILED for good; failed is FAILED only once its retries are used up."""
        return "COMPLETE" if self.stored else "FAILED"

    @property
    def message(self) -> str:
        """One line for the request's status/error (``"skipped: URL signature expired"``)."""
        if self.stored:
            detail = f" ({self.reason})" if self.reason else ""
            return f"{self.status}: {self.key}{detail}"
        return f"{self.status}: {self.reason or 'no reason given'}"


def summarize(outcomes: Iterable[MediaOutcome]) -> dict[str, Any]:
    """Counts for run metadata: per status, bytes uploaded, the most common reasons."""
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    uploaded_bytes = 0
    for outcome in outcomes:
        statuses[outcome.status] += 1
        if outcome.status == "uploaded":
            uploaded_bytes += outcome.bytes or 0
        if not outcome.stored and outcome.reason:
            reasons[f"{outcome.status}: {outcome.reason.split(':', 1)[0]}"] += 1
    return {
        "items": sum(statuses.values()),
        "statuses": dict(statuses),
        "uploaded_bytes": uploaded_bytes,
        "reasons": dict(reasons.most_common(10)),
    }


def media_items_from(
    profiles: Iterable[InstagramProfile] = (),
    posts: Iterable[InstagramPost] = (),
    *,
    platform: str = "INSTAGRAM",
) -> list[MediaItem]:
    """Items for profile pictures (``profile_pic_url``, keyed by ``profile_id``) and post media
    (``display_url``, keyed by ``shortcode``); entities without a URL are left out, and an
    entity listed twice keeps its last URL."""
    items: dict[tuple[str, str], MediaItem] = {}
    for profile in profiles:
        if profile.profile_pic_url:
            items[("PROFILE", profile.profile_id)] = MediaItem(
                "PROFILE", profile.profile_id, platform, "IMAGE", profile.profile_pic_url
            )
    for post in posts:
        if post.display_url:
            hint = hint_from_url(post.display_url)
            asset_type = hint.asset_type if hint is not None else "IMAGE"
            items[("POST", post.shortcode)] = MediaItem(
                "POST", post.shortcode, platform, asset_type, post.display_url
            )
    return list(items.values())


# ------------------------------------------------------------------------------ object store


def put_download(store: ObjectStore, key: str, download: Download) -> None:
    """Upload a download with bounded memory: a spilled body is streamed from its temp file
    (S3: ``put_object`` with the file as body; a local folder: a copy; a store with a
    ``put_file(key, file, content_type)`` method: that), a body in memory goes as bytes."""
    content_type = download.media.content_type
    if isinstance(store, S3Store):
        # Straight to the client: a spilled body streams from its file, and S3 verifies the
        # SHA-256 we computed while downloading (a corrupted upload is refused, not stored).
        store.client.put_object(
            Bucket=store.bucket,
            Key=store.prefix + key,
            Body=download.read() if download.in_memory else download.open(),
            ContentType=content_type,
            ContentLength=download.size,
            ChecksumSHA256=base64.b64encode(bytes.fromhex(download.sha256)).decode(),
        )
        return
    if download.in_memory:
        store.put(key, download.read(), content_type)
        return
    body = download.open()
    put_file = getattr(store, "put_file", None)
    if callable(put_file):
        put_file(key, body, content_type)
    elif isinstance(store, LocalFolderStore):
        _put_local_file(store, key, body)
    else:
        store.put(key, body.read(), content_type)


def _put_local_file(store: LocalFolderStore, key: str, body: IO[bytes]) -> None:
    path = store._path(key)  # its key check (no escape from the root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            shutil.copyfileobj(body, handle, 1024 * 1024)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def copy_object(store: ObjectStore, source: str, target: str) -> None:
    """Copy a stored object (server-side on S3)."""
    if isinstance(store, S3Store):
        store.client.copy_object(
            Bucket=store.bucket,
            Key=store.prefix + target,
            CopySource={"Bucket": store.bucket, "Key": store.prefix + source},
        )
        return
    store.put(target, store.get(source), content_type_of_key(target) or "application/octet-stream")


# ------------------------------------------------------------------------------ the run


class _MediaRun:
    def __init__(
        self,
        *,
        fetcher: SafeFetcher,
        store: ObjectStore,
        engine: Engine,
        concurrency: int,
    ) -> None:
        self.fetcher = fetcher
        self.store = store
        self.engine = engine
        self.gate = asyncio.Semaphore(concurrency)
        # Uploads and queries block: they get their own threads, as many as fetches in flight.
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="beat-media")
        self.known_entities: dict[str, AssetRecord] = {}
        self.known_urls: dict[str, list[AssetRecord]] = {}
        # Rows to upsert at the end, by entity (the call's view of asset_log).
        self.rows: dict[str, AssetRecord] = {}
        # In-call content index: hash -> future of the key holding it (None: its owner failed).
        self.by_hash: dict[str, asyncio.Future[str | None]] = {}
        # What each key written or handed over in this call holds now, and a lock per key so
        # "point at K" and "overwrite K" never interleave.
        self.key_content: dict[str, str] = {}
        self.key_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.hash_waiters: dict[str, list[asyncio.Future[AssetRecord | None]]] = {}
        self.hash_lookup: asyncio.Task[None] | None = None

    async def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, partial(fn, *args))

    # -- database ------------------------------------------------------------------------------

    def _load_known(self, entity_ids: list[str], urls: list[str]) -> None:
        with self.engine.connect() as conn:
            self.known_entities, self.known_urls = find_known(
                conn, entity_ids=entity_ids, urls=urls
            )

    def _find_by_hashes(self, hashes: list[str]) -> dict[str, AssetRecord]:
        with self.engine.connect() as conn:
            return find_by_hashes(conn, hashes)

    async def find_by_hash(self, content_hash: str) -> AssetRecord | None:
        """The stored row with this content, if any. Lookups are coalesced: while one query
        runs, the hashes asked for meanwhile wait and go together in the next one (a query
        per item cost ~1 ms of CPU, and on SQLite every transaction takes the write lock)."""
        waiter: asyncio.Future[AssetRecord | None] = asyncio.get_running_loop().create_future()
        self.hash_waiters.setdefault(content_hash, []).append(waiter)
        if self.hash_lookup is None:
            self.hash_lookup = asyncio.create_task(self._look_up_hashes())
        return await waiter

    async def _look_up_hashes(self) -> None:
        try:
            while self.hash_waiters:
                batch, self.hash_waiters = self.hash_waiters, {}
                try:
                    found = await self.blocking(self._find_by_hashes, list(batch))
                except Exception as exc:
                    for waiters in batch.values():
                        for waiter in waiters:
                            if not waiter.done():
                                waiter.set_exception(exc)
                    continue
                for content_hash, waiters in batch.items():
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_result(found.get(content_hash))
        finally:
            self.hash_lookup = None

    def _flush(self, records: list[AssetRecord]) -> None:
        with self.engine.begin() as conn:
            upsert_assets(conn, records)

    # -- items ---------------------------------------------------------------------------------

    def record(self, item: MediaItem, key: str, content_hash: str, asset_type: str) -> None:
        self.rows[item.entity_id] = AssetRecord(
            entity_id=item.entity_id,
            entity_type=item.entity_type,
            platform=item.platform,
            asset_type=asset_type,
            asset_url=key,
            original_url=item.original_url,
            content_hash=content_hash,
        )

    def from_known_url(self, item: MediaItem, rows: list[AssetRecord]) -> MediaOutcome:
        """The URL was fetched before: no network, no upload."""
        own = next((r for r in rows if r.entity_id == item.entity_id), None)
        source = own or rows[0]
        key = source.asset_url or ""
        content_type = content_type_of_key(key)
        if own is not None:
            return MediaOutcome(
                item, "already_stored", key, content_type, content_hash=own.content_hash
            )
        self.record(item, key, source.content_hash or "", source.asset_type or item.asset_type)
        return MediaOutcome(
            item,
            "deduplicated",
            key,
            content_type,
            content_hash=source.content_hash,
            reason=f"same URL as {source.entity_type} {source.entity_id}",
        )

    async def fetch_group(self, url: str, items: list[MediaItem]) -> list[MediaOutcome]:
        """Fetch a URL once for every item that names it, and store it for the first."""
        try:
            return await self._fetch_group(url, items)
        except Exception as exc:  # a bug of ours: report it per item, retryable
            reason = f"internal {type(exc).__name__}: {exc}"
            return [MediaOutcome(item, "failed", reason=reason) for item in items]

    async def _fetch_group(self, url: str, items: list[MediaItem]) -> list[MediaOutcome]:
        async with self.gate:
            try:
                download = await self.fetcher.fetch(url)
            except MediaError as exc:
                return [MediaOutcome(item, exc.status, reason=exc.reason) for item in items]
            with download:
                first = await self.place(items[0], download)
        outcomes = [first]
        for item in items[1:]:
            if not first.stored or first.key is None:
                outcomes.append(replace(first, item=item))
                continue
            self.record(item, first.key, download.sha256, download.media.asset_type)
            outcomes.append(
                replace(
                    first,
                    item=item,
                    status="deduplicated",
                    reason=f"same URL as {items[0].entity_type} {items[0].entity_id}",
                )
            )
        return outcomes

    async def place(self, item: MediaItem, download: Download) -> MediaOutcome:
        """Store one download: point at identical content if there is some, else upload."""
        digest = download.sha256
        media = download.media
        base = MediaOutcome(
            item, "uploaded", content_type=media.content_type, bytes=download.size,
            content_hash=digest,
        )  # fmt: skip
        while (pending := self.by_hash.get(digest)) is not None:
            key = await pending
            if key is not None:
                self.record(item, key, digest, media.asset_type)
                return replace(
                    base, status="deduplicated", key=key, reason=f"same content as {key}"
                )
            # Its first holder failed to store it: try ourselves (unless someone else is).
        claim: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.by_hash[digest] = claim
        stored_at: str | None = None
        try:
            try:
                found = await self.find_by_hash(digest)
            except Exception as exc:
                return replace(base, status="failed", reason=f"asset_log lookup failed: {exc}")
            if found is not None and found.asset_url:
                key = found.asset_url
                async with self.key_locks[key]:
                    if self.key_content.get(key, digest) == digest:
                        self.record(item, key, digest, media.asset_type)
                        stored_at = key
                if stored_at is not None:
                    if found.entity_id == item.entity_id and key == item.key(media.ext):
                        return replace(base, status="already_stored", key=key,
                                       reason="same content, new URL")  # fmt: skip
                    return replace(
                        base,
                        status="deduplicated",
                        key=key,
                        reason=f"same content as {found.entity_type} {found.entity_id}",
                    )
            own_key = item.key(media.ext)
            async with self.key_locks[own_key]:
                try:
                    await self._hand_over(item, own_key, digest)
                    await self.blocking(put_download, self.store, own_key, download)
                except Exception as exc:
                    return replace(
                        base, status="failed", reason=f"upload failed: {type(exc).__name__}: {exc}"
                    )
                self.key_content[own_key] = digest
                self.record(item, own_key, digest, media.asset_type)
                stored_at = own_key
            return replace(base, key=own_key)
        finally:
            claim.set_result(stored_at)
            if stored_at is None and self.by_hash.get(digest) is claim:
                del self.by_hash[digest]

    async def _hand_over(self, item: MediaItem, own_key: str, digest: str) -> None:
        """Before ``own_key`` gets new bytes, move its old bytes to the first other entity whose
        row points at it, and repoint every such row there."""
        existing = self.known_entities.get(item.entity_id)
        old_hash = self.key_content.get(own_key)
        if old_hash is None and existing is not None and existing.asset_url == own_key:
            old_hash = existing.content_hash
        if old_hash is None or old_hash == digest:
            return
        pending = [
            r for r in self.rows.values()
            if r.asset_url == own_key and r.entity_id != item.entity_id
        ]  # fmt: skip
        stored = await self.blocking(self._referrers, own_key, item.entity_id)
        pending_ids = {r.entity_id for r in pending}
        heirs = pending + [r for r in stored if r.entity_id not in pending_ids]
        if not heirs:
            return
        heir = heirs[0]
        ext = own_key.rsplit(".", 1)[-1]
        heir_key = asset_key(heir.entity_type or "", heir.platform or "", heir.entity_id, ext)
        await self.blocking(copy_object, self.store, own_key, heir_key)
        await self.blocking(self._repoint, [r.entity_id for r in stored], heir_key)
        for record in pending:
            self.rows[record.entity_id] = replace(record, asset_url=heir_key)
        self.key_content[heir_key] = old_hash
        moved: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        moved.set_result(heir_key)
        self.by_hash[old_hash] = moved

    def _referrers(self, key: str, entity_id: str) -> list[AssetRecord]:
        with self.engine.connect() as conn:
            return find_referrers(conn, key, besides=entity_id)

    def _repoint(self, entity_ids: list[str], key: str) -> None:
        with self.engine.begin() as conn:
            repoint(conn, entity_ids, key)


async def process_media(
    items: Sequence[MediaItem],
    *,
    store: ObjectStore,
    engine: Engine,
    policy: FetchPolicy | None = None,
    session_factory: SessionFactory | None = None,
    concurrency: int = 32,
    fetcher: SafeFetcher | None = None,
) -> list[MediaOutcome]:
    """Fetch, type, deduplicate and store media; one outcome per item, in order.

    ``policy`` defaults to the strict ``FetchPolicy()``; ``session_factory`` builds the aiohttp
    session on the guarded connector (see ``beat.media.fetch``); a started ``fetcher`` may be
    passed instead to share one across calls. Never raises for an item's fault: every item
    gets an outcome. ``asset_log`` is written once, at the end (also when cancelled).
    """
    items = list(items)
    outcomes: list[MediaOutcome | None] = [None] * len(items)
    # An entity named twice is processed once, with its last URL (one row per entity).
    last: dict[str, int] = {}
    for index, item in enumerate(items):
        problem = item.problem()
        if problem is not None:
            outcomes[index] = MediaOutcome(item, "refused", reason=problem)
        else:
            last[item.entity_id] = index
    chosen = sorted(last.values())
    if not chosen:
        return [o for o in outcomes if o is not None]

    own_fetcher = fetcher is None
    active = fetcher or SafeFetcher(
        policy, session_factory=session_factory, max_connections=max(concurrency, 1)
    )
    run = _MediaRun(fetcher=active, store=store, engine=engine, concurrency=max(concurrency, 1))
    groups: dict[str, list[int]] = {}
    try:
        try:
            await run.blocking(
                run._load_known,
                [items[i].entity_id for i in chosen],
                [items[i].original_url for i in chosen],
            )
        except Exception as exc:
            for i in chosen:
                outcomes[i] = MediaOutcome(
                    items[i], "failed", reason=f"asset_log read failed: {exc}"
                )
        else:
            for i in chosen:
                url = items[i].original_url
                known = run.known_urls.get(url)
                if known:
                    outcomes[i] = run.from_known_url(items[i], known)
                else:
                    groups.setdefault(url, []).append(i)
            if groups:
                await active.start()  # idempotent: a caller's fetcher may be started already
                results = await asyncio.gather(
                    *(
                        run.fetch_group(url, [items[i] for i in indexes])
                        for url, indexes in groups.items()
                    )
                )
                for indexes, group_outcomes in zip(groups.values(), results, strict=True):
                    for i, outcome in zip(indexes, group_outcomes, strict=True):
                        outcomes[i] = outcome
    finally:
        try:
            if run.rows:
                await run.blocking(run._flush, list(run.rows.values()))
        except Exception as exc:
            # Objects are stored but not recorded: report them as failed so they are retried
            # (a retry finds the same bytes and writes the rows).
            for i, done in enumerate(outcomes):
                if done is not None and done.stored and done.item.entity_id in run.rows:
                    outcomes[i] = replace(
                        done, status="failed", reason=f"asset_log write failed: {exc}"
                    )
        finally:
            if own_fetcher:
                await active.close()
            run.pool.shutdown(wait=False)
    # Hand-overs may have moved rows recorded earlier in the call: report where they ended up.
    for i, done in enumerate(outcomes):
        if done is not None and done.stored:
            row = run.rows.get(done.item.entity_id)
            if row is not None and row.asset_url != done.key:
                outcomes[i] = replace(done, key=row.asset_url)
    for index, item in enumerate(items):
        if outcomes[index] is None:
            kept = outcomes[last[item.entity_id]]
            assert kept is not None
            outcomes[index] = replace(kept, item=item, reason=_superseded(kept))
    return [o for o in outcomes if o is not None]


def _superseded(outcome: MediaOutcome) -> str:
    note = f"entity listed again later with {outcome.item.original_url[:120]}"
    return f"{outcome.reason}; {note}" if outcome.reason else note
