"""One factory for every family's batch assets: a claimed batch in, rows and statuses out.

A family brings its `FamilyPipeline` (handlers, writer, re-parser), an `AssetSpec` per item
kind and how to build its crawler; the factory makes the daily-partitioned multi-asset that
either processes the run's claimed batch or, with no batch tag (a backfill), rebuilds the
partition's days from the stored raw responses without calling a provider.
"""

import asyncio
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

import aiohttp
import dagster as dg

from beat.flows import Family
from beat.pipeline.batch import BatchReport, BatchRunner, read_raw_day
from beat.pipeline.family import FamilyPipeline, WriteContext
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
from providers.credentials import CredentialSource
from providers.engine import BeforeRequest
from providers.ratelimit import RateLimiter

# A batch where more than this share of requests failed for good deserves a look.
MAX_FAILURE_RATE = 0.2

#: (crawler resource, HTTP session, credentials, limiter hook) -> the family's crawler.
CrawlerBuilder = Callable[
    [CrawlerResource, aiohttp.ClientSession, CredentialSource, BeforeRequest | None], Any
]
#: (rate limiter resource, the run's limiter, database) -> what the builder gets as its hook.
RunSupport = Callable[[RateLimiterResource, RateLimiter, DatabaseResource], Any]


def build_batch_assets(
    family: Family,
    pipeline: FamilyPipeline,
    specs: Mapping[str, dg.AssetSpec],
    build_crawler: CrawlerBuilder,
    *,
    run_support: RunSupport | None = None,
) -> tuple[dg.AssetsDefinition, Any]:
    """The family's multi-asset (one asset per item kind) and its in-process batch job.

    ``run_support`` replaces the limiter hook handed to ``build_crawler`` for a crawler that
    meters its calls itself (GPT: request and token limits, answered-input lookups)."""
    first = next(iter(specs.values())).key

    @dg.multi_asset(
        name=f"{family.name}_batch",
        specs=list(specs.values()),
        check_specs=[
            dg.AssetCheckSpec(
                "batch_failure_rate",
                asset=first,
                description=f"At most {MAX_FAILURE_RATE:.0%} of a batch's requests fail for good.",
            )
        ],
        partitions_def=daily_partitions,
        # A backfill of many days is one run that re-parses each day's raw responses.
        backfill_policy=dg.BackfillPolicy.single_run(),
        op_tags={PLATFORM_TAG: family.platform},
    )
    def batch_assets(
        context: dg.AssetExecutionContext,
        database: DatabaseResource,
        objects: ObjectStoreResource,
        crawler: CrawlerResource,
        rate_limiter: RateLimiterResource,
        broker: BrokerResource,
        media: MediaResource,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        batch_id = context.run.tags.get(BATCH_ID_TAG)
        if batch_id is None:
            days = [date.fromisoformat(key) for key in context.partition_keys]
            yield from _rebuild_days(pipeline, specs, database, objects, days)
            return
        day = date.fromisoformat(context.partition_key)
        report = asyncio.run(
            _process_batch(
                pipeline, build_crawler, context.run_id, batch_id, day,
                database, objects, crawler, rate_limiter, media, run_support,
            )
        )  # fmt: skip
        # Publish this batch's events now; whatever the broker refuses waits in the outbox for
        # outbox_relay_sensor, so a broker outage never fails (or loses) a batch.
        # Every publish has a deadline, so a broker that blocks publishers (a resource alarm)
        # costs this run at most the relay's budget, and the metadata says the relay is behind.
        relay: dict[str, Any] = {"events_relayed": 0, "relay_stopped": "left to the sensor"}
        if broker.relay_after_batch_seconds > 0:
            relayed = broker.relay(database.engine(), max_seconds=broker.relay_after_batch_seconds)
            relay = relayed.metadata()
            if relayed.failures:
                context.log.warning(f"outbox relay behind: {relayed.summary()}")
        metadata = {**report.metadata(), **relay}
        for kind, spec in specs.items():
            yield dg.MaterializeResult(
                asset_key=spec.key,
                metadata={**metadata, **report.details.get(kind, {}), "rows": report.rows[kind]},
            )
        yield dg.AssetCheckResult(
            check_name="batch_failure_rate",
            asset_key=first,
            passed=report.failure_rate <= MAX_FAILURE_RATE,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"failure_rate": report.failure_rate, "failed": report.failed},
        )

    job = dg.define_asset_job(
        family.job_name,
        selection=[spec.key for spec in specs.values()],
        partitions_def=daily_partitions,
        # The batch is concurrent inside one asyncio loop; a process per step would add 8-20 s.
        executor_def=dg.in_process_executor,
        tags={PLATFORM_TAG: family.platform},
    )
    return batch_assets, job


async def _process_batch(
    pipeline: FamilyPipeline,
    build_crawler: CrawlerBuilder,
    run_id: str,
    batch_id: str,
    day: date,
    database: DatabaseResource,
    objects: ObjectStoreResource,
    crawler: CrawlerResource,
    rate_limiter: RateLimiterResource,
    media: MediaResource,
    run_support: RunSupport | None = None,
) -> BatchReport:
    queue = database.queue()
    # Adopting (rather than trusting the sensor's claim) lets a re-executed run pick up
    # exactly the requests its failed predecessor left unfinished.
    claims = await asyncio.to_thread(queue.adopt_batch, batch_id, run_id)
    credentials = database.credential_pool()
    limiter = rate_limiter.limiter()  # opened in the loop that uses it
    hook = (
        run_support(rate_limiter, limiter, database)
        if run_support is not None
        else rate_limiter.before_request(limiter)
    )
    runner = BatchRunner(
        queue=queue,
        engine=database.engine(),
        objects=objects.store(),
        pipeline=pipeline,
        crawler_factory=lambda session: build_crawler(crawler, session, credentials, hook),
        concurrency=crawler.concurrency,
        enqueue_media=media.from_batches,
    )
    try:
        return await runner.run(claims, batch_id=batch_id, run_id=run_id, day=day)
    finally:
        await limiter.aclose()


def _rebuild_days(
    pipeline: FamilyPipeline,
    specs: Mapping[str, dg.AssetSpec],
    database: DatabaseResource,
    objects: ObjectStoreResource,
    days: list[date],
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Upsert again what the stored raw responses of these days say, oldest day first."""
    store = objects.store()
    outcomes = []
    details: dict[str, dict[str, Any]] = {}
    for day in sorted(days):
        day_outcomes = read_raw_day(store, pipeline, day)
        with database.engine().begin() as conn:
            # The queue lets a family ask again what the day's raw responses cannot answer
            # (GPT rows of an older prompt version).
            pipeline.write(conn, day_outcomes, WriteContext(queue=database.queue(), rebuild=True))
        if pipeline.tally is not None:
            pipeline.tally(details, day_outcomes)
        outcomes += day_outcomes
    meta = {"rebuilt_from_raw": True, "days": len(days), "requests": len(outcomes)}
    for kind, spec in specs.items():
        rows = sum(len(o.of(kind)) for o in outcomes)
        yield dg.MaterializeResult(
            asset_key=spec.key, metadata={**meta, **details.get(kind, {}), "rows": rows}
        )
    first = next(iter(specs.values())).key
    yield dg.AssetCheckResult(check_name="batch_failure_rate", asset_key=first, passed=True)
