"""Media: profile pictures and post media, stored under assets/{entity_type}s/{platform}/."""

import asyncio
from collections.abc import Iterator
from datetime import date

import dagster as dg

from beat.flows import FAMILIES, flows_of_family
from beat.media.upload import STORED
from beat.pipeline.daily import day_figures
from beat.pipeline.media import run_media_batch
from beat_dagster.partitions import daily_partitions
from beat_dagster.resources import DatabaseResource, MediaResource, ObjectStoreResource
from beat_dagster.sensors.batches import new_batch_id
from beat_dagster.tags import BATCH_ID_TAG, PLATFORM_TAG

FAMILY = FAMILIES["media"]
MEDIA = dg.AssetKey("media")
FETCHED_CHECK = "media_fetched"
# A run where more than this share of the media it claimed was not stored deserves a look.
MAX_NOT_STORED = 0.2
#: What a run launched by hand (no sensor batch) claims at most.
MANUAL_CLAIM = 1000


@dg.asset(
    key=MEDIA,
    deps=[dg.AssetKey("instagram_profiles"), dg.AssetKey("instagram_posts")],
    partitions_def=daily_partitions,
    group_name="media",
    kinds={"s3"},
    description="Profile pictures and post media (table asset_log, objects under assets/). "
    "Launched by hand, it fetches the pending media requests (up to 1000); with none pending it "
    "materializes nothing and its check says so.",
    op_tags={PLATFORM_TAG: FAMILY.platform},
    # Nothing to fetch is not a materialization.
    output_required=False,
    check_specs=[
        dg.AssetCheckSpec(
            FETCHED_CHECK,
            asset=MEDIA,
            description="The run stored the media it claimed: fails when it found nothing to "
            f"fetch, or when more than {MAX_NOT_STORED:.0%} of what it claimed was refused, "
            "skipped or failed.",
        )
    ],
)
def media(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    objects: ObjectStoreResource,
    media: MediaResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Download and store the media of the run's claimed asset_upload_flow batch (a run
    launched by hand claims the pending ones itself)."""
    queue = database.queue()
    batch_id = context.run.tags.get(BATCH_ID_TAG)
    if batch_id is None:
        batch_id = new_batch_id(FAMILY.name)
        queue.claim_batch(flows_of_family(FAMILY.name), MANUAL_CLAIM, batch_id=batch_id)
    claims = queue.adopt_batch(batch_id, context.run_id)
    if not claims:
        context.log.warning("nothing to fetch: no pending media requests; media not materialized")
        yield dg.AssetCheckResult(
            check_name=FETCHED_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description="nothing to fetch: no pending media requests",
            metadata={"requests": 0},
        )
        return
    batch = asyncio.run(
        run_media_batch(
            claims,
            queue=queue,
            engine=database.engine(),
            store=objects.store(),
            policy=media.policy(),
            concurrency=media.concurrency,
        )
    )
    context.log.info(f"media batch {batch_id} done: {batch}")
    day = date.fromisoformat(context.partition_key)
    figures = day_figures(database.engine(), flows_of_family(FAMILY.name), day)
    yield dg.MaterializeResult(metadata=figures.metadata())
    stored = sum(n for status, n in batch["statuses"].items() if status in STORED)
    not_stored = 1 - stored / len(claims)
    yield dg.AssetCheckResult(
        check_name=FETCHED_CHECK,
        passed=not_stored <= MAX_NOT_STORED,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"batch_id": batch_id, **batch},  # the run's own figures
    )


media_batch_job = dg.define_asset_job(
    FAMILY.job_name,
    selection=[MEDIA],
    partitions_def=daily_partitions,
    description=f"Fetches one claimed batch of media requests (launched by {FAMILY.sensor_name});"
    " launched by hand, the pending media requests.",
    executor_def=dg.in_process_executor,
    tags={PLATFORM_TAG: FAMILY.platform},
)
