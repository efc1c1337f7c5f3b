"""Transactional outbox: events are written in the same transaction as the change they describe.

A relay (not part of this module) reads unpublished rows, publishes their messages to RabbitMQ
and marks the rows published, so an event is never lost when the broker is down and never sent
for a change that rolled back. Delivery is at-least-once; consumers dedupe on `event_id`.

Storage: one row, many messages
-------------------------------
A statement that changes N requests (a claim, a batch completion, an enqueue of many) writes
ONE outbox row holding N events, not N rows: `event_count` is N and `events` is a JSON array
of N elements. The RabbitMQ contract is unchanged: one message per event (for
`scrape_request_log_events`, one per status change of one request), each with its own
`event_id`. `event_format` says how the elements are stored:

* ``payloads`` (`write_events`): each element is the message payload itself, `event_id`
  included. Used for the data events (profile_log_events, post_log_events).
* ``scrape_request.v1`` (the queue's status changes): each element is a compact record, the
  array ``[scl_id, flow, platform, params, status, priority, reason, updated_at, picked_at,
  expires_at, retry_count]`` with times as ISO 8601 text in any offset; the row's
  `event_id_seed` (a random UUID, one per row) gives event *i* of the row the id
  ``UUID(int=seed.int ^ i)``: a version-4 UUID, unique, and the same every time the row is
  read, so a republished message keeps its id. The message payload (`OutboxEvent.scrape_request`
  builds the same one from a row) is rendered when the row is read. Building the full JSON
  objects, and one random UUID per event, in the claim statement was measured costing more
  server CPU than the claim and completion themselves.

So a relay must never publish a row or an element as stored: it publishes the rendered
messages, in order, and marks the rows::

    with engine.begin() as conn:
        messages = outbox.pending_events(limit=100, conn=conn)  # rows locked, SKIP LOCKED
        for m in messages:
            channel.basic_publish(
                exchange=m.exchange, routing_key=m.routing_key,
                body=json.dumps(m.payload), properties=BasicProperties(message_id=m.event_id))
        outbox.mark_published({m.outbox_id for m in messages}, conn=conn)

`pending_events` (or `OutboxRow.messages()` on rows from `pending_rows`) does the unpacking;
`limit` counts rows, and a row is published and marked as a whole. If publishing fails half
way, `mark_attempt_failed` the rows and retry them later: consumers see the already-published
messages again, with the same event ids, and drop them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, text, update

from beat.events import formats
from beat.store.models import outbox

EXCHANGE = "beat.dx"
SCRAPE_REQUEST_ROUTING_KEY = "scrape_request_log_events"
FORMAT_PAYLOADS = "payloads"
FORMAT_SCRAPE_REQUEST = "scrape_request.v1"
# Messages per outbox row written by `write_events`: bounds the row a relay loads at once.
MAX_EVENTS_PER_ROW = 1000

# The record fields of FORMAT_SCRAPE_REQUEST, in order; times are ISO 8601 text.
SCRAPE_REQUEST_RECORD = (
    "scl_id",
    "flow",
    "platform",
    "params",
    "status",
    "priority",
    "reason",
    "updated_at",
    "picked_at",
    "expires_at",
    "retry_count",
)

# One statement whatever the number of rows, with one JSON document as its only parameter:
# the text is constant, so psycopg prepares it once, and Postgres parses the document in C.
_PG_INSERT_ROWS = text(
    f"""
    INSERT INTO outbox (exchange, routing_key, event_format, event_count, events)
    SELECT r ->> 'exchange', r ->> 'routing_key', '{FORMAT_PAYLOADS}',
           json_array_length(r -> 'events'), r -> 'events'
    FROM json_array_elements(CAST(:rows AS json)) AS r
    """
)


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One message to write; its payload must carry the same `event_id` (consumers dedupe on
    it, and it is how the relay finds a message's id in a packed row)."""

    event_id: str
    exchange: str
    routing_key: str
    payload: Mapping[str, Any]

    def __post_init__(self) -> None:
        if self.payload.get("event_id") != self.event_id:
            raise ValueError("an outbox event's payload must carry its event_id")

    @classmethod
    def scrape_request(cls, row: Mapping[Any, Any], reason: str | None = None) -> OutboxEvent:
        """The `scrape_request_log_events` message for a request row in its new state.

        The key set is the original platform's, so existing consumers keep working. This is
        the reference for what the relay renders from a `scrape_request.v1` record.
        """
        event_id = str(uuid.uuid4())
        payload = {
            "event_id": event_id,
            "scl_id": formats.scl_id(row["id"]),
            "flow": row["flow"],
            "platform": row["platform"],
            "params": row["params"],
            "status": row["status"],
            "priority": row["priority"],
            "reason": reason,
            "event_timestamp": formats.event_time(row["updated_at"] or datetime.now(UTC)),
            "picked_at": formats.event_time(row["picked_at"]),
            "expires_at": formats.event_time(row["expires_at"]),
            "retry_count": formats.original_retry_count(row["retry_count"]),
        }
        return cls(event_id, EXCHANGE, SCRAPE_REQUEST_ROUTING_KEY, payload)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


# --------------------------------------------------------------------------------------------
# Write side


def pg_scrape_request_events_sql(source: str, reason: str = "NULL") -> str:
    """An INSERT writing ONE `scrape_request.v1` outbox row with a record for each row of
    `source`, and no row at all when `source` is empty.

    For use as a data-modifying CTE in the Postgres queue statements: the records are built in
    the same statement as the state change, from the rows as they were written, so no row
    travels to Python and back. `source` names a relation with the `scrape_request_log`
    columns, aliased `s`; `reason` is an SQL expression over `s`. Timestamps go in as JSON's
    rendering of timestamptz (ISO 8601 with the session's offset); the reader normalises them.
    """
    return f"""\
INSERT INTO outbox (exchange, routing_key, event_format, event_id_seed, event_count, events)
SELECT '{EXCHANGE}', '{SCRAPE_REQUEST_ROUTING_KEY}', '{FORMAT_SCRAPE_REQUEST}', gen_random_uuid(),
       count(*),
       json_agg(json_build_array(
           s.id, s.flow, s.platform, s.params, s.status, s.priority, CAST({reason} AS text),
           s.updated_at, s.picked_at, s.expires_at, s.retry_count))
FROM {source} AS s
HAVING count(*) > 0"""


def write_events(conn: Connection, events: Sequence[OutboxEvent]) -> None:
    """Insert `events` into the outbox inside the caller's transaction, in one statement.

    Events are packed into one `payloads` row per (exchange, routing key), in order, at most
    `MAX_EVENTS_PER_ROW` to a row.
    """
    rows: list[dict[str, Any]] = []
    open_rows: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        key = (event.exchange, event.routing_key)
        row = open_rows.get(key)
        if row is None or len(row["events"]) >= MAX_EVENTS_PER_ROW:
            row = {"exchange": event.exchange, "routing_key": event.routing_key, "events": []}
            open_rows[key] = row
            rows.append(row)
        row["events"].append(event.payload)
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_INSERT_ROWS, {"rows": json.dumps(rows)})
        return
    conn.execute(
        insert(outbox),
        [
            {**row, "event_format": FORMAT_PAYLOADS, "event_count": len(row["events"])}
            for row in rows
        ],
    )


def write_scrape_request_events(
    conn: Connection, changes: Sequence[tuple[Mapping[Any, Any], str | None]]
) -> None:
    """One `scrape_request.v1` row for `(request row in its new state, reason)` pairs: what
    `pg_scrape_request_events_sql` writes, built in Python (for SQLite)."""
    if not changes:
        return
    records = [
        [
            row["id"],
            row["flow"],
            row["platform"],
            row["params"],
            row["status"],
            row["priority"],
            reason,
            _iso(row["updated_at"]),
            _iso(row["picked_at"]),
            _iso(row["expires_at"]),
            row["retry_count"],
        ]
        for row, reason in changes
    ]
    conn.execute(
        insert(outbox),
        {
            "exchange": EXCHANGE,
            "routing_key": SCRAPE_REQUEST_ROUTING_KEY,
            "event_format": FORMAT_SCRAPE_REQUEST,
            "event_id_seed": uuid.uuid4(),
            "event_count": len(records),
            "events": records,
        },
    )


# --------------------------------------------------------------------------------------------
# Read side, for the relay


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message a relay must publish; `outbox_id` is the row to mark once it is sent."""

    outbox_id: int
    event_id: str
    exchange: str
    routing_key: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One stored outbox row: `event_count` messages for one exchange and routing key, stored
    as `event_format` says. Publish `messages()`, never `events`."""

    id: int
    exchange: str
    routing_key: str
    event_format: str
    event_id_seed: uuid.UUID | None
    event_count: int
    events: Sequence[Any]
    created_at: datetime
    published_at: datetime | None
    publish_attempts: int

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> OutboxRow:
        return cls(**{name: row[name] for name in _ROW_FIELDS})

    def messages(self) -> Iterator[OutboxMessage]:
        """The messages to publish, one per event, in the order they were written."""
        if not isinstance(self.events, list) or len(self.events) != self.event_count:
            raise ValueError(f"outbox row {self.id}: events do not match event_count")
        if self.event_format == FORMAT_PAYLOADS:
            for payload in self.events:
                yield OutboxMessage(
                    self.id, payload["event_id"], self.exchange, self.routing_key, payload
                )
        elif self.event_format == FORMAT_SCRAPE_REQUEST and self.event_id_seed is not None:
            seed = self.event_id_seed.int
            for index, record in enumerate(self.events):
                event_id = str(uuid.UUID(int=seed ^ index))
                payload = render_scrape_request(record, event_id)
                yield OutboxMessage(self.id, event_id, self.exchange, self.routing_key, payload)
        else:
            raise ValueError(f"outbox row {self.id}: cannot read format {self.event_format!r}")


_ROW_FIELDS = tuple(OutboxRow.__dataclass_fields__)


def render_scrape_request(record: Sequence[Any], event_id: str) -> dict[str, Any]:
    """The `scrape_request_log_events` payload of a `scrape_request.v1` record, in the
    original's formats (`beat.events.formats`): times `YYYY-MM-DD HH:MM:SS` UTC, `scl_id` a
    string, `retry_count` counted from 1."""
    (
        scl_id,
        flow,
        platform,
        params,
        status,
        priority,
        reason,
        updated_at,
        picked_at,
        expires_at,
        retry_count,
    ) = record
    return {
        "event_id": event_id,
        "scl_id": formats.scl_id(scl_id),
        "flow": flow,
        "platform": platform,
        "params": params,
        "status": status,
        "priority": priority,
        "reason": reason,
        "event_timestamp": formats.event_time(updated_at),
        "picked_at": formats.event_time(picked_at),
        "expires_at": formats.event_time(expires_at),
        "retry_count": formats.original_retry_count(retry_count),
    }


def messages(rows: Iterable[OutboxRow]) -> list[OutboxMessage]:
    """Every message of `rows`, in row order, then write order."""
    return [message for row in rows for message in row.messages()]


class Outbox:
    """Read side for a relay: fetch unpublished rows in order, then mark them.

    Publish messages (`pending_events`, `OutboxRow.messages`), never rows; mark rows.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def pending_rows(self, limit: int = 100, *, conn: Connection | None = None) -> list[OutboxRow]:
        """The `limit` oldest unpublished rows.

        Pass `conn` (an open transaction) to hold row locks until you mark them, so several
        relays can run at once: on Postgres the rows are locked with SKIP LOCKED.
        """
        stmt = (
            select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(limit)
        )
        if conn is not None:
            stmt = stmt.with_for_update(skip_locked=True)
            return [OutboxRow.from_row(r) for r in conn.execute(stmt).mappings()]
        with self._engine.begin() as own:
            return [OutboxRow.from_row(r) for r in own.execute(stmt).mappings()]

    def pending_events(
        self, limit: int = 100, *, conn: Connection | None = None
    ) -> list[OutboxMessage]:
        """Every message of the `limit` oldest unpublished rows (`limit` counts rows), in order.

        Mark `{m.outbox_id for m in messages}` once all of them are published.
        """
        return messages(self.pending_rows(limit, conn=conn))

    def mark_published(self, ids: Iterable[int], *, conn: Connection | None = None) -> int:
        """Mark outbox rows (`OutboxRow.id`, `OutboxMessage.outbox_id`) published; returns how
        many rows changed."""
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
            .where(outbox.c.published_at.is_(None))
            .values(published_at=func.now(), publish_attempts=outbox.c.publish_attempts + 1)
        )
        return self._update(stmt, ids, conn)

    def mark_attempt_failed(self, ids: Iterable[int], *, conn: Connection | None = None) -> int:
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
            .values(publish_attempts=outbox.c.publish_attempts + 1)
        )
        return self._update(stmt, ids, conn)

    def _update(self, stmt: Any, ids: Iterable[int], conn: Connection | None) -> int:
        unique = sorted(set(ids))
        if not unique:
            return 0
        if conn is not None:
            return conn.execute(stmt, {"ids": unique}).rowcount
        with self._engine.begin() as own:
            return own.execute(stmt, {"ids": unique}).rowcount
