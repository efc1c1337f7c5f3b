"""Drive a family's sensor and runs in this process, as the Dagster daemon would.

The daemon launches each run in a fresh process (5-15 s apiece on this class of machine);
the demo, the end-to-end tests and the benchmark execute the same runs in-process on the
same instance, so what they produce is what `dagster dev` shows: each evaluation is recorded
as a tick of the sensor (its page lists them, with the runs they requested), and each run
carries the sensor's name and run key as a daemon-launched run would.

Like the daemon, the driver outlives a failed run or tick (a database restart, a bug in one
batch): it logs it, hands the failed run's requests back to the queue and carries on.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.repository_definition.valid_definitions import (
    SINGLETON_REPOSITORY_NAME,
)
from dagster._core.definitions.selector import InstigatorSelector
from dagster._core.remote_origin import RemoteInstigatorOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import InstigatorType, TickData, TickStatus
from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._utils.error import serializable_error_info_from_exc_info

from beat.flows import Family
from beat.store.queue import RequestQueue
from beat_dagster.tags import BATCH_ID_TAG

log = logging.getLogger(__name__)

# The run's own events still go to the instance (the UI shows them); only the console
# echo of every DEBUG event is silenced.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

#: The workspace `make ui` loads: ticks are recorded under its code location's sensors.
WORKSPACE_YAML = Path(__file__).resolve().parents[1] / "workspace.yaml"
LOCATION_NAME = "beat"  # workspace.yaml's location_name


@dataclass
class DriveReport:
    runs: int = 0
    failed_runs: int = 0
    ticks: int = 0
    failed_ticks: int = 0
    seconds: float = 0.0
    run_ids: list[str] = field(default_factory=list)
    drained: bool = False


def batch_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """The batch's own figures: the metadata of the run's batch check (a partition's
    materialization describes its whole day, not this batch)."""
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if evaluation.check_name in ("batch_failure_rate", "media_fetched"):  # type: ignore[union-attr]
                metadata = evaluation.metadata  # type: ignore[union-attr]
                return {k: getattr(v, "value", v) for k, v in metadata.items()}
    return {}


@dataclass(frozen=True)
class SensorIdentity:
    """Where the UI looks up a sensor's ticks: its selector (code location, repository,
    name) and its origin, computed from workspace.yaml as `dagster dev` computes them."""

    name: str
    origin_id: str
    selector_id: str

    @classmethod
    def of(cls, sensor_name: str, workspace: Path = WORKSPACE_YAML) -> SensorIdentity:
        repository_name = SINGLETON_REPOSITORY_NAME
        if not workspace.exists():  # an installed package: the location name is all we know
            selector = InstigatorSelector(
                location_name=LOCATION_NAME, repository_name=repository_name, name=sensor_name
            )
            return cls(sensor_name, selector.get_id(), selector.get_id())
        (location,) = location_origins_from_yaml_paths([str(workspace)])
        repository = RemoteRepositoryOrigin(location, repository_name)
        selector = InstigatorSelector(
            location_name=location.location_name, repository_name=repository_name, name=sensor_name
        )
        origin_id = RemoteInstigatorOrigin(repository, sensor_name).get_id()
        return cls(sensor_name, origin_id, selector.get_id())


class SensorTicker:
    """Evaluates one sensor and records each evaluation as a tick in the instance, the way
    the sensor daemon does: SUCCESS with the runs it requested, SKIPPED with the reason, or
    FAILURE with the error. Skipped ticks are recorded at most once per the sensor's minimum
    interval (the driver polls faster than the daemon would evaluate it)."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance, name: str) -> None:
        self.defs = defs
        self.instance = instance
        self.sensor = defs.resolve_sensor_def(name)
        self.identity = SensorIdentity.of(name)
        self._last_skip_recorded = 0.0

    def evaluate(self) -> list[tuple[str, dg.RunRequest]]:
        """The (run id, request) pairs of one evaluation, already recorded on its tick."""
        started = time.time()
        context = dg.build_sensor_context(
            instance=self.instance, definitions=self.defs, resources=self.defs.resources
        )
        try:
            result = self.sensor(context)
        except Exception:
            error = serializable_error_info_from_exc_info(sys.exc_info())
            self._record(started, TickStatus.FAILURE, error=error)
            raise
        runs = [(str(uuid.uuid4()), r) for r in getattr(result, "run_requests", None) or []]
        if runs:
            self._record(
                started,
                TickStatus.SUCCESS,
                run_ids=[run_id for run_id, _ in runs],
                run_keys=[r.run_key for _, r in runs if r.run_key],
                cursor=getattr(result, "cursor", None),
            )
        elif started - self._last_skip_recorded >= (self.sensor.minimum_interval_seconds or 30):
            self._last_skip_recorded = started
            reason = getattr(result, "skip_message", None) or str(result or "")
            self._record(started, TickStatus.SKIPPED, skip_reason=reason)
        return runs

    def _record(self, started: float, status: TickStatus, **data: Any) -> None:
        self.instance.create_tick(
            TickData(
                instigator_origin_id=self.identity.origin_id,
                instigator_name=self.identity.name,
                instigator_type=InstigatorType.SENSOR,
                status=status,
                timestamp=started,
                selector_id=self.identity.selector_id,
                end_timestamp=time.time(),
                **data,
            )
        )

    def run_tags(self, request: dg.RunRequest) -> dict[str, str]:
        tags = {**request.tags, SENSOR_NAME_TAG: self.identity.name}
        if request.run_key:
            tags[RUN_KEY_TAG] = request.run_key
        return tags


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, sensor_name: str) -> Any:
    """Evaluate a sensor once without recording a tick (tests of the sensor's logic)."""
    sensor = defs.resolve_sensor_def(sensor_name)
    context = dg.build_sensor_context(instance=instance, definitions=defs, resources=defs.resources)
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
    PENDING or PROCESSING (retries wait out their backoff). A failed run or tick is logged
    and counted, never the end of the drive."""
    report = DriveReport()
    tickers = [SensorTicker(defs, instance, family.sensor_name) for family in families]
    started = time.perf_counter()
    while time.perf_counter() - started < deadline_seconds:
        ran = 0
        for family, ticker in zip(families, tickers, strict=True):
            report.ticks += 1
            try:
                runs = ticker.evaluate()
            except Exception:
                report.failed_ticks += 1
                log.exception("tick of %s failed; trying again", family.sensor_name)
                continue
            job = defs.resolve_job_def(family.job_name)
            for run_id, request in runs:
                outcome = _execute(job, instance, queue, run_id, request, ticker.run_tags(request))
                ran += 1
                report.run_ids.append(run_id)
                if outcome is None or not outcome.success:
                    report.failed_runs += 1
                elif on_run:
                    on_run(request, outcome)
        report.runs += ran
        if ran == 0:
            if _drained(queue):
                report.drained = True
                break
            time.sleep(idle_sleep_seconds)
    report.seconds = time.perf_counter() - started
    return report


def _execute(
    job: Any,
    instance: dg.DagsterInstance,
    queue: RequestQueue,
    run_id: str,
    request: dg.RunRequest,
    tags: dict[str, str],
) -> dg.ExecuteInProcessResult | None:
    """One requested run; a failure is logged and its batch handed back to the queue (what
    release_failed_batches_sensor does for daemon-launched runs)."""
    try:
        outcome = job.execute_in_process(
            run_config=QUIET_RUN_CONFIG,
            instance=instance,
            partition_key=request.partition_key,
            tags=tags,
            run_id=run_id,
            raise_on_error=False,
        )
        if outcome.success:
            return outcome
        log.error("run %s (%s) failed; its requests go back to the queue", run_id, job.name)
    except Exception:
        outcome = None
        log.exception("run %s (%s) could not start; its requests go back", run_id, job.name)
    batch_id = tags.get(BATCH_ID_TAG)
    if batch_id:
        try:
            # Rows the run adopted made an attempt; rows it never reached get theirs back.
            queue.release_batch(batch_id, run_id, "run failed")
            queue.release_batch(batch_id, reason="run failed before adopting", give_back=True)
        except Exception:  # the store may still be down: the leases lapse and the reaper acts
            log.warning("could not release batch %s now; its leases will lapse", batch_id)
    return outcome


def _drained(queue: RequestQueue) -> bool:
    try:
        counts = queue.count_by_status()
    except Exception:
        log.warning("could not count the queue; trying again", exc_info=True)
        return False
    return counts.get("PENDING", 0) + counts.get("PROCESSING", 0) == 0
