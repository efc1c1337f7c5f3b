"""Who follows whom (profile_relationship_log) and who liked or commented what
(post_activity_log), with their events.

A pair (or a like, a comment) is one row however often it is seen: `first_observed_at`
only moves back and `last_observed_at` only forward, and what the row says about the
accounts comes from the newest observation. A rebuild (a backfill re-parsing stored raw
responses) publishes no events, so a consumer never receives an old sighting as news.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, case

from beat.events import formats
from beat.store.db import dialect_insert
from beat.store.instagram import data_event
from beat.store.models_instagram import post_activity_log, profile_relationship_log
from beat.store.outbox import OutboxEvent, write_events
from providers.model import PostActivity, ProfileRelationship, flatten

PLATFORM = "INSTAGRAM"
_PAIR = ("platform", "relationship_type", "source_profile_id", "target_profile_id")
#: Columns that describe the pair as last seen: only a newer observation rewrites them.
_DESCRIPTION = ("source_handle", "target_handle", "source_dimensions", "target_dimensions",
                "provider")  # fmt: skip


def _sightings(
    conn: Connection,
    table: Table,
    key: Sequence[str],
    description: Sequence[str],
    rows: list[dict[str, Any]],
) -> None:
    """Upsert sightings on `key`: `description` and `last_observed_at` follow the newest
    observation, `first_observed_at` the oldest; an older sighting changes nothing else."""
    stmt = dialect_insert(conn, table)
    newer = stmt.excluded.last_observed_at >= table.c.last_observed_at
    updates = {c: case((newer, stmt.excluded[c]), else_=table.c[c]) for c in description}
    updates["last_observed_at"] = case(
        (newer, stmt.excluded.last_observed_at), else_=table.c.last_observed_at
    )
    updates["first_observed_at"] = case(
        (stmt.excluded.first_observed_at < table.c.first_observed_at,
         stmt.excluded.first_observed_at),
        else_=table.c.first_observed_at,
    )  # fmt: skip
    conn.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=updates), rows)


def relationship_row(rel: ProfileRelationship, provider: str, seen: datetime) -> dict[str, Any]:
    return {
        "platform": PLATFORM,
        "relationship_type": rel.relationship_type,
        "source_profile_id": rel.source.profile_id,
        "target_profile_id": rel.target.profile_id,
        "source_handle": rel.source.handle or None,
        "target_handle": rel.target.handle or None,
        "source_dimensions": flatten(rel.source.dimensions()),
        "target_dimensions": flatten(rel.target.dimensions()),
        "provider": provider,
        "first_observed_at": seen,
        "last_observed_at": seen,
    }


def relationship_event(rel: ProfileRelationship, provider: str, seen: datetime) -> OutboxEvent:
    return data_event(
        "profile_relationship_log_events",
        {
            "source": provider,
            "platform": PLATFORM,
            "relationship_type": rel.relationship_type,
            "source_profile_id": rel.source.profile_id,
            "target_profile_id": rel.target.profile_id,
            "source_dimensions": flatten(rel.source.dimensions()),
            "target_dimensions": flatten(rel.target.dimensions()),
            "event_timestamp": formats.event_time(seen),
        },
    )


def upsert_relationships(
    conn: Connection,
    relationships: Sequence[tuple[ProfileRelationship, str, datetime]],
    *,
    rebuild: bool = False,
) -> None:
    """Record (relationship, provider, observed_at) sightings and, unless rebuilding, one
    event per sighting, in the caller's transaction."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for rel, provider, seen in sorted(relationships, key=lambda item: item[2]):
        row = relationship_row(rel, provider, seen)
        rows[tuple(row[k] for k in _PAIR)] = row  # the newest sighting of a pair wins
    if rows:
        _sightings(conn, profile_relationship_log, _PAIR, _DESCRIPTION, list(rows.values()))
    if not rebuild:
        write_events(conn, [relationship_event(r, p, s) for r, p, s in relationships])


_ACTIVITY = ("platform", "activity_type", "shortcode", "activity_key")
_ACTIVITY_DESCRIPTION = ("actor_profile_id", "actor_handle", "text", "activity_time",
                         "dimensions", "provider")  # fmt: skip


def activity_row(activity: PostActivity, provider: str, seen: datetime) -> dict[str, Any]:
    comment = activity.comment
    return {
        "platform": PLATFORM,
        "activity_type": activity.activity_type,
        "shortcode": activity.shortcode,
        "activity_key": activity.key,
        "actor_profile_id": activity.actor.profile_id,
        "actor_handle": activity.actor.handle or None,
        "comment_id": comment.comment_id if comment else None,
        "text": comment.text if comment else None,
        "activity_time": comment.created_at if comment else None,
        "dimensions": _activity_dimensions(activity),
        "provider": provider,
        "first_observed_at": seen,
        "last_observed_at": seen,
    }


def _activity_dimensions(activity: PostActivity) -> dict[str, Any]:
    if activity.comment is not None:
        return flatten(activity.comment.dimensions())
    return flatten(activity.actor.dimensions())


def activity_event(activity: PostActivity, provider: str, seen: datetime) -> OutboxEvent:
    comment = activity.comment
    when = comment.created_at if comment is not None else None
    return data_event(
        "post_activity_log_events",
        {
            "source": provider,
            "platform": PLATFORM,
            "activity_type": activity.activity_type,
            "actor_profile_id": activity.actor.profile_id,
            "shortcode": activity.shortcode,
            "publish_time": formats.event_time(when),
            "event_timestamp": formats.event_time(seen),
            "metrics": flatten(comment.metrics()) if comment is not None else {},
            "dimensions": _activity_dimensions(activity),
        },
    )


def upsert_activities(
    conn: Connection,
    activities: Sequence[tuple[PostActivity, str, datetime]],
    *,
    rebuild: bool = False,
) -> None:
    """Record (activity, provider, observed_at) sightings of likes and comments and, unless
    rebuilding, one event per sighting, in the caller's transaction."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for activity, provider, seen in sorted(activities, key=lambda item: item[2]):
        row = activity_row(activity, provider, seen)
        rows[tuple(row[k] for k in _ACTIVITY)] = row
    if rows:
        _sightings(conn, post_activity_log, _ACTIVITY, _ACTIVITY_DESCRIPTION, list(rows.values()))
    if not rebuild:
        write_events(conn, [activity_event(a, p, s) for a, p, s in activities])
