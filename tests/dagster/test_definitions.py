"""The whole code location loads, with the asset graph users expect."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[2]


def test_code_location_loads_with_expected_keys(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BEAT_HOME", str(tmp_path))
    from beat.config import load_settings
    from beat_dagster.definitions import build_definitions

    defs = build_definitions(load_settings())
    repo = defs.get_repository_def()
    assert sorted(key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()) == [
        "creator_growth",
        "creator_snapshot",
        "gpt_audience_age_gender",
        "gpt_audience_cities",
        "gpt_base_categ_lang_topics",
        "gpt_base_gender",
        "gpt_base_gender_location_lang",
        "gpt_base_location",
        "instagram_hashtag_posts",
        "instagram_post_activity",
        "instagram_post_insights",
        "instagram_posts",
        "instagram_profile_insights",
        "instagram_profile_relationships",
        "instagram_profiles",
        "leaderboards",
        "media",
        "post_performance",
        "provider_health",
        "queue_health",
        "shopify_orders",
        "shopify_products",
        "youtube_activities",
        "youtube_channel_insights",
        "youtube_channels",
        "youtube_comments",
        "youtube_exports",
        "youtube_relationships",
        "youtube_videos",
    ]
    assert {s.name for s in repo.sensor_defs} == {
        "instagram_batch_sensor",
        "instagram_activity_batch_sensor",
        "media_batch_sensor",
        "youtube_batch_sensor",
        "youtube_exports_sensor",
        "shopify_batch_sensor",
        "release_failed_batches_sensor",
        "outbox_relay_sensor",
        "gpt_batch_sensor",
        "gpt_enrichment_sensor",
        "analytics_automation_sensor",
    }
    assert {s.name for s in repo.schedule_defs} >= {
        "queue_health_schedule",
        "queue_retention_schedule",
    }
    job = defs.resolve_job_def("instagram_batch_job")
    assert job.executor_def is dg.in_process_executor
    assert job.partitions_def is not None
    assert defs.resolve_job_def("scrape_requests_job").executor_def is dg.in_process_executor
    graph = repo.asset_graph
    analytics = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "analytics"}
    assert {k.to_user_string() for k in analytics} == {
        "creator_growth", "creator_snapshot", "leaderboards", "post_performance",
    }  # fmt: skip
    for key in analytics:
        node = graph.get(key)
        assert node.automation_condition is not None and node.partitions_def is not None
    ingestion = {
        dg.AssetKey(k)
        for k in ("instagram_profiles", "instagram_posts", "youtube_channels", "youtube_videos")
    }
    assert ingestion <= graph.get(dg.AssetKey("creator_snapshot")).parent_keys
    # Followers listings hang off the profiles they list, in the same group.
    relationships = dg.AssetKey("instagram_profile_relationships")
    assert graph.get(relationships).parent_keys == {dg.AssetKey("instagram_profiles")}
    assert graph.get(relationships).group_name == "instagram"
    activity = graph.get(dg.AssetKey("instagram_post_activity"))
    assert activity.parent_keys == {dg.AssetKey("instagram_posts")}
    checks = {key.name for key in graph.asset_check_keys}
    assert {"batch_failure_rate", "history_newest_wins"} <= checks


def test_dagster_cli_validates_the_workspace(tmp_path: Path) -> None:
    env = {**os.environ, "BEAT_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
