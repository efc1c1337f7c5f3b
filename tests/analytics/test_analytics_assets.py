"""Analytics assets on data scraped from the sandbox, end to end on PostgreSQL.

Targets are queued from the launchpad job, the batch sensor and runs scrape them over HTTP,
and the analytics assets read what that wrote to profile_log/post_log. Earlier days are the
same observations moved back in time with fewer followers (the sandbox's accounts do not
grow), written through the history writer the pipeline uses.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from beat.analytics.storage import partition_key, read_partition_table
from beat.analytics.tables import SCHEMAS
from beat.config import load_settings
from beat.flows import FAMILIES
from beat.objects import open_object_store
from beat.store.history import record_posts, record_profiles
from beat.store.models import instagram_account
from beat.store.models_history import post_log, profile_log
from beat_dagster.assets.analytics import ANALYTICS_ASSETS
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import QUIET_RUN_CONFIG, drive_until_drained
from beat_dagster.io_managers import ParquetPartitionIOManager
from beat_dagster.partitions import today_partition_key
from beat_dagster.resources import ObjectStoreResource
from tests.e2e.conftest import Stack
from tests.e2e.test_backfill import sandbox_calls

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

HANDLES = [f"analyst.{i}" for i in range(10)]
#: (days back, share of today's followers the accounts had then)
PAST = [(7, 0.9), (30, 0.5)]


def queue_from_launchpad(defs: dg.Definitions, instance: dg.DagsterInstance) -> dict:
    config = {"flow": "refresh_profile_by_handle", "targets": [*HANDLES, "bad handle!"]}
    result = defs.resolve_job_def("scrape_requests_job").execute_in_process(
        run_config={**QUIET_RUN_CONFIG, "ops": {"submit_scrape_requests": {"config": config}}},
        instance=instance,
    )
    assert result.success
    return result.output_for_node("submit_scrape_requests")


def move_back_in_time(stack: Stack, day: date) -> None:
    """Copy today's observations to earlier days, with the followers they had then."""
    with stack.engine.begin() as conn:
        profiles = [dict(r._mapping) for r in conn.execute(select(profile_log)).all()]
        posts = [dict(r._mapping) for r in conn.execute(select(post_log)).all()]
        for days, share in PAST:
            shift = timedelta(days=days)
            record_profiles(conn, [
                {**_without_id(p), "observed_at": p["observed_at"] - shift,
                 "followers": round(p["followers"] * share)} for p in profiles
            ])  # fmt: skip
            record_posts(conn, [
                {**_without_id(p), "observed_at": p["observed_at"] - shift} for p in posts
            ])  # fmt: skip
    assert all(p["observed_at"].date() == day for p in profiles)


def _without_id(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "id"}


def materialize(defs: dg.Definitions, instance: dg.DagsterInstance, day: str, **resources: Any):
    return dg.materialize(
        ANALYTICS_ASSETS,
        partition_key=day,
        instance=instance,
        resources={**defs.resources, **resources},
        run_config=QUIET_RUN_CONFIG,
    )


def metadata_of(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        found[materialization.asset_key.to_user_string()] = {
            key: getattr(value, "value", value) for key, value in materialization.metadata.items()
        }
    return found


def check_results(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }


def test_analytics_assets_on_scraped_data(stack: Stack, tmp_path: Path) -> None:
    today = today_partition_key()
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = queue_from_launchpad(defs, instance)
        assert len(report["queued"]) == len(HANDLES) and list(report["rejected"]) == ["bad handle!"]
        # Graph's business_discovery has no category; the RapidAPI fallbacks report one
        stack.fault("graphapi", "server_error", rate=1.0)
        drive_until_drained(defs, instance, stack.queue, [FAMILIES["instagram"]])
        move_back_in_time(stack, date.fromisoformat(today))
        result = materialize(defs, instance, today)
    assert result.success
    store = open_object_store(load_settings().object_store_url)
    with stack.engine.connect() as conn:
        followers = dict(
            conn.execute(select(instagram_account.c.handle, instagram_account.c.followers)).all()
        )
    assert sorted(followers) == sorted(HANDLES)

    # creator_snapshot: one row per scraped profile, today's figures
    snapshot = read_partition_table(store, "creator_snapshot", today).to_pandas()
    assert sorted(snapshot["handle"]) == sorted(HANDLES)
    assert dict(zip(snapshot["handle"], snapshot["followers"], strict=True)) == followers
    assert (snapshot["posts_observed"] > 0).all() and snapshot["engagement_rate"].notna().all()
    assert (snapshot["posts_image"] + snapshot["posts_reels"] + snapshot["posts_carousel"]
            == snapshot["posts_observed"]).all()  # fmt: skip

    # creator_growth: the changes against the moved-back observations
    growth = read_partition_table(store, "creator_growth", today).to_pandas()
    for days, share in PAST:
        expected = {h: n - round(n * share) for h, n in followers.items()}
        got = dict(zip(growth["handle"], growth[f"followers_change_{days}d"], strict=True))
        assert got == expected
        assert (growth[f"engagement_rate_{days}d_ago"] > growth["engagement_rate"]).all()

    # post_performance: every post observed today, ranked within its creator
    performance = read_partition_table(store, "post_performance", today).to_pandas()
    assert len(performance) == int(snapshot["posts_observed"].sum())
    assert (performance.groupby("profile_id")["rank_in_creator"].min() == 1).all()
    # no provider here reports reach: it is estimated, except for reels without plays
    # (Graph gives a reel's likes and comments only), where the formula has no input
    no_input = performance["post_type"].eq("reels") & performance["plays"].isna()
    assert (performance["reach"].isna() == no_input).all()
    assert (performance["reach_estimated"] == ~no_input).all()

    # leaderboards: per platform and per category (the sandbox's accounts have categories)
    boards = read_partition_table(store, "leaderboards", today).to_pandas()
    assert {"platform", "category"} <= set(boards["scope"])
    top = boards[(boards["board"] == "followers_change_30d") & (boards["scope"] == "platform")]
    best = max(followers, key=lambda h: followers[h] - round(followers[h] * 0.5))
    assert top.sort_values("rank").iloc[0]["handle"] == best

    # metadata: row count, column schema, a preview, charts; checks
    meta = metadata_of(result)
    for asset in SCHEMAS:
        stored = read_partition_table(store, asset, today)
        assert stored.schema == SCHEMAS[asset]
        assert meta[asset]["dagster/row_count"] == stored.num_rows > 0
        assert [c.name for c in meta[asset]["dagster/column_schema"].columns] == SCHEMAS[
            asset
        ].names
        assert meta[asset]["preview"].startswith("| ")
    assert "█" in meta["creator_growth"]["top_growth_7d"]
    assert "█" in meta["leaderboards"]["chart_engagement_rate"]
    assert all(check_results(result).values()) and len(check_results(result)) == 8

    # the Hive layout, as DuckDB and pyarrow read it
    root = Path(load_settings().object_store_url)
    path = root / partition_key("creator_snapshot", today)
    assert pq.read_table(path).num_rows == len(HANDLES)
    rows = duckdb.sql(
        f"SELECT dt::VARCHAR AS dt, count(*) AS n, sum(followers) AS f FROM read_parquet("
        f"'{root}/analytics/creator_snapshot/*/*.parquet', hive_partitioning = true) GROUP BY dt"
    ).fetchall()
    assert rows == [(today, len(HANDLES), sum(followers.values()))]


def test_past_partition_rebuilds_from_history_without_provider_calls(stack: Stack) -> None:
    today = today_partition_key()
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        stack.submit("refresh_profile_by_handle", [{"handle": h} for h in HANDLES[:4]])
        drive_until_drained(defs, instance, stack.queue, [FAMILIES["instagram"]])
        move_back_in_time(stack, date.fromisoformat(today))
        stack.fault("*", "server_error", rate=1.0)  # any provider call would now fail
        calls = sandbox_calls(stack)
        past = (date.fromisoformat(today) - timedelta(days=7)).isoformat()
        result = materialize(defs, instance, past)
        runs = instance.get_runs()
    assert result.success
    assert sandbox_calls(stack) == calls
    # only the analytics run: no ingestion or batch run was started for the past day
    assert [r.tags.get("dagster/partition") for r in runs].count(past) == 1
    store = open_object_store(load_settings().object_store_url)
    snapshot = read_partition_table(store, "creator_snapshot", past).to_pandas()
    with stack.engine.connect() as conn:
        followers = dict(
            conn.execute(select(instagram_account.c.handle, instagram_account.c.followers)).all()
        )
    assert dict(zip(snapshot["handle"], snapshot["followers"], strict=True)) == {
        h: round(n * 0.9) for h, n in followers.items()
    }
    growth = read_partition_table(store, "creator_growth", past).to_pandas()
    # the past day's own baselines (today-14, today-37) were never observed: no change
    assert growth["followers_change_7d"].isna().all()
    assert growth["followers_change_30d"].isna().all()


def test_io_manager_writes_and_loads_partitions_on_s3(
    stack: Stack, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = "beat-analytics-test"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    objects = ObjectStoreResource(
        url=f"s3://{bucket}/lake", s3_endpoint_url=moto_endpoint, s3_region_name="us-east-1"
    )
    today = today_partition_key()
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        stack.submit("refresh_profile_by_handle", [{"handle": h} for h in HANDLES[:3]])
        drive_until_drained(defs, instance, stack.queue, [FAMILIES["instagram"]])
        result = materialize(
            defs, instance, today,
            objects=objects, analytics_io_manager=ParquetPartitionIOManager.on(objects),
        )  # fmt: skip
    assert result.success
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(keys) == sorted(f"lake/{partition_key(a, today)}" for a in SCHEMAS)
    snapshot = read_partition_table(objects.store(), "creator_snapshot", today)
    assert sorted(snapshot.column("handle").to_pylist()) == sorted(HANDLES[:3])
    # the IO manager hands downstream code (and notebooks) a DataFrame of the partition
    with dg.DagsterInstance.get() as instance:
        loaded = dg.Definitions(
            assets=ANALYTICS_ASSETS,
            resources={**defs.resources, "objects": objects,
                       "analytics_io_manager": ParquetPartitionIOManager.on(objects)},
        ).load_asset_value("creator_snapshot", partition_key=today, instance=instance)  # fmt: skip
    assert sorted(loaded["handle"]) == sorted(HANDLES[:3])


def test_youtube_channels_and_videos_reach_the_analytics(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Channels carry a country (Instagram gives none), so YouTube gets country boards."""
    from sandbox.youtube import CATALOGUE, channel_facts, channel_id_for

    monkeypatch.setenv("BEAT_RELAY_AFTER_BATCH_SECONDS", "0")
    known = [f for f in (channel_facts(h, 0) for h in CATALOGUE) if f is not None]
    busy = [f.channel_id for f in known if f.video_count >= 20][:3]
    stack.submit("refresh_yt_profiles", [{"channel_ids": [channel_id_for(h) for h in CATALOGUE]}])
    stack.submit(
        "refresh_yt_posts_by_channel_id", [{"channel_id": c, "max_posts": 10} for c in busy]
    )
    today = today_partition_key()
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [FAMILIES["youtube"]])
        result = materialize(defs, instance, today)
    assert result.success
    store = open_object_store(load_settings().object_store_url)
    snapshot = read_partition_table(store, "creator_snapshot", today).to_pandas()
    youtube = snapshot[snapshot["platform"] == "YOUTUBE"].set_index("profile_id")
    assert sorted(youtube.index) == sorted(f.channel_id for f in known)
    countries = {c: (v if isinstance(v, str) else None) for c, v in youtube["country"].items()}
    assert countries == {f.channel_id: f.country for f in known}
    for channel in busy:
        row = youtube.loc[channel]
        assert row["posts_observed"] == 10 == row["posts_video"] + row["posts_short"]
    boards = read_partition_table(store, "leaderboards", today).to_pandas()
    by_country = boards[(boards["platform"] == "YOUTUBE") & (boards["scope"] == "country")]
    # only channels with videos observed today have an engagement rate to rank
    ranked = {f.country for f in known if f.channel_id in busy and f.country}
    assert ranked and set(by_country["scope_value"]) == ranked
    performance = read_partition_table(store, "post_performance", today).to_pandas()
    assert set(performance[performance["platform"] == "YOUTUBE"]["profile_id"]) == set(busy)
