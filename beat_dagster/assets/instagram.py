"""Instagram profiles and posts: one batch run materializes today's partition of both."""

import asyncio
import logging
from collections.abc import Iterator
from datetime import date

import dagster as dg

from beat.flows import FAMILIES
from beat.ops.drain import grace_seconds, on_sigterm
from beat.ops.logs import log_context
from beat.ops.tracing import span
from beat.pipeline.batch import BatchReport, BatchRunner, read_raw_day
from beat.store.instagram import upsert_instagram
from beat_dagster.partitions import daily_partitions
from beat_dagster.resources import (
    BrokerResource,
    CrawlerResource,
    DatabaseResource,
    MediaResource,
    ObjectStoreResource,
    RateLimiterResource,
)
from beat_dagster.tags import BATCH_ID_TAG, PLATFORM_TAG

log = logging.getLogger(__name__)
FAMILY = FAMILIES["instagram"]
PROFILES = dg.AssetKey("instagram_profiles")
POSTS = dg.AssetKey("instagram_posts")
# A batch where more than this share of requests failed for good deserves a look.
MAX_FAILURE_RATE = 0.2


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            PROFILES,
            description="Instagram accounts (table instagram_account).",
            group_name="instagram",
            kinds={"sql"},
        ),
        dg.AssetSpec(
            POSTS,
            description="Instagram posts (table instagram_post).",
            group_name="instagram",
            kinds={"sql"},
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "batch_failure_rate",
            asset=PROFILES,
            description=f"At most {MAX_FAILURE_RATE:.0%} of a batch's requests fail for good.",
        )
    ],
    partitions_def=daily_partitions,
    # A backfill of many days is one run that re-parses each day's raw responses.
    backfill_policy=dg.BackfillPolicy.single_run(),
    op_tags={PLATFORM_TAG: FAMILY.platform},
)
def instagram_batch(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    objects: ObjectStoreResource,
    crawler: CrawlerResource,
    rate_limiter: RateLimiterResource,
    broker: BrokerResource,
    media: MediaResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Process the run's claimed batch, or (without a batch tag) rebuild the partition's day
    from the stored raw responses, calling no provider."""
    batch_id = context.run.tags.get(BATCH_ID_TAG)
    if batch_id is None:
        days = [date.fromisoformat(key) for key in context.partition_keys]
        yield from rebuild_days(database, objects, days)
        return
    day = date.fromisoformat(context.partition_key)
    report = process_batch(
        context.run_id, batch_id, day, database, objects, crawler, rate_limiter, media
    )
    # Publish this batch's events now; whatever the broker refuses waits in the outbox for
    # outbox_relay_sensor, so a broker outage never fails (or loses) a batch.
    relayed = 0
    if broker.relay_after_batch_seconds > 0:
        relay = broker.relay(database.engine(), max_seconds=broker.relay_after_batch_seconds)
        relayed = relay.messages
    metadata = {**report.metadata(), "events_relayed": relayed}
    yield dg.MaterializeResult(asset_key=PROFILES, metadata={**metadata, "rows": report.profiles})
    yield dg.MaterializeResult(asset_key=POSTS, metadata={**metadata, "rows": report.posts})
    yield dg.AssetCheckResult(
        check_name="batch_failure_rate",
        asset_key=PROFILES,
        passed=report.failure_rate <= MAX_FAILURE_RATE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"failure_rate": report.failure_rate, "failed": report.failed},
    )


def process_batch(
    run_id: str,
    batch_id: str,
    day: date,
    database: DatabaseResource,
    objects: ObjectStoreResource,
    crawler: CrawlerResource,
    rate_limiter: RateLimiterResource,
    media: MediaResource,
) -> BatchReport:
    queue = database.queue()
    # Adopting (rather than trusting the sensor's claim) lets a re-executed run pick up
    # exactly the requests its failed predecessor left unfinished.
    claims = queue.adopt_batch(batch_id, run_id)
    credentials = database.credential_pool()

    async def run() -> BatchReport:
        limiter = rate_limiter.limiter()  # opened in the loop that uses it
        hook = rate_limiter.before_request(limiter)
        runner = BatchRunner(
            queue=queue,
            engine=database.engine(),
            objects=objects.store(),
            crawler_factory=lambda session: crawler.crawler(session, credentials, hook),
            family=FAMILY.name,
            concurrency=crawler.concurrency,
            enqueue_media=media.from_batches,
            stop_grace_seconds=grace_seconds(),
        )
        try:
            with on_sigterm(runner.stop):  # a pod eviction or deploy: drain, exit cleanly
                return await runner.run(claims, batch_id=batch_id, run_id=run_id, day=day)
        finally:
            await limiter.aclose()

    with (
        log_context(batch_id=batch_id, run_id=run_id),
        span("beat.batch", **{"beat.batch_id": batch_id, "beat.run_id": run_id}) as batch_span,
    ):
        report = asyncio.run(run())
        if batch_span is not None:
            batch_span.set_attributes(
                {"beat.requests": report.requests, "beat.failed": report.failed}
            )
        log.info("batch %s finished", batch_id, extra=report.metadata())
    return report


def rebuild_days(
    database: DatabaseResource, objects: ObjectStoreResource, days: list[date]
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Upsert again what the stored raw responses of these days say, oldest day first."""
    store = objects.store()
    outcomes = []
    for day in sorted(days):
        day_outcomes = read_raw_day(store, FAMILY.name, day)
        with database.engine().begin() as conn:
            upsert_instagram(
                conn,
                [(profile, o.provider) for o in day_outcomes for profile in o.profiles],
                [(post, o.provider) for o in day_outcomes for post in o.posts],
            )
        outcomes += day_outcomes
    meta = {"rebuilt_from_raw": True, "days": len(days), "requests": len(outcomes)}
    yield dg.MaterializeResult(
        asset_key=PROFILES, metadata={**meta, "rows": sum(len(o.profiles) for o in outcomes)}
    )
    yield dg.MaterializeResult(
        asset_key=POSTS, metadata={**meta, "rows": sum(len(o.posts) for o in outcomes)}
    )
    yield dg.AssetCheckResult(check_name="batch_failure_rate", asset_key=PROFILES, passed=True)


instagram_batch_job = dg.define_asset_job(
    FAMILY.job_name,
    selection=[PROFILES, POSTS],
    partitions_def=daily_partitions,
    # The batch is concurrent inside one asyncio loop; a process per step would add 8-20 s.
    executor_def=dg.in_process_executor,
    tags={PLATFORM_TAG: FAMILY.platform},
)
