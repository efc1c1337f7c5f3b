"""Runs that never start spend no attempt: the sensor claims a batch, its run never adopts it
(a launch failure, a misconfigured instance), the lease lapses, the next tick's reaper hands
the requests back with their attempt given back. Four such rounds with max_attempts 3 leave
all 5 requests PENDING; then a run that does start completes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import update

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models import scrape_request_log
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import QUIET_RUN_CONFIG, tick
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FAMILY = FAMILIES["instagram"]


def let_pass(stack: Stack, column: str) -> None:
    """Time passes for `column` (the leases lapse, or the backoff ends), as it would."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    with stack.engine.begin() as conn:
        conn.execute(update(scrape_request_log).values({column: past}))


def test_claimed_batches_whose_runs_never_start_spend_no_attempt(stack: Stack) -> None:
    stack.submit("refresh_profile_by_handle", [{"handle": f"never.{i}"} for i in range(5)])
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        for round_ in range(4):  # more lapsed claims than BEAT_MAX_ATTEMPTS (3)
            result = tick(defs, instance, FAMILY.sensor_name)
            assert isinstance(result, dg.SensorResult), (round_, result)
            [request] = result.run_requests
            assert request.tags["beat/batch_size"] == "5"
            let_pass(stack, "lease_expires_at")  # ... and the run never adopted the batch
            reaped = tick(defs, instance, FAMILY.sensor_name)  # the reaper hands them back
            assert "lease reaper: 5" in reaped.skip_message
            let_pass(stack, "run_after")
        [request] = tick(defs, instance, FAMILY.sensor_name).run_requests
        rows = stack.queue.batch_rows(request.run_key)
        assert len(rows) == 5 and {r.status for r in rows} == {"PROCESSING"}
        assert {(r.attempt, r.retry_count, r.max_attempts) for r in rows} == {(5, 0, 7)}
        assert all("before any run adopted" in (r.last_error or "") for r in rows)

        result = defs.resolve_job_def(FAMILY.job_name).execute_in_process(
            run_config=QUIET_RUN_CONFIG, instance=instance,
            partition_key=request.partition_key, tags=request.tags,
        )  # fmt: skip
    assert result.success
    assert stack.statuses() == {"COMPLETE": 5}
