"""One factory for every family's batch assets: a claimed batch in, rows and statuses out.

A family brings its `FamilyPipeline` (handlers, writer, re-parser), an `AssetSpec` per item
kind and how to build its crawler; the factory makes the daily-partitioned multi-asset that
either processes the run's claimed batch or, with no batch tag (a backfill), rebuilds the
partition's days from the stored raw responses without calling a provider.

What goes where: a partition's metadata describes its day (every request of the family
settled that day, see `beat.pipeline.daily`), never the batch that happened to run last; a
batch's own figures stay on its run (its log and its `batch_failure_rate` check).
"""

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import aiohttp
import dagster as dg

from beat.flows import Family, flows_of_family
from beat.objects import ObjectStore
from beat.ops import observe_batch
from beat.ops.drain import grace_seconds, on_sigterm
from beat.pipeline.batch import BatchReport, BatchRunner, ProgressHook, read_raw_day
from beat.pipeline.daily import day_figures
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
FAILURE_RATE_CHECK = "batch_failure_rate"
ROWS_CHECK = "rows_written"

#: (crawler resource, HTTP session, credentials, limiter hook, the run's object store) -> what
#: the family's handlers get (its crawler; exports also need the object store to write to).
CrawlerBuilder = Callable[
    [CrawlerResource, aiohttp.ClientSession, CredentialSource, BeforeRequest | None, ObjectStore],
    Any,
]
#: (rate limiter resource, the run's limiter, database) -> what the builder gets as its hook.
RunSupport = Callable[[RateLimiterResource, RateLimiter, DatabaseResource], Any]

#: Each family's rebuild job, by job name, filled as the factory builds families
#: (definitions.py lists them next to the batch jobs).
REBUILD_JOBS: dict[str, Any] = {}


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
    flows = flows_of_family(family.name)

    @dg.multi_asset(
        name=f"{family.name}_batch",
        # Skippable: a rebuild that finds no stored raw response materializes nothing.
        specs=[spec.replace_attributes(skippable=True) for spec in specs.values()],
        check_specs=[*_check_specs(family, specs), *_day_check_specs(pipeline, first)],
        # Makes every output optional, so a check that does not apply to a run (the failure
        # rate in a rebuild, the posts check of a batch that fetched no posts) shows as
        # skipped instead of being faked; the assets themselves are only built together.
        can_subset=True,
        partitions_def=daily_partitions,
        # One run per day: each day's rebuild succeeds, or says it found nothing, on its own.
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
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
        if set(context.selected_asset_keys) != {spec.key for spec in specs.values()}:
            names = ", ".join(spec.key.to_user_string() for spec in specs.values())
            raise dg.Failure(
                f"{names} are written together; select all of them "
                f"(or launch {rebuild_job_name(family)} / {family.job_name})"
            )
        batch_id = context.run.tags.get(BATCH_ID_TAG)
        if batch_id is None:
            days = [date.fromisoformat(key) for key in context.partition_keys]
            yield from _rebuild_days(context, pipeline, flows, specs, database, objects, days)
            yield from _day_checks(pipeline, first, database, days)
            return
        day = date.fromisoformat(context.partition_key)

        def log_progress(report: BatchReport, elapsed: float) -> None:
            context.log.info(f"batch {batch_id}: {report.progress(elapsed)}")

        report = observe_batch(  # ids on every log line; a span when tracing is on
            batch_id, context.run_id, lambda: asyncio.run(
                _process_batch(
                    pipeline, build_crawler, context.run_id, batch_id, day,
                    database, objects, crawler, rate_limiter, media, log_progress, run_support,
                )
            ),
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
        batch = {**report.metadata(), **relay, **_details(report)}
        context.log.info(f"batch {batch_id} done: {_summary(report)}; relay: {relay}")
        figures = day_figures(database.engine(), flows, day)
        extra = _family_day_metadata(pipeline, database, day)
        for kind, spec in specs.items():
            context.add_asset_metadata(
                {**figures.metadata(kind), **extra.get(kind, {})},
                asset_key=spec.key,
                partition_key=context.partition_key,
            )
            yield dg.MaterializeResult(asset_key=spec.key)
        yield dg.AssetCheckResult(
            check_name=FAILURE_RATE_CHECK,
            asset_key=first,
            passed=report.failure_rate <= MAX_FAILURE_RATE,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=batch,  # the batch's own figures, on its run
        )
        for kind, spec in specs.items():
            if kind in report.rows:  # some completed request of this batch yields this kind
                yield dg.AssetCheckResult(
                    check_name=ROWS_CHECK,
                    asset_key=spec.key,
                    passed=report.rows[kind] > 0,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"batch_id": batch_id, "rows": report.rows[kind]},
                )
        yield from _day_checks(pipeline, first, database, [day])

    job = dg.define_asset_job(
        family.job_name,
        selection=[spec.key for spec in specs.values()],
        partitions_def=daily_partitions,
        description=f"Scrapes one claimed batch of {family.name} requests (launched by "
        f"{family.sensor_name}). Launched without a batch, it rebuilds like "
        f"{rebuild_job_name(family)}.",
        # The batch is concurrent inside one asyncio loop; a process per step would add 8-20 s.
        executor_def=dg.in_process_executor,
        tags={PLATFORM_TAG: family.platform},
    )
    REBUILD_JOBS[rebuild_job_name(family)] = dg.define_asset_job(
        rebuild_job_name(family),
        selection=[spec.key for spec in specs.values()],
        partitions_def=daily_partitions,
        description=f"Rebuilds the chosen days of {family.name} rows from their stored raw "
        "responses; calls no provider. Launch a backfill of this job over the days to rebuild.",
        executor_def=dg.in_process_executor,
        tags={PLATFORM_TAG: family.platform},
    )
    return batch_assets, job


def rebuild_job_name(family: Family) -> str:
    return f"{family.name}_rebuild_job"


def _check_specs(family: Family, specs: Mapping[str, dg.AssetSpec]) -> list[dg.AssetCheckSpec]:
    first = next(iter(specs.values())).key
    failure_rate = dg.AssetCheckSpec(
        FAILURE_RATE_CHECK,
        asset=first,
        description=f"At most {MAX_FAILURE_RATE:.0%} of the requests a batch run processed "
        f"failed for good. Evaluated by {family.name} batch runs, with the batch's own figures "
        "as metadata; a rebuild processes no request, so it skips this check.",
    )
    rows = [
        dg.AssetCheckSpec(
            ROWS_CHECK,
            asset=spec.key,
            description=f"The run wrote {kind}: a batch whose completed requests wrote no "
            f"{kind}, or a rebuild of a day with no stored raw responses, fails. Skipped when "
            f"no request of the run yields {kind}.",
        )
        for kind, spec in specs.items()
    ]
    return [failure_rate, *rows]


def _details(report: BatchReport) -> dict[str, Any]:
    """The family's own figures of the batch (``FamilyPipeline.tally``), by kind."""
    return {f"{kind}_batch": figures for kind, figures in report.details.items()}


def _family_day_metadata(
    pipeline: FamilyPipeline, database: DatabaseResource, day: date
) -> dict[str, dict[str, Any]]:
    """The family's own figures of the day (``FamilyPipeline.day_metadata``), by kind."""
    if pipeline.day_metadata is None:
        return {}
    return pipeline.day_metadata(database.engine(), day)


def _day_check_specs(pipeline: FamilyPipeline, asset: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """A family's own checks (`FamilyPipeline.checks`), judged on the days a run wrote."""
    return [
        dg.AssetCheckSpec(c.name, asset=asset, description=c.description) for c in pipeline.checks
    ]


def _day_checks(
    pipeline: FamilyPipeline, asset: dg.AssetKey, database: DatabaseResource, days: list[date]
) -> Iterator[dg.AssetCheckResult]:
    for check in pipeline.checks:
        passed, metadata = check.evaluate(database.engine(), days)
        yield dg.AssetCheckResult(
            check_name=check.name, asset_key=asset, passed=passed, metadata=metadata
        )


def _summary(report: BatchReport) -> str:
    return (
        f"{report.requests} requests, {report.completed} completed, {report.failed} failed, "
        f"{report.retried} retried, {report.deferred} deferred in {report.duration_seconds:.1f} s"
    )


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
    on_progress: ProgressHook,
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
    store = objects.store()
    runner = BatchRunner(
        queue=queue,
        engine=database.engine(),
        objects=store,
        pipeline=pipeline,
        crawler_factory=lambda session: build_crawler(crawler, session, credentials, hook, store),
        concurrency=crawler.concurrency,
        enqueue_media=media.from_batches,
        on_progress=on_progress,
        stop_grace_seconds=grace_seconds(),
    )
    try:
        with on_sigterm(runner.stop):  # a pod eviction or a deploy: drain, exit cleanly
            return await runner.run(claims, batch_id=batch_id, run_id=run_id, day=day)
    finally:
        await limiter.aclose()


@dataclass
class RebuiltDay:
    day: date
    requests: int
    rows: Counter[str]


def _rebuild_days(
    context: dg.AssetExecutionContext,
    pipeline: FamilyPipeline,
    flows: list[str],
    specs: Mapping[str, dg.AssetSpec],
    database: DatabaseResource,
    objects: ObjectStoreResource,
    days: list[date],
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Upsert again what the stored raw responses of these days say, oldest day first.

    A day with no stored raw response rebuilds nothing and is not reported as rebuilt: when
    no day of the run has any, nothing is materialized and the rows checks fail."""
    rebuilt = [_rebuild_day(pipeline, database, objects, day) for day in sorted(days)]
    empty = [r.day.isoformat() for r in rebuilt if r.requests == 0]
    if empty:
        context.log.warning(f"no stored raw responses for {', '.join(empty)}: nothing to rebuild")
    if len(empty) < len(rebuilt):
        for r in rebuilt:
            figures = day_figures(database.engine(), flows, r.day).metadata()
            extra = _family_day_metadata(pipeline, database, r.day)
            for kind, spec in specs.items():
                outcome = (
                    f"rebuilt {r.rows[kind]} {kind} from {r.requests} stored raw responses"
                    if r.requests
                    else "nothing rebuilt: no stored raw responses for this day"
                )
                context.add_asset_metadata(
                    {
                        **figures,
                        **extra.get(kind, {}),
                        "day_rows": r.rows[kind],
                        "rebuild": outcome,
                    },
                    asset_key=spec.key,
                    partition_key=r.day.isoformat(),
                )
        for spec in specs.values():
            yield dg.MaterializeResult(asset_key=spec.key)
    for kind, spec in specs.items():
        rows = sum(r.rows[kind] for r in rebuilt)
        if not empty and not any(kind in r.rows for r in rebuilt):
            continue  # no stored response of these days yields this kind: not applicable
        yield dg.AssetCheckResult(
            check_name=ROWS_CHECK,
            asset_key=spec.key,
            passed=not empty and rows > 0,
            severity=dg.AssetCheckSeverity.ERROR if empty else dg.AssetCheckSeverity.WARN,
            description=f"no stored raw responses for {', '.join(empty)}" if empty else None,
            metadata={"rebuilt_rows": rows, "days_without_raw_responses": empty},
        )


def _rebuild_day(
    pipeline: FamilyPipeline, database: DatabaseResource, objects: ObjectStoreResource, day: date
) -> RebuiltDay:
    outcomes = read_raw_day(objects.store(), pipeline, day)
    rows: Counter[str] = Counter()
    if outcomes:
        with database.engine().begin() as conn:
            # The queue lets a family ask again what stored responses cannot answer (GPT rows
            # an older prompt version produced).
            pipeline.write(conn, outcomes, WriteContext(queue=database.queue(), rebuild=True))
        for outcome in outcomes:
            for kind, items in outcome.items.items():
                rows[kind] += len(items)
    return RebuiltDay(day, len(outcomes), rows)
