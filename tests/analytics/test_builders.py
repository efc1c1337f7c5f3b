"""The pure builders: the original's formulas, last-of-day semantics, baselines, boards."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from beat.analytics import builders
from beat.analytics.engagement import estimate_reach
from beat.analytics.history import POST_COLUMNS, PROFILE_COLUMNS
from beat.analytics.report import bar, bar_chart, markdown_table
from beat.analytics.tables import SCHEMAS

DAY = date(2026, 12, 5)


def at(hour: int, day: date = DAY) -> pd.Timestamp:
    return pd.Timestamp(day.isoformat(), tz="UTC") + pd.Timedelta(hours=hour)


def profiles(*rows: dict) -> pd.DataFrame:
    base = {"platform": "INSTAGRAM", "handle": None, "provider": "graphapi", "following": 10.0,
            "media_count": 20.0, "category": None, "country": None}  # fmt: skip
    frame = pd.DataFrame([{**base, **row} for row in rows], columns=PROFILE_COLUMNS)
    return frame.astype({"observed_at": "datetime64[us, UTC]"})


def posts(*rows: dict) -> pd.DataFrame:
    base = {"platform": "INSTAGRAM", "post_id": None, "handle": None, "post_type": "image",
            "publish_time": at(0), "provider": "graphapi", "comments": 0.0, "views": np.nan,
            "plays": np.nan, "reach": np.nan}  # fmt: skip
    frame = pd.DataFrame([{**base, **row} for row in rows], columns=POST_COLUMNS)
    return frame.astype({"observed_at": "datetime64[us, UTC]", "likes": "float64"})


def test_engagement_rate_trims_two_posts_at_each_end_like_the_original() -> None:
    likes = [1.0, 2.0, 10.0, 20.0, 30.0, 1000.0, 5000.0]  # 7 posts: keep 10, 20, 30
    frame = builders.creator_snapshot(
        profiles({"profile_id": "p", "observed_at": at(9), "followers": 1000.0}),
        posts(*({"post_key": f"s{i}", "profile_id": "p", "observed_at": at(9), "likes": n}
                for i, n in enumerate(likes))),
    )  # fmt: skip
    row = frame.iloc[0]
    assert row["posts_observed"] == 7 and row["posts_averaged"] == 3
    assert row["engagement_rate"] == pytest.approx(100 * (10 + 20 + 30) / (1000 * 3))
    assert row["avg_likes"] == pytest.approx(20.0)


def test_four_posts_or_fewer_are_all_averaged() -> None:
    frame = builders.creator_snapshot(
        profiles({"profile_id": "p", "observed_at": at(9), "followers": 200.0}),
        posts(*({"post_key": f"s{i}", "profile_id": "p", "observed_at": at(9), "likes": 10.0,
                 "comments": 2.0, "post_type": kind} for i, kind in enumerate(
                     ["image", "reels", "reels", "carousel"]))),
    )  # fmt: skip
    row = frame.iloc[0]
    assert row["posts_averaged"] == 4
    assert row["engagement_rate"] == pytest.approx(6.0)
    assert (row["posts_reels"], row["posts_image"], row["posts_story"]) == (2, 1, 0)
    assert row["engagement_rate_reels"] == pytest.approx(100 * 24 / (200 * 2))
    assert math.isnan(row["engagement_rate_story"])


def test_a_day_takes_the_last_observation_of_that_day_and_keeps_a_stated_category() -> None:
    frame = builders.creator_snapshot(
        profiles(
            {"profile_id": "p", "observed_at": at(8), "followers": 100.0, "category": "Artist"},
            {"profile_id": "p", "observed_at": at(20), "followers": 150.0},
            {"profile_id": "p", "observed_at": at(8, date(2026, 12, 6)), "followers": 999.0},
        ),
        posts(),
    )
    frame = frame.sort_values("date")
    assert list(frame["followers"]) == [150.0, 999.0]
    assert frame.iloc[0]["category"] == "Artist"
    assert frame.iloc[0]["posts_observed"] == 0


def test_posts_named_only_by_handle_join_their_profile() -> None:
    frame = builders.creator_snapshot(
        profiles({"profile_id": "p", "handle": "nasa", "observed_at": at(9), "followers": 100.0}),
        posts({"post_key": "s", "profile_id": None, "handle": "nasa", "observed_at": at(9),
               "likes": 7.0}),
    )  # fmt: skip
    assert frame.iloc[0]["posts_observed"] == 1


@pytest.mark.parametrize(
    ("post_type", "likes", "plays", "followers", "expected"),
    [
        ("reels", 10.0, 1000.0, 1024.0, 1000.0 * (0.94 - 0.001 * 10)),
        ("image", 100.0, np.nan, 5000.0, (7.6 - 0.7 * 2) * 0.85 * 100.0),
        ("carousel", 0.0, np.nan, 5000.0, 0.0),
        ("reels", 10.0, np.nan, 1024.0, np.nan),
        ("reels", 10.0, 500.0, 0.0, np.nan),
    ],
)
def test_reach_estimate_is_the_originals(post_type, likes, plays, followers, expected) -> None:
    got = estimate_reach(
        pd.Series([post_type]), pd.Series([likes]), pd.Series([plays]), pd.Series([followers])
    ).iloc[0]
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


def test_growth_takes_the_latest_baseline_within_the_lookback() -> None:
    current = pd.DataFrame({"date": [at(0)], "platform": ["INSTAGRAM"], "profile_id": ["p"],
                            "followers": [1500.0], "engagement_rate": [3.0]})  # fmt: skip
    earlier = pd.DataFrame({
        "date": [at(0, date(2026, 11, 25)), at(0, date(2026, 11, 27)),  # 10 and 8 days before
                 at(0, date(2026, 11, 29)),  # 6 days before: inside the 7-day window, ignored
                 at(0, date(2026, 10, 20))],  # 46 days before: too old for the 30-day window
        "platform": ["INSTAGRAM"] * 4, "profile_id": ["p"] * 4,
        "followers": [1000.0, 1200.0, 1400.0, 10.0], "engagement_rate": [1.0, 2.0, 9.0, 9.0],
    })  # fmt: skip
    row = builders.creator_growth(current, earlier, DAY).iloc[0]
    assert row["followers_7d_ago"] == 1200.0
    assert row["baseline_date_7d"] == at(0, date(2026, 11, 27))
    assert row["followers_change_7d"] == 300.0
    assert row["followers_growth_pct_7d"] == pytest.approx(25.0)
    assert row["engagement_rate_change_7d"] == pytest.approx(1.0)
    assert math.isnan(row["followers_30d_ago"]) and math.isnan(row["followers_change_30d"])


def test_leaderboards_rank_within_platform_category_and_country() -> None:
    growth = pd.DataFrame({
        "date": [at(0)] * 4, "platform": ["INSTAGRAM", "INSTAGRAM", "INSTAGRAM", "YOUTUBE"],
        "profile_id": ["a", "b", "c", "y"], "handle": ["a", "b", "c", "y"],
        "category": ["Artist", "Artist", None, None], "country": [None, None, None, "IN"],
        "followers": [5000.0, 800.0, 2000.0, 9000.0], "engagement_rate": [1.0, 5.0, 3.0, 2.0],
        "followers_change_7d": [10.0, 50.0, np.nan, 5.0],
        "followers_growth_pct_7d": [0.2, 6.7, np.nan, 0.05],
        "followers_change_30d": [np.nan] * 4, "followers_growth_pct_30d": [np.nan] * 4,
    })  # fmt: skip
    boards = builders.leaderboards(growth)
    er = boards[(boards["board"] == "engagement_rate") & (boards["scope"] == "platform")]
    insta = er[er["platform"] == "INSTAGRAM"].sort_values("rank")
    assert list(insta["profile_id"]) == ["b", "c", "a"] and list(insta["rank"]) == [1, 2, 3]
    artist = boards[(boards["scope"] == "category") & (boards["board"] == "engagement_rate")]
    assert list(artist.sort_values("rank")["profile_id"]) == ["b", "a"]
    country = boards[boards["scope"] == "country"]
    assert set(country["scope_value"]) == {"IN"} and set(country["profile_id"]) == {"y"}
    # relative growth leaves out accounts under 1000 followers (b: 800)
    pct = boards[
        (boards["board"] == "followers_growth_pct_7d") & (boards["platform"] == "INSTAGRAM")
    ]
    assert set(pct["profile_id"]) == {"a"}
    assert boards[boards["board"] == "followers_change_30d"].empty


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_conform_gives_the_declared_schema_even_for_an_empty_day(name: str) -> None:
    table = builders.conform(pd.DataFrame(), SCHEMAS[name])
    assert table.schema == SCHEMAS[name] and table.num_rows == 0


def test_conform_casts_days_counts_and_timestamps() -> None:
    frame = builders.creator_snapshot(
        profiles({"profile_id": "p", "observed_at": at(9), "followers": 100.0}),
        posts({"post_key": "s", "profile_id": "p", "observed_at": at(9), "likes": 3.0}),
    )
    table = builders.conform(frame, SCHEMAS["creator_snapshot"])
    row = table.to_pylist()[0]
    assert row["date"] == DAY and row["followers"] == 100 and row["posts_image"] == 1
    assert table.schema.field("observed_at").type == pa.timestamp("us", tz="UTC")


def test_bars_scale_to_the_largest_value() -> None:
    assert bar(10, 10, width=4) == "████" and bar(5, 10, width=4) == "██"
    assert bar(0, 10) == "" and bar(float("nan"), 10) == ""
    chart = bar_chart(pd.DataFrame({"who": ["a", "b"], "n": [4.0, -2.0]}), "who", "n", "T")
    assert "| a | 4.00 | " + "█" * 24 + " |" in chart and "-" + "█" * 12 in chart
    assert markdown_table([{"x": "a|b"}], ["x"]).endswith("| a\\|b |")
