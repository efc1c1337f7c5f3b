"""The in-process driver outlives a failed run, as the daemon would: it hands the run's
requests back and keeps ticking, so nothing is left PROCESSING."""

from __future__ import annotations

import threading
import time

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from beat.config import load_settings
from beat.flows import FAMILIES
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import drive_until_drained
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_driver_keeps_going_after_a_failed_run(stack: Stack) -> None:
    # The object folder is a file: storing the batch's raw responses fails, so the run does.
    objects = stack.home / "objects"
    objects.write_text("not a folder")
    stack.submit("refresh_profile_by_handle", [{"handle": f"survivor.{i}"} for i in range(6)])
    defs = build_definitions(load_settings())
    failed = RunsFilter(statuses=[DagsterRunStatus.FAILURE])
    with dg.DagsterInstance.get() as instance:

        def repair_after_first_failure() -> None:
            deadline = time.monotonic() + 120
            while not instance.get_runs_count(failed) and time.monotonic() < deadline:
                time.sleep(0.2)
            objects.unlink()
            objects.mkdir()

        repair = threading.Thread(target=repair_after_first_failure, daemon=True)
        repair.start()
        report = drive_until_drained(
            defs, instance, stack.queue, [FAMILIES["instagram"]], deadline_seconds=180
        )
        repair.join(timeout=5)
        assert instance.get_runs_count(failed) == report.failed_runs >= 1
    assert report.drained
    assert report.runs > report.failed_runs  # it went on to run the batch again
    assert stack.statuses() == {"COMPLETE": 6}
    assert any(objects.rglob("*.jsonl.gz"))
