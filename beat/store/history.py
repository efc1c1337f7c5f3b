"""Append observations to profile_log / post_log, once per (item, observation time).

Writers of every platform call these with plain row dicts (the columns of
`beat.store.models_history`); a row already recorded for the same observation time is left
as it is, so a backfill that re-parses stored raw responses records nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Table

from beat.store.db import dialect_insert
from beat.store.models_history import post_log, profile_log
from providers.model import InstagramPost, InstagramProfile, flatten


def record_profiles(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    _append(conn, profile_log, ("platform", "profile_id", "observed_at"), rows)


def record_posts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    _append(conn, post_log, ("platform", "post_key", "observed_at"), rows)


def _append(
    conn: Connection, table: Table, key: tuple[str, ...], rows: Sequence[dict[str, Any]]
) -> None:
    if not rows:
        return
    # Postgres refuses a statement that touches one key twice: keep the last of duplicates.
    unique = list({tuple(row[k] for k in key): row for row in rows}.values())
    if conn.dialect.name == "postgresql":
        # psycopg's pipelined executemany: ~3x cheaper than SQLAlchemy's rendering of the same
        # INSERT (a batch of profiles writes tens of thousands of post observations).
        names = list(unique[0])
        placeholders = ", ".join(f"%({n})s" for n in names)
        sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders}) "
            f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
        )
        conn.exec_driver_sql(sql, [_jsonb(row) for row in unique])
        return
    stmt = dialect_insert(conn, table).on_conflict_do_nothing(index_elements=list(key))
    conn.execute(stmt, unique)


def _jsonb(row: dict[str, Any]) -> dict[str, Any]:
    return {k: Jsonb(v) if k in _JSON_COLUMNS and v is not None else v for k, v in row.items()}


_JSON_COLUMNS = frozenset({"metrics", "dimensions"})


def instagram_profile_observation(
    profile: InstagramProfile, provider: str, observed_at: datetime
) -> dict[str, Any]:
    return {
        "platform": "INSTAGRAM",
        "profile_id": profile.profile_id,
        "handle": profile.handle,
        "observed_at": observed_at,
        "provider": provider,
        "followers": profile.followers,
        "following": profile.following,
        "media_count": profile.media_count,
        "views": None,
        "metrics": flatten(profile.metrics()),
        "dimensions": flatten(profile.dimensions()),
    }


def instagram_post_observation(
    post: InstagramPost, provider: str, observed_at: datetime
) -> dict[str, Any]:
    return {
        "platform": "INSTAGRAM",
        "post_key": post.shortcode,
        "post_id": post.post_id,
        "profile_id": post.profile_id,
        "handle": post.handle,
        "post_type": post.post_type,
        "publish_time": post.taken_at,
        "observed_at": observed_at,
        "provider": provider,
        "likes": post.likes,
        "comments": post.comments,
        "views": post.views,
        "plays": post.plays,
        "reach": None,
        "caption": post.caption,
        "metrics": flatten(post.metrics()),
        "dimensions": flatten(post.dimensions()),
    }
