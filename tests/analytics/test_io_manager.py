"""Edges of the analytics assets on the embedded defaults (SQLite, a local folder): a day
without observations, and an upstream partition that was never built."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from beat.analytics.storage import read_partition_table
from beat.analytics.tables import SCHEMAS
from beat_dagster.assets.analytics import ANALYTICS_ASSETS
from beat_dagster.io_managers import ParquetPartitionIOManager
from beat_dagster.resources import DatabaseResource, ObjectStoreResource

# A past day inside the partitions' range (it starts a week back), with nothing observed.
DAY = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()


def resources(tmp_path: Path) -> dict:
    objects = ObjectStoreResource(url=str(tmp_path / "objects"))
    return {
        "database": DatabaseResource(url=f"sqlite:///{tmp_path / 'beat.db'}"),
        "objects": objects,
        "analytics_io_manager": ParquetPartitionIOManager.on(objects),
    }


def test_a_day_without_observations_is_empty_and_says_so(tmp_path: Path) -> None:
    res = resources(tmp_path)
    result = dg.materialize(ANALYTICS_ASSETS, partition_key=DAY, resources=res)
    assert result.success
    checks = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}  # fmt: skip
    for asset in SCHEMAS:
        stored = read_partition_table(res["objects"].store(), asset, DAY)
        assert stored.num_rows == 0 and stored.schema == SCHEMAS[asset]
        assert checks[(asset, "schema")].passed
        assert not checks[(asset, "non_empty")].passed
        assert checks[(asset, "non_empty")].severity == dg.AssetCheckSeverity.WARN


def test_a_missing_upstream_partition_fails_with_what_to_do(tmp_path: Path) -> None:
    result = dg.materialize(
        ANALYTICS_ASSETS,
        selection=["creator_growth"],
        partition_key=DAY,
        resources=resources(tmp_path),
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert f"creator_snapshot has no partition {DAY}" in message
    assert "materialize creator_snapshot" in message
