"""Drive a family's sensor and runs in this process, as the Dagster daemon would.

The daemon launches each run in a fresh process (5-15 s apiece on this class of machine);
the demo, the end-to-end tests and the benchmark execute the same runs in-process on the
same instance, so what they produce is what `dagster dev` shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from beat.flows import Family
from beat.store.queue import RequestQueue

# The run's own events still go to the instance (the UI shows them); only the console
# echo of every DEBUG event is silenced.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class DriveReport:
    runs: int = 0
    ticks: int = 0
    seconds: float = 0.0
    run_ids: list[str] = field(default_factory=list)
    drained: bool = False


def batch_metadata(
    result: dg.ExecuteInProcessResult, asset: str = "instagram_profiles"
) -> dict[str, Any]:
    for materialization in result.asset_materializations_for_node("instagram_batch"):
        if materialization.asset_key.path == [asset]:
            return {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
    return {}


def tick(
    defs: dg.Definitions, instance: dg.DagsterInstance, sensor_name: str, cursor: str | None = None
) -> Any:
    sensor = defs.resolve_sensor_def(sensor_name)
    context = dg.build_sensor_context(
        instance=instance, definitions=defs, resources=defs.resources, cursor=cursor
    )
    return sensor(context)


def drive_until_drained(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    queue: RequestQueue,
    family: Family,
    *,
    deadline_seconds: float = 600.0,
    idle_sleep_seconds: float = 0.5,
    on_run: Callable[[dg.RunRequest, dg.ExecuteInProcessResult], None] | None = None,
) -> DriveReport:
    """Tick and run until no request is PENDING or PROCESSING (retries wait out backoff)."""
    report = DriveReport()
    job = defs.resolve_job_def(family.job_name)
    started = time.perf_counter()
    cursor = None
    while time.perf_counter() - started < deadline_seconds:
        result = tick(defs, instance, family.sensor_name, cursor)
        report.ticks += 1
        run_requests = getattr(result, "run_requests", None) or []
        if not run_requests:
            counts = queue.count_by_status()
            if counts.get("PENDING", 0) + counts.get("PROCESSING", 0) == 0:
                report.drained = True
                break
            time.sleep(idle_sleep_seconds)
            continue
        cursor = result.cursor
        for request in run_requests:
            outcome = job.execute_in_process(
                run_config=QUIET_RUN_CONFIG,
                instance=instance,
                partition_key=request.partition_key,
                tags=request.tags,
            )
            report.runs += 1
            report.run_ids.append(outcome.run_id)
            if on_run:
                on_run(request, outcome)
    report.seconds = time.perf_counter() - started
    return report
