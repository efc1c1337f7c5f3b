"""Read the observation history (profile_log, post_log) for a span of UTC days as frames.

Category and country are read from each observation's own dimensions, so a day is ranked
by what was known that day; where the observation has none (Graph's business_discovery
gives no category, the RapidAPI providers do), the latest-state table's value is used.
Country is known only where a platform gives one (YouTube channels).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Engine, Select, and_, func, select

from beat.store.models import instagram_account
from beat.store.models_history import post_log, profile_log

PROFILE_COLUMNS = [
    "platform", "profile_id", "handle", "observed_at", "provider",
    "followers", "following", "media_count", "category", "country",
]  # fmt: skip
POST_COLUMNS = [
    "platform", "post_key", "post_id", "profile_id", "handle", "post_type", "publish_time",
    "observed_at", "provider", "likes", "comments", "views", "plays", "reach",
]  # fmt: skip
_COUNTS = ["followers", "following", "media_count", "likes", "comments", "views", "plays", "reach"]


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00, the day after last 00:00) in UTC."""
    start = datetime.combine(first, time(), tzinfo=UTC)
    return start, datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)


def read_profile_observations(engine: Engine, first: date, last: date) -> pd.DataFrame:
    start, end = day_bounds(first, last)
    dims = profile_log.c.dimensions
    latest = and_(
        profile_log.c.platform == "INSTAGRAM",
        instagram_account.c.profile_id == profile_log.c.profile_id,
    )
    query = (
        select(
            *(profile_log.c[name] for name in PROFILE_COLUMNS[:-2]),
            func.coalesce(dims["category"].as_string(), instagram_account.c.category).label(
                "category"
            ),
            dims["country"].as_string().label("country"),
        )
        .select_from(profile_log.outerjoin(instagram_account, latest))
        .where(profile_log.c.observed_at >= start, profile_log.c.observed_at < end)
    )
    return _frame(engine, query, PROFILE_COLUMNS)


def read_post_observations(engine: Engine, first: date, last: date) -> pd.DataFrame:
    start, end = day_bounds(first, last)
    query = select(*(post_log.c[name] for name in POST_COLUMNS)).where(
        post_log.c.observed_at >= start, post_log.c.observed_at < end
    )
    return _frame(engine, query, POST_COLUMNS)


def _frame(engine: Engine, query: Select, columns: list[str]) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for name in columns:
        if name in ("observed_at", "publish_time"):
            frame[name] = pd.to_datetime(frame[name], utc=True).astype("datetime64[us, UTC]")
        elif name in _COUNTS:
            frame[name] = frame[name].astype("Float64").astype("float64")
        else:
            frame[name] = frame[name].astype("object")
    return frame
