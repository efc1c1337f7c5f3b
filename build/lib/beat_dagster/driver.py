"""Drive a family's sensor and runs in this process, as the Dagster daemon would.

The daemon launches each run in a fresh process (5-15 s apiece on this class of machine);
the demo, the end-to-end tests and the benchmark execute the same runs in-process on the
same instance, so what they produce is what `dagster dev` shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
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


def batch_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """The metadata of the run's first materialization (every batch asset reports its batch)."""
    for event in result.all_events:
        if event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
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
    families: Sequence[Family],
    *,
    deadline_seconds: float = 600.0,
    idle_sleep_seconds: float = 0.5,
    on_run: Callable[[dg.RunRequest, dg.ExecuteInProcessResult], None] | None = None,
) -> DriveReport:
    """Tick every family's sensor and execute the runs they request, until no request is
    PENDING or PROCESSING (retries wait out their backoff)."""
    report = DriveReport()
    started = time.perf_counter()
    while time.perf_counter() - started < deadline_seconds:
        ran = 0
        for family in families:
            result = tick(defs, instance, family.sensor_name)
            report.ticks += 1
            job = defs.resolve_job_def(family.job_name)
            for request in getattr(result, "run_requests", None) or []:
                outcome = job.execute_in_process(
                    run_config=QUIET_RUN_CONFIG,
                    instance=instance,
                    partition_key=request.partition_key,
                    tags=request.tags,
                )
                ran += 1
                report.run_ids.append(outcome.run_id)
                if on_run:
                    on_run(request, outcome)
        report.runs += ran
        if ran == 0:
            counts = queue.count_by_status()
            if counts.get("PENDING", 0) + counts.get("PROCESSING", 0) == 0:
                report.drained = True
                break
            time.sleep(idle_sleep_seconds)
    report.seconds = time.perf_counter() - started
    return report
