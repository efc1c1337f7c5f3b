"""A PostgreSQL restart in the middle of a batch's writes costs no provider call and loses
nothing: the writer retries its chunk across the reconnect while fetching goes on.

The restart is real (`pg_ctl stop` then `start`, 2 s down) on a PRIVATE cluster this test
creates with initdb on a free port: restarting the shared server would break every other
test and CI job using it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from beat.objects import LocalFolderStore
from beat.pipeline.batch import BatchReport, BatchRunner
from beat.pipeline.instagram import PIPELINE as INSTAGRAM
from beat.store.credentials import DbCredentialPool, save_credentials
from beat.store.db import make_engine, upgrade
from beat.store.models import instagram_account, outbox, scrape_request_log
from beat.store.models_history import profile_log
from beat.store.queue import RequestQueue
from providers.crawler import InstagramCrawler
from sandbox import SandboxState, sandbox_credentials, start_sandbox

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FLOW = "refresh_profile_by_handle"
REQUESTS = 150
DOWN_SECONDS = 2.0
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


@dataclass
class PrivateCluster:
    data: Path
    port: int

    def ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
                    "-l", str(self.data / "server.log"), "-w", *args)  # fmt: skip

    def blip(self, seconds: float) -> None:
        """Stop the server (fast: every connection is cut), wait, start it again."""
        self.ctl("-m", "fast", "stop")
        time.sleep(seconds)
        self.ctl("start")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/beat"


def as_postgres(*command: str) -> None:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    if PG_BIN is None or shutil.which("runuser") is None:
        pytest.skip("needs PostgreSQL's server binaries (initdb, pg_ctl)")
    data = Path(tempfile.mkdtemp(prefix="beat-pg-blip-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    cluster = PrivateCluster(data, free_port())
    as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    cluster.ctl("start")
    try:
        dsn = f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE beat")
        yield cluster
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D",
                        str(data), "-m", "immediate", "stop"], capture_output=True)  # fmt: skip
        shutil.rmtree(data, ignore_errors=True)


def test_postgres_restart_mid_batch_costs_no_fetch_and_loses_nothing(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    engine = make_engine(cluster.url)
    upgrade(engine)
    save_credentials(engine, sandbox_credentials())
    queue = RequestQueue(engine, lease_seconds=120)
    for i in range(REQUESTS):
        queue.enqueue(FLOW, "instagram", {"handle": f"blip.user{i:03d}"})
    claims = queue.claim_batch([FLOW], REQUESTS, batch_id="blip")
    queue.adopt_batch("blip", "run-blip")

    async def scenario() -> tuple[BatchReport, int]:
        sandbox = await start_sandbox(state=SandboxState(seed=9))
        sandbox.state.latency_ms = 150  # a batch that takes seconds, so the blip lands in it
        pool = DbCredentialPool(engine)
        runner = BatchRunner(
            queue=queue, engine=engine, objects=LocalFolderStore(tmp_path / "objects"),
            pipeline=INSTAGRAM,
            crawler_factory=lambda session: InstagramCrawler(session, pool, sandbox.base_urls),
            concurrency=8, flush_size=20, flush_interval_seconds=0.3,
        )  # fmt: skip
        try:
            run = asyncio.create_task(
                runner.run(claims, batch_id="blip", run_id="run-blip", day=datetime.now(UTC).date())
            )
            await asyncio.sleep(1.0)
            assert not run.done()
            await asyncio.to_thread(cluster.blip, DOWN_SECONDS)
            report = await run
            calls = sum(p["requests"] for p in sandbox.state.stats().values())
            return report, calls
        finally:
            await sandbox.stop()

    try:
        report, provider_calls = asyncio.run(scenario())
        rows = queue.batch_rows("blip")
        with engine.connect() as conn:
            accounts = conn.execute(select(func.count()).select_from(instagram_account)).scalar()
            observations = conn.execute(select(func.count()).select_from(profile_log)).scalar()
            traced = conn.execute(
                select(func.sum(outbox.c.event_count)).where(outbox.c.routing_key == "trace_log")
            ).scalar()
            statuses = dict(
                conn.execute(
                    select(scrape_request_log.c.status, func.count()).group_by(
                        scrape_request_log.c.status
                    )
                ).all()
            )
    finally:
        engine.dispose()

    assert report.write_retries >= 1, "the restart really hit the batch's writes"
    # Nothing lost: every request completed, in this run, at its first attempt: no request
    # was handed back and fetched again.
    assert statuses == {"COMPLETE": REQUESTS}
    assert {(r.attempt, r.retry_count, r.dagster_run_id) for r in rows} == {(1, 0, "run-blip")}
    assert report.completed == REQUESTS and report.failed == 0
    # No extra provider calls: every call the sandbox answered is one traced call written
    # once, and (attempt 1 everywhere) no request was fetched twice.
    assert provider_calls == traced
    # No duplicate rows: one account and one observation per request.
    assert accounts == REQUESTS and observations == REQUESTS


def test_database_gone_for_good_stops_fetching_at_once(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    """When the writer gives up, nobody can write what is fetched: fetching stops with it."""
    engine = make_engine(cluster.url)
    upgrade(engine)
    save_credentials(engine, sandbox_credentials())
    queue = RequestQueue(engine, lease_seconds=120)
    for i in range(REQUESTS):
        queue.enqueue(FLOW, "instagram", {"handle": f"gone.user{i:03d}"})
    claims = queue.claim_batch([FLOW], REQUESTS, batch_id="gone")
    queue.adopt_batch("gone", "run-gone")

    async def scenario() -> tuple[int, int]:
        sandbox = await start_sandbox(state=SandboxState(seed=9))
        sandbox.state.latency_ms = 300  # the whole batch would take ~6 s
        pool = DbCredentialPool(engine)
        runner = BatchRunner(
            queue=queue, engine=engine, objects=LocalFolderStore(tmp_path / "objects"),
            pipeline=INSTAGRAM,
            crawler_factory=lambda session: InstagramCrawler(session, pool, sandbox.base_urls),
            concurrency=8, flush_size=20, flush_interval_seconds=0.3,
            write_patience_seconds=1.0,
        )  # fmt: skip

        def calls() -> int:
            return sum(p["requests"] for p in sandbox.state.stats().values())

        try:
            run = asyncio.create_task(
                runner.run(claims, batch_id="gone", run_id="run-gone", day=datetime.now(UTC).date())
            )
            await asyncio.sleep(1.0)
            await asyncio.to_thread(cluster.ctl, "-m", "fast", "stop")  # and it stays down
            with pytest.raises(SQLAlchemyError):
                await run
            at_failure = calls()
            await asyncio.sleep(1.5)  # anything still fetching would show up now
            return at_failure, calls()
        finally:
            await sandbox.stop()

    try:
        at_failure, later = asyncio.run(scenario())
        assert later == at_failure, "no provider call after the run gave up"
        assert at_failure < REQUESTS, "the rest of the batch was never fetched"
        cluster.ctl("start")
        statuses = queue.count_by_status()
    finally:
        engine.dispose()
    # What was written stays written; the rest is still held by the run's lease (the release
    # could not reach the database either) and returns when it lapses. Nothing FAILED.
    assert set(statuses) <= {"COMPLETE", "PROCESSING"}
    assert sum(statuses.values()) == REQUESTS
