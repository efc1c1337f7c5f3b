"""Upserts of YouTube channels and videos, their events and their observation history.

A row is only overwritten by an observation at least as new as the one it holds
(`observed_at`), so re-parsing an old day's raw responses never regresses it; a value the
provider did not send (None) never erases one we have. Events go out only for fresh fetches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Table, and_, case, func

from beat.events.formats import event_time
from beat.store.db import dialect_insert, observation_stamps
from beat.store.history import record_posts, record_profiles
from beat.store.instagram import data_event
from beat.store.models_youtube import youtube_account, youtube_post
from beat.store.outbox import OutboxEvent, write_events
from providers.model import flatten

if TYPE_CHECKING:
    from beat.pipeline.youtube import ObservedChannel, ObservedVideo

PLATFORM = "YOUTUBE"
#: post_type_source of a type YouTube itself told (refresh_yt_post_type).
SHORTS_URL = "shorts_url"


def upsert_newer(
    conn: Connection, table: Table, key: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    """Insert, or update a row only from an observation at least as new as its own; a NULL
    never overwrites a stored value. One statement, PostgreSQL and SQLite alike."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        # psycopg's executemany pipelines the rows: much faster here than SQLAlchemy's
        # multi-VALUES rendering of the same upsert (as for Instagram; bench/youtube_bench.py).
        sql = upsert_newer_sql(table.name, key, list(rows[0]))
        conn.exec_driver_sql(sql, [{k: _pg_value(v) for k, v in row.items()} for row in rows])
        return
    stmt = dialect_insert(conn, table)
    keep = set(key) | {"id", "created_at"}
    columns = [c.name for c in table.columns if c.name in rows[0] and c.name not in keep]
    updates: dict[str, Any] = {
        name: func.coalesce(stmt.excluded[name], table.c[name]) for name in columns
    }
    if "post_type_source" in columns:
        told = and_(
            stmt.excluded.post_type_source.is_(None), table.c.post_type_source == SHORTS_URL
        )
        updates["post_type"] = case((told, table.c.post_type), else_=updates["post_type"])
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=list(key),
            set_=updates,
            where=stmt.excluded.observed_at >= table.c.observed_at,
        ),
        rows,
    )


def upsert_newer_sql(table: str, key: Sequence[str], columns: Sequence[str]) -> str:
    """The PostgreSQL form of `upsert_newer` as driver SQL (psycopg placeholders)."""
    keep = {*key, "created_at"}
    updates = ", ".join(f"{c} = {_pg_update(table, c, columns)}" for c in columns if c not in keep)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'%({c})s' for c in columns)}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates} "
        f"WHERE EXCLUDED.observed_at >= {table}.observed_at"
    )


def _pg_update(table: str, column: str, columns: Sequence[str]) -> str:
    keep_null = f"COALESCE(EXCLUDED.{column}, {table}.{column})"
    if column != "post_type" or "post_type_source" not in columns:
        return keep_null
    # What YouTube itself said (a Short or not) outlives any later duration guess.
    return (
        f"CASE WHEN EXCLUDED.post_type_source IS NULL AND {table}.post_type_source = "
        f"'{SHORTS_URL}' THEN {table}.post_type ELSE {keep_null} END"
    )


def _pg_value(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict | list) else value


def channel_row(item: ObservedChannel, provider: str, now: datetime) -> dict[str, Any]:
    c = item.channel
    return {
        "channel_id": c.channel_id,
        "handle": c.handle,
        "title": c.title,
        "description": c.description,
        "country": c.country,
        "published_at": c.published_at,
        "subscribers": c.subscriber_count,
        "is_subscriber_count_hidden": c.hidden_subscriber_count,
        "uploads": c.video_count,
        "views": c.view_count,
        "uploads_playlist_id": c.uploads_playlist_id,
        "thumbnail": c.thumbnail,
        "thumbnails": c.thumbnails,
        **observation_stamps(provider, item.observed_at, now),
    }


def video_row(item: ObservedVideo, provider: str, now: datetime) -> dict[str, Any]:
    v = item.video
    return {
        "shortcode": v.video_id,
        "channel_id": v.channel_id,
        "channel_title": v.channel_title,
        "title": v.title,
        "description": v.description,
        "published_at": v.published_at,
        "post_type": item.post_type or v.post_type,
        # None lets a duration guess never overwrite what YouTube itself said.
        "post_type_source": SHORTS_URL if item.post_type else None,
        "duration": v.duration_seconds,
        "views": v.view_count,
        "likes": v.like_count,
        "comments": v.comment_count,
        "favourites": v.favourite_count,
        "category_id": v.category_id,
        "category": item.category,
        "topic": item.topic,
        "playlist_id": item.playlist_id,
        "audio_language": v.audio_language,
        "is_licensed": v.is_licensed,
        "tags": list(v.tags) if v.tags else None,
        "content_rating": v.content_rating,
        "definition": v.definition,
        "thumbnail": v.thumbnail,
        "keywords": list(item.keywords) if item.keywords else None,
        **observation_stamps(provider, item.observed_at, now),
    }


def _video_dimensions(item: ObservedVideo) -> dict[str, Any]:
    extra = {"playlist_id": item.playlist_id, "category": item.category, "topic": item.topic,
             "post_type": item.post_type}  # fmt: skip
    if item.keywords:
        extra["keywords"] = str(list(item.keywords))  # a stringified list, as the original
    return {**flatten(item.video.dimensions()), **{k: v for k, v in extra.items() if v}}


def channel_event(item: ObservedChannel, provider: str) -> OutboxEvent:
    c = item.channel
    return data_event(
        "profile_log_events",
        {
            "source": provider,
            "platform": PLATFORM,
            "profile_id": c.channel_id,
            # The original sends the channel id as the handle too.
            "handle": c.channel_id,
            "event_timestamp": event_time(item.observed_at),
            "metrics": flatten(c.metrics()),
            "dimensions": flatten(c.dimensions()),
        },
    )


def video_event(item: ObservedVideo, provider: str) -> OutboxEvent:
    v = item.video
    return data_event(
        "post_log_events",
        {
            "source": provider,
            "platform": PLATFORM,
            "profile_id": v.channel_id,
            "handle": v.channel_id,
            "shortcode": v.video_id,
            "publish_time": event_time(v.published_at) if v.published_at else None,
            "event_timestamp": event_time(item.observed_at),
            "metrics": flatten(v.metrics()),
            "dimensions": _video_dimensions(item),
        },
    )


def channel_observation(item: ObservedChannel, provider: str) -> dict[str, Any]:
    c = item.channel
    return {
        "platform": PLATFORM,
        "profile_id": c.channel_id,
        "handle": c.handle,
        "observed_at": item.observed_at,
        "provider": provider,
        "followers": c.subscriber_count,
        "following": None,
        "media_count": c.video_count,
        "views": c.view_count,
        "metrics": flatten(c.metrics()),
        "dimensions": flatten(c.dimensions()),
    }


def video_observation(item: ObservedVideo, provider: str) -> dict[str, Any]:
    v = item.video
    return {
        "platform": PLATFORM,
        "post_key": v.video_id,
        "post_id": v.video_id,
        "profile_id": v.channel_id,
        "handle": None,
        "post_type": item.post_type or v.post_type,
        "publish_time": v.published_at,
        "observed_at": item.observed_at,
        "provider": provider,
        "likes": v.like_count,
        "comments": v.comment_count,
        "views": v.view_count,
        "plays": None,
        "reach": None,
        "caption": v.title,
        "metrics": flatten(v.metrics()),
        "dimensions": _video_dimensions(item),
    }


def newest_per_key(pairs: Sequence[tuple[Any, str]], key: Any) -> list[tuple[Any, str]]:
    """One (item, provider) per key, the newest observation of it (Postgres refuses an upsert
    touching one key twice in a statement)."""
    chosen: dict[str, tuple[Any, str]] = {}
    for item, provider in pairs:
        k = key(item)
        if k not in chosen or item.observed_at >= chosen[k][0].observed_at:
            chosen[k] = (item, provider)
    return list(chosen.values())


def upsert_youtube(
    conn: Connection,
    channels: Sequence[tuple[ObservedChannel, str]],
    videos: Sequence[tuple[ObservedVideo, str]],
    *,
    publish: bool = True,
) -> None:
    """Rows, history and (when `publish`) one event per item, in the caller's transaction."""
    now = datetime.now(UTC)
    channels = newest_per_key(channels, lambda i: i.channel.channel_id)
    videos = newest_per_key(videos, lambda i: i.video.video_id)
    upsert_newer(conn, youtube_account, ("channel_id",),
                 [channel_row(c, p, now) for c, p in channels])  # fmt: skip
    upsert_newer(conn, youtube_post, ("shortcode",),
                 [video_row(v, p, now) for v, p in videos])  # fmt: skip
    record_profiles(conn, [channel_observation(c, p) for c, p in channels])
    record_posts(conn, [video_observation(v, p) for v, p in videos])
    if publish:
        events = [channel_event(c, p) for c, p in channels]
        events += [video_event(v, p) for v, p in videos]
        write_events(conn, events)
