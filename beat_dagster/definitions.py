"""The beat code location: `dagster dev -w workspace.yaml` (or `dg dev`) loads `defs`."""

from __future__ import annotations

import dagster as dg

from beat.config import Settings, load_settings
from beat.flows import FAMILIES
from beat.limits import fetches_within, load_specs
from beat.ops import configure_observability
from beat_dagster.assets.analytics import (
    ANALYTICS_ASSETS,
    analytics_automation_sensor,
    analytics_job,
)
from beat_dagster.assets.batches import REBUILD_JOBS
from beat_dagster.assets.gpt import gpt_batch, gpt_batch_job
from beat_dagster.assets.instagram import (
    instagram_activity_batch,
    instagram_activity_batch_job,
    instagram_batch,
    instagram_batch_job,
)
from beat_dagster.assets.media import media, media_batch_job
from beat_dagster.assets.providers import (
    provider_health,
    provider_health_job,
    provider_health_schedule,
)
from beat_dagster.assets.queue_health import (
    queue_health,
    queue_health_job,
    queue_health_schedule,
)
from beat_dagster.assets.shopify import shopify_batch, shopify_batch_job
from beat_dagster.assets.youtube import (
    youtube_batch,
    youtube_batch_job,
    youtube_exports,
    youtube_exports_job,
)
from beat_dagster.io_managers import ParquetPartitionIOManager
from beat_dagster.jobs.requests import scrape_requests_job
from beat_dagster.jobs.retention import queue_retention_job, queue_retention_schedule
from beat_dagster.resources import (
    BrokerResource,
    CrawlerResource,
    DatabaseResource,
    MediaResource,
    ObjectStoreResource,
    RateLimiterResource,
)
from beat_dagster.sensors.batches import build_batch_sensor, build_release_sensor
from beat_dagster.sensors.gpt import gpt_enrichment_sensor
from beat_dagster.sensors.outbox import outbox_relay_sensor

#: Each family's batch assets and job, by family name (beat/flows/ declares the families).
BATCH_FAMILIES = {
    "instagram": (instagram_batch, instagram_batch_job),
    "instagram_activity": (instagram_activity_batch, instagram_activity_batch_job),
    "media": (media, media_batch_job),
    "youtube": (youtube_batch, youtube_batch_job),
    "youtube_exports": (youtube_exports, youtube_exports_job),
    "shopify": (shopify_batch, shopify_batch_job),
    "gpt": (gpt_batch, gpt_batch_job),
}


def build_definitions(settings: Settings) -> dg.Definitions:
    batch_jobs = {family: job for family, (_, job) in BATCH_FAMILIES.items()}
    objects = ObjectStoreResource(
        url=settings.object_store_url, s3_endpoint_url=settings.s3_endpoint_url
    )
    # Hold no more provider work claimed than the global budget can serve within a lease.
    budget = fetches_within(load_specs(settings.rate_limits_file), settings.lease_seconds)
    batch_sensors = [
        build_batch_sensor(
            FAMILIES[family],
            job,
            batch_min=settings.batch_min,
            batch_max=settings.batch_max,
            max_inflight=settings.max_inflight_batches,
            claim_budget=budget if FAMILIES[family].spends_provider_budget else None,
        )
        for family, job in batch_jobs.items()
    ]
    return dg.Definitions(
        assets=[
            *(assets for assets, _ in BATCH_FAMILIES.values()),
            provider_health,
            queue_health,
            *ANALYTICS_ASSETS,
        ],
        # Batch jobs are launched by their sensors; rebuild jobs are what operators backfill.
        jobs=[
            *batch_jobs.values(),
            *REBUILD_JOBS.values(),
            provider_health_job,
            queue_health_job,
            queue_retention_job,
            scrape_requests_job,
            analytics_job,
        ],
        schedules=[provider_health_schedule, queue_health_schedule, queue_retention_schedule],
        # Materializations launched from the UI run in-process too (a process per step costs
        # 8-20 s here and buys nothing: the work is concurrent inside one asyncio loop).
        executor=dg.in_process_executor,
        sensors=[
            *batch_sensors,
            build_release_sensor(list(batch_jobs.values())),
            outbox_relay_sensor,
            gpt_enrichment_sensor,
            analytics_automation_sensor,
        ],
        resources={
            "database": DatabaseResource(
                url=settings.database_url,
                lease_seconds=settings.lease_seconds,
                max_attempts=settings.max_attempts,
            ),
            "objects": objects,
            "analytics_io_manager": ParquetPartitionIOManager.on(objects),
            "broker": BrokerResource(
                url=settings.broker_url,
                local_folder=str(settings.broker_folder),
                relay_after_batch_seconds=settings.relay_after_batch_seconds,
                exchange_names=settings.exchange_names,
                exchange_declare=settings.exchange_declare,
            ),
            "media": MediaResource(
                from_batches=settings.media_from_batches,
                allow_endpoints=list(settings.media_allow_endpoints),
            ),
            "crawler": CrawlerResource(
                base_urls=settings.provider_base_urls,
                timeout_seconds=settings.provider_timeout_seconds,
                concurrency=settings.concurrency,
                graph_api_version=settings.graph_api_version,
            ),
            "rate_limiter": RateLimiterResource(
                redis_url=settings.redis_url,
                local_path=str(settings.ratelimit_path),
                specs_file=settings.rate_limits_file,
                wait_seconds=settings.limiter_wait_seconds,
            ),
        },
    )


configure_observability()  # JSON logs / traces in the code server and every run, if enabled
defs = build_definitions(load_settings())
