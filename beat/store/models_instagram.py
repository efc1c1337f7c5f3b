"""Instagram tables beyond accounts and posts: who follows whom, who liked or commented what.

Both are logs of sightings keyed on what was seen (a FOLLOWS pair, a like, a comment), not on
when: seeing the same follower again moves `last_observed_at` forward and never back, so a
backfill of an old day changes nothing a newer observation already recorded.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text, UniqueConstraint

from beat.store.models import Id, Json, UTCDateTime, metadata

profile_relationship_log = Table(
    "profile_relationship_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("platform", String, nullable=False),
    #: FOLLOWS: source follows target (a follower of X is a source; X's following are targets).
    Column("relationship_type", String, nullable=False),
    Column("source_profile_id", String, nullable=False),
    Column("target_profile_id", String, nullable=False),
    Column("source_handle", String),
    Column("target_handle", String),
    #: The listed account's dimensions as the provider described it (handle, full_name, ...).
    Column("source_dimensions", Json),
    Column("target_dimensions", Json),
    Column("provider", String),
    #: When a provider answer first and last showed this pair (its Date header).
    Column("first_observed_at", UTCDateTime(), nullable=False),
    Column("last_observed_at", UTCDateTime(), nullable=False),
    UniqueConstraint(
        "platform",
        "relationship_type",
        "source_profile_id",
        "target_profile_id",
        name="uq_profile_relationship_log_pair",
    ),
    Index("ix_profile_relationship_log_target", "platform", "target_profile_id"),
)

post_activity_log = Table(
    "post_activity_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("platform", String, nullable=False),
    #: LIKE or COMMENT.
    Column("activity_type", String, nullable=False),
    Column("shortcode", String, nullable=False),
    #: What makes the activity unique on its post: the liker's id, or the comment's id.
    Column("activity_key", String, nullable=False),
    Column("actor_profile_id", String),
    Column("actor_handle", String),
    Column("comment_id", String),
    Column("text", Text),
    Column("activity_time", UTCDateTime()),
    Column("dimensions", Json),
    Column("provider", String),
    Column("first_observed_at", UTCDateTime(), nullable=False),
    Column("last_observed_at", UTCDateTime(), nullable=False),
    UniqueConstraint(
        "platform",
        "activity_type",
        "shortcode",
        "activity_key",
        name="uq_post_activity_log_activity",
    ),
    Index("ix_post_activity_log_actor", "platform", "actor_profile_id"),
)
