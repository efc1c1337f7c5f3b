"""The Instagram family's own asset check: history never goes backwards.

Evaluated on the days a run wrote (today for a batch, the partition's days for a backfill)
from what the warehouse holds, so a rebuild is judged on what it rebuilt: every profile and
post observed on those days must hold its newest observation (the row's `observed_at` is the
latest in the observation log) and must not claim a refresh long after what it holds was
observed (what a rebuild that marks old data as fresh would leave).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, Table, and_, func, or_, select

from beat.pipeline.family import DayCheck
from beat.store.models import instagram_account, instagram_post
from beat.store.models_history import post_log, profile_log

#: A live write stamps refreshed_at moments after the provider answered; a row refreshed
#: much later than what it holds was observed was marked fresh by something that isn't news.
REFRESH_TOLERANCE = timedelta(hours=1)


def _behind(
    engine: Engine, table: Table, key: str, log: Table, log_key: str, days: Sequence[date]
) -> tuple[int, int, int]:
    """(items observed on `days`, rows behind their newest observation, rows refreshed long
    after their observation) for one table."""
    window = or_(
        *(
            and_(
                log.c.observed_at >= datetime.combine(day, time(), UTC),
                log.c.observed_at < datetime.combine(day + timedelta(days=1), time(), UTC),
            )
            for day in days
        )
    )
    seen = (
        select(log.c[log_key])
        .where(log.c.platform == "INSTAGRAM", window)
        .distinct()
        .scalar_subquery()
    )
    newest = (
        select(log.c[log_key].label("item"), func.max(log.c.observed_at).label("newest"))
        .where(log.c.platform == "INSTAGRAM", log.c[log_key].in_(seen))
        .group_by(log.c[log_key])
        .subquery()
    )
    joined = table.join(newest, newest.c.item == table.c[key])
    behind = or_(table.c.observed_at.is_(None), table.c.observed_at < newest.c.newest)
    with engine.connect() as conn:
        items = conn.execute(select(func.count()).select_from(newest)).scalar_one()
        lagging = conn.execute(select(func.count()).select_from(joined).where(behind)).scalar_one()
        rows = conn.execute(
            select(table.c.refreshed_at, table.c.observed_at)
            .select_from(joined)
            .where(table.c.observed_at.is_not(None))
        ).all()
    stale_fresh = sum(1 for refreshed, observed in rows if refreshed - observed > REFRESH_TOLERANCE)
    return items, lagging, stale_fresh


def newest_observation_kept(engine: Engine, days: Sequence[date]) -> tuple[bool, dict[str, Any]]:
    profiles = _behind(engine, instagram_account, "profile_id", profile_log, "profile_id", days)
    posts = _behind(engine, instagram_post, "shortcode", post_log, "post_key", days)
    metadata = {
        "days": ", ".join(d.isoformat() for d in sorted(days)),
        "profiles_observed": profiles[0],
        "posts_observed": posts[0],
        "rows_behind_newest_observation": profiles[1] + posts[1],
        "rows_refreshed_long_after_observation": profiles[2] + posts[2],
    }
    passed = metadata["rows_behind_newest_observation"] == 0 and (
        metadata["rows_refreshed_long_after_observation"] == 0
    )
    return passed, metadata


HISTORY_CHECK = DayCheck(
    name="history_newest_wins",
    description=(
        "Every profile and post observed on the run's days holds its newest observation, "
        "and none claims a refresh long after what it holds was observed."
    ),
    evaluate=newest_observation_kept,
)
