"""The batch sensor, evaluated with build_sensor_context against a real database."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine

from beat.config import load_settings
from beat.store.queue import RequestQueue
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import tick
from beat_dagster.sensors.batches import plan_batches
from beat_dagster.tags import BATCH_ID_TAG, FLOWS_TAG

SENSOR = "instagram_batch_sensor"


@pytest.mark.parametrize(
    ("pending", "inflight", "expected"),
    [
        (0, 0, []),
        (3, 0, [3]),  # idle: one small, prompt batch
        (200, 0, [50, 50, 50, 50]),  # spread over the free run slots
        (10_000, 0, [1000, 1000, 1000, 1000]),  # under load: capped at batch_max
        (10_000, 3, [1000]),
        (10_000, 4, []),  # no free slot: claim nothing, leave it PENDING
    ],
)
def test_plan_batches(pending: int, inflight: int, expected: list[int]) -> None:
    assert plan_batches(pending, inflight, batch_min=50, batch_max=1000, max_inflight=4) == expected


def definitions_for(database_url: str, tmp_path: Path, monkeypatch, **env: str) -> dg.Definitions:
    monkeypatch.setenv("BEAT_HOME", str(tmp_path))
    monkeypatch.setenv("BEAT_DATABASE_URL", database_url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return build_definitions(load_settings())


def evaluate(defs: dg.Definitions, instance: dg.DagsterInstance):
    return tick(defs, instance, SENSOR)


def test_idle_tick_skips(engine: Engine, database_url: str, tmp_path: Path, monkeypatch) -> None:
    defs = definitions_for(database_url, tmp_path, monkeypatch)
    with dg.DagsterInstance.ephemeral() as instance:
        result = evaluate(defs, instance)
    assert isinstance(result, dg.SkipReason)


def test_tick_claims_batches_and_tags_runs(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch
) -> None:
    queue = RequestQueue(engine)
    ids = {
        queue.enqueue("refresh_profile_by_handle", "INSTAGRAM", {"handle": f"h{i}"}).id
        for i in range(30)
    }
    ids |= {queue.enqueue("refresh_post_by_shortcode", "INSTAGRAM", {"shortcode": f"sc{i:04d}"}).id
            for i in range(10)}  # fmt: skip
    defs = definitions_for(
        database_url, tmp_path, monkeypatch, BEAT_BATCH_MAX="16", BEAT_BATCH_MIN="5"
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = evaluate(defs, instance)
    assert isinstance(result, dg.SensorResult)
    requests = result.run_requests
    assert [int(r.tags["beat/batch_size"]) for r in requests] == [10, 10, 10, 10]
    claimed: set[int] = set()
    for request in requests:
        assert request.run_key == request.tags[BATCH_ID_TAG]
        rows = queue.batch_rows(request.run_key)
        assert {row.status for row in rows} == {"PROCESSING"}
        assert request.tags[FLOWS_TAG] == ",".join(sorted({row.flow for row in rows}))
        claimed |= {row.id for row in rows}
    assert claimed == ids
    assert queue.count_by_status().get("PENDING", 0) == 0


def test_tick_returns_expired_leases(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch
) -> None:
    queue = RequestQueue(engine, lease_seconds=0.5)
    queue.enqueue("refresh_profile_by_handle", "INSTAGRAM", {"handle": "lost"})
    [claim] = queue.claim_batch(["refresh_profile_by_handle"], 10, batch_id="dead-run")
    time.sleep(1.0)  # the run that held the lease died without a word
    defs = definitions_for(database_url, tmp_path, monkeypatch, BEAT_LEASE_SECONDS="60")
    with dg.DagsterInstance.ephemeral() as instance:
        result = evaluate(defs, instance)
    # Reaped back to PENDING with a retry backoff, so this tick cannot claim it yet.
    record = queue.get(claim.id)
    assert record is not None and record.status == "PENDING"
    assert record.batch_id in {"dead-run", None}
    assert isinstance(result, dg.SkipReason)


def test_a_drained_beat_claims_nothing_until_resumed(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch
) -> None:
    from beat.store.control import set_claiming

    queue = RequestQueue(engine)
    queue.enqueue("refresh_profile_by_handle", "INSTAGRAM", {"handle": "waiting"})
    defs = definitions_for(database_url, tmp_path, monkeypatch)
    set_claiming(engine, False)  # what PUT /heartbeat?beat=false does, from any process
    with dg.DagsterInstance.ephemeral() as instance:
        result = evaluate(defs, instance)
        assert isinstance(result, dg.SkipReason) and "draining" in str(result.skip_message)
        assert queue.count_by_status() == {"PENDING": 1}
        set_claiming(engine, True)
        result = evaluate(defs, instance)
    assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1


def test_claims_no_more_than_the_global_budget_serves_within_a_lease(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch
) -> None:
    """5 fetches a minute and 60 s leases: at most 6 requests held (1 burst + 5), however many
    wait; the rest stay PENDING instead of being claimed only to be deferred."""
    limits = tmp_path / "limits.json"
    limits.write_text('{"global": {"minute": {"rate": 5, "period": 60}}}')
    queue = RequestQueue(engine)
    for i in range(20):
        queue.enqueue("refresh_profile_by_handle", "INSTAGRAM", {"handle": f"b{i}"})
    defs = definitions_for(
        database_url, tmp_path, monkeypatch,
        BEAT_RATE_LIMITS=str(limits), BEAT_LEASE_SECONDS="60", BEAT_BATCH_MIN="1",
    )  # fmt: skip
    with dg.DagsterInstance.ephemeral() as instance:
        first = evaluate(defs, instance)
        assert isinstance(first, dg.SensorResult)
        assert sum(int(r.tags["beat/batch_size"]) for r in first.run_requests) == 6
        assert isinstance(evaluate(defs, instance), dg.SkipReason)  # budget held by in-flight
    assert queue.count_by_status() == {"PROCESSING": 6, "PENDING": 14}
