"""Latest state of YouTube channels and videos (the original's youtube_account/youtube_post).

Each row keeps `observed_at`, when the provider answered: an upsert only overwrites a row
with an observation at least as new, so a rebuild of a past day never regresses a row.
Every observation is also appended to profile_log/post_log (beat/store/models_history.py).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text, text

from beat.store.models import Id, Json, UTCDateTime, metadata

_NOW = text("CURRENT_TIMESTAMP")


def _stamps() -> list[Column]:
    return [
        Column("provider", String),
        #: When the provider answered: the newest observation wins.
        Column("observed_at", UTCDateTime(), nullable=False),
        Column("refreshed_at", UTCDateTime()),
        Column("created_at", UTCDateTime(), nullable=False, server_default=_NOW),
        Column("updated_at", UTCDateTime(), nullable=False, server_default=_NOW),
    ]


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
    *_stamps(),
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
    *_stamps(),
)
