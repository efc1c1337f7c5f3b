"""Intake -> sensor -> batch run -> rows, through Dagster on PostgreSQL, against the sandbox.

The app database and the Dagster instance are both real PostgreSQL databases; providers
are the sandbox over real HTTP; requests arrive through the intake API.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from beat.config import load_settings
from beat.flows import FAMILIES
from beat.store.models import instagram_account, instagram_post, scrape_request_log
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import QUIET_RUN_CONFIG, drive_until_drained, tick
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FAMILY = FAMILIES["instagram"]
SENSOR = FAMILY.sensor_name


def test_requests_flow_from_intake_to_rows(stack: Stack) -> None:
    handles = [f"creator.{i:03d}" for i in range(60)] + ["missing_nobody"]
    stack.submit("refresh_profile_by_handle", [{"handle": h} for h in handles])
    stack.fault("graphapi", "server_error", rate=0.3)  # some requests fall back to arraybobo

    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = drive_until_drained(defs, instance, stack.queue, [FAMILY], deadline_seconds=180)
        assert report.drained and report.runs >= 1
        materialized = instance.fetch_materializations(dg.AssetKey("instagram_profiles"), limit=100)
        assert len(materialized.records) == report.runs

    assert stack.statuses() == {"COMPLETE": 60, "FAILED": 1}
    assert stack.count(instagram_account) == 60
    assert stack.count(instagram_post) > 60
    with stack.engine.connect() as conn:
        log = scrape_request_log.c
        done = conn.execute(
            select(log.provider, log.dagster_run_id, log.batch_id).where(log.status == "COMPLETE")
        ).all()
        failed = conn.execute(select(log.last_error).where(log.status == "FAILED")).scalar_one()
        row_providers = set(conn.execute(select(instagram_account.c.provider)).scalars())
    assert {provider for provider, _, _ in done} == {"graphapi", "arraybobo"}
    assert {run_id for _, run_id, _ in done} <= set(report.run_ids)
    assert row_providers <= {"graphapi", "arraybobo"}
    assert failed.startswith("target TargetNotFound[arraybobo 404]")
    raw = list((stack.home / "objects" / "raw" / "instagram").rglob("*.jsonl.gz"))
    assert raw, "every batch keeps its raw provider responses"


def test_killed_run_loses_no_request(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    stack.submit("refresh_profile_by_handle", [{"handle": f"slow.{i:03d}"} for i in range(40)])
    stack.fault("*", "slow", rate=1.0, delay=0.4)
    env = {**os.environ, **stack.env(), "BEAT_LEASE_SECONDS": "3", "BEAT_CONCURRENCY": "4"}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.batch_child"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        started = child.stdout.readline() if child.stdout else ""
        assert started.startswith("started"), started
        deadline = time.monotonic() + 60
        while stack.statuses().get("COMPLETE", 0) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    mid = stack.statuses()
    assert mid.get("PROCESSING", 0) > 0, f"the kill should land mid-batch: {mid}"

    stack.fault("*", "none")
    monkeypatch.setenv("BEAT_LEASE_SECONDS", "3")
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = drive_until_drained(defs, instance, stack.queue, [FAMILY], deadline_seconds=120)
    assert report.drained
    assert stack.statuses() == {"COMPLETE": 40}
    assert stack.count(instagram_account) == 40


def test_reexecuting_a_failed_run_finishes_its_batch(stack: Stack) -> None:
    stack.submit("refresh_profile_by_handle", [{"handle": f"again.{i}"} for i in range(8)])
    defs = build_definitions(load_settings())
    job = defs.resolve_job_def(FAMILIES["instagram"].job_name)
    with dg.DagsterInstance.get() as instance:
        [request] = tick(defs, instance, SENSOR).run_requests
        batch_id = request.run_key
        # The first run died before finishing: its failure path handed the rows back.
        stack.queue.release_batch(batch_id, None, "run failed")
        # Re-execution from the UI copies the run's tags, so it carries the same batch id.
        result = job.execute_in_process(
            run_config=QUIET_RUN_CONFIG, instance=instance,
            partition_key=request.partition_key, tags=request.tags,
        )  # fmt: skip
    assert result.success
    rows = stack.queue.batch_rows(batch_id)
    assert len(rows) == 8
    assert {row.status for row in rows} == {"COMPLETE"}
    assert {row.dagster_run_id for row in rows} == {result.run_id}
