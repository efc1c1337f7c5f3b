"""queue_health: what operators see of the queue's backlog, failures and throughput."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from beat.config import load_settings
from beat.store.models import scrape_request_log as t
from beat.store.queue import Completion, Failure, RequestQueue
from beat_dagster.definitions import build_definitions

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _queue_with_history(engine: Engine) -> RequestQueue:
    """3 old pending handles (one two hours old), 2 processing, 4 complete and 2 failed in
    the last hour, 1 complete yesterday (outside the window)."""
    queue = RequestQueue(engine)
    for i in range(12):
        queue.enqueue("refresh_profile_by_handle", "INSTAGRAM", {"handle": f"h{i}"})
    claims = queue.claim_batch(["refresh_profile_by_handle"], 9, batch_id="b1")
    queue.complete([Completion(c.id, c.attempt, "graphapi", None) for c in claims[:5]])
    queue.fail(
        [
            Failure(claims[5].id, claims[5].attempt, "target NotFound: no such user", False),
            Failure(claims[6].id, claims[6].attempt, "bad-input BadInput: handle", False),
        ]
    )
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            update(t).where(t.c.id == claims[0].id).values(updated_at=now - timedelta(days=1))
        )
        pending = [r for r in range(1, 13) if r not in {c.id for c in claims}]
        oldest = min(pending)
        conn.execute(update(t).where(t.c.id == oldest).values(created_at=now - timedelta(hours=2)))
    return queue


@pytest.mark.parametrize(("threshold", "passes"), [("600", False), ("86400", True)])
def test_queue_health_reports_backlog_failures_throughput_and_warns_on_age(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch, threshold: str, passes: bool
) -> None:
    monkeypatch.setenv("BEAT_HOME", str(tmp_path))
    monkeypatch.setenv("BEAT_DATABASE_URL", database_url)
    monkeypatch.setenv("BEAT_QUEUE_MAX_PENDING_AGE_SECONDS", threshold)
    _queue_with_history(engine)
    job = build_definitions(load_settings()).resolve_job_def("queue_health_job")
    result = job.execute_in_process(run_config=QUIET)
    (materialization,) = result.asset_materializations_for_node("queue_health")
    meta = materialization.metadata
    backlog = {
        (r.data["flow"], r.data["status"]): r.data["count"] for r in meta["backlog"].value.records
    }
    assert backlog == {
        ("refresh_profile_by_handle", "PENDING"): 3,
        ("refresh_profile_by_handle", "PROCESSING"): 2,
    }
    ages = {r.data["age"]: r.data["count"] for r in meta["pending_by_age"].value.records}
    assert ages == {"<1m": 2, "1-10m": 0, "10-60m": 0, "1-24h": 1, ">24h": 0}
    finished = {
        (r.data["status"]): r.data["last_hour"] for r in meta["finished_last_hour"].value.records
    }
    assert finished == {"COMPLETE": 4, "FAILED": 2}  # yesterday's completion is outside
    reasons = {
        r.data["reason"]: r.data["last_hour"]
        for r in meta["failure_reasons_last_hour"].value.records
    }
    assert reasons == {"target NotFound": 1, "bad-input BadInput": 1}
    assert meta["completed_per_minute_last_hour"].value == pytest.approx(4 / 60, abs=0.01)
    assert 7190 < meta["oldest_pending_age_seconds"].value < 7300
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "oldest_pending_age"
    assert check.passed is passes
    assert check.metadata["threshold_seconds"].value == float(threshold)


def test_queue_health_on_an_empty_queue_passes(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("BEAT_HOME", str(tmp_path))
    monkeypatch.setenv("BEAT_DATABASE_URL", database_url)
    job = build_definitions(load_settings()).resolve_job_def("queue_health_job")
    result = job.execute_in_process(run_config=QUIET)
    (materialization,) = result.asset_materializations_for_node("queue_health")
    assert materialization.metadata["pending"].value == 0
    assert materialization.metadata["oldest_pending"].value == "none"
    (check,) = result.get_asset_check_evaluations()
    assert check.passed
