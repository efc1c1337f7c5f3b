"""SIGTERM drains: a batch run and the intake API stop taking work, finish or hand back what
they hold, and exit cleanly. Real processes, real PostgreSQL, the sandbox over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from beat.store.models import scrape_request_log
from beat_dagster.tags import BATCH_ID_TAG
from tests.e2e.conftest import TOKEN, Stack
from tests.ops.processes import free_port, port_open, started, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
GRACE = 3.0


def test_sigterm_run_finishes_in_flight_and_hands_back_the_rest(stack: Stack) -> None:
    stack.submit("refresh_profile_by_handle", [{"handle": f"term.{i:03d}"} for i in range(40)])
    stack.fault("*", "slow", rate=1.0, delay=0.4)
    env = {
        **os.environ, **stack.env(), "BEAT_CONCURRENCY": "4",
        "BEAT_DRAIN_GRACE_SECONDS": str(GRACE),
    }  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.batch_child"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        started_line = child.stdout.readline() if child.stdout else ""
        assert started_line.startswith("started"), started_line
        deadline = time.monotonic() + 60
        while stack.statuses().get("COMPLETE", 0) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stack.statuses().get("PROCESSING", 0) > 0, "SIGTERM should land mid-batch"
        child.send_signal(signal.SIGTERM)
        output, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == 0, output
    statuses = stack.statuses()
    # Nothing is left PROCESSING: what was in flight finished, the rest is claimable again.
    assert set(statuses) == {"COMPLETE", "PENDING"}, statuses
    assert sum(statuses.values()) == 40
    with stack.engine.connect() as conn:
        handed_back = conn.execute(
            select(
                scrape_request_log.c.retry_count,
                scrape_request_log.c.max_attempts,
                scrape_request_log.c.last_error,
            ).where(scrape_request_log.c.status == "PENDING")
        ).all()
    # The drain is not the request's fault: its attempt is given back.
    assert {(r.retry_count, r.max_attempts) for r in handed_back} == {(0, 4)}
    assert all("SIGTERM" in r.last_error for r in handed_back)
    # The run itself ended successfully and says what it handed back.
    with dg.DagsterInstance.get() as instance:
        [record] = instance.get_run_records()
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        assert record.dagster_run.tags[BATCH_ID_TAG]
        event = instance.get_latest_materialization_event(dg.AssetKey("instagram_profiles"))
        assert event is not None and event.asset_materialization is not None
        metadata = event.asset_materialization.metadata
        assert metadata["handed_back_on_stop"].value == statuses["PENDING"]


def test_sigterm_api_finishes_in_flight_requests_and_refuses_new_ones(
    stack: Stack, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **stack.env(), "BEAT_API_TOKEN": TOKEN, "BEAT_DRAIN_GRACE_SECONDS": "10",
        "BEAT_LOG_FORMAT": "json",
    }  # fmt: skip
    # An inline refresh takes ~1.5 s: the sandbox answers slowly.
    stack.fault("*", "slow", rate=1.0, delay=1.5)
    with started("api", ["beat", "api", "--port", str(port)], env, tmp_path) as api:
        api.wait_for_port(port)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/profiles/instagram/byhandle/drain.me?force_refresh=true",
            headers={"Authorization": f"Bearer {TOKEN}", "X-Request-ID": "drain-req-1"},
        )
        answers: list[int] = []

        def call() -> None:
            with urllib.request.urlopen(request, timeout=30) as response:
                answers.append(response.status)

        import threading

        in_flight = threading.Thread(target=call)
        in_flight.start()
        time.sleep(0.5)  # the request is now waiting on the sandbox
        api.signal(signal.SIGTERM)
        wait_until(lambda: not port_open(port), 5, "the API to stop listening", interval=0.05)
        in_flight.join(30)
        assert answers == [200], api.tail()
        api.proc.wait(30)
        assert api.proc.returncode == 0, api.tail()
        text = api.log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any("API stopping" in line["message"] for line in lines)
    # Structured access line for the in-flight request, with the caller's request id.
    [access] = [line for line in lines if line.get("request_id") == "drain-req-1"
                and line["logger"] == "aiohttp.access"]  # fmt: skip
    assert access["status"] == 200
    assert access["path"] == "/profiles/instagram/byhandle/drain.me"
    assert TOKEN not in text
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/heartbeat", timeout=2)
