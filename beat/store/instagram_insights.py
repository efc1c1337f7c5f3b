"""Instagram insights rows: a post's lifetime metrics, a creator's audience demographics.

Newest wins: an upsert only rewrites a row when its observation (the provider's answer time)
is at least as new as what the row holds, so a backfill of old answers changes nothing a newer
one wrote; `refreshed_at` never moves back. Insights publish no events (the original had none
for them either).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, case, select

from beat.store.db import dialect_insert
from beat.store.models import instagram_account
from beat.store.models_instagram_insights import (
    instagram_post_insights,
    instagram_profile_insights,
)
from providers.instagram.graph_insights import PostInsights, ProfileInsights

#: Graph metric name -> column (the original stored total_interactions as interactions).
_POST_COLUMNS = {
    "reach": "reach", "likes": "likes", "comments": "comments", "saved": "saved",
    "shares": "shares", "views": "views", "impressions": "impressions", "plays": "plays",
    "engagement": "engagement", "total_interactions": "interactions",
    "video_views": "video_views",
    # stories
    "replies": "replies", "follows": "follows", "profile_visits": "profile_visits",
    "navigation": "navigation", "tap_forward": "taps_forward", "tap_back": "taps_back",
    "tap_exit": "exits", "automatic_forward": "automatic_forward",
    "swipe_forward": "swipe_forward",
}  # fmt: skip


def _newest_wins(conn: Connection, table: Table, key: str, rows: list[dict[str, Any]]) -> None:
    stmt = dialect_insert(conn, table)
    columns = [c for c in rows[0] if c not in (key, "refreshed_at")]
    updates: dict[str, Any] = {c: stmt.excluded[c] for c in columns}
    updates["refreshed_at"] = case(
        (table.c.refreshed_at > stmt.excluded.refreshed_at, table.c.refreshed_at),
        else_=stmt.excluded.refreshed_at,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[key],
            set_=updates,
            where=stmt.excluded.observed_at >= table.c.observed_at,
        ),
        rows,
    )


def _stamps(seen: datetime, rebuild: bool) -> dict[str, datetime]:
    return {"observed_at": seen, "refreshed_at": seen if rebuild else datetime.now(UTC)}


def post_insights_row(found: PostInsights, provider: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(_POST_COLUMNS.values())
    row.update({_POST_COLUMNS[k]: v for k, v in found.metrics.items() if k in _POST_COLUMNS})
    return {
        "shortcode": found.shortcode,
        "post_id": found.post_id,
        "handle": found.handle,
        "post_type": found.post_type,
        **row,
        "metrics": dict(found.metrics),
        "provider": provider,
    }


def profile_insights_row(found: ProfileInsights, provider: str, profile_id: str) -> dict[str, Any]:
    maps = {
        f"{'audience' if who == 'follower' else who}_{breakdown}": value
        for who, by_breakdown in found.audience.items()
        for breakdown, value in by_breakdown.items()
    }
    return {
        "profile_id": profile_id,
        "handle": found.handle,
        "graph_user_id": found.graph_user_id,
        **maps,
        "provider": provider,
    }


def _profile_ids(conn: Connection, handles: set[str]) -> dict[str, str]:
    """The stored account id of each handle: the insights row joins the account it
    describes (the read API looks it up by that id)."""
    t = instagram_account.c
    rows = conn.execute(select(t.handle, t.profile_id).where(t.handle.in_(handles)))
    return {handle: profile_id for handle, profile_id in rows}


def upsert_post_insights(
    conn: Connection,
    found: Sequence[tuple[PostInsights, str, datetime]],
    *,
    rebuild: bool = False,
) -> None:
    rows: dict[str, dict[str, Any]] = {}
    for item, provider, seen in sorted(found, key=lambda f: f[2]):
        rows[item.shortcode] = {**post_insights_row(item, provider), **_stamps(seen, rebuild)}
    if rows:
        _newest_wins(conn, instagram_post_insights, "shortcode", list(rows.values()))


def upsert_profile_insights(
    conn: Connection,
    found: Sequence[tuple[ProfileInsights, str, datetime]],
    *,
    rebuild: bool = False,
) -> None:
    ids = _profile_ids(conn, {item.handle for item, _, _ in found}) if found else {}
    rows: dict[str, dict[str, Any]] = {}
    for item, provider, seen in sorted(found, key=lambda f: f[2]):
        profile_id = ids.get(item.handle, item.graph_user_id)
        row = profile_insights_row(item, provider, profile_id)
        rows[profile_id] = {**row, **_stamps(seen, rebuild)}
    if rows:
        _newest_wins(conn, instagram_profile_insights, "profile_id", list(rows.values()))
