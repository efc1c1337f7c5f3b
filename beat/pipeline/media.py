"""Media requests (asset_upload_flow): claimed batch in, objects and asset_log rows out."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine

from beat.media import (
    FetchPolicy,
    MediaItem,
    MediaOutcome,
    media_items_from,
    process_media,
    summarize,
)
from beat.objects import ObjectStore
from beat.store.queue import ClaimedRequest, Completion, Failure, NewRequest, RequestQueue
from providers.model import InstagramPost, InstagramProfile


def media_requests(
    profiles: Sequence[InstagramProfile], posts: Sequence[InstagramPost]
) -> list[NewRequest]:
    """asset_upload_flow requests for a batch's media. The idempotency key holds the hash of
    the URL's path: a file already queued (or done) is not queued again, though CDNs sign
    each answer's URL anew (query string) and may serve it from another host."""
    requests = []
    for item in media_items_from(profiles, posts):
        digest = hashlib.sha256(urlsplit(item.original_url).path.encode()).hexdigest()[:24]
        params = {
            "entity_type": item.entity_type,
            "entity_id": item.entity_id,
            "asset_type": item.asset_type,
            "original_url": item.original_url,
            "platform": item.platform,
        }
        requests.append(
            NewRequest(
                "asset_upload_flow",
                item.platform,
                params,
                idempotency_key=f"asset:{item.entity_type}:{item.entity_id}:{digest}",
            )
        )
    return requests


def enqueue_media(
    queue: RequestQueue,
    conn: Connection,
    profiles: Sequence[InstagramProfile],
    posts: Sequence[InstagramPost],
) -> int:
    requests = media_requests(profiles, posts)
    return len(queue.enqueue_many(requests, conn=conn)) if requests else 0


def settle(outcome: MediaOutcome, claim: ClaimedRequest) -> Completion | Failure:
    """Stored → COMPLETE; skipped or refused (expired signature, not media, unsafe URL) →
    FAILED for good with the reason; a network fault → retried with backoff."""
    if outcome.stored:
        return Completion(claim.id, claim.attempt, "cdn", outcome.message)
    return Failure(claim.id, claim.attempt, outcome.message, retryable=outcome.retryable)


async def run_media_batch(
    claims: Sequence[ClaimedRequest],
    *,
    queue: RequestQueue,
    engine: Engine,
    store: ObjectStore,
    policy: FetchPolicy,
    concurrency: int = 32,
) -> dict[str, Any]:
    started = time.perf_counter()
    items = [MediaItem.from_params(claim.params) for claim in claims]
    outcomes = await process_media(
        items, store=store, engine=engine, policy=policy, concurrency=concurrency
    )
    settled = [settle(outcome, claim) for outcome, claim in zip(outcomes, claims, strict=True)]
    with engine.begin() as conn:
        queue.complete([s for s in settled if isinstance(s, Completion)], conn=conn)
        queue.fail([s for s in settled if isinstance(s, Failure)], conn=conn)
    seconds = time.perf_counter() - started
    return {
        "requests": len(claims),
        **summarize(outcomes),
        "duration_seconds": round(seconds, 3),
    }
