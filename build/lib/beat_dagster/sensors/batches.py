"""Sensors that turn pending scrape requests into batch runs, and hand back failed ones."""

import math
import uuid
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from beat.flows import Family, flows_of_family
from beat.store.control import is_claiming
from beat_dagster.partitions import today_partition_key
from beat_dagster.resources import DatabaseResource
from beat_dagster.tags import BATCH_ID_TAG, BATCH_SIZE_TAG, FAMILY_TAG, FLOWS_TAG, PLATFORM_TAG


def plan_batches(
    pending: int, inflight: int, *, batch_min: int, batch_max: int, max_inflight: int
) -> list[int]:
    """Batch sizes for this tick: the backlog spread over free run slots.

    Small and prompt when idle (3 pending -> one run of 3); a backlog is split over the free
    slots, but never into runs smaller than batch_min (each run costs seconds to launch) or
    larger than batch_max; never more runs in flight than max_inflight.
    """
    free = max_inflight - inflight
    if pending <= 0 or free <= 0:
        return []
    per_run = min(batch_max, max(batch_min, math.ceil(pending / free)))
    sizes: list[int] = []
    while pending > 0 and len(sizes) < free:
        sizes.append(min(per_run, pending))
        pending -= sizes[-1]
    return sizes


def new_batch_id(family: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{family}-{stamp}-{uuid.uuid4().hex[:8]}"


def build_batch_sensor(
    family: Family,
    job: Any,  # what dg.define_asset_job returns
    *,
    batch_min: int,
    batch_max: int,
    max_inflight: int,
    interval_seconds: int = 10,
    claim_budget: int | None = None,
) -> dg.SensorDefinition:
    """``claim_budget``: the most requests of this family to hold claimed at once (what the
    global rate limits can serve within a lease); None for no cap. Claiming more would only
    send the excess back to the queue as deferrals, each a write and a status event."""
    flows = flows_of_family(family.name)

    @dg.sensor(
        name=family.sensor_name,
        job=job,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Claims pending {family.name} requests in batches; one run per batch.",
    )
    def batch_sensor(
        context: dg.SensorEvaluationContext, database: DatabaseResource
    ) -> dg.SensorResult | dg.SkipReason:
        # The tick only claims and returns (it runs under the code server's gRPC timeout);
        # the scraping happens in the runs it requests.
        queue = database.queue()
        reaped = queue.release_expired_leases()
        if not is_claiming(database.engine()):
            return dg.SkipReason("draining (PUT /heartbeat?beat=true resumes): claiming nothing")
        claimable = queue.pending_count(flows)
        if claim_budget is not None:
            claimable = min(claimable, max(0, claim_budget - queue.processing_count(flows)))
        sizes = plan_batches(
            claimable,
            queue.inflight_batch_count(flows),
            batch_min=batch_min,
            batch_max=batch_max,
            max_inflight=max_inflight,
        )
        run_requests = []
        for size in sizes:
            batch_id = new_batch_id(family.name)
            claims = queue.claim_batch(flows, size, batch_id=batch_id)
            if not claims:
                break
            run_requests.append(
                dg.RunRequest(
                    run_key=batch_id,
                    partition_key=today_partition_key(),
                    tags={
                        BATCH_ID_TAG: batch_id,
                        FAMILY_TAG: family.name,
                        PLATFORM_TAG: family.platform,
                        FLOWS_TAG: ",".join(sorted({c.flow for c in claims})),
                        BATCH_SIZE_TAG: str(len(claims)),
                    },
                )
            )
        if not run_requests:
            requeued = len(reaped.requeued_ids) + len(reaped.failed_ids)
            return dg.SkipReason(f"no pending {family.name} requests (lease reaper: {requeued})")
        return dg.SensorResult(run_requests=run_requests, cursor=run_requests[-1].run_key)

    return batch_sensor


def build_release_sensor(jobs: list[Any]) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="release_failed_batches_sensor",
        monitored_jobs=jobs,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Returns a failed run's unfinished requests to the queue at once. Leases "
        "are the guarantee; this only saves waiting for them to lapse.",
    )
    def release_failed_batches(
        context: dg.RunFailureSensorContext, database: DatabaseResource
    ) -> None:
        batch_id = context.dagster_run.tags.get(BATCH_ID_TAG)
        if batch_id:
            database.queue().release_batch(batch_id, context.dagster_run.run_id, "run failed")

    return release_failed_batches
