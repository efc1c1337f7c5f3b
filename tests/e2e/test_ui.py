"""What Dagster's UI shows, read through the UI's own GraphQL API (dagster-webserver started
on the test's instance): each day's own figures after a multi-day rebuild, the sensor's
ticks and name on the runs it requested, and no green partition for a day with nothing in it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from sqlalchemy import text

from beat.config import load_settings
from beat.flows import FAMILIES, flows_of_family
from beat.ui import free_port
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import QUIET_RUN_CONFIG, drive_until_drained
from beat_dagster.tags import BATCH_ID_TAG
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FAMILY = FAMILIES["instagram"]
LOCATION = {"repositoryLocationName": "beat", "repositoryName": "__repository__"}


class GraphQL:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/graphql"

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert "errors" not in answer, answer["errors"]
        return answer["data"]


@pytest.fixture
def webserver(stack: Stack) -> Iterator[GraphQL]:
    """dagster-webserver on the stack's instance, as `make ui` would start it."""
    port = free_port()
    bin_dir = Path(sys.executable).parent
    process = subprocess.Popen(
        [str(bin_dir / "dagster-webserver"), "-w", "workspace.yaml", "-p", str(port)],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    graphql = GraphQL(port)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, "dagster-webserver exited"
            try:
                located = graphql("{ workspaceOrError { ... on Workspace { locationEntries { "
                                  "locationOrLoadError { __typename } } } } }")  # fmt: skip
                entries = located["workspaceOrError"]["locationEntries"]
                if entries and entries[0]["locationOrLoadError"]["__typename"]:
                    assert entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation"
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "dagster-webserver did not come up"
            time.sleep(1)
        yield graphql
    finally:
        process.terminate()
        process.wait(timeout=30)


def materializations(graphql: GraphQL, asset: str, day: date) -> list[dict[str, Any]]:
    data = graphql(
        """query($key: AssetKeyInput!, $day: String!) { assetOrError(assetKey: $key) {
            ... on Asset { assetMaterializations(partitions: [$day]) { partition runId
              metadataEntries { label ... on IntMetadataEntry { intValue }
                ... on JsonMetadataEntry { jsonString } ... on TextMetadataEntry { text } } } } } }""",
        key={"path": [asset]},
        day=day.isoformat(),
    )
    out = []
    for event in data["assetOrError"]["assetMaterializations"]:
        meta = {}
        for entry in event["metadataEntries"]:
            value = entry.get("intValue", entry.get("text", entry.get("jsonString")))
            meta[entry["label"]] = value
        out.append({"run_id": event["runId"], **meta})
    return out


def check_executions(graphql: GraphQL, asset: str, check: str) -> list[dict[str, Any]]:
    data = graphql(
        """query($key: AssetKeyInput!, $check: String!) {
            assetCheckExecutions(assetKey: $key, checkName: $check, limit: 20) {
              runId status evaluation { description } } }""",
        key={"path": [asset]},
        check=check,
    )
    return data["assetCheckExecutions"]


def settle_yesterday(stack: Stack, defs: dg.Definitions, instance: dg.DagsterInstance) -> date:
    """Five requests run as yesterday's batch would have: claimed, run on yesterday's
    partition, their log rows dated yesterday."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    stack.submit("refresh_profile_by_handle", [{"handle": f"yday.{i}"} for i in range(5)])
    batch_id = "instagram-yesterday"
    assert len(stack.queue.claim_batch(flows_of_family("instagram"), 5, batch_id=batch_id)) == 5
    result = defs.resolve_job_def(FAMILY.job_name).execute_in_process(
        run_config=QUIET_RUN_CONFIG,
        instance=instance,
        partition_key=yesterday.isoformat(),
        tags={BATCH_ID_TAG: batch_id},
    )
    assert result.success
    with stack.engine.begin() as conn:
        conn.execute(
            text("UPDATE scrape_request_log SET updated_at = updated_at - interval '1 day' "
                 "WHERE batch_id = :batch_id"),
            {"batch_id": batch_id},
        )  # fmt: skip
    return yesterday


def test_ui_shows_each_day_the_sensor_and_no_green_empty_day(
    stack: Stack, webserver: GraphQL
) -> None:
    defs = build_definitions(load_settings())
    today = datetime.now(UTC).date()
    with dg.DagsterInstance.get() as instance:
        yesterday = settle_yesterday(stack, defs, instance)
        stack.submit("refresh_profile_by_handle", [{"handle": f"today.{i}"} for i in range(8)])
        report = drive_until_drained(defs, instance, stack.queue, [FAMILY], deadline_seconds=180)
        assert report.drained and report.runs >= 1
        # A rebuild of both days in one run (what `dagster asset materialize` with a range does).
        rebuild = defs.resolve_job_def(f"{FAMILY.name}_rebuild_job")
        multi_day = rebuild.execute_in_process(
            run_config=QUIET_RUN_CONFIG,
            instance=instance,
            tags={
                ASSET_PARTITION_RANGE_START_TAG: yesterday.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: today.isoformat(),
            },
        )
        assert multi_day.success
        empty_day = today - timedelta(days=3)
        empty = rebuild.execute_in_process(
            run_config=QUIET_RUN_CONFIG, instance=instance, partition_key=empty_day.isoformat()
        )
        assert empty.success  # the run worked; it says it found nothing
        nothing_to_fetch = defs.resolve_job_def("media_batch_job").execute_in_process(
            run_config=QUIET_RUN_CONFIG, instance=instance, partition_key=today.isoformat()
        )

    # 1. Each day's partition shows that day's own figures, in the batch runs and the rebuild.
    for day, handles in ((yesterday, 5), (today, 8)):
        events = materializations(webserver, "instagram_profiles", day)
        rebuilt = [e for e in events if e["run_id"] == multi_day.run_id]
        assert len(rebuilt) == 1, events
        assert rebuilt[0]["day"] == day.isoformat()
        assert rebuilt[0]["day_requests_completed"] == handles
        assert rebuilt[0]["day_rows"] == handles
        assert json.loads(rebuilt[0]["day_provider_mix"])
        assert rebuilt[0]["rebuild"].startswith(f"rebuilt {handles} profiles")
    # ...and the batch's own figures are on its run (its check), not on the partition.
    batch_checks = check_executions(webserver, "instagram_profiles", "batch_failure_rate")
    assert {c["runId"] for c in batch_checks} >= set(report.run_ids)

    # 2. Runs the driver executed are the sensor's runs, and its page lists the ticks.
    runs = webserver(
        """{ runsOrError(filter: {tags: [{key: "dagster/sensor_name",
             value: "instagram_batch_sensor"}]}) { ... on Runs { results { runId jobName } } } }"""
    )["runsOrError"]["results"]
    assert {r["runId"] for r in runs} == set(report.run_ids)
    assert {r["jobName"] for r in runs} == {FAMILY.job_name}
    sensor = webserver(
        """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
             ... on Sensor { sensorState { ticks(limit: 100) { status runIds } } } } }""",
        s={**LOCATION, "sensorName": FAMILY.sensor_name},
    )["sensorOrError"]["sensorState"]["ticks"]
    ticked = {run_id for t in sensor if t["status"] == "SUCCESS" for run_id in t["runIds"]}
    assert ticked == set(report.run_ids)
    rebuild_run = webserver(
        "query($id: ID!) { runOrError(runId: $id) { ... on Run { jobName } } }",
        id=multi_day.run_id,
    )["runOrError"]
    assert rebuild_run["jobName"] == "instagram_rebuild_job"

    # 3. Nothing green that did nothing: the empty day is not materialized and its checks fail.
    assert materializations(webserver, "instagram_profiles", empty_day) == []
    for asset in ("instagram_profiles", "instagram_posts"):
        mine = [
            c for c in check_executions(webserver, asset, "rows_written")
            if c["runId"] == empty.run_id
        ]  # fmt: skip
        # The failed evaluation, and the day's planned execution left not done (skipped).
        assert {c["status"] for c in mine} <= {"FAILED", "SKIPPED"}
        (failed,) = [c["evaluation"] for c in mine if c["status"] == "FAILED"]
        assert empty_day.isoformat() in failed["description"]
    assert materializations(webserver, "media", today) == []
    fetched = check_executions(webserver, "media", "media_fetched")
    statuses = {c["status"] for c in fetched if c["runId"] == nothing_to_fetch.run_id}
    assert "FAILED" in statuses and "SUCCEEDED" not in statuses
    # Every check tells the operator what it checks.
    checks = webserver(
        """{ assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks {
             checks { name description } } } } }"""
    )["assetNodes"]
    described = {
        (node["assetKey"]["path"][-1], check["name"]): check["description"]
        for node in checks
        for check in node["assetChecksOrError"].get("checks", [])
    }
    assert ("instagram_posts", "rows_written") in described
    assert all(described.values()), described
