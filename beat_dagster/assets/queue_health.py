"""What operators watch about the queue: backlog by flow and status, pending requests by age,
the oldest pending request, the last hour's failure reasons and throughput.

``queue_health`` is re-materialized every five minutes (``queue_health_schedule``) and on
demand. Its check warns when the oldest pending request has waited longer than
``BEAT_QUEUE_MAX_PENDING_AGE_SECONDS`` (default 15 minutes): the sensors are stopped or
draining, the run queue is full, or a rate limit starves a flow.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import dagster as dg

from beat.store.queue_health import QueueHealth, measure
from beat_dagster.resources import DatabaseResource

QUEUE_HEALTH = dg.AssetKey("queue_health")
DEFAULT_MAX_PENDING_AGE_SECONDS = 900.0


def max_pending_age_seconds() -> float:
    return float(
        os.environ.get("BEAT_QUEUE_MAX_PENDING_AGE_SECONDS", DEFAULT_MAX_PENDING_AGE_SECONDS)
    )


def _table(columns: list[tuple[str, str]], rows: list[dict]) -> dg.MetadataValue:
    schema = dg.TableSchema([dg.TableColumn(name, kind) for name, kind in columns])
    return dg.MetadataValue.table([dg.TableRecord(row) for row in rows], schema)


def health_metadata(health: QueueHealth) -> dict[str, dg.RawMetadataValue]:
    backlog = [
        {
            "flow": b.flow,
            "status": b.status,
            "count": b.count,
            "oldest": b.oldest_created_at.strftime("%Y-%m-%d %H:%M:%S")
            if b.oldest_created_at
            else "",
        }
        for b in sorted(health.backlog, key=lambda b: (b.flow, b.status))
    ]
    finished = [
        {"flow": flow, "status": status, "last_hour": n}
        for (flow, status), n in sorted(health.finished.items())
    ]
    reasons = [
        {"flow": flow, "reason": reason, "last_hour": n}
        for (flow, reason), n in health.failure_reasons.most_common(20)
    ]
    oldest = health.oldest_pending
    return {
        "backlog": _table(
            [("flow", "string"), ("status", "string"), ("count", "int"), ("oldest", "string")],
            backlog,
        ),
        "pending_by_age": _table(
            [("age", "string"), ("count", "int")],
            [{"age": age, "count": n} for age, n in health.pending_by_age.items()],
        ),
        "finished_last_hour": _table(
            [("flow", "string"), ("status", "string"), ("last_hour", "int")], finished
        ),
        "failure_reasons_last_hour": _table(
            [("flow", "string"), ("reason", "string"), ("last_hour", "int")], reasons
        ),
        "pending": sum(b.count for b in health.backlog if b.status == "PENDING"),
        "processing": sum(b.count for b in health.backlog if b.status == "PROCESSING"),
        "completed_per_minute_last_hour": round(health.completed_per_minute(), 2),
        "oldest_pending_age_seconds": round(health.oldest_pending_age_seconds, 1),
        "oldest_pending": f"#{oldest['id']} {oldest['flow']} (attempt {oldest['attempt']})"
        if oldest
        else "none",
    }


@dg.asset(
    key=QUEUE_HEALTH,
    group_name="operations",
    description="Backlog of scrape_request_log by flow, status and age; oldest pending "
    "request; the last hour's failure reasons and throughput.",
    check_specs=[
        dg.AssetCheckSpec(
            "oldest_pending_age",
            asset=QUEUE_HEALTH,
            description="Warns when the oldest pending request has waited longer than "
            "BEAT_QUEUE_MAX_PENDING_AGE_SECONDS (default 900): claiming has stopped or "
            "cannot keep up.",
        )
    ],
)
def queue_health(
    database: DatabaseResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    health = measure(database.engine())
    yield dg.MaterializeResult(metadata=health_metadata(health))
    limit = max_pending_age_seconds()
    age = health.oldest_pending_age_seconds
    yield dg.AssetCheckResult(
        check_name="oldest_pending_age",
        passed=age <= limit,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"oldest_pending_age_seconds": round(age, 1), "threshold_seconds": limit},
        description=f"oldest pending request waited {age:.0f} s (threshold {limit:.0f} s)",
    )


queue_health_job = dg.define_asset_job("queue_health_job", selection=[QUEUE_HEALTH])
queue_health_schedule = dg.ScheduleDefinition(
    name="queue_health_schedule",
    job=queue_health_job,
    cron_schedule="*/5 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
