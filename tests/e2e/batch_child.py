"""Run in a child process by the kill test: one sensor tick and the runs it requests."""

from __future__ import annotations

import dagster as dg

from beat.config import load_settings
from beat.flows import FAMILIES
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import tick


def main() -> None:
    defs = build_definitions(load_settings())
    sensor_name = FAMILIES["instagram"].sensor_name
    job = defs.resolve_job_def(defs.resolve_sensor_def(sensor_name).job_name)
    with dg.DagsterInstance.get() as instance:
        result = tick(defs, instance, sensor_name)
        for request in result.run_requests:
            print(f"started {request.run_key}", flush=True)
            job.execute_in_process(
                instance=instance, partition_key=request.partition_key, tags=request.tags
            )


if __name__ == "__main__":
    main()
