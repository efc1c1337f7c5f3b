"""Creator snapshot for a million profiles: beat's pandas builder vs the same aggregation
written directly in DuckDB SQL, over the same generated history.

The history is generated straight into Parquet files shaped like profile_log/post_log (two
days, one or two observations of every profile a day, six posts per profile a day, so the
original's trim has something to drop). Each contender then runs in a process of its own,
reads the day it builds from those files, aggregates and writes one Parquet file; wall time
and peak RSS are those of its process (imports included, measured the same way for both).
The two outputs are compared, so the floor computes the same table.

    .venv/bin/python bench/analytics_bench.py [--profiles 1000000] [--posts 6]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import peak_rss_kib

DAY = date(2026, 12, 5)  # the day the snapshot is built for; the day before is history too
TYPES = ("image", "reels", "carousel", "story", "video", "short")


def generate(folder: Path, profiles: int, posts_per_day: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    ids = pc.binary_join_element_wise("p", pa.array(np.arange(profiles)).cast(pa.string()), "")
    base_followers = (10 ** rng.uniform(2.0, 6.7, profiles)).astype(np.int64)
    categories = pa.array(["Artist", "Digital creator", "Musician/band", None])
    profile_parts, post_parts = [], []
    for offset, day in enumerate((DAY - timedelta(days=1), DAY)):
        midnight = int(datetime(day.year, day.month, day.day).timestamp()) * 1_000_000
        # every profile once a day, one in ten twice (the later one counts)
        twice = rng.random(profiles) < 0.1
        rows = np.concatenate([np.arange(profiles), np.flatnonzero(twice)])
        seconds = rng.integers(0, 86_400, rows.size) * 1_000_000
        followers = (base_followers[rows] * (1 + 0.01 * offset)).astype(np.int64)
        profile_parts.append(
            pa.table({
                "platform": pa.array(["INSTAGRAM"]).take(np.zeros(rows.size, dtype=np.int32)),
                "profile_id": ids.take(rows),
                "handle": ids.take(rows),
                "observed_at": pa.array(midnight + seconds, pa.timestamp("us", tz="UTC")),
                "provider": pa.array(["graphapi"]).take(np.zeros(rows.size, dtype=np.int32)),
                "followers": followers,
                "following": rng.integers(10, 7500, rows.size),
                "media_count": rng.integers(12, 60, rows.size),
                "category": categories.take(rows % 4),
                "country": pa.nulls(rows.size, pa.string()),
            })
        )  # fmt: skip
        owner = np.repeat(np.arange(profiles), posts_per_day)
        n = owner.size
        kind = rng.choice(3, n, p=(0.5, 0.3, 0.2))
        likes = (base_followers[owner] * rng.uniform(0.005, 0.08, n)).astype(np.int64)
        plays = np.where(kind == 1, likes * 12, 0)
        nth = pa.array(np.tile(np.arange(posts_per_day), profiles)).cast(pa.string())
        key = pc.binary_join_element_wise(ids.take(owner), nth, "_")
        utc = pa.timestamp("us", tz="UTC")
        post_parts.append(
            pa.table({
                "platform": pa.array(["INSTAGRAM"]).take(np.zeros(n, dtype=np.int32)),
                "post_key": key,
                "post_id": key,
                "profile_id": ids.take(owner),
                "handle": ids.take(owner),
                "post_type": pa.array(TYPES[:3]).take(kind),
                "publish_time": pa.array(midnight - seconds[:1].repeat(n), utc),
                "observed_at": pa.array(midnight + rng.integers(0, 86_400, n) * 1_000_000, utc),
                "provider": pa.array(["graphapi"]).take(np.zeros(n, dtype=np.int32)),
                "likes": likes,
                "comments": (likes * rng.uniform(0.005, 0.05, n)).astype(np.int64),
                "views": pa.array(np.where(kind == 1, likes * 10, 0), mask=kind != 1),
                "plays": pa.array(plays, mask=kind != 1),
                "reach": pa.nulls(n, pa.float64()),
            })
        )  # fmt: skip
    pq.write_table(pa.concat_tables(profile_parts), folder / "profile_log.parquet")
    pq.write_table(pa.concat_tables(post_parts), folder / "post_log.parquet")


def day_filter() -> list:
    import pandas as pd

    start = pd.Timestamp(DAY.isoformat(), tz="UTC")
    return [("observed_at", ">=", start), ("observed_at", "<", start + pd.Timedelta(days=1))]


def run_ours(folder: Path, out: Path) -> None:
    import pyarrow.parquet as pq

    from beat.analytics.builders import conform, creator_snapshot
    from beat.analytics.snapshot import POST_COLUMNS
    from beat.analytics.tables import CREATOR_SNAPSHOT

    # Only the columns the snapshot uses, as DuckDB's column pruning does for the floor.
    profiles = pq.read_table(folder / "profile_log.parquet", filters=day_filter()).to_pandas()
    posts = pq.read_table(
        folder / "post_log.parquet", columns=POST_COLUMNS, filters=day_filter()
    ).to_pandas()
    table = conform(creator_snapshot(profiles, posts), CREATOR_SNAPSHOT)
    pq.write_table(table, out)


def duckdb_sql(folder: Path, out: Path) -> str:
    per_type = ",\n".join(
        f"count(*) FILTER (WHERE post_type = '{t}') AS posts_{t}, "
        f"avg(likes) FILTER (WHERE post_type = '{t}') AS avg_likes_{t}, "
        f"avg(comments) FILTER (WHERE post_type = '{t}') AS avg_comments_{t}, "
        f"sum(interactions) FILTER (WHERE post_type = '{t}') AS interactions_{t}"
        for t in TYPES
    )
    rates = ",\n".join(
        f"p.followers, a.posts_{t}, a.avg_likes_{t}, a.avg_comments_{t}, "
        f"100.0 * a.interactions_{t} / nullif(p.followers * a.posts_{t}, 0) AS engagement_rate_{t}"
        for t in TYPES
    )
    after = DAY + timedelta(days=1)
    day = (
        f"observed_at >= TIMESTAMPTZ '{DAY} 00:00:00+00' "
        f"AND observed_at < TIMESTAMPTZ '{after} 00:00:00+00'"
    )
    kept = "(n <= 4 OR (pos > 2 AND pos <= n - 2))"
    return f"""
    COPY (
    WITH obs AS (SELECT * FROM read_parquet('{folder}/profile_log.parquet') WHERE {day}),
    p AS (
        SELECT * FROM obs
        QUALIFY row_number() OVER (PARTITION BY platform, profile_id ORDER BY observed_at DESC) = 1
    ),
    labels AS (
        SELECT platform, profile_id, arg_max(category, observed_at) AS category,
               arg_max(country, observed_at) AS country
        FROM obs GROUP BY ALL
    ),
    posts AS (
        SELECT *, coalesce(likes, 0) + coalesce(comments, 0) AS interactions
        FROM read_parquet('{folder}/post_log.parquet') WHERE {day}
        QUALIFY row_number() OVER (PARTITION BY platform, post_key ORDER BY observed_at DESC) = 1
    ),
    ranked AS (
        SELECT *, row_number() OVER w AS pos, count(*) OVER (PARTITION BY platform, profile_id) AS n
        FROM posts WINDOW w AS (PARTITION BY platform, profile_id ORDER BY interactions, post_key)
    ),
    a AS (
        SELECT platform, profile_id, count(*) AS posts_observed,
               count(*) FILTER (WHERE {kept}) AS posts_averaged,
               sum(interactions) FILTER (WHERE {kept}) AS kept_interactions,
               avg(likes) FILTER (WHERE {kept}) AS avg_likes,
               avg(comments) FILTER (WHERE {kept}) AS avg_comments,
               avg(views) FILTER (WHERE {kept}) AS avg_views,
               avg(plays) FILTER (WHERE {kept}) AS avg_plays,
               {per_type}
        FROM ranked GROUP BY ALL
    )
    SELECT CAST(observed_at AS DATE) AS date, p.platform, p.profile_id, p.handle,
           l.category, l.country, p.observed_at, p.provider, p.following,
           p.media_count AS posts, coalesce(a.posts_observed, 0) AS posts_observed,
           coalesce(a.posts_averaged, 0) AS posts_averaged, a.avg_likes, a.avg_comments,
           a.avg_views, a.avg_plays,
           100.0 * a.kept_interactions / nullif(p.followers * a.posts_averaged, 0) AS engagement_rate,
           {rates.replace("p.followers, ", "", len(TYPES) - 1)}
    FROM p JOIN labels l USING (platform, profile_id)
    LEFT JOIN a USING (platform, profile_id)
    ) TO '{out}' (FORMAT parquet)
    """  # noqa: E501


def run_duckdb(folder: Path, out: Path) -> None:
    import duckdb

    duckdb.sql("SET TimeZone = 'UTC'")
    duckdb.sql(duckdb_sql(folder, out))


def phase(name: str, folder: Path, out: Path) -> None:
    """Runs in its own process; prints its wall time and peak RSS as JSON."""
    started = time.perf_counter()
    (run_ours if name == "ours" else run_duckdb)(folder, out)
    seconds = time.perf_counter() - started
    peak_kib = peak_rss_kib()
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak_kib / 1024}))


def measure(name: str, folder: Path) -> dict:
    out = folder / f"{name}.parquet"
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--data", str(folder)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    result["out"] = out
    return result


def compare(ours: Path, floor: Path) -> str:
    import numpy as np
    import pyarrow.parquet as pq

    a = pq.read_table(ours).to_pandas().sort_values("profile_id").reset_index(drop=True)
    b = pq.read_table(floor).to_pandas().sort_values("profile_id").reset_index(drop=True)
    assert len(a) == len(b), (len(a), len(b))
    assert (a["profile_id"].to_numpy() == b["profile_id"].to_numpy()).all()
    for column in ("followers", "posts_observed", "posts_averaged", "posts_reels"):
        assert (a[column].to_numpy() == b[column].to_numpy()).all(), column
    for column in ("engagement_rate", "avg_likes", "engagement_rate_image"):
        assert np.allclose(a[column], b[column], equal_nan=True), column
    return f"outputs agree on {len(a):,} rows"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--posts", type=int, default=6, help="posts per profile per day")
    parser.add_argument("--phase", choices=["ours", "duckdb"])
    parser.add_argument("--data", type=Path)
    args = parser.parse_args()
    if args.phase:
        phase(args.phase, args.data, args.data / f"{args.phase}.parquet")
        return
    with tempfile.TemporaryDirectory(prefix="beat-analytics-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        generate(folder, args.profiles, args.posts)
        sizes = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20
        took = time.perf_counter() - started
        print(f"history: {args.profiles:,} profiles x 2 days, {args.posts} posts each a day "
              f"({sizes:.0f} MiB Parquet), generated in {took:.1f} s")  # fmt: skip
        ours = measure("ours", folder)
        floor = measure("duckdb", folder)
        print(compare(ours["out"], floor["out"]))
        for name, r in (("beat (pandas/pyarrow)", ours), ("DuckDB SQL (floor)", floor)):
            print(f"{name:24} {r['seconds']:7.2f} s   peak RSS {r['peak_rss_mib']:7.0f} MiB")
        print(f"ratio (DuckDB time / beat time): {floor['seconds'] / ours['seconds']:.2f}  "
              f"(target >= 0.5); memory beat/DuckDB: "
              f"{ours['peak_rss_mib'] / floor['peak_rss_mib']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
