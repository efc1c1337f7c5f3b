"""The production path: `dagster-daemon run` with deploy/dagster.yaml on PostgreSQL.

Requests posted to the intake API are claimed by the batch sensor (ticked by the daemon),
queued by the QueuedRunCoordinator, launched as runs of their own and all finish; the
per-family limit holds. Every part is a real process: sandbox, API, daemon (which starts the
code server from deploy/workspace.yaml), and every run is a process the daemon launched.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from beat.demo import submit_all
from beat.store.credentials import save_credentials
from beat.store.db import make_engine, upgrade
from beat.store.queue import RequestQueue
from beat_dagster.tags import FAMILY_TAG
from sandbox import RATE_LIMITS_FILE, sandbox_credentials
from tests.ops.processes import ROOT, free_port, started, wait_until
from tests.support import scratch_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TOKEN = "ops-daemon-token-abcdefgh"
DEPLOY = ROOT / "deploy"
REQUESTS = 12
BATCH = 4  # -> 3 batches, 3 runs
FAMILY_LIMIT = 1  # the test lowers deploy/dagster.yaml's per-family limit to see it hold


def production_instance_yaml(home: Path) -> dict:
    """deploy/dagster.yaml as shipped, with the per-family limit lowered to FAMILY_LIMIT."""
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    for rule in config["run_coordinator"]["config"]["tag_concurrency_limits"]:
        if rule["key"] == FAMILY_TAG and isinstance(rule["value"], dict):
            rule["limit"] = FAMILY_LIMIT
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return config


def test_daemon_launches_queued_batch_runs_within_family_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
            "BEAT_BATCH_MAX": str(BATCH),
            # The sensor may claim every batch at once; the coordinator must hold them back.
            "BEAT_MAX_INFLIGHT_BATCHES": "3",
            "BEAT_RELAY_AFTER_BATCH_SECONDS": "0",
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_URL": dagster_url.replace("+psycopg://", "+psycopg2://"),
        }
        monkeypatch.setenv("DAGSTER_PG_URL", env["DAGSTER_PG_URL"])  # this process reads runs
        logs = tmp_path / "logs"
        logs.mkdir()
        with (
            started("sandbox", ["beat", "sandbox", "--port", str(sandbox_port)], env, logs) as sb,
            started("api", ["beat", "api", "--port", str(api_port)], env, logs) as api,
        ):
            sb.wait_for_port(sandbox_port)
            api.wait_for_port(api_port)
            requests = [
                ("refresh_profile_by_handle", {"params": {"handle": f"daemon_user_{i}"}})
                for i in range(REQUESTS)
            ]
            statuses = asyncio.run(submit_all(f"http://127.0.0.1:{api_port}", TOKEN, requests))
            assert statuses == {201: REQUESTS}
            workspace = shutil.copy(DEPLOY / "workspace.yaml", tmp_path / "workspace.yaml")
            daemon_args = ["dagster-daemon", "run", "-w", str(workspace)]
            with started("daemon", daemon_args, env, logs) as daemon:
                queue = RequestQueue(engine)

                def all_finished() -> bool:
                    counts = queue.count_by_status()
                    return counts.get("COMPLETE", 0) + counts.get("FAILED", 0) == REQUESTS

                wait_until(all_finished, 420, f"all {REQUESTS} requests finished", daemon, api)
                instance = DagsterInstance.from_config(str(home))
                try:
                    wait_until(
                        lambda: len(_finished_runs(instance)) == REQUESTS // BATCH,
                        120, "every batch run to finish", daemon,
                    )  # fmt: skip
                    records = _finished_runs(instance)
                finally:
                    instance.dispose()
        assert queue.count_by_status() == {"COMPLETE": REQUESTS}
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
        engine.dispose()


def _finished_runs(instance: DagsterInstance) -> list:
    records = instance.get_run_records(
        RunsFilter(
            tags={FAMILY_TAG: "instagram"},
            statuses=[DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE],
        )
    )
    return list(records)
