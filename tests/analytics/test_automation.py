"""The analytics assets refresh on their own: at most hourly, once ingestion wrote
something new, today's and yesterday's partitions; never a day nobody touched."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import pytest

from beat.config import load_settings
from beat_dagster.assets.analytics import INGESTION_DEPS
from beat_dagster.definitions import build_definitions

ANALYTICS = {"creator_snapshot", "creator_growth", "post_performance", "leaderboards"}
# Yesterday and days before it: inside the partitions' range (it starts a week back) and past.
YESTERDAY = datetime.now(UTC).date() - timedelta(days=1)
DAY = YESTERDAY.isoformat()
OLD_DAY = (YESTERDAY - timedelta(days=4)).isoformat()
T0 = datetime.combine(YESTERDAY, time(10, 30), tzinfo=UTC)
DEFS: dg.Definitions


def ingest(instance: dg.DagsterInstance, day: str) -> None:
    for key in INGESTION_DEPS:
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=day))


@pytest.fixture(autouse=True)
def defs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dg.Definitions:
    monkeypatch.setenv("BEAT_HOME", str(tmp_path))
    global DEFS
    DEFS = build_definitions(load_settings())
    return DEFS


def evaluate(instance, when, cursor=None):
    return dg.evaluate_automation_conditions(
        defs=DEFS, instance=instance, evaluation_time=when, cursor=cursor
    )


def test_analytics_follow_ingestion_hourly() -> None:
    with dg.instance_for_test() as instance:
        first = evaluate(instance, T0)
        assert first.total_requested == 0  # nothing ingested yet: nothing to build
        ingest(instance, DAY)
        ingest(instance, OLD_DAY)  # an old day's backfill: left to whoever ran it
        same_hour = evaluate(instance, T0 + timedelta(minutes=10), first.cursor)
        assert same_hour.total_requested == 0  # waits for the next hourly tick
        next_hour = evaluate(instance, T0 + timedelta(minutes=40), same_hour.cursor)
        assert {k.to_user_string() for k in _keys(next_hour)} == ANALYTICS
        assert all(_partitions(next_hour, k) == {DAY} for k in _keys(next_hour))
        # the next hour with no new ingestion: nothing to do
        quiet = evaluate(instance, T0 + timedelta(minutes=100), next_hour.cursor)
        assert quiet.total_requested == 0


def test_yesterdays_late_batches_reach_yesterdays_partition_after_midnight() -> None:
    late = datetime.combine(YESTERDAY, time(23, 40), tzinfo=UTC)
    with dg.instance_for_test() as instance:
        cursor = evaluate(instance, late).cursor
        ingest(instance, DAY)  # a batch that finished at 23:50
        after_midnight = evaluate(instance, late + timedelta(minutes=25), cursor)
        assert all(_partitions(after_midnight, k) == {DAY} for k in _keys(after_midnight))
        assert {k.to_user_string() for k in _keys(after_midnight)} == ANALYTICS


def _keys(result) -> list[dg.AssetKey]:
    return [
        r.key
        for r in result.results
        if r.true_subset.size > 0 and r.key.to_user_string() in ANALYTICS
    ]


def _partitions(result, key: dg.AssetKey) -> set[str]:
    for r in result.results:
        if r.key == key:
            return set(r.true_subset.expensively_compute_partition_keys())
    return set()
