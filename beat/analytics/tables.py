"""The four analytics tables: their columns and Arrow types, declared once.

Every partition is cast to its table's schema before it is written, so an empty day and a
busy one have the same columns and types, and the `schema` asset check compares what the
object store holds against these declarations.
"""

from __future__ import annotations

import pyarrow as pa

#: Post types averaged separately in the snapshot (Instagram's, then YouTube's).
POST_TYPES = ("image", "reels", "carousel", "story", "video", "short")

_TS = pa.timestamp("us", tz="UTC")

_IDENTITY = [
    pa.field("date", pa.date32(), nullable=False),
    pa.field("platform", pa.string(), nullable=False),
    pa.field("profile_id", pa.string(), nullable=False),
    pa.field("handle", pa.string()),
    pa.field("category", pa.string()),
    pa.field("country", pa.string()),
]

CREATOR_SNAPSHOT = pa.schema(
    [
        *_IDENTITY,
        pa.field("observed_at", _TS),
        pa.field("provider", pa.string()),
        pa.field("followers", pa.int64()),
        pa.field("following", pa.int64()),
        pa.field("posts", pa.int64()),  # the profile's own post count (media_count)
        pa.field("posts_observed", pa.int64()),
        pa.field("posts_averaged", pa.int64()),  # after the original's trim
        pa.field("avg_likes", pa.float64()),
        pa.field("avg_comments", pa.float64()),
        pa.field("avg_views", pa.float64()),
        pa.field("avg_plays", pa.float64()),
        pa.field("engagement_rate", pa.float64()),
        *(
            field
            for kind in POST_TYPES
            for field in (
                pa.field(f"posts_{kind}", pa.int64()),
                pa.field(f"avg_likes_{kind}", pa.float64()),
                pa.field(f"avg_comments_{kind}", pa.float64()),
                pa.field(f"engagement_rate_{kind}", pa.float64()),
            )
        ),
    ]
)

#: Growth windows in days, and how far back of each a baseline observation may lie.
GROWTH_WINDOWS = (7, 30)
BASELINE_LOOKBACK_DAYS = 7

CREATOR_GROWTH = pa.schema(
    [
        *_IDENTITY,
        pa.field("followers", pa.int64()),
        pa.field("engagement_rate", pa.float64()),
        *(
            field
            for days in GROWTH_WINDOWS
            for field in (
                pa.field(f"baseline_date_{days}d", pa.date32()),
                pa.field(f"followers_{days}d_ago", pa.int64()),
                pa.field(f"followers_change_{days}d", pa.int64()),
                pa.field(f"followers_growth_pct_{days}d", pa.float64()),
                pa.field(f"engagement_rate_{days}d_ago", pa.float64()),
                pa.field(f"engagement_rate_change_{days}d", pa.float64()),
            )
        ),
    ]
)

POST_PERFORMANCE = pa.schema(
    [
        pa.field("date", pa.date32(), nullable=False),
        pa.field("platform", pa.string(), nullable=False),
        pa.field("post_key", pa.string(), nullable=False),
        pa.field("post_id", pa.string()),
        pa.field("profile_id", pa.string()),
        pa.field("handle", pa.string()),
        pa.field("post_type", pa.string()),
        pa.field("publish_time", _TS),
        pa.field("observed_at", _TS),
        pa.field("provider", pa.string()),
        pa.field("likes", pa.int64()),
        pa.field("comments", pa.int64()),
        pa.field("views", pa.int64()),
        pa.field("plays", pa.int64()),
        pa.field("followers", pa.int64()),
        pa.field("engagement", pa.int64()),  # likes + comments
        pa.field("engagement_rate", pa.float64()),
        pa.field("reach", pa.float64()),
        pa.field("reach_estimated", pa.bool_()),
        pa.field("rank_in_creator", pa.int64()),
        pa.field("creator_posts", pa.int64()),
    ]
)

LEADERBOARDS = pa.schema(
    [
        pa.field("date", pa.date32(), nullable=False),
        pa.field("board", pa.string(), nullable=False),  # the metric ranked
        pa.field("scope", pa.string(), nullable=False),  # platform | category | country
        pa.field("platform", pa.string(), nullable=False),
        pa.field("scope_value", pa.string(), nullable=False),
        pa.field("rank", pa.int64(), nullable=False),
        pa.field("profile_id", pa.string(), nullable=False),
        pa.field("handle", pa.string()),
        pa.field("value", pa.float64()),
        pa.field("followers", pa.int64()),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "creator_snapshot": CREATOR_SNAPSHOT,
    "creator_growth": CREATOR_GROWTH,
    "post_performance": POST_PERFORMANCE,
    "leaderboards": LEADERBOARDS,
}
