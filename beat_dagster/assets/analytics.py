"""Analytics for analysts: daily creator snapshots, growth, post performance, leaderboards.

Each asset is a daily partition built with pandas from the observation history
(profile_log/post_log) and stored as Hive-style Parquet in the object store by
`ParquetPartitionIOManager`. Building a day reads only that history, so materializing a
past partition from the UI rebuilds it as it was and calls no provider.
"""

from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
import pandas as pd
import pyarrow as pa

from beat.analytics import builders
from beat.analytics.history import read_post_observations, read_profile_observations
from beat.analytics.report import bar_chart, markdown_table
from beat.analytics.storage import read_partition_table
from beat.analytics.tables import (
    BASELINE_LOOKBACK_DAYS,
    CREATOR_GROWTH,
    CREATOR_SNAPSHOT,
    GROWTH_WINDOWS,
    LEADERBOARDS,
    POST_PERFORMANCE,
    SCHEMAS,
)
from beat_dagster.partitions import daily_partitions
from beat_dagster.resources import DatabaseResource, ObjectStoreResource

GROUP = "analytics"
IO_MANAGER_KEY = "analytics_io_manager"

#: The ingestion assets whose history analytics reads: add a platform's assets here.
INGESTION_DEPS = ["instagram_profiles", "instagram_posts", "youtube_channels", "youtube_videos"]

#: Today's and yesterday's partitions (the lookback counts back from the end of today's).
_RECENT = dg.AutomationCondition.in_latest_time_window(timedelta(days=2))
#: Ingestion materializes today's partition after every batch (many times an hour), so the
#: analytics roots rebuild at most hourly, once something new arrived. Today and yesterday
#: are considered: yesterday's last batches land after its last hourly rebuild, and the
#: first tick after midnight catches them.
_HOURLY: dg.AutomationCondition = dg.AutomationCondition.cron_tick_passed("0 * * * *")
AFTER_INGESTION = (
    _RECENT
    & _HOURLY.since_last_handled()
    & dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.in_progress()
).with_label("hourly_after_ingestion")
#: Analytics built on analytics follow at once (in the same run when requested together).
AFTER_UPSTREAM = (
    _RECENT
    & dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after_upstream_analytics")

#: Dagster 1.13's freshness (it supersedes the freshness-check factories): an analytics table
#: not rebuilt for a day (ingestion stopped, automation off, runs failing) turns stale, then
#: fails. Evaluated by the daemon, shown on the asset and in the catalog.
FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=3)
)

PREVIEW_ROWS = 10


def _checks(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            "schema",
            asset=asset,
            description="The stored Parquet file has exactly the declared columns and types.",
        ),
        dg.AssetCheckSpec(
            "non_empty",
            asset=asset,
            description="The partition has rows (a day without observations is empty).",
        ),
    ]


def _common(asset: str, automation: dg.AutomationCondition) -> dict:
    return {
        "group_name": GROUP,
        "partitions_def": daily_partitions,
        "io_manager_key": IO_MANAGER_KEY,
        "automation_condition": automation,
        "check_specs": _checks(asset),
        "kinds": {"pandas", "parquet"},
        "freshness_policy": FRESHNESS,
    }


@dg.asset(
    deps=INGESTION_DEPS,
    description="One row per profile per day: its last observation that day (followers, "
    "following, posts) and its posts' averages and engagement rate, overall (trimmed as "
    "the original's post_metrics) and by post type.",
    **_common("creator_snapshot", AFTER_INGESTION),
)
def creator_snapshot(
    context: dg.AssetExecutionContext, database: DatabaseResource, objects: ObjectStoreResource
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    day = date.fromisoformat(context.partition_key)
    engine = database.engine()
    profiles = read_profile_observations(engine, day, day)
    posts = read_post_observations(engine, day, day)
    table = builders.conform(builders.creator_snapshot(profiles, posts), CREATOR_SNAPSHOT)
    metadata = {
        **describe(table, ["handle", "platform", "followers", "posts", "engagement_rate"]),
        "profile_observations": len(profiles),
        "post_observations": len(posts),
    }
    yield dg.Output(table, metadata=metadata)
    yield from table_checks("creator_snapshot", day, table, objects)


@dg.asset(
    ins={"creator_snapshot": dg.AssetIn()},
    description="Followers and engagement-rate change over 7 and 30 days, per profile per "
    f"day; a baseline is the profile's latest day within {BASELINE_LOOKBACK_DAYS} days "
    "before the window's start.",
    **_common("creator_growth", AFTER_UPSTREAM),
)
def creator_growth(
    context: dg.AssetExecutionContext,
    creator_snapshot: pd.DataFrame,
    database: DatabaseResource,
    objects: ObjectStoreResource,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    day = date.fromisoformat(context.partition_key)
    earlier = _baseline_snapshots(database, day)
    growth = builders.creator_growth(creator_snapshot, earlier, day)
    table = builders.conform(growth, CREATOR_GROWTH)
    preview = ["handle", "followers", "followers_change_7d", "followers_growth_pct_7d",
               "followers_change_30d", "engagement_rate_change_7d"]  # fmt: skip
    yield dg.Output(table, metadata={**describe(table, preview), **growth_summary(growth)})
    yield from table_checks("creator_growth", day, table, objects)


def _baseline_snapshots(database: DatabaseResource, day: date) -> pd.DataFrame:
    """Snapshots of the days a growth window may take its baseline from, rebuilt from the
    history (not from stored partitions, which may not exist for those days)."""
    engine = database.engine()
    frames = []
    for days in GROWTH_WINDOWS:
        last = day - timedelta(days=days)
        first = last - timedelta(days=BASELINE_LOOKBACK_DAYS - 1)
        profiles = read_profile_observations(engine, first, last)
        posts = read_post_observations(engine, first, last)
        frames.append(builders.creator_snapshot(profiles, posts))
    return pd.concat(frames, ignore_index=True)


@dg.asset(
    deps=INGESTION_DEPS,
    ins={"creator_snapshot": dg.AssetIn()},
    description="One row per post per day: engagement (likes + comments), engagement rate "
    "against its creator's followers that day, reach (the original's estimate where the "
    "provider gave none) and rank among its creator's posts.",
    **_common("post_performance", AFTER_UPSTREAM),
)
def post_performance(
    context: dg.AssetExecutionContext,
    creator_snapshot: pd.DataFrame,
    database: DatabaseResource,
    objects: ObjectStoreResource,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    day = date.fromisoformat(context.partition_key)
    posts = read_post_observations(database.engine(), day, day)
    table = builders.conform(builders.post_performance(posts, creator_snapshot), POST_PERFORMANCE)
    preview = ["handle", "post_key", "post_type", "engagement", "reach", "rank_in_creator"]
    yield dg.Output(table, metadata=describe(table, preview))
    yield from table_checks("post_performance", day, table, objects)


@dg.asset(
    ins={"creator_growth": dg.AssetIn()},
    description="Top creators by engagement rate and by follower growth (7 and 30 days), "
    "per platform and, within a platform, per category and country where known.",
    **_common("leaderboards", AFTER_UPSTREAM),
)
def leaderboards(
    context: dg.AssetExecutionContext, creator_growth: pd.DataFrame, objects: ObjectStoreResource
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    day = date.fromisoformat(context.partition_key)
    boards = builders.leaderboards(creator_growth)
    table = builders.conform(boards, LEADERBOARDS)
    preview = ["board", "scope", "platform", "scope_value", "rank", "handle", "value"]
    metadata = {**describe(table, preview), **leaderboard_charts(boards)}
    yield dg.Output(table, metadata=metadata)
    yield from table_checks("leaderboards", day, table, objects)


ANALYTICS_ASSETS = [creator_snapshot, creator_growth, post_performance, leaderboards]

#: Rebuilds days by hand (a backfill from the UI, the demo): the analytics of a day, by name.
analytics_job = dg.define_asset_job(
    "analytics_job",
    selection=dg.AssetSelection.groups(GROUP),
    partitions_def=daily_partitions,
    description="Builds the analytics of the chosen days from the observation history "
    "(no provider call); pick it for backfills of the analytics group.",
    executor_def=dg.in_process_executor,
)

analytics_automation_sensor = dg.AutomationConditionSensorDefinition(
    "analytics_automation_sensor",
    target=dg.AssetSelection.groups(GROUP),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)


# ---------------------------------------------------------------------------- metadata


def describe(table: pa.Table, columns: list[str]) -> dict:
    """Row count, column schema and a preview of the first rows, as the UI shows them."""
    rows = table.slice(0, PREVIEW_ROWS).select(columns).to_pylist()
    return {
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(field.name, str(field.type)) for field in table.schema]
        ),
        "preview": dg.MetadataValue.md(markdown_table(rows, columns)),
    }


def growth_summary(growth: pd.DataFrame) -> dict:
    """Figures the UI plots across partitions, and a chart of the day's fastest growers."""
    summary: dict = {}
    for days in GROWTH_WINDOWS:
        change = growth[f"followers_change_{days}d"].dropna()
        summary[f"profiles_with_{days}d_baseline"] = int(change.size)
        summary[f"followers_change_{days}d_total"] = float(change.sum())
        pct = growth[f"followers_growth_pct_{days}d"].dropna()
        summary[f"followers_growth_pct_{days}d_median"] = float(pct.median()) if pct.size else 0.0
    top = growth.dropna(subset=["followers_change_7d"]).nlargest(10, "followers_change_7d")
    summary["top_growth_7d"] = dg.MetadataValue.md(
        bar_chart(
            top.assign(creator=top["handle"].fillna(top["profile_id"])),
            "creator", "followers_change_7d", "Followers gained in 7 days", "{:+,.0f}",
        )
    )  # fmt: skip
    return summary


def leaderboard_charts(boards: pd.DataFrame) -> dict:
    """One bar chart per board of each platform's top creators."""
    charts: dict = {}
    if boards.empty:
        return {"boards": 0}
    by_platform = boards[boards["scope"] == "platform"]
    for board, rows in by_platform.groupby("board", sort=False):
        parts = [
            bar_chart(
                group.assign(creator=group["handle"].fillna(group["profile_id"])),
                "creator", "value", f"{board} · {platform}",
            )
            for platform, group in rows.groupby("platform", sort=True)
        ]  # fmt: skip
        charts[f"chart_{board}"] = dg.MetadataValue.md("\n\n".join(parts))
    charts["boards"] = int(
        boards[["board", "scope", "platform", "scope_value"]].drop_duplicates().shape[0]
    )
    return charts


def table_checks(
    asset: str, day: date, table: pa.Table, objects: ObjectStoreResource
) -> Iterator[dg.AssetCheckResult]:
    """Schema of what the object store now holds (read back), and rows present."""
    stored = read_partition_table(objects.store(), asset, day).schema
    expected = SCHEMAS[asset]
    differences = _schema_differences(expected, stored)
    yield dg.AssetCheckResult(
        asset_key=asset,
        check_name="schema",
        passed=not differences,
        metadata={"differences": dg.MetadataValue.md("\n".join(differences) or "none")},
    )
    yield dg.AssetCheckResult(
        asset_key=asset,
        check_name="non_empty",
        passed=table.num_rows > 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows": table.num_rows, "day": day.isoformat()},
    )


def _schema_differences(expected: pa.Schema, stored: pa.Schema) -> list[str]:
    found = {field.name: field.type for field in stored}
    lines = [
        f"- `{field.name}`: expected {field.type}, found {found.get(field.name, 'nothing')}"
        for field in expected
        if found.get(field.name) != field.type
    ]
    lines += [f"- `{name}`: not declared" for name in found if name not in expected.names]
    return lines
