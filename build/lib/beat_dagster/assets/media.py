"""Media: profile pictures and post media, stored under assets/{entity_type}s/{platform}/."""

import asyncio
from collections.abc import Iterator

import dagster as dg

from beat.flows import FAMILIES
from beat.pipeline.media import run_media_batch
from beat_dagster.partitions import daily_partitions
from beat_dagster.resources import DatabaseResource, MediaResource, ObjectStoreResource
from beat_dagster.tags import BATCH_ID_TAG, PLATFORM_TAG

FAMILY = FAMILIES["media"]
MEDIA = dg.AssetKey("media")


@dg.asset(
    key=MEDIA,
    deps=[dg.AssetKey("instagram_profiles"), dg.AssetKey("instagram_posts")],
    partitions_def=daily_partitions,
    group_name="media",
    kinds={"s3"},
    description="Profile pictures and post media (table asset_log, objects under assets/).",
    op_tags={PLATFORM_TAG: FAMILY.platform},
)
def media(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    objects: ObjectStoreResource,
    media: MediaResource,
) -> Iterator[dg.MaterializeResult]:
    """Download and store the media of the run's claimed asset_upload_flow batch."""
    batch_id = context.run.tags.get(BATCH_ID_TAG)
    if batch_id is None:  # media is fetched once; there is nothing to rebuild for a past day
        yield dg.MaterializeResult(metadata={"requests": 0})
        return
    queue = database.queue()
    claims = queue.adopt_batch(batch_id, context.run_id)
    metadata = asyncio.run(
        run_media_batch(
            claims,
            queue=queue,
            engine=database.engine(),
            store=objects.store(),
            policy=media.policy(),
            concurrency=media.concurrency,
        )
    )
    yield dg.MaterializeResult(metadata={"batch_id": batch_id, **metadata})


media_batch_job = dg.define_asset_job(
    FAMILY.job_name,
    selection=[MEDIA],
    partitions_def=daily_partitions,
    executor_def=dg.in_process_executor,
    tags={PLATFORM_TAG: FAMILY.platform},
)
