"""Table definitions for beat's store (SQLAlchemy Core).

The same metadata runs on PostgreSQL (production) and SQLite (single-machine and tests).
`migrations/versions/` creates exactly these tables; `tests/store/test_migrations.py`
checks that the two never drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only auto-assigns ids to a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")

REQUEST_STATUSES = ("PENDING", "PROCESSING", "COMPLETE", "FAILED", "EXPIRED")


class UTCDateTime(TypeDecorator[datetime]):
    """`timestamptz` on Postgres, naive UTC on SQLite; always hands back aware UTC.

    SQLite has no time zone type and SQLAlchemy's SQLite DATETIME silently drops tzinfo, so an
    aware non-UTC value would be stored as the wrong instant. Normalising at the type keeps the
    stored text in one format, which SQLite compares correctly as strings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # raw text from a hand-written SQLite query
            value = datetime.fromisoformat(str(value))
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now_default() -> Any:
    # CURRENT_TIMESTAMP is now() on Postgres and UTC text on SQLite.
    return text("CURRENT_TIMESTAMP")


def _created_at() -> Column[datetime]:
    return Column("created_at", UTCDateTime(), nullable=False, server_default=_now_default())


def _updated_at() -> Column[datetime]:
    return Column(
        "updated_at",
        UTCDateTime(),
        nullable=False,
        server_default=_now_default(),
        onupdate=func.now(),
    )


scrape_request_log = Table(
    "scrape_request_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String, nullable=False, unique=True),
    Column("flow", String, nullable=False),
    Column("platform", String, nullable=False),
    Column("params", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", Integer, nullable=False, server_default=text("1")),
    Column("retry_count", Integer, nullable=False, server_default=text("0")),
    Column("created_at", UTCDateTime(), nullable=False, server_default=_now_default()),
    Column("picked_at", UTCDateTime()),
    Column("scraped_at", UTCDateTime()),
    Column("expires_at", UTCDateTime()),
    Column("data", Text),
    Column("account_id", String),
    Column("source", String),
    Column("attempt", Integer, nullable=False, server_default=text("0")),
    Column("max_attempts", Integer, nullable=False, server_default=text("3")),
    Column("run_after", UTCDateTime(), nullable=False, server_default=_now_default()),
    Column("lease_expires_at", UTCDateTime()),
    Column("batch_id", String, index=True),
    Column("dagster_run_id", String),
    Column("provider", String),
    Column("last_error", Text),
    # No onupdate here: every queue statement sets updated_at itself, from the right clock.
    Column("updated_at", UTCDateTime(), nullable=False, server_default=_now_default()),
    CheckConstraint(
        "status IN ({})".format(", ".join(f"'{s}'" for s in REQUEST_STATUSES)), name="status"
    ),
    sqlite_autoincrement=True,  # never reuse an id: (id, attempt) is the fencing token
)

_pending = text("status = 'PENDING'")
_processing = text("status = 'PROCESSING'")

# The claim walks this index in order and stops after LIMIT rows. `id` is the last sort key
# of the claim, so including it here avoids an Incremental Sort node. The predicate is a
# literal so that generic (prepared) plans can still use it.
Index(
    "ix_scrape_request_log_claim",
    scrape_request_log.c.flow,
    scrape_request_log.c.priority.desc(),
    scrape_request_log.c.created_at,
    scrape_request_log.c.id,
    postgresql_where=_pending,
    sqlite_where=_pending,
)
# The reaper's scan for expired leases.
Index(
    "ix_scrape_request_log_lease",
    scrape_request_log.c.lease_expires_at,
    postgresql_where=_processing,
    sqlite_where=_processing,
)
# Every claim first retires overdue PENDING rows; without this index that sweep would visit
# every pending row of the flow on each claim instead of an empty index range.
Index(
    "ix_scrape_request_log_pending_expiry",
    scrape_request_log.c.expires_at,
    postgresql_where=_pending,
    sqlite_where=_pending,
)

# Each partition's day figures (beat.pipeline.daily) count a family's requests settled that
# day. Partial: a request enters it once, when it settles; the queue's hot updates of PENDING
# and PROCESSING rows never touch it.
SETTLED = "status IN ('COMPLETE', 'FAILED')"
Index(
    "ix_scrape_request_log_settled",
    scrape_request_log.c.flow,
    scrape_request_log.c.updated_at,
    postgresql_where=text(SETTLED),
    sqlite_where=text(SETTLED),
)

# One row holds `event_count` messages for one exchange and routing key, packed into the JSON
# array `events` as `event_format` says; a relay publishes `OutboxRow.messages()`, never the
# row (see beat.store.outbox). Packing the events of a batch transition into one row is what
# keeps the outbox from costing more than the queue update it describes.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("exchange", String, nullable=False),
    Column("routing_key", String, nullable=False),
    Column("event_format", String, nullable=False),
    Column("event_id_seed", Uuid),  # per-event ids of `scrape_request.v1` rows derive from it
    Column("event_count", Integer, nullable=False),
    # json, not jsonb: written once, read once by the relay, never queried, and jsonb cost the
    # claim statement twice the server CPU to build.
    Column("events", JSON, nullable=False),
    _created_at(),
    Column("published_at", UTCDateTime()),
    Column("publish_attempts", Integer, nullable=False, server_default=text("0")),
    CheckConstraint("event_count > 0", name="event_count"),
    sqlite_autoincrement=True,
)

_unpublished = text("published_at IS NULL")
Index(
    "ix_outbox_unpublished",
    outbox.c.id,
    postgresql_where=_unpublished,
    sqlite_where=_unpublished,
)

# One provider credential and its health, shared by every crawler process through the
# database (beat.store.credentials.DbCredentialPool). All times are the application's UTC clock.
#   enabled=false + dead_reason: rejected by the provider (dead) until an operator re-enables
#       it or saves a new secret (a new row).
#   disabled_till: cooling after a rate limit (or an operator's pause): not used before then.
#   trips: consecutive rate limits; > 0 after the cooling means half-open, the next use is a
#       probe, and probe_until is the lease of the one process probing.
#   remaining / remaining_at: the budget the provider last said is left, for operators.
credential = Table(
    "credential",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String, nullable=False, unique=True),
    Column("source", String, nullable=False),
    Column("credentials", Json, nullable=False),
    Column("handle", String),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("disabled_till", UTCDateTime()),
    Column("data_access_expired", Boolean, nullable=False, server_default=text("false")),
    _created_at(),
    _updated_at(),
    Column("trips", Integer, nullable=False, server_default=text("0")),
    Column("probe_until", UTCDateTime()),
    Column("dead_reason", Text),
    Column("last_reason", Text),
    Column("remaining", Integer),
    Column("remaining_at", UTCDateTime()),
    Column("last_used_at", UTCDateTime()),
)

instagram_account = Table(
    "instagram_account",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("profile_id", String, nullable=False, unique=True),
    Column("handle", String, index=True),
    Column("full_name", String),
    Column("profile_type", String),
    Column("biography", Text),
    Column("followers", BigInteger),
    Column("following", BigInteger),
    Column("media_count", Integer),
    Column("profile_pic_url", Text),
    Column("category", String),
    Column("category_id", String),
    Column("fbid", String),
    Column("external_url", Text),
    Column("is_business_or_creator", Boolean),
    Column("is_private", Boolean),
    Column("is_verified", Boolean),
    Column("provider", String),
    Column("refreshed_at", UTCDateTime()),
    #: When the provider answered with what the row holds; an older answer never overwrites.
    Column("observed_at", UTCDateTime()),
    _created_at(),
    _updated_at(),
)

instagram_post = Table(
    "instagram_post",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shortcode", String, nullable=False, unique=True),
    Column("post_id", String),
    Column("profile_id", String, index=True),
    Column("handle", String),
    Column("post_type", String),
    Column("content_type", String),
    Column("caption", Text),
    Column("likes", BigInteger),
    Column("comments", BigInteger),
    Column("views", BigInteger),
    Column("plays", BigInteger),
    Column("display_url", Text),
    Column("thumbnail_url", Text),
    #: A carousel's pictures and videos: [{id, media_type, media_url, thumbnail_url}].
    Column("children", Json),
    Column("publish_time", UTCDateTime()),
    Column("provider", String),
    Column("refreshed_at", UTCDateTime()),
    #: When the provider answered with what the row holds; an older answer never overwrites.
    Column("observed_at", UTCDateTime()),
    _created_at(),
    _updated_at(),
)

asset_log = Table(
    "asset_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("entity_id", String, nullable=False, unique=True),
    Column("entity_type", String),
    Column("platform", String),
    Column("asset_type", String),
    Column("asset_url", Text),  # the object-store key, not a public URL
    Column("original_url", Text),
    Column("content_hash", String),
    _created_at(),
    _updated_at(),
)

#: Operator switches shared by every process (``beat.store.control``).
beat_control = Table(
    "beat_control",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
    _updated_at(),
)


def observation_columns() -> list[Column]:
    """Who answered and when, on a latest-state table: the newest observation wins."""
    return [
        Column("provider", String),
        #: When the provider answered: an upsert only overwrites from an equal or newer one.
        Column("observed_at", UTCDateTime(), nullable=False),
        Column("refreshed_at", UTCDateTime()),
        Column("created_at", UTCDateTime(), nullable=False, server_default=_now_default()),
        Column("updated_at", UTCDateTime(), nullable=False, server_default=_now_default()),
    ]


# Tables of other concerns, declared in modules of their own on the same metadata.
# Tables of other concerns, each in a module of its own on the same metadata.
from beat.store import (  # noqa: E402, F401
    models_gpt,
    models_history,
    models_instagram,
    models_instagram_hashtags,
    models_instagram_insights,
    models_ops,
    models_shopify,
    models_youtube,
)
