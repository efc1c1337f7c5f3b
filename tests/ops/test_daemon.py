"""The production path: `dagster-daemon run` with deploy/dagster.yaml on PostgreSQL.

Requests posted to the intake API are claimed by the batch sensor (ticked by the daemon),
queued by the QueuedRunCoordinator, launched as runs of their own and all finish; the
per-family limit holds; a launched run that gets SIGTERM hands its work back and ends cleanly.
Every part is a real process: sandbox, API, daemon (which starts the code server from
deploy/workspace.yaml), and every run is a process the code server spawned.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from sqlalchemy import Engine, select

from beat.demo import submit_all
from beat.store.credentials import save_credentials
from beat.store.db import make_engine, upgrade
from beat.store.models import scrape_request_log
from beat.store.queue import RequestQueue
from beat_dagster.tags import FAMILY_TAG
from sandbox import RATE_LIMITS_FILE, sandbox_credentials
from tests.ops.processes import ROOT, Process, free_port, started, wait_until
from tests.support import batch_figures, scratch_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

#: What the tests submit; other sensors (GPT enrichment of new profiles) may queue more.
FLOW = "refresh_profile_by_handle"

TOKEN = "ops-daemon-token-abcdefgh"
DEPLOY = ROOT / "deploy"
FAMILY_LIMIT = 1  # the tests lower deploy/dagster.yaml's per-family limit to see it hold


def production_instance_yaml(home: Path) -> None:
    """deploy/dagster.yaml as shipped, with the per-family limit lowered to FAMILY_LIMIT."""
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    for rule in config["run_coordinator"]["config"]["tag_concurrency_limits"]:
        if rule["key"] == FAMILY_TAG and isinstance(rule["value"], dict):
            rule["limit"] = FAMILY_LIMIT
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


@dataclass
class Production:
    engine: Engine
    queue: RequestQueue
    instance: DagsterInstance
    api_url: str
    sandbox_url: str
    daemon: Process
    api: Process

    def submit(self, handles: list[str]) -> None:
        requests = [(FLOW, {"params": {"handle": h}}) for h in handles]
        statuses = asyncio.run(submit_all(self.api_url, TOKEN, requests))
        assert statuses == {201: len(handles)}

    def fault(self, mode: str, delay: float = 0.0) -> None:
        async def call() -> None:
            body = {"provider": "*", "mode": mode, "rate": 1.0, "delay_seconds": delay}
            async with (
                aiohttp.ClientSession() as session,
                session.post(f"{self.sandbox_url}/_sandbox/faults", json=body) as response,
            ):
                response.raise_for_status()

        asyncio.run(call())

    def wait_finished(self, count: int, timeout: float = 420) -> None:
        def finished() -> bool:
            counts = self.queue.count_by_status([FLOW])
            return counts.get("COMPLETE", 0) + counts.get("FAILED", 0) == count

        wait_until(finished, timeout, f"all {count} requests finished", self.daemon, self.api)

    def runs(self, *statuses: DagsterRunStatus) -> list:
        return list(
            self.instance.get_run_records(
                RunsFilter(tags={FAMILY_TAG: "instagram"}, statuses=list(statuses) or None)
            )
        )


@contextmanager
def production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: str
) -> Iterator[Production]:
    with (
        scratch_postgres("beat_ops_app") as app_url,
        scratch_postgres("beat_ops_dagster") as dagster_url,
    ):
        engine = make_engine(app_url)
        upgrade(engine)
        save_credentials(engine, sandbox_credentials())
        home = tmp_path / "dagster"
        home.mkdir()
        production_instance_yaml(home)
        sandbox_port, api_port = free_port(), free_port()
        env = {
            "BEAT_HOME": str(tmp_path / "beat"),
            "BEAT_DATABASE_URL": app_url,
            "BEAT_SANDBOX_URL": f"http://127.0.0.1:{sandbox_port}",
            "BEAT_RATE_LIMITS": str(RATE_LIMITS_FILE),
            "BEAT_API_TOKEN": TOKEN,
            "BEAT_MEDIA_FROM_BATCHES": "0",
            "BEAT_BATCH_MIN": "1",
            "BEAT_RELAY_AFTER_BATCH_SECONDS": "0",
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_URL": dagster_url.replace("+psycopg://", "+psycopg2://"),
            **settings,
        }
        monkeypatch.setenv("DAGSTER_PG_URL", env["DAGSTER_PG_URL"])  # this process reads runs
        logs = tmp_path / "logs"
        logs.mkdir()
        workspace = shutil.copy(DEPLOY / "workspace.yaml", tmp_path / "workspace.yaml")
        daemon_args = ["dagster-daemon", "run", "-w", str(workspace)]
        with (
            started("sandbox", ["beat", "sandbox", "--port", str(sandbox_port)], env, logs) as sb,
            started("api", ["beat", "api", "--port", str(api_port)], env, logs) as api,
        ):
            sb.wait_for_port(sandbox_port)
            api.wait_for_port(api_port)
            with started("daemon", daemon_args, env, logs) as daemon:
                instance = DagsterInstance.from_config(str(home))
                try:
                    yield Production(
                        engine, RequestQueue(engine), instance, f"http://127.0.0.1:{api_port}",
                        f"http://127.0.0.1:{sandbox_port}", daemon, api,
                    )  # fmt: skip
                finally:
                    instance.dispose()
                    engine.dispose()


def test_daemon_launches_queued_batch_runs_within_family_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 12 requests in batches of 4; the sensor may claim all three batches at once (3 in
    # flight allowed), the coordinator must launch them one at a time.
    settings = {"BEAT_BATCH_MAX": "4", "BEAT_MAX_INFLIGHT_BATCHES": "3"}
    with production(tmp_path, monkeypatch, **settings) as prod:
        prod.submit([f"daemon_user_{i}" for i in range(12)])
        prod.wait_finished(12)
        done = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE)
        wait_until(lambda: len(prod.runs(*done)) == 3, 120, "every batch run", prod.daemon)
        records = prod.runs(*done)
        assert prod.queue.count_by_status([FLOW]) == {"COMPLETE": 12}
    assert [r.dagster_run.status for r in records] == [DagsterRunStatus.SUCCESS] * 3
    # Each run was launched by the daemon from the batch sensor, a process of its own.
    assert {r.dagster_run.tags.get("dagster/sensor_name") for r in records} == {
        "instagram_batch_sensor"
    }
    assert len({r.dagster_run.tags["beat/batch_id"] for r in records}) == 3
    # The per-family limit held: never two instagram runs in flight at once.
    spans = sorted((r.start_time, r.end_time) for r in records)
    assert all(None not in span for span in spans), spans
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, f"two instagram runs overlapped: {spans}"


def _run_pid(instance: DagsterInstance, run_id: str) -> int | None:
    for entry in instance.all_logs(run_id):
        found = re.search(r"Started process for run \(pid: (\d+)\)", entry.message or "")
        if found:
            return int(found.group(1))
    return None


def test_sigterm_to_a_launched_run_hands_back_and_the_next_run_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {
        "BEAT_BATCH_MAX": "30",
        "BEAT_CONCURRENCY": "2",
        "BEAT_DRAIN_GRACE_SECONDS": "2",
    }
    with production(tmp_path, monkeypatch, **settings) as prod:
        prod.fault("slow", delay=0.5)  # 30 requests, 2 at a time: ~8 s of work
        prod.submit([f"term_user_{i}" for i in range(30)])
        wait_until(
            lambda: prod.queue.count_by_status([FLOW]).get("COMPLETE", 0) >= 2,
            300, "the first run to complete a few requests", prod.daemon,
        )  # fmt: skip
        [first] = prod.runs(DagsterRunStatus.STARTED)
        pid = _run_pid(prod.instance, first.dagster_run.run_id)
        assert pid is not None, "the run's process id is in its event log"
        os.kill(pid, signal.SIGTERM)
        wait_until(
            lambda: prod.instance.get_run_by_id(first.dagster_run.run_id).is_finished,
            60, "the signalled run to end", prod.daemon,
        )  # fmt: skip
        ended = prod.instance.get_run_by_id(first.dagster_run.run_id)
        assert ended.status == DagsterRunStatus.SUCCESS
        assert batch_figures(prod.instance, ended.run_id)["handed_back_on_stop"] > 0
        # The sensor claims the handed-back requests again; a new run finishes them.
        prod.fault("none")
        prod.wait_finished(30)
        assert prod.queue.count_by_status([FLOW]) == {"COMPLETE": 30}
        with prod.engine.connect() as conn:
            retries = set(
                conn.execute(
                    select(scrape_request_log.c.retry_count).where(
                        scrape_request_log.c.flow == FLOW
                    )
                ).scalars()
            )
        assert retries == {0}  # the drain cost no request an attempt
        assert len(prod.runs()) >= 2


def test_a_killed_run_is_failed_and_its_requests_finish_in_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL gives no chance to drain: the code server that launched the run sees its
    process die and fails the run, release_failed_batches_sensor hands the rows back at once
    (no wait for the lease), and the next run finishes them."""
    settings = {"BEAT_BATCH_MAX": "30", "BEAT_CONCURRENCY": "2", "BEAT_LEASE_SECONDS": "600"}
    with production(tmp_path, monkeypatch, **settings) as prod:
        prod.fault("slow", delay=0.5)
        prod.submit([f"kill_user_{i}" for i in range(30)])
        wait_until(
            lambda: prod.queue.count_by_status([FLOW]).get("COMPLETE", 0) >= 2,
            300, "the first run to complete a few requests", prod.daemon,
        )  # fmt: skip
        [first] = prod.runs(DagsterRunStatus.STARTED)
        pid = _run_pid(prod.instance, first.dagster_run.run_id)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(
            lambda: prod.instance.get_run_by_id(first.dagster_run.run_id).is_finished,
            120, "the killed run to be marked finished", prod.daemon,
        )  # fmt: skip
        assert prod.instance.get_run_by_id(first.dagster_run.run_id).status == (
            DagsterRunStatus.FAILURE
        )
        prod.fault("none")
        # Leases last 10 minutes here: finishing in time means the failure sensor released them.
        prod.wait_finished(30, timeout=300)
        assert prod.queue.count_by_status([FLOW]) == {"COMPLETE": 30}
