"""Latest state of YouTube channels and videos (the original's youtube_account/youtube_post).

Each row keeps `observed_at`, when the provider answered: an upsert only overwrites a row
with an observation at least as new, so a rebuild of a past day never regresses a row.
Every observation is also appended to profile_log/post_log (beat/store/models_history.py).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from beat.store.models import Id, Json, UTCDateTime, metadata, observation_columns

youtube_account = Table(
    "youtube_account",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel_id", String, nullable=False, unique=True),
    #: The @handle without its @ (the Data API's customUrl).
    Column("handle", String, index=True),
    Column("title", String),
    Column("description", Text),
    Column("country", String),
    Column("published_at", UTCDateTime()),
    Column("subscribers", BigInteger),
    Column("is_subscriber_count_hidden", Boolean),
    Column("uploads", BigInteger),
    Column("views", BigInteger),
    Column("uploads_playlist_id", String),
    Column("thumbnail", Text),
    Column("thumbnails", Text),
    *observation_columns(),
)

youtube_post = Table(
    "youtube_post",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    #: The video id (the original's shortcode).
    Column("shortcode", String, nullable=False, unique=True),
    Column("channel_id", String, index=True),
    Column("channel_title", String),
    Column("title", Text),
    Column("description", Text),
    Column("published_at", UTCDateTime()),
    #: video | short
    Column("post_type", String),
    #: How post_type was decided: "shorts_url" (YouTube's own answer) or "duration".
    Column("post_type_source", String),
    Column("duration", Integer),
    Column("views", BigInteger),
    Column("likes", BigInteger),
    Column("comments", BigInteger),
    Column("favourites", BigInteger),
    Column("category_id", String),
    Column("category", String),
    Column("topic", String),
    Column("playlist_id", String),
    Column("audio_language", String),
    Column("is_licensed", Boolean),
    Column("tags", Json),
    Column("content_rating", Text),
    Column("definition", String),
    Column("thumbnail", Text),
    #: The search keywords that found it (refresh_yt_posts_by_search).
    Column("keywords", Json),
    *observation_columns(),
)

youtube_comment = Table(
    "youtube_comment",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("comment_id", String, nullable=False, unique=True),
    #: The video commented on (youtube_post.shortcode) and its channel.
    Column("shortcode", String, nullable=False, index=True),
    Column("channel_id", String),
    #: Who commented: a channel id (the activity's actor_profile_id) and its display name.
    Column("author_channel_id", String, index=True),
    Column("author_name", String),
    Column("text", Text),
    Column("likes", BigInteger),
    Column("replies", BigInteger),
    Column("is_public", Boolean),
    Column("published_at", UTCDateTime()),
    Column("edited_at", UTCDateTime()),
    *observation_columns(),
)

youtube_activity = Table(
    "youtube_activity",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("activity_id", String, nullable=False, unique=True),
    Column("channel_id", String, nullable=False, index=True),
    #: The Data API's snippet.type: upload, playlistItem, like, subscription, bulletin, ...
    Column("activity_type", String, nullable=False),
    Column("published_at", UTCDateTime()),
    Column("title", Text),
    Column("description", Text),
    #: What the activity is about, when it names it.
    Column("video_id", String),
    Column("playlist_id", String),
    Column("target_channel_id", String),
    *observation_columns(),
)

youtube_relationship = Table(
    "youtube_relationship",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    #: source FOLLOWS target: the source channel subscribes to the target channel.
    Column("source_channel_id", String, nullable=False),
    Column("target_channel_id", String, nullable=False, index=True),
    Column("relationship_type", String, nullable=False),
    Column("subscription_id", String),
    Column("target_title", String),
    Column("target_description", Text),
    Column("target_thumbnail", Text),
    #: When the subscription was made (the Data API's snippet.publishedAt).
    Column("followed_at", UTCDateTime()),
    *observation_columns(),
    UniqueConstraint("source_channel_id", "target_channel_id", name="uq_youtube_relationship"),
)

youtube_channel_insights = Table(
    "youtube_channel_insights",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel_id", String, nullable=False, unique=True),
    #: Views by country code / by city; viewer percentage by "ageGroup.gender" (YouTube
    #: Analytics' own keys: "age25-34.female").
    Column("country", Json),
    Column("city", Json),
    Column("gender_age", Json),
    #: The days the reports cover (both included).
    Column("period_start", Date),
    Column("period_end", Date),
    *observation_columns(),
)
