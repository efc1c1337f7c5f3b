"""Observations in, the four daily analytics tables out (pandas, vectorized; no I/O).

Inputs are the frames `beat.analytics.history` reads from profile_log/post_log. A day's
figures are the **last observation of each profile and post within that UTC day**, so a
day rebuilt later reads exactly what was known that day.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pyarrow as pa

from beat.analytics import snapshot
from beat.analytics.engagement import engagement_rate, estimate_reach, interactions
from beat.analytics.tables import BASELINE_LOOKBACK_DAYS, GROWTH_WINDOWS

PROFILE_KEY = ["date", "platform", "profile_id"]

#: Rows per group in each leaderboard.
LEADERBOARD_SIZE = 10
#: Relative growth of tiny accounts is noise (10 → 20 followers is +100%).
MIN_FOLLOWERS_FOR_GROWTH_PCT = 1000


def as_day(values: pd.Series) -> pd.Series:
    """Any day-like column (timestamps, datetime.date objects, Arrow dates) as UTC midnight."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.floor("D")
    return pd.to_datetime(values, utc=True).dt.floor("D")


def last_per_day(observations: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """The last observation of each `key` (after `date`) within each UTC day."""
    frame = observations.assign(date=observations["observed_at"].dt.floor("D"))
    frame = frame.sort_values("observed_at", kind="stable")
    return frame.drop_duplicates(["date", *key], keep="last").reset_index(drop=True)


def _with_profile_ids(posts: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
    """Posts whose provider named only the handle get the profile id observed for it."""
    missing = posts["profile_id"].isna()
    if not missing.any():
        return posts
    known = profiles.dropna(subset=["handle"]).drop_duplicates(["platform", "handle"], keep="last")
    ids = posts.loc[missing, ["platform", "handle"]].merge(
        known[["platform", "handle", "profile_id"]], on=["platform", "handle"], how="left"
    )
    posts = posts.copy()
    posts.loc[missing, "profile_id"] = ids["profile_id"].to_numpy()
    return posts


def creator_snapshot(profiles: pd.DataFrame, posts: pd.DataFrame) -> pd.DataFrame:
    """One row per profile per day: its last observation that day and its posts' averages
    (`beat.analytics.snapshot`, on integer keys for speed)."""
    return snapshot.creator_snapshot(profiles, posts)


def creator_growth(current: pd.DataFrame, earlier: pd.DataFrame, day: date) -> pd.DataFrame:
    """Followers and engagement change over each of GROWTH_WINDOWS.

    `current` is the day's snapshot, `earlier` snapshots of earlier days. A window's
    baseline is the profile's latest snapshot within BASELINE_LOOKBACK_DAYS before the
    window's start (a profile is not refreshed every day); without one the change is null.
    """
    growth = current.assign(date=as_day(current["date"]))
    earlier = earlier.assign(date=as_day(earlier["date"]))
    for days in GROWTH_WINDOWS:
        end = pd.Timestamp(day - timedelta(days=days), tz="UTC")
        start = end - pd.Timedelta(days=BASELINE_LOOKBACK_DAYS)
        window = earlier[(earlier["date"] > start) & (earlier["date"] <= end)]
        baseline = (
            window.sort_values("date", kind="stable")
            .drop_duplicates(["platform", "profile_id"], keep="last")
            .loc[:, ["platform", "profile_id", "date", "followers", "engagement_rate"]]
            .rename(
                columns={
                    "date": f"baseline_date_{days}d",
                    "followers": f"followers_{days}d_ago",
                    "engagement_rate": f"engagement_rate_{days}d_ago",
                }
            )
        )
        growth = growth.merge(baseline, on=["platform", "profile_id"], how="left")
        before = growth[f"followers_{days}d_ago"].astype("float64")
        change = growth["followers"].astype("float64") - before
        growth[f"followers_change_{days}d"] = change
        growth[f"followers_growth_pct_{days}d"] = 100.0 * change / before.where(before > 0)
        growth[f"engagement_rate_change_{days}d"] = (
            growth["engagement_rate"] - growth[f"engagement_rate_{days}d_ago"]
        )
    return growth


def post_performance(posts: pd.DataFrame, snapshot: pd.DataFrame) -> pd.DataFrame:
    """One row per post per day: engagement, reach (estimated when the provider gave none)
    and rank within its creator's posts of that day (1 = most engagement)."""
    day_posts = last_per_day(posts, ["platform", "post_key"])
    creators = snapshot.assign(date=as_day(snapshot["date"]))
    day_posts = _with_profile_ids(day_posts, creators)
    day_posts = day_posts.merge(creators[[*PROFILE_KEY, "followers"]], on=PROFILE_KEY, how="left")
    engagement = interactions(day_posts["likes"], day_posts["comments"])
    estimate = estimate_reach(
        day_posts["post_type"], day_posts["likes"], day_posts["plays"], day_posts["followers"]
    )
    observed_reach = day_posts["reach"].astype("float64")
    grouped = engagement.groupby([day_posts[c] for c in PROFILE_KEY], sort=False, dropna=False)
    return day_posts.assign(
        engagement=engagement,
        engagement_rate=engagement_rate(
            engagement, day_posts["followers"], pd.Series(1, index=day_posts.index)
        ),
        reach=observed_reach.fillna(estimate),
        reach_estimated=observed_reach.isna() & estimate.notna(),
        rank_in_creator=grouped.rank(method="min", ascending=False),
        creator_posts=grouped.transform("size"),
    )


#: (board name, growth column ranked, only profiles with at least this many followers).
BOARDS = (
    ("engagement_rate", "engagement_rate", 0),
    ("followers_change_7d", "followers_change_7d", 0),
    ("followers_growth_pct_7d", "followers_growth_pct_7d", MIN_FOLLOWERS_FOR_GROWTH_PCT),
    ("followers_change_30d", "followers_change_30d", 0),
    ("followers_growth_pct_30d", "followers_growth_pct_30d", MIN_FOLLOWERS_FOR_GROWTH_PCT),
)
#: Leaderboards per platform, and within a platform per category and country (where known).
SCOPES = ("platform", "category", "country")


def leaderboards(growth: pd.DataFrame, size: int = LEADERBOARD_SIZE) -> pd.DataFrame:
    """The top `size` creators of each board, per platform and per category and country."""
    frames = []
    base = growth.assign(date=as_day(growth["date"]))
    for board, column, min_followers in BOARDS:
        ranked = base[base[column].notna() & (base["followers"].fillna(0) >= min_followers)]
        ranked = ranked.sort_values([column, "profile_id"], ascending=[False, True], kind="stable")
        for scope in SCOPES:
            values = ranked["platform"] if scope == "platform" else ranked[scope]
            scoped = ranked.assign(scope_value=values).dropna(subset=["scope_value"])
            top = scoped.groupby(["platform", "scope_value"], sort=False).head(size)
            rank = top.groupby(["platform", "scope_value"], sort=False).cumcount() + 1
            frames.append(
                top.assign(board=board, scope=scope, rank=rank, value=top[column])[
                    ["date", "board", "scope", "platform", "scope_value", "rank",
                     "profile_id", "handle", "value", "followers"]
                ]
            )  # fmt: skip
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def conform(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """The frame as an Arrow table of exactly `schema` (missing columns null, extra dropped)."""
    arrays = []
    for field in schema:
        if field.name not in frame.columns:
            arrays.append(pa.nulls(len(frame), field.type))
            continue
        values = frame[field.name]
        if pa.types.is_date32(field.type):
            values = as_day(values).dt.tz_localize(None)
            array = pa.array(values, from_pandas=True).cast(field.type)
        elif pa.types.is_integer(field.type) and values.dtype.kind == "f":
            array = pa.array(values.round(), type=pa.float64(), from_pandas=True).cast(field.type)
        else:
            array = pa.array(values, type=field.type, from_pandas=True)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=schema)
