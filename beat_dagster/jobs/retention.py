"""Hourly purge of finished scrape requests past their retention (``beat.store.retention``)."""

from __future__ import annotations

import dagster as dg

from beat.store.retention import RetentionPolicy, purge_finished
from beat_dagster.resources import DatabaseResource, ObjectStoreResource


@dg.op(
    description="Archive (BEAT_RETENTION_ARCHIVE=1) and delete finished requests older than "
    "BEAT_RETENTION_DAYS, a few thousand per transaction so claims never wait behind it."
)
def purge_finished_requests(
    database: DatabaseResource, objects: ObjectStoreResource
) -> dg.Output[int]:
    policy = RetentionPolicy.from_env()
    store = objects.store() if policy.archive else None
    report = purge_finished(database.engine(), policy, objects=store)
    return dg.Output(
        report.deleted,
        metadata={
            "deleted": report.deleted,
            "archived_objects": report.archived_objects,
            "batches": report.batches,
            "cutoff": report.cutoff.strftime("%Y-%m-%d %H:%M:%S") if report.cutoff else "",
            "rows_per_second": round(report.rows_per_second, 1),
        },
    )


@dg.job(description="Retention of scrape_request_log: finished rows past BEAT_RETENTION_DAYS.")
def queue_retention_job() -> None:
    purge_finished_requests()


queue_retention_schedule = dg.ScheduleDefinition(
    name="queue_retention_schedule",
    job=queue_retention_job,
    cron_schedule="17 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
